"""What the staff pages share: the rules in words, the forms and their parsing, the guard that
lets only course authors in, and the submission of a form that makes something (parse, ask the
service, show the refusal next to its field or go on)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.principal import Principal
from app.certificates.subsidy import yuan
from app.courses import exceptions as cx
from app.courses import service as courses
from app.courses.models import Course, CreditPolicy, Level, QuizOpens
from app.errors import DomainError, ValidationFailed
from app.validation import InvalidText
from app.web.durations import Duration, parse, split
from app.web.i18n import Lang, gettext, message_for
from app.web.render import act, not_staff, to_login
from app.web.session import check_csrf

MAX_OPTION_ROWS = courses.OPTIONS[1]
#: Empty option rows shown for a new question (more appear when a question has more options).
OPTION_ROWS = 6

# ---------------------------------------------------------------- the rules, in words
# A refused field shows its rule next to it: (Chinese rule with %s placeholders, values). The
# service names the field (``err.extra["field"]``); the bounds are the service's own constants.

_INT = "应为 %s–%s 之间的整数。"
_SPAN = "应为 %s 至 %s 之间的时长。"


def _span(bounds: tuple[int, int]) -> tuple[Duration, Duration]:
    return Duration(bounds[0]), Duration(bounds[1])


COURSE_RULES: dict[str, tuple[str, tuple[object, ...]]] = {
    "title": ("必填，不超过 %s 字。", (courses.TITLE_CHARS,)),
    "description": ("选填，不超过 %s 字。", (courses.DESCRIPTION_CHARS,)),
    "occupation_code": (
        "必填，不超过 %s 个字符，例如 6-31-01-03。",
        (courses.OCCUPATION_CODE_CHARS,),
    ),
    "occupation_name": ("必填，不超过 %s 字。", (courses.OCCUPATION_NAME_CHARS,)),
    "level": ("请从列表中选择等级。", ()),
    "required_minutes": (_INT, courses.REQUIRED_MINUTES),
    "pass_score": (_INT, courses.PERCENT),
    "subsidy_fen": (
        "应为 0–%s 元之间的金额，最多两位小数。",
        (courses.SUBSIDY_FEN[1] // 100,),
    ),
    "min_interval_s": (
        "应为 %s 至 %s 之间的时长，且不长于最长间隔。",
        _span(courses.ROLLCALL_INTERVAL_S),
    ),
    "max_interval_s": (
        "应为 %s 至 %s 之间的时长，且不短于最短间隔。",
        _span(courses.ROLLCALL_INTERVAL_S),
    ),
    "response_window_s": (_SPAN, _span(courses.RESPONSE_WINDOW_S)),
    "min_pass_rate": (_INT, courses.PERCENT),
    "daily_cap_minutes": (_INT, courses.DAILY_CAP_MINUTES),
    "credit_policy": ("请选择“严格”或“宽松”。", ()),
    "heartbeat_interval_s": (_SPAN, _span(courses.HEARTBEAT_INTERVAL_S)),
    "question_count": (_INT, courses.QUIZ_QUESTION_COUNT),
    "time_limit_s": (_SPAN, _span(courses.QUIZ_TIME_LIMIT_S)),
    "max_attempts": (_INT, courses.QUIZ_MAX_ATTEMPTS),
    "offline_required_minutes": (_INT, courses.OFFLINE_REQUIRED_MINUTES),
    "opens": ("请选择何时可以参加考试。", ()),
}
LESSON_RULES: dict[str, tuple[str, tuple[object, ...]]] = {
    "title": ("必填，不超过 %s 字。", (courses.TITLE_CHARS,)),
    "kind": ("请选择“文字”或“视频”。", ()),
    "body_or_url": (
        "必填，不超过 %s 字；视频课时请填写以 http:// 或 https:// 开头、不含空格的网址。",
        (courses.LESSON_BODY_CHARS,),
    ),
    "minutes": (_INT, courses.LESSON_MINUTES),
    "position": ("位置超出范围。", ()),
}
QUESTION_RULES: dict[str, tuple[str, tuple[object, ...]]] = {
    "kind": ("请选择题型：单选、多选或判断。", ()),
    "stem": ("必填，不超过 %s 字。", (courses.STEM_CHARS,)),
    "options": (
        "需要 %s–%s 个互不相同的选项，每个不超过 %s 字；判断题只有两个选项"
        "（可不填，默认为“正确”“错误”）。",
        (*courses.OPTIONS, courses.OPTION_CHARS),
    ),
    "answer": (
        "请勾选正确答案：单选题和判断题勾选一个，多选题至少勾选一个；勾选的行必须填写了选项。",
        (),
    ),
}
#: The text of a rule that is not about one field's format.
NOT_A_NUMBER = "请输入整数。"
NOT_A_DURATION = "请输入数字并选择单位（秒、分钟或小时），例如 10 分钟；换算后须为整秒。"

#: Course form fields (the create API's, the roll-call and quiz policy flattened) and the course
#: column each one sets.
POLICY_FIELDS = {
    "min_interval_s": "rollcall_min_interval_s",
    "max_interval_s": "rollcall_max_interval_s",
    "response_window_s": "rollcall_response_window_s",
    "min_pass_rate": "rollcall_min_pass_rate",
    "daily_cap_minutes": "daily_cap_minutes",
    "heartbeat_interval_s": "heartbeat_interval_s",
    "question_count": "quiz_question_count",
    "time_limit_s": "quiz_time_limit_s",
    "max_attempts": "quiz_max_attempts",
}
#: Durations (seconds in the API and the service) the form takes as a number and a unit: the
#: service's field name → the form's number field (its unit field adds ``_unit``).
DURATIONS = {
    "min_interval_s": "min_interval",
    "max_interval_s": "max_interval",
    "response_window_s": "response_window",
    "heartbeat_interval_s": "heartbeat_interval",
    "time_limit_s": "time_limit",
}
INT_FIELDS = (
    "required_minutes",
    "pass_score",
    *(f for f in POLICY_FIELDS if f not in DURATIONS),
)

KIND_NAMES = {"single": "单选题", "multiple": "多选题", "judge": "判断题"}
LESSON_KIND_NAMES = {"text": "文字", "video": "视频"}
QUIZ_OPENS_NAMES = {
    "after_hours": "学完要求学时后才能考试",
    "any_time": "报名后随时可以考试",
}
CREDIT_POLICY_NAMES = {
    "strict": "严格：点名未通过或超时，上次验证以来的学时不计",
    "lenient": "宽松：点名未通过或超时，保留到最后一次心跳的学时",
}


#: A form's rules in words: field → (Chinese rule with %s placeholders, values).
Rules = dict[str, tuple[str, tuple[object, ...]]]


def rule(t: Any, rules: Rules, field: str) -> str:
    text, args = rules[field]
    said = tuple(a.words(t) if isinstance(a, Duration) else a for a in args)
    return str(t(text)) % said if said else str(t(text))


# ---------------------------------------------------------------- forms


class CourseForm(BaseModel):
    """The course form as typed (strings): parsed here, checked by the service."""

    csrf: str = Field(default="", max_length=100)
    title: str = Field(default="", max_length=1_000)
    description: str = Field(default="", max_length=courses.DESCRIPTION_CHARS * 2)
    occupation_code: str = Field(default="", max_length=1_000)
    occupation_name: str = Field(default="", max_length=1_000)
    level: str = Field(default="", max_length=32)
    required_minutes: str = Field(default="", max_length=32)
    pass_score: str = Field(default="", max_length=32)
    subsidy_yuan: str = Field(default="", max_length=32)
    min_interval: str = Field(default="", max_length=32)
    min_interval_unit: str = Field(default="min", max_length=8)
    max_interval: str = Field(default="", max_length=32)
    max_interval_unit: str = Field(default="min", max_length=8)
    response_window: str = Field(default="", max_length=32)
    response_window_unit: str = Field(default="s", max_length=8)
    min_pass_rate: str = Field(default="", max_length=32)
    daily_cap_minutes: str = Field(default="", max_length=32)
    credit_policy: str = Field(default="", max_length=32)
    require_each_lesson: str = Field(default="", max_length=8)  # a checkbox: "on" or absent
    heartbeat_interval: str = Field(default="", max_length=32)
    heartbeat_interval_unit: str = Field(default="s", max_length=8)
    question_count: str = Field(default="", max_length=32)
    time_limit: str = Field(default="", max_length=32)
    time_limit_unit: str = Field(default="min", max_length=8)
    max_attempts: str = Field(default="", max_length=32)
    #: Blended training: offline practical minutes (empty: 0 for a new course, unchanged else).
    offline_required_minutes: str = Field(default="", max_length=32)
    quiz_opens: str = Field(default="", max_length=32)
    #: The new-course form's one-use token (app/web/render.py ``act``).
    once: str = Field(default="", max_length=64)


class LessonForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
    #: The one-use token of the form that makes something (app/web/render.py ``act``).
    once: str = Field(default="", max_length=64)
    title: str = Field(default="", max_length=1_000)
    kind: str = Field(default="text", max_length=16)
    body_or_url: str = Field(default="", max_length=courses.LESSON_BODY_CHARS * 2)
    minutes: str = Field(default="", max_length=32)


class QuestionForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
    kind: str = Field(default="single", max_length=16)
    stem: str = Field(default="", max_length=courses.STEM_CHARS * 2)
    option: list[str] = Field(default_factory=list, max_length=MAX_OPTION_ROWS)
    answer: list[str] = Field(default_factory=list, max_length=MAX_OPTION_ROWS)
    #: The new-question form's one-use token (app/web/render.py ``act``).
    once: str = Field(default="", max_length=64)


def course_values(c: Course | None) -> dict[str, str]:
    """The course form's values: a course's, or the defaults of a new one."""
    if c is None:
        p = courses.CoursePolicy()
        policy = asdict(p)
        return {
            "level": Level.level5.value,
            "pass_score": "60",
            "subsidy_yuan": "0.00",
            "credit_policy": p.credit_policy.value,
            "quiz_opens": p.quiz_opens.value,
            "require_each_lesson": "on" if p.require_each_lesson else "",
            "offline_required_minutes": str(p.offline_required_minutes),
            **_policy_values(policy),
        }
    return {
        "title": c.title,
        "description": c.description,
        "occupation_code": c.occupation_code,
        "occupation_name": c.occupation_name,
        "level": c.level.value,
        "required_minutes": str(c.required_minutes),
        "pass_score": str(c.pass_score),
        "subsidy_yuan": yuan(c.subsidy_fen),
        "credit_policy": c.credit_policy.value,
        "quiz_opens": c.quiz_opens.value,
        "require_each_lesson": "on" if c.require_each_lesson else "",
        "offline_required_minutes": str(c.offline_required_minutes),
        **_policy_values({column: getattr(c, column) for column in POLICY_FIELDS.values()}),
    }


def _policy_values(policy: dict[str, Any]) -> dict[str, str]:
    """The policy's form values by column: numbers as typed, durations as number and unit."""
    out: dict[str, str] = {}
    for form, column in POLICY_FIELDS.items():
        if form in DURATIONS:
            number, unit = split(int(policy[column]))
            out[DURATIONS[form]] = number
            out[DURATIONS[form] + "_unit"] = unit
        else:
            out[form] = str(policy[column])
    return out


