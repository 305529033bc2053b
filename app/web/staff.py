"""Staff pages: the institution's courses (drafts edited, then published and frozen), lessons and
the question bank, each course's learners and their progress, certificate issue and revocation,
and the quarterly subsidy claims.

Plain server-rendered forms (no script): every post carries the CSRF field, a refusal re-renders
the form with the input kept and the reason in words next to the field, success redirects with a
flash. Only staff use these pages: learners and regulators get the "staff only" page, staff of
another institution "not found". Handlers translate HTTP; the rules live in the services.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.api.certificates import XLSX
from app.api.deps import SessionDep
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, ReviewStatus
from app.certificates import claims
from app.certificates import exceptions as certx
from app.certificates import service as certificates
from app.certificates.subsidy import yuan
from app.courses import exceptions as cx
from app.courses import service as courses
from app.courses.models import Course, CourseStatus, CreditPolicy, Level
from app.courses.models import QuestionKind as QKind
from app.courses.progress import progress
from app.errors import DomainError, ValidationFailed
from app.validation import InvalidText, ascii_int
from app.web.i18n import Lang, gettext, lang_of, message_for
from app.web.pages import (
    GROUP_NAMES,
    error_page,
    failed,
    not_staff,
    redirect,
    render,
    secure_headers,
    to_login,
)
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)

SHANGHAI = ZoneInfo("Asia/Shanghai")
LEARNERS_PAGE = 50
MAX_OPTION_ROWS = courses.OPTIONS[1]
#: Empty option rows shown for a new question (more appear when a question has more options).
OPTION_ROWS = 6

# ---------------------------------------------------------------- the rules, in words
# A refused field shows its rule next to it: (Chinese rule with %s placeholders, values). The
# service names the field (``err.extra["field"]``); the bounds are the service's own constants.

_INT = "应为 %s–%s 之间的整数。"
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
    "min_interval_s": ("应为 %s–%s 之间的整数，且不大于最长间隔。", courses.ROLLCALL_INTERVAL_S),
    "max_interval_s": ("应为 %s–%s 之间的整数，且不小于最短间隔。", courses.ROLLCALL_INTERVAL_S),
    "response_window_s": (_INT, courses.RESPONSE_WINDOW_S),
    "min_pass_rate": (_INT, courses.PERCENT),
    "daily_cap_minutes": (_INT, courses.DAILY_CAP_MINUTES),
    "credit_policy": ("请选择“严格”或“宽松”。", ()),
    "heartbeat_interval_s": (_INT, courses.HEARTBEAT_INTERVAL_S),
    "question_count": (_INT, courses.QUIZ_QUESTION_COUNT),
    "time_limit_s": (_INT, courses.QUIZ_TIME_LIMIT_S),
    "max_attempts": (_INT, courses.QUIZ_MAX_ATTEMPTS),
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
INT_FIELDS = ("required_minutes", "pass_score", *POLICY_FIELDS)

KIND_NAMES = {"single": "单选题", "multiple": "多选题", "judge": "判断题"}
LESSON_KIND_NAMES = {"text": "文字", "video": "视频"}
CREDIT_POLICY_NAMES = {
    "strict": "严格：点名未通过或超时，上次验证以来的学时不计",
    "lenient": "宽松：点名未通过或超时，保留到最后一次心跳的学时",
}


def _rule(t: Any, rules: dict[str, tuple[str, tuple[object, ...]]], field: str) -> str:
    text, args = rules[field]
    return str(t(text)) % args if args else str(t(text))


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
    min_interval_s: str = Field(default="", max_length=32)
    max_interval_s: str = Field(default="", max_length=32)
    response_window_s: str = Field(default="", max_length=32)
    min_pass_rate: str = Field(default="", max_length=32)
    daily_cap_minutes: str = Field(default="", max_length=32)
    credit_policy: str = Field(default="", max_length=32)
    heartbeat_interval_s: str = Field(default="", max_length=32)
    question_count: str = Field(default="", max_length=32)
    time_limit_s: str = Field(default="", max_length=32)
    max_attempts: str = Field(default="", max_length=32)


class LessonForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
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
            **{form: str(policy[column]) for form, column in POLICY_FIELDS.items()},
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
        **{form: str(getattr(c, column)) for form, column in POLICY_FIELDS.items()},
    }


_YUAN = re.compile(r"\d{1,9}(\.\d{1,2})?")


def parse_course(form: CourseForm, t: Any) -> tuple[courses.CourseChanges | None, dict[str, str]]:
    """The typed course form as the service's fields, or what is not a number, by field."""
    errors: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for name in INT_FIELDS:
        raw = getattr(form, name).strip()
        if not re.fullmatch(r"-?\d{1,9}", raw):
            errors[name] = t(NOT_A_NUMBER) + " " + _rule(t, COURSE_RULES, name)
        else:
            numbers[name] = int(raw)
    raw_yuan = form.subsidy_yuan.strip().replace(",", "")
    fen = 0
    if not _YUAN.fullmatch(raw_yuan):
        errors["subsidy_fen"] = _rule(t, COURSE_RULES, "subsidy_fen")
    else:
        whole, _, cents = raw_yuan.partition(".")
        fen = int(whole) * 100 + int((cents + "00")[:2])
    if errors:
        return None, errors
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
            **{column: numbers[f] for f, column in POLICY_FIELDS.items()},
        ),
        {},
    )