_YUAN = re.compile(r"\d{1,9}(\.\d{1,2})?")


def parse_course(form: CourseForm, t: Any) -> tuple[courses.CourseChanges | None, dict[str, str]]:
    """The typed course form as the service's fields, or what is not a number, by field."""
    errors: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for name in INT_FIELDS:
        raw = getattr(form, name).strip()
        if not re.fullmatch(r"-?\d{1,9}", raw):
            errors[name] = t(NOT_A_NUMBER) + " " + rule(t, COURSE_RULES, name)
        else:
            numbers[name] = int(raw)
    offline: int | None = None
    raw_offline = form.offline_required_minutes.strip()
    if raw_offline and not re.fullmatch(r"\d{1,9}", raw_offline):
        errors["offline_required_minutes"] = (
            t(NOT_A_NUMBER) + " " + rule(t, COURSE_RULES, "offline_required_minutes")
        )
    elif raw_offline:
        offline = int(raw_offline)
    for name, base in DURATIONS.items():
        seconds = parse(getattr(form, base), getattr(form, base + "_unit"))
        if seconds is None:
            errors[name] = t(NOT_A_DURATION) + " " + rule(t, COURSE_RULES, name)
        else:
            numbers[name] = seconds
    raw_yuan = form.subsidy_yuan.strip().replace(",", "")
    fen = 0
    if not _YUAN.fullmatch(raw_yuan):
        errors["subsidy_fen"] = rule(t, COURSE_RULES, "subsidy_fen")
    else:
        whole, _, cents = raw_yuan.partition(".")
        fen = int(whole) * 100 + int((cents + "00")[:2])
    if errors:
        return None, errors
    policy_numbers: dict[str, Any] = {column: numbers[f] for f, column in POLICY_FIELDS.items()}
    return (
        courses.CourseChanges(
            title=form.title,
            description=form.description,
            occupation_code=form.occupation_code,
            occupation_name=form.occupation_name,
            level=form.level,
            required_minutes=numbers["required_minutes"],
            pass_score=numbers["pass_score"],
            subsidy_fen=fen,
            credit_policy=form.credit_policy,
            quiz_opens=form.quiz_opens,
            require_each_lesson=form.require_each_lesson == "on",
            offline_required_minutes=offline,
            **policy_numbers,
        ),
        {},
    )


def policy_of(changes: courses.CourseChanges) -> courses.CoursePolicy:
    """The policy a new course is created with: every field of the form is given."""
    fields = asdict(changes)
    try:
        credit = CreditPolicy(changes.credit_policy or "")
    except ValueError:
        raise cx.InvalidCourse(
            "credit_policy must be strict or lenient.", field="credit_policy"
        ) from None
    try:
        opens = QuizOpens(changes.quiz_opens or "")
    except ValueError:
        raise cx.InvalidCourse(
            "quiz opens must be after_hours or any_time.", field="opens"
        ) from None
    kept = ("credit_policy", "quiz_opens", "require_each_lesson", "offline_required_minutes")
    return courses.CoursePolicy(
        **{k: fields[k] for k in asdict(courses.CoursePolicy()) if k not in kept},
        credit_policy=credit,
        quiz_opens=opens,
        require_each_lesson=bool(changes.require_each_lesson),
        offline_required_minutes=changes.offline_required_minutes or 0,
    )


def field_error(
    err: DomainError, lang: Lang, rules: dict[str, tuple[str, tuple[object, ...]]], default: str
) -> dict[str, str]:
    """A service refusal as the words next to the field it names (or the form's ``default``);
    a refusal about no field at all (a permission, say) as the form's message."""
    if not isinstance(err, ValidationFailed):
        return {"_form": message_for(err, lang)}
    field = err.extra.get("field")
    field = field if field in rules else default
    if field not in rules:
        return {"_form": message_for(err, lang)}
    if isinstance(err, InvalidText):  # invisible or control characters: say so, not the rule
        return {field: message_for(err, lang)}
    return {field: rule(gettext(lang), rules, field)}