def _policy_of(changes: courses.CourseChanges) -> courses.CoursePolicy:
    """The policy a new course is created with: every field of the form is given."""
    fields = asdict(changes)
    try:
        credit = CreditPolicy(changes.credit_policy or "")
    except ValueError:
        raise cx.InvalidCourse(
            "credit_policy must be strict or lenient.", field="credit_policy"
        ) from None
    return courses.CoursePolicy(
        **{k: fields[k] for k in asdict(courses.CoursePolicy()) if k != "credit_policy"},
        credit_policy=credit,
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
    return {field: _rule(gettext(lang), rules, field)}


# ---------------------------------------------------------------- guards


def _staff(request: Request, user: User | None) -> User | Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.staff:
        return not_staff(request, user)
    return user


def _staff_post(request: Request, user: User | None, csrf: str) -> User | Response:
    check_csrf(request, csrf)
    return _staff(request, user)


# ---------------------------------------------------------------- courses


@router.get("/staff/courses")
def courses_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    staff = _staff(request, user)
    if isinstance(staff, Response):
        return staff
    rows = courses.list_institution_courses(session, Principal.of_user(staff))
    return render(request, "staff_courses.html", staff, rows=rows)


def _new_course_page(
    request: Request,
    user: User,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "staff_course_new.html",
        user,
        status=status,
        values=values,
        errors=errors or {},
        **_choices(),
    )


def _choices() -> dict[str, Any]:
    return {
        "levels": list(Level),
        "credit_policies": CREDIT_POLICY_NAMES,
        "kind_names": KIND_NAMES,
        "lesson_kind_names": LESSON_KIND_NAMES,
    }


@router.get("/staff/courses/new")
def new_course_page(request: Request, user: PageUser) -> Response:
    staff = _staff(request, user)
    if isinstance(staff, Response):
        return staff
    return _new_course_page(request, staff, values=course_values(None))


@router.post("/staff/courses/new")
def create_course(
    request: Request,
    user: PageUser,
    session: SessionDep,
    form: Annotated[CourseForm, Form()],
) -> Response:
    staff = _staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    values = form.model_dump(exclude={"csrf"})
    changes, errors = parse_course(form, gettext(lang))
    if changes is None:
        return _new_course_page(request, staff, values=values, errors=errors, status=422)
    try:
        course = courses.create_course(
            session,
            Principal.of_user(staff),
            title=form.title,
            occupation_code=form.occupation_code,
            occupation_name=form.occupation_name,
            level=form.level,
            required_minutes=changes.required_minutes or 0,
            pass_score=changes.pass_score or 0,
            subsidy_fen=changes.subsidy_fen or 0,
            description=form.description,
            policy=_policy_of(changes),
        )
    except DomainError as err:
        failed(session, err)
        return _new_course_page(
            request,
            staff,
            values=values,
            errors=field_error(err, lang, COURSE_RULES, ""),
            status=err.status,
        )
    return redirect(request, f"/staff/courses/{course.id}", "course_created")


def _course_page(
    request: Request,
    user: User,
    session: Session,
    course_id: uuid.UUID,
    *,
    status: int = 200,
    **forms: Any,
) -> HTMLResponse:
    """The course page; ``forms`` carries a refused form's input and errors to show again."""
    principal = Principal.of_user(user)
    try:
        course = courses.get_own_course(session, principal, course_id)
    except DomainError as err:
        return error_page(request, user, err)
    lessons = courses.list_lessons(session, principal, course.id)
    questions = courses.list_questions(session, principal, course.id)
    ctx: dict[str, Any] = {
        "course": course,
        "draft": course.status is CourseStatus.draft,
        "lessons": lessons,
        "questions": questions,
        "values": course_values(course),
        "errors": {},
        "lesson_target": None,
        "lesson_values": {"kind": "text", "minutes": "10"},
        "lesson_errors": {},
        "question_target": None,
        "question_values": None,
        "question_errors": {},
        "publish_missing": None,
        "option_rows": OPTION_ROWS,
        **_choices(),
        **forms,
    }
    return render(request, "staff_course.html", user, status=status, **ctx)


@router.get("/staff/courses/{course_id}")
def course_page(
    request: Request, course_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = _staff(request, user)
    if isinstance(staff, Response):
        return staff
    return _course_page(request, staff, session, course_id)


def _refused(
    request: Request,
    user: User,
    session: Session,
    course_id: uuid.UUID,
    err: DomainError,
    **forms: Any,
) -> Response:
    """A refused edit: not found / not yours as the error page, anything else on the course
    page next to the form it concerns."""
    failed(session, err)
    if isinstance(err, cx.CourseNotFound | cx.LessonNotFound | cx.QuestionNotFound):
        return error_page(request, user, err)
    if isinstance(err, cx.CoursePublished):
        forms = {"error": message_for(err, lang_of(request))}
    return _course_page(request, user, session, course_id, status=err.status, **forms)


@router.post("/staff/courses/{course_id}")
def update_course(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[CourseForm, Form()],
) -> Response:
    staff = _staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    values = form.model_dump(exclude={"csrf"})
    changes, errors = parse_course(form, gettext(lang))
    if changes is None:
        return _course_page(
            request, staff, session, course_id, status=422, values=values, errors=errors
        )
    try:
        courses.update_course(session, Principal.of_user(staff), course_id, changes)
    except DomainError as err:
        return _refused(
            request,
            staff,
            session,
            course_id,
            err,
            values=values,
            errors=field_error(err, lang, COURSE_RULES, ""),
        )
    return redirect(request, f"/staff/courses/{course_id}", "course_saved")


@router.post("/staff/courses/{course_id}/publish")
def publish_course(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = _staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    try:
        courses.publish_course(session, Principal.of_user(staff), course_id)
    except cx.CourseIncomplete as err:
        failed(session, err)
        missing = err.extra.get("missing_zh" if lang == "zh" else "missing") or []
        return _course_page(
            request, staff, session, course_id, status=err.status, publish_missing=missing
        )
    except DomainError as err:
        return _refused(request, staff, session, course_id, err)
    return redirect(request, f"/staff/courses/{course_id}", "course_published")


# ---------------------------------------------------------------- lessons


def _minutes(form: LessonForm, t: Any) -> tuple[int | None, dict[str, str]]:
    raw = form.minutes.strip()
    if not re.fullmatch(r"-?\d{1,9}", raw):
        return None, {"minutes": t(NOT_A_NUMBER) + " " + _rule(t, LESSON_RULES, "minutes")}
    return int(raw), {}


def _lesson_post(
    request: Request,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID | None,
    user: User | None,
    session: Session,
    form: LessonForm,
) -> Response:
    staff = _staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    target = str(lesson_id) if lesson_id else "new"
    keep = {"lesson_target": target, "lesson_values": form.model_dump(exclude={"csrf"})}
    minutes, errors = _minutes(form, gettext(lang))
    if minutes is None:
        return _course_page(
            request, staff, session, course_id, status=422, lesson_errors=errors, **keep
        )
    principal = Principal.of_user(staff)
    try:
        if lesson_id is None:
            courses.add_lesson(
                session,
                principal,
                course_id,
                title=form.title,
                kind=form.kind,
                body_or_url=form.body_or_url,
                minutes=minutes,
            )
        else:
            courses.update_lesson(
                session,
                principal,
                course_id,
                lesson_id,
                title=form.title,
                kind=form.kind,
                body_or_url=form.body_or_url,
                minutes=minutes,
            )
    except DomainError as err:
        errors = field_error(err, lang, LESSON_RULES, "body_or_url")
        return _refused(request, staff, session, course_id, err, lesson_errors=errors, **keep)
    flash = "lesson_added" if lesson_id is None else "lesson_saved"
    return redirect(request, f"/staff/courses/{course_id}#lessons", flash)


def _draft_staff(
    request: Request, user: User | None, csrf: str, session: Session, course_id: uuid.UUID
) -> User | Response:
    """The staff member posting an addition to their own course, or the page refusing it (a
    published course takes no new lessons or questions here)."""
    staff = _staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    try:
        course = courses.get_own_course(session, Principal.of_user(staff), course_id)
    except DomainError as err:
        return error_page(request, staff, err)
    if course.status is CourseStatus.published:
        return _refused(request, staff, session, course_id, cx.CoursePublished())
    return staff


@router.post("/staff/courses/{course_id}/lessons")
def add_lesson(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[LessonForm, Form()],
) -> Response:
    """A new lesson, only while the course is a draft (the page shows no form afterwards)."""
    staff = _draft_staff(request, user, form.csrf, session, course_id)
    if isinstance(staff, Response):
        return staff
    return _lesson_post(request, course_id, None, staff, session, form)


@router.post("/staff/courses/{course_id}/lessons/{lesson_id}")
def update_lesson(
    request: Request,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[LessonForm, Form()],
) -> Response:
    return _lesson_post(request, course_id, lesson_id, user, session, form)


def _course_edit(
    request: Request,
    user: User | None,
    session: Session,
    csrf: str,
    course_id: uuid.UUID,
    change: Callable[[Principal], object],
    section: str,
    flash: str,
) -> Response:
    """A one-button change of a course (move, remove): done and back to its section with a
    flash, or the course page with the refusal in words."""
    staff = _staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    try:
        change(Principal.of_user(staff))
    except DomainError as err:
        return _refused(
            request, staff, session, course_id, err, error=message_for(err, lang_of(request))
        )
    return redirect(request, f"/staff/courses/{course_id}#{section}", flash)


@router.post("/staff/courses/{course_id}/lessons/{lesson_id}/move")
def move_lesson(
    request: Request,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    to: Annotated[int, Form(ge=1, le=100_000)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _course_edit(
        request,
        user,
        session,
        csrf,
        course_id,
        lambda who: courses.move_lesson(session, who, course_id, lesson_id, position=to),
        "lessons",
        "lesson_moved",
    )


@router.post("/staff/courses/{course_id}/lessons/{lesson_id}/remove")
def remove_lesson(
    request: Request,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _course_edit(
        request,
        user,
        session,
        csrf,
        course_id,
        lambda who: courses.remove_lesson(session, who, course_id, lesson_id),
        "lessons",
        "lesson_removed",
    )


# ---------------------------------------------------------------- questions


def parse_question(form: QuestionForm) -> tuple[list[str] | None, list[int] | None]:
    """Option rows as typed (blank rows dropped) and the ticked rows as indexes of the kept
    options; ``(None, None)`` when a ticked row is blank. A judge question with every row
    blank takes the default options (the first row is 正确, the second 错误)."""
    rows = [o.strip() for o in form.option]
    ticked: set[int] = set()
    for a in form.answer:
        index = ascii_int(a)
        if index is None or index >= MAX_OPTION_ROWS:
            return None, None
        ticked.add(index)
    if form.kind == QKind.judge.value and not any(rows):
        return [], sorted(i for i in ticked)
    kept = [i for i, o in enumerate(rows) if o]
    if any(i >= len(rows) or not rows[i] for i in ticked):
        return None, None
    return [rows[i] for i in kept], sorted(kept.index(i) for i in ticked)


def _question_post(
    request: Request,
    course_id: uuid.UUID,
    question_id: uuid.UUID | None,
    user: User | None,
    session: Session,
    form: QuestionForm,
) -> Response:
    staff = _staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    t = gettext(lang)
    target = str(question_id) if question_id else "new"
    values = {
        "kind": form.kind,
        "stem": form.stem,
        "options": list(form.option),
        "answer": [i for i in map(ascii_int, form.answer) if i is not None],
    }
    keep = {"question_target": target, "question_values": values}
    options, answer = parse_question(form)
    if options is None or answer is None:
        errors = {"answer": _rule(t, QUESTION_RULES, "answer")}
        return _course_page(
            request, staff, session, course_id, status=422, question_errors=errors, **keep
        )
    principal = Principal.of_user(staff)
    try:
        if question_id is None:
            courses.add_question(
                session,
                principal,
                course_id,
                kind=form.kind,
                stem=form.stem,
                options=options or None,
                answer=answer,
            )
        else:
            courses.update_question(
                session,
                principal,
                course_id,
                question_id,
                kind=form.kind,
                stem=form.stem,
                options=options,
                answer=answer,
            )
    except DomainError as err:
        errors = field_error(err, lang, QUESTION_RULES, "answer")
        return _refused(request, staff, session, course_id, err, question_errors=errors, **keep)
    flash = "question_added" if question_id is None else "question_saved"
    return redirect(request, f"/staff/courses/{course_id}#questions", flash)


@router.post("/staff/courses/{course_id}/questions")
def add_question(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[QuestionForm, Form()],
) -> Response:
    """A new question, only while the course is a draft (the page shows no form afterwards)."""
    staff = _draft_staff(request, user, form.csrf, session, course_id)
    if isinstance(staff, Response):
        return staff
    return _question_post(request, course_id, None, staff, session, form)


@router.post("/staff/courses/{course_id}/questions/{question_id}")
def update_question(
    request: Request,
    course_id: uuid.UUID,
    question_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[QuestionForm, Form()],
) -> Response:
    return _question_post(request, course_id, question_id, user, session, form)


@router.post("/staff/courses/{course_id}/questions/{question_id}/remove")
def remove_question(
    request: Request,
    course_id: uuid.UUID,
    question_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _course_edit(
        request,
        user,
        session,
        csrf,
        course_id,
        lambda who: courses.remove_question(session, who, course_id, question_id),
        "questions",
        "question_removed",
    )


# ---------------------------------------------------------------- learners and progress


@router.get("/staff/courses/{course_id}/learners")
def learners_page(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    cursor: str | None = None,
) -> Response:
    staff = _staff(request, user)
    if isinstance(staff, Response):
        return staff
    principal = Principal.of_user(staff)
    lang: Lang = lang_of(request)
    try:
        course = courses.get_own_course(session, principal, course_id)
        rows, next_cursor = courses.list_course_enrollments(
            session, principal, course.id, cursor=cursor, limit=LEARNERS_PAGE
        )
    except DomainError as err:
        return error_page(request, staff, err)
    certs = certificates.certificates_of(session, principal, [e.id for e, _u in rows])
    items = []
    for enrollment, learner in rows:
        p = progress(enrollment, course)
        items.append(
            {
                "enrollment": enrollment,
                "learner": learner,
                "p": p,
                "complete": enrollment.completed_at is not None or p.complete,
                "missing": p.missing_zh if lang == "zh" else p.missing,
                "certificate": certs.get(enrollment.id),
            }
        )
    return render(
        request,
        "staff_learners.html",
        staff,
        course=course,
        items=items,
        next_cursor=next_cursor,
        first_page=cursor is None,
        groups=GROUP_NAMES,
    )


def review_link(event: AttendanceEvent) -> str | None:
    """Where a flagged event sits in the review queue (pending or decided)."""
    if event.review_status is None:
        return None
    tab = "" if event.review_status is ReviewStatus.pending else "?tab=decided"
    return f"/staff/review{tab}#ev-{event.id}"


def _enrollment_page(
    request: Request,
    user: User,
    session: Session,
    enrollment_id: uuid.UUID,
    *,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    principal = Principal.of_user(user)
    lang: Lang = lang_of(request)
    try:
        enrollment = courses.get_enrollment_for(session, principal, enrollment_id)
    except DomainError as err:
        return error_page(request, user, err)
    course = courses.course_of(session, enrollment)
    p = progress(enrollment, course)
    events = attendance.list_events(
        session,
        principal,
        user_id=enrollment.user_id,
        institution_id=enrollment.institution_id,
        limit=200,
    )
    ctx: dict[str, Any] = {
        "enrollment": enrollment,
        "course": course,
        "learner": accounts.get_user(session, enrollment.user_id),
        "p": p,
        "complete": enrollment.completed_at is not None or p.complete,
        "missing": p.missing_zh if lang == "zh" else p.missing,
        "events": [(e, review_link(e)) for e in events],
        "certificate": certificates.certificate_of(session, enrollment.id),
        "groups": GROUP_NAMES,
        "issue_error": None,
        "issue_missing": None,
        "revoke_error": None,
        "confirm_reason": None,
        **extra,
    }
    return render(request, "staff_enrollment.html", user, status=status, **ctx)


@router.get("/staff/enrollments/{enrollment_id}")
def enrollment_page(
    request: Request, enrollment_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = _staff(request, user)
    if isinstance(staff, Response):
        return staff
    return _enrollment_page(request, staff, session, enrollment_id)


@router.post("/staff/enrollments/{enrollment_id}/certificate")
def issue_certificate(
    request: Request,
    enrollment_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = _staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    try:
        certificates.issue(session, Principal.of_user(staff), enrollment_id)
    except (certx.NotComplete, certx.AlreadyIssued, certx.NoRealName) as err:
        failed(session, err)
        missing = err.extra.get("missing_zh" if lang == "zh" else "missing")
        message = message_for(err, lang)
        if isinstance(err, certx.AlreadyIssued):
            t = gettext(lang)
            message = f"{message} {t('证书编号：')}{err.extra.get('serial')}"
        return _enrollment_page(
            request,
            staff,
            session,
            enrollment_id,
            status=err.status,
            issue_error=message,
            issue_code=err.code,
            issue_missing=missing,
        )
    except DomainError as err:
        failed(session, err)
        return error_page(request, staff, err)
    return redirect(request, f"/staff/enrollments/{enrollment_id}", "certificate_issued")


@router.post("/staff/enrollments/{enrollment_id}/revoke")
def revoke_certificate(
    request: Request,
    enrollment_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=2_000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Two steps: the reason, then a confirmation showing it (revoking cannot be undone)."""
    staff = _staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    reason = reason.strip()
    if not reason or len(reason) > certificates.REASON_CHARS:
        return _enrollment_page(
            request,
            staff,
            session,
            enrollment_id,
            status=422,
            revoke_error=message_for(certx.InvalidRevocation(), lang),
            reason_value=reason,
        )
    if confirm != "yes":
        return _enrollment_page(request, staff, session, enrollment_id, confirm_reason=reason)
    try:
        certificates.revoke_for_enrollment(session, Principal.of_user(staff), enrollment_id, reason)
    except (certx.AlreadyRevoked, certx.InvalidRevocation) as err:
        failed(session, err)
        return _enrollment_page(
            request,
            staff,
            session,
            enrollment_id,
            status=err.status,
            revoke_error=message_for(err, lang),
        )
    except DomainError as err:
        failed(session, err)
        return error_page(request, staff, err)
    return redirect(request, f"/staff/enrollments/{enrollment_id}", "certificate_revoked")


# ---------------------------------------------------------------- subsidy claims


def _this_quarter() -> tuple[int, int]:
    now: datetime = clock.now().astimezone(SHANGHAI)
    return now.year, (now.month - 1) // 3 + 1


def _period(year: str | None, quarter: str | None) -> tuple[int, int] | None:
    if year is None and quarter is None:
        return _this_quarter()
    y, q = ascii_int(year or ""), ascii_int(quarter or "")
    if y is None or q is None:
        return None
    return y, q


@router.get("/staff/claims")
def claims_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    year: Annotated[str | None, Query(max_length=8)] = None,
    quarter: Annotated[str | None, Query(max_length=2)] = None,
) -> Response:
    staff = _staff(request, user)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    this_year, this_quarter = _this_quarter()
    period = _period(year, quarter)
    report = None
    error = None
    if period is None:
        error = message_for(certx.InvalidClaimPeriod(), lang)
    else:
        try:
            report = claims.build(
                session, Principal.of_user(staff), year=period[0], quarter=period[1]
            )
        except DomainError as err:
            error = message_for(err, lang)
    shown_year, shown_quarter = period or (this_year, this_quarter)
    return render(
        request,
        "staff_claims.html",
        staff,
        status=422 if error else 200,
        report=report,
        error=error,
        year=year if period is None else shown_year,
        quarter=quarter if period is None else shown_quarter,
        years=list(range(this_year, this_year - 6, -1)),
        yuan=yuan,
    )


@router.get("/staff/claims/download")
def claims_download(
    request: Request,
    user: PageUser,
    session: SessionDep,
    year: Annotated[str, Query(max_length=8)] = "",
    quarter: Annotated[str, Query(max_length=2)] = "",
    format: Annotated[str, Query(max_length=8)] = "csv",
) -> Response:
    """The quarter's claims as CSV or XLSX, the bytes the API sends (same builder)."""
    staff = _staff(request, user)
    if isinstance(staff, Response):
        return staff
    period = _period(year, quarter)
    try:
        if period is None or format not in ("csv", "xlsx"):
            raise certx.InvalidClaimPeriod()
        report = claims.build(session, Principal.of_user(staff), year=period[0], quarter=period[1])
    except DomainError as err:
        return error_page(request, staff, err)
    if format == "xlsx":
        body, media = claims.to_xlsx(report), XLSX
    else:
        body, media = claims.to_csv(report), "text/csv; charset=utf-8"
    response = Response(body, media_type=media)
    secure_headers(response)
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Content-Disposition"] = f'attachment; filename="{report.filename}.{format}"'
    return response