# ---------------------------------------------------------------- guards


def staff_page(request: Request, user: User | None) -> User | Response:
    """The signed-in course author, or the page sending everyone else away: these pages are for
    those the course service lets author (``courses.may_author``)."""
    if user is None:
        return to_login(request)
    if not courses.may_author(Principal.of_user(user)):
        return not_staff(request, user)
    return user


def staff_post(request: Request, user: User | None, csrf: str) -> User | Response:
    check_csrf(request, csrf)
    return staff_page(request, user)


# ---------------------------------------------------------------- submitting a form

#: A parsed form: the service's arguments, or None and the fields in error with their rule.
Parsed = tuple[dict[str, Any] | None, dict[str, str]]
T = TypeVar("T")


def parse_fields(
    form: BaseModel,
    lang: Lang,
    rules: Rules,
    parsers: Mapping[str, Callable[[str], object]],
    *,
    text: Sequence[str] = (),
) -> Parsed:
    """A typed form as the service's arguments: the ``text`` fields as typed (the service checks
    them), every other through its parser (stripped); a field its parser refuses
    (``ValueError``) gets its rule in words."""
    out: dict[str, Any] = {name: getattr(form, name) for name in text}
    errors: dict[str, str] = {}
    for name, parse_one in parsers.items():
        try:
            out[name] = parse_one(getattr(form, name).strip())
        except ValueError:
            errors[name] = rule(gettext(lang), rules, name)
    return (None, errors) if errors else (out, {})


class FormPage(Protocol):
    """A page showing a form again: with the status, the values as typed and the errors."""

    def __call__(
        self, *, status: int, values: dict[str, str], errors: dict[str, str]
    ) -> Response: ...


def submit(
    request: Request,
    session: Session,
    staff: User,
    form: BaseModel,
    parsed: Parsed,
    page: FormPage,
    make: Callable[[dict[str, Any]], T],
    *,
    refusal: Callable[[DomainError], dict[str, str]],
    done: Callable[[T], Response],
    gone: tuple[type[DomainError], ...] = (),
) -> Response:
    """A staff form that makes something: the form again with what is not even parseable
    (422), else ``make`` in a savepoint; a refusal of the service shown next to its field
    (``refusal``), one that leaves nothing to show the form on (``gone``: the course or class
    not found, say) as the error page; on success ``done``. A form with a one-use token
    (``once``) sent again makes nothing twice (:func:`app.web.render.act`)."""
    values = form.model_dump(exclude={"csrf", "once"})
    arguments, errors = parsed
    if arguments is None:
        return page(status=422, values=values, errors=errors)
    return act(
        request,
        session,
        staff,
        lambda: make(arguments),
        refused=lambda err: page(status=err.status, values=values, errors=refusal(err)),
        done=done,
        gone=gone,
        once=str(getattr(form, "once", "")),
    )
