"""The learner's pages: sign-up and sign-in, consent, face enrolment, courses, study, quiz,
progress and the training record.

Pages are server-rendered; the camera, heartbeats, roll-calls and the quiz run in small ES
modules (``static/js``) that call the REST API with the session cookie and the CSRF header.
Handlers only translate HTTP: the rules live in the services they call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.api.deps import SessionDep, client_info
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, ReviewStatus
from app.config import get_settings
from app.courses import exceptions as cx
from app.courses import quiz
from app.courses import service as courses
from app.courses.models import LEVEL_NAMES_ZH, Course, Enrollment
from app.courses.progress import progress
from app.errors import DomainError
from app.web.i18n import (
    Lang,
    gettext,
    js_strings,
    labeller,
    lang_of,
    message_for,
    remember_lang,
)
from app.web.session import PageUser, check_csrf, csrf_value, remember_csrf, sign_in, sign_out

router = APIRouter(include_in_schema=False)

TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True),
    )
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: CSS, scripts and vendored files, beside ``app/`` (DESIGN.md: ``static/``).
STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

#: Pages allow only their own scripts, styles and API calls (no inline code at all).
CSP = (
    "default-src 'self'; script-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
FLASH_COOKIE = "st_flash"

#: Flash messages by key (a key travels in the cookie, never text).
FLASHES = {
    "registered": "注册成功！请先阅读并确认人脸信息处理说明。",
    "signed_in": "登录成功。",
    "signed_out": "您已安全退出。",
    "consent_granted": "已同意人脸信息处理。下一步：采集人脸。",
    "consent_withdrawn": "已撤回同意，您的人脸特征已删除。如需继续线上学习，请重新同意并采集人脸。",
    "enrolled": "报名成功！刷脸签到后即可开始学习。",
    "already_enrolled": "您已报名该课程。",
    "need_consent": "使用人脸验证前，请先阅读并同意人脸信息处理说明。",
    "need_face": "请先完成人脸采集。",
    "need_reenrol": "人脸识别模型已升级，请重新采集一次人脸（含活体检测）。已获得的学时不受影响。",
    "session_expired": "登录已过期，请重新登录。",
    "review_approved": "审核结果已保存：已批准。该记录已移至“已审核”。",
    "review_rejected": "审核结果已保存：已驳回。该记录已移至“已审核”。",
    # staff pages: courses, lessons, questions, certificates (app/web/staff.py)
    "course_created": "课程草稿已创建。请添加课时和试题，然后发布。",
    "course_saved": "课程设置已保存。",
    "course_published": "课程已发布，学员现在可以报名。课时和题库自此冻结。",
    "lesson_added": "课时已添加。",
    "lesson_saved": "课时已保存。",
    "lesson_moved": "课时顺序已调整。",
    "lesson_removed": "课时已删除。",
    "question_added": "试题已添加。",
    "question_saved": "试题已保存。",
    "question_removed": "试题已删除。",
    "certificate_issued": "培训合格证明已颁发。",
    "certificate_revoked": "证书已撤销，验证页面将显示撤销原因。",
    # staff integrations page: API keys and webhooks (app/web/integrations.py)
    "api_key_revoked": "API 密钥已撤销，立即失效。",
    "webhook_disable": "Webhook 订阅已停用，尚未发送的消息已取消。",
    "webhook_enable": "Webhook 订阅已启用，此后的事件将发送到该地址。",
    "webhook_test": "测试消息已加入发送队列，稍后可在投递记录中查看结果。",
}

GROUP_NAMES = {
    LearnerGroup.enterprise_employee: "企业职工",
    LearnerGroup.migrant_worker: "农民工",
    LearnerGroup.school_leaver: "两后生（未升学的初高中毕业生）",
    LearnerGroup.unemployed: "失业人员",
    LearnerGroup.ex_serviceman: "退役军人",
    LearnerGroup.employment_difficulty: "就业困难人员（含残疾人）",
    LearnerGroup.college_graduate: "高校毕业生",
    LearnerGroup.poverty_labourer: "脱贫劳动力",
    LearnerGroup.other: "其他",
}

LEVEL_NAMES_EN = {
    "level5": "Level 5 (junior worker)",
    "level4": "Level 4 (intermediate worker)",
    "level3": "Level 3 (senior worker)",
    "level2": "Level 2 (technician)",
    "level1": "Level 1 (senior technician)",
    "special": "Special skill / training qualified",
}


# ---------------------------------------------------------------- rendering


def secure_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"


def render(
    request: Request,
    name: str,
    user: User | None,
    status: int = 200,
    **ctx: Any,
) -> HTMLResponse:
    lang = lang_of(request)
    csrf = csrf_value(request)
    flash_key = request.cookies.get(FLASH_COOKIE)
    t = gettext(lang)
    context = {
        "lang": lang,
        "_": t,
        "csrf": csrf,
        "user": user,
        "flash": t(FLASHES[flash_key]) if flash_key in FLASHES else None,
        "path": request.url.path,
        "js": js_strings(lang),
        "level_name": lambda level: (
            LEVEL_NAMES_ZH[level] if lang == "zh" else LEVEL_NAMES_EN[level]
        ),
        "local_time": _local_time,
        "label": labeller(lang),
        **ctx,
    }
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    secure_headers(response)
    remember_csrf(response, request, csrf)
    remember_lang(request, response)
    if flash_key:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def _local_time(dt: Any) -> str:
    return str(dt.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")) if dt else ""


def redirect(request: Request, url: str, flash: str | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    secure_headers(response)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, flash, max_age=60, path="/", httponly=True, samesite="lax"
        )
    return response


def to_login(request: Request, flash: str | None = None) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(request, f"/login?next={quote(here, safe='')}", flash)


def safe_next(value: str | None) -> str:
    """Only local paths: never ``//host`` or a scheme (an open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/my"


def failed(session: Session, err: DomainError) -> None:
    """A page caught a refusal: keep only what the service marked to keep (e.g. a failed login)."""
    if err.commit:
        session.commit()
    else:
        session.rollback()


def with_retry_after(err: DomainError, response: HTMLResponse) -> HTMLResponse:
    """A page refusing for a while (429) says for how long, as the API does."""
    if "retry_after" in err.extra:
        response.headers["Retry-After"] = str(err.extra["retry_after"])
    return response


def error_page(request: Request, user: User | None, err: DomainError) -> HTMLResponse:
    return render(
        request,
        "error.html",
        user,
        status=err.status,
        message=message_for(err, lang_of(request)),
    )


def not_learner(request: Request, user: User) -> HTMLResponse:
    t = gettext(lang_of(request))
    return render(
        request,
        "error.html",
        user,
        status=403,
        message=t("这些页面供学员使用。培训机构工作人员请使用“考勤审核”页面。"),
    )


def not_staff(request: Request, user: User) -> HTMLResponse:
    t = gettext(lang_of(request))
    return render(
        request, "error.html", user, status=403, message=t("此页面仅供培训机构工作人员使用。")
    )


def start_page(user: User) -> str:
    """Where a signed-in user lands: staff on the review queue, regulators on their dashboard,
    admins on the admin console, everyone else on /my."""
    if user.role is Role.regulator:
        return "/regulator"
    if user.role is Role.admin:
        return "/admin"
    return "/staff/review" if user.role is Role.staff else "/my"


# ---------------------------------------------------------------- home, sign-up, sign-in


@router.get("/")
def home(request: Request, user: PageUser) -> Response:
    return redirect(request, start_page(user) if user else "/login")


@router.get("/register")
def register_page(request: Request, user: PageUser) -> Response:
    return render(request, "register.html", user, form={}, error=None, groups=GROUP_NAMES)


@router.post("/register")
def register_submit(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    real_name: Annotated[str, Form(max_length=64)] = "",
    id_number: Annotated[str, Form(max_length=32)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    group: Annotated[str, Form(max_length=32)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    form = {
        "username": username,
        "real_name": real_name,
        "id_number": id_number,
        "phone": phone,
        "group": group,
    }
    lang = lang_of(request)
    t = gettext(lang)
    if not (username and password and real_name and id_number):
        return render(
            request,
            "register.html",
            None,
            status=422,
            form=form,
            error=t("请填写用户名、密码、姓名和身份证号码。"),
            groups=GROUP_NAMES,
        )
    try:
        user = accounts.register_learner(
            session,
            username=username,
            password=password,
            real_name=real_name,
            id_number=id_number,
            phone=phone.strip() or None,
            group=LearnerGroup(group) if group in LearnerGroup.__members__ else None,
            client=request.client.host if request.client else None,
        )
    except DomainError as err:
        failed(session, err)
        return with_retry_after(
            err,
            render(
                request,
                "register.html",
                None,
                status=err.status,
                form=form,
                error=message_for(err, lang),
                error_code=err.code,
                error_field=err.extra.get("field"),
                groups=GROUP_NAMES,
            ),
        )
    response = redirect(request, "/consent", "registered")
    sign_in(response, request, user)
    return response


@router.get("/login")
def login_page(request: Request, user: PageUser, next: str | None = None) -> Response:
    if user is not None:  # already signed in: where they asked to go, or their own home
        return redirect(request, safe_next(next) if next else start_page(user))
    return render(request, "login.html", None, next=safe_next(next), error=None, username="")


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/my",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        user = accounts.authenticate(
            session, username, password, client=request.client.host if request.client else None
        )
    except DomainError as err:
        failed(session, err)
        return with_retry_after(
            err,
            render(
                request,
                "login.html",
                None,
                status=err.status,
                next=safe_next(next),
                error=message_for(err, lang_of(request)),
                username=username,
            ),
        )
    target = safe_next(next)
    if user.role is Role.learner and not user.biometric_consent and target == "/my":
        target = "/consent"
    elif target == "/my":
        target = start_page(user)
    response = redirect(request, target, "signed_in")
    sign_in(response, request, user)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(request, csrf)
    response = redirect(request, "/login", "signed_out")
    sign_out(response, request)
    return response


# ---------------------------------------------------------------- consent and face


@router.get("/consent")
def consent_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    enrolled = attendance.active_template(session, user.id) is not None
    return render(
        request,
        "consent.html",
        user,
        consent_text=accounts.CONSENT_TEXT_ZH,
        retention_days=get_settings().evidence_retention_days,
        version=get_settings().consent_version,
        face_enrolled=enrolled,
    )


@router.post("/consent")
def consent_submit(
    request: Request,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    granted = decision == "grant"
    ip, ua = client_info(request)
    accounts.set_biometric_consent(session, user, granted=granted, ip=ip, user_agent=ua)
    if granted:
        enrolled = attendance.active_template(session, user.id) is not None
        return redirect(request, "/my" if enrolled else "/face", "consent_granted")
    return redirect(request, "/consent", "consent_withdrawn")


@router.get("/face")
def face_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    if not user.biometric_consent:
        return redirect(request, "/consent", "need_consent")
    template = attendance.active_template(session, user.id)
    return render(
        request,
        "face.html",
        user,
        template=template,
        reenrol=template is not None and not attendance.template_is_current(template),
        max_frames=get_settings().face_max_frames,
    )


# ---------------------------------------------------------------- courses


def _enrolments_by_course(session: Session, user: User) -> dict[uuid.UUID, Enrollment]:
    return {
        e.course_id: e for e, _c in courses.list_my_enrollments(session, Principal.of_user(user))
    }


@router.get("/courses")
def catalogue_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    rows, _next = courses.list_catalogue(session, limit=200)
    mine = _enrolments_by_course(session, user) if user.role is Role.learner else {}
    return render(request, "catalogue.html", user, courses=rows, mine=mine)


@router.get("/courses/{course_id}")
def course_page(
    request: Request, course_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    if user is None:
        return to_login(request)
    principal = Principal.of_user(user)
    try:
        course = courses.get_course(session, principal, course_id)
        lessons = courses.list_lessons(session, principal, course_id)
    except DomainError as err:
        return error_page(request, user, err)
    mine = (
        _enrolments_by_course(session, user).get(course.id) if user.role is Role.learner else None
    )
    return render(request, "course.html", user, course=course, lessons=lessons, enrollment=mine)


@router.post("/courses/{course_id}/enrol")
def course_enrol(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    try:
        enrollment = courses.enrol(session, Principal.of_user(user), course_id)
    except cx.AlreadyEnrolled as err:
        failed(session, err)
        return redirect(request, f"/study/{err.extra.get('enrollment_id')}", "already_enrolled")
    except DomainError as err:
        failed(session, err)
        return error_page(request, user, err)
    return redirect(request, f"/study/{enrollment.id}", "enrolled")


@router.get("/my")
def my_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    rows = courses.list_my_enrollments(session, Principal.of_user(user))
    enrolled = attendance.active_template(session, user.id) is not None
    items = [(e, c, progress(e, c)) for e, c in rows]
    return render(
        request,
        "my.html",
        user,
        items=items,
        face_enrolled=enrolled,
        face_reenrol=attendance.needs_reenrolment(session, user.id),
    )


# ---------------------------------------------------------------- study, quiz, progress


def _learner_enrollment(
    request: Request, user: User | None, session: Session, enrollment_id: uuid.UUID
) -> tuple[Enrollment, Course] | Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    try:
        enrollment = courses.get_enrollment_for(session, Principal.of_user(user), enrollment_id)
    except DomainError as err:
        return error_page(request, user, err)
    return enrollment, courses.course_of(session, enrollment)


def _face_ready(request: Request, user: User, session: Session) -> Response | None:
    if not user.biometric_consent:
        return redirect(request, "/consent", "need_consent")
    if attendance.active_template(session, user.id) is None:
        return redirect(request, "/face", "need_face")
    if attendance.needs_reenrolment(session, user.id):
        return redirect(request, "/face", "need_reenrol")
    return None


@router.get("/study/{enrollment_id}")
def study_page(
    request: Request, enrollment_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    found = _learner_enrollment(request, user, session, enrollment_id)
    if isinstance(found, Response):
        return found
    assert user is not None  # noqa: S101 - _learner_enrollment returned a response otherwise
    enrollment, course = found
    lessons = courses.list_lessons(session, Principal.of_user(user), course.id)
    return render(
        request,
        "study.html",
        user,
        enrollment=enrollment,
        course=course,
        lessons=lessons,
        p=progress(enrollment, course),
        face_block=_face_ready(request, user, session) is not None,
        face_reenrol=attendance.needs_reenrolment(session, user.id),
        consent=user.biometric_consent,
        max_frames=get_settings().face_max_frames,
    )


@router.get("/quiz/{enrollment_id}")
def quiz_page(
    request: Request, enrollment_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    found = _learner_enrollment(request, user, session, enrollment_id)
    if isinstance(found, Response):
        return found
    assert user is not None  # noqa: S101
    enrollment, course = found
    blocked = _face_ready(request, user, session)
    if blocked is not None:
        return blocked
    attempts = quiz.list_attempts(session, Principal.of_user(user), enrollment.id)
    return render(
        request,
        "quiz.html",
        user,
        enrollment=enrollment,
        course=course,
        attempts=attempts,
        attempts_left=max(course.quiz_max_attempts - len(attempts), 0),
        max_frames=get_settings().face_max_frames,
    )


@router.get("/progress/{enrollment_id}")
def progress_page(
    request: Request, enrollment_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    found = _learner_enrollment(request, user, session, enrollment_id)
    if isinstance(found, Response):
        return found
    enrollment, course = found
    lang: Lang = lang_of(request)
    p = progress(enrollment, course)
    return render(
        request,
        "progress.html",
        user,
        enrollment=enrollment,
        course=course,
        p=p,
        missing=p.missing_zh if lang == "zh" else p.missing,
        certificate=_certificate_serial(session, enrollment.id),
    )


def _certificate_serial(session: Session, enrollment_id: uuid.UUID) -> str | None:
    try:
        from app.certificates.service import certificate_of
    except ImportError:  # pragma: no cover - the certificates package is not installed
        return None
    cert = certificate_of(session, enrollment_id)
    return cert.serial if cert is not None else None


@router.get("/record")
def record_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    principal = Principal.of_user(user)
    rows = courses.list_my_enrollments(session, principal)
    items = [(e, c, progress(e, c), _certificate_serial(session, e.id)) for e, c in rows]
    events = attendance.list_events(session, principal, user_id=user.id, limit=200)
    return render(request, "record.html", user, items=items, events=events)


# ---------------------------------------------------------------- staff: attendance review


@dataclass(frozen=True)
class ReviewItem:
    """One event of the review queue with what the reviewer compares it against."""

    event: AttendanceEvent
    learner: User | None
    #: The learner's enrolment crop (their active template's enrolment event), if viewable.
    enrol_crop: uuid.UUID | None
    #: A 1:N duplicate: the other account, and its enrolment crop if this staff may see it.
    matched: User | None
    matched_crop: uuid.UUID | None
    reviewer: User | None

    @property
    def has_crop(self) -> bool:
        return _has_crop(self.event)


def _has_crop(event: AttendanceEvent) -> bool:
    return bool(event.evidence_path) and event.evidence_purged_at is None


def _enrolment_crop(
    session: Session, principal: Principal, user_id: uuid.UUID, event: AttendanceEvent
) -> uuid.UUID | None:
    """The crop of ``user_id``'s active enrolment, when it exists, is not the event under review
    itself and lies in an institution this principal may see."""
    template = attendance.active_template(session, user_id)
    if template is None or template.enrol_event_id in (None, event.id):
        return None
    enrol = session.get(AttendanceEvent, template.enrol_event_id)
    if enrol is None or not _has_crop(enrol):
        return None
    return enrol.id if principal.can_see_institution(enrol.institution_id) else None


def _review_item(session: Session, principal: Principal, event: AttendanceEvent) -> ReviewItem:
    matched = None
    if event.matched_user_id is not None:
        other = accounts.get_user(session, event.matched_user_id)
        if other is not None and principal.can_see_institution(other.institution_id):
            matched = other
    return ReviewItem(
        event=event,
        learner=accounts.get_user(session, event.user_id),
        enrol_crop=_enrolment_crop(session, principal, event.user_id, event),
        matched=matched,
        matched_crop=(
            _enrolment_crop(session, principal, event.matched_user_id, event)
            if event.matched_user_id is not None
            else None
        ),
        reviewer=accounts.get_user(session, event.reviewed_by) if event.reviewed_by else None,
    )


def _review_page(
    request: Request,
    user: User,
    session: Session,
    *,
    tab: str,
    status: int = 200,
    error: str | None = None,
    error_event: uuid.UUID | None = None,
) -> HTMLResponse:
    principal = Principal.of_user(user)
    pending = attendance.list_events(session, principal, review_status=ReviewStatus.pending)
    if tab == "decided":
        events = [
            e
            for st in (ReviewStatus.approved, ReviewStatus.rejected)
            for e in attendance.list_events(session, principal, review_status=st)
        ]
        events.sort(key=lambda e: e.reviewed_at or e.created_at, reverse=True)
    else:
        events = pending
    return render(
        request,
        "staff_review.html",
        user,
        status=status,
        tab=tab,
        pending_count=len(pending),
        items=[_review_item(session, principal, e) for e in events],
        error=error,
        error_event=error_event,
    )


@router.get("/staff/review")
def staff_review_page(
    request: Request, user: PageUser, session: SessionDep, tab: str = "pending"
) -> Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.staff:
        return not_staff(request, user)
    return _review_page(request, user, session, tab="decided" if tab == "decided" else "pending")


@router.post("/staff/review/{event_id}")
def staff_review_decide(
    request: Request,
    event_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    if user.role is not Role.staff:
        return not_staff(request, user)
    t = gettext(lang_of(request))
    if decision not in ("approve", "reject") or not reason.strip():
        return _review_page(
            request,
            user,
            session,
            tab="pending",
            status=422,
            error=t("请填写审核理由，再选择“批准”或“驳回”。"),
            error_event=event_id,
        )
    approve = decision == "approve"
    try:
        attendance.review(
            session, Principal.of_user(user), event_id, approve=approve, reason=reason
        )
    except DomainError as err:
        failed(session, err)
        return error_page(request, user, err)
    return redirect(request, "/staff/review", "review_approved" if approve else "review_rejected")


@router.get("/staff/evidence/{event_id}.jpg")
def staff_evidence(event_id: uuid.UUID, user: PageUser, session: SessionDep) -> Response:
    """An evidence crop for an ``<img>`` of the review page: the session cookie alone signs in
    (an image request cannot carry the CSRF header, and a GET changes nothing). The REST
    endpoint keeps requiring the header."""
    if user is None:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    if user.role is not Role.staff:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return evidence_image(session, user, event_id)


def evidence_image(session: Session, user: User, event_id: uuid.UUID) -> Response:
    """An event's evidence crop for whoever the service lets see it; errors as bare statuses
    (an ``<img>`` shows no body), never cached."""
    try:
        data = attendance.evidence(session, Principal.of_user(user), event_id)
    except DomainError as err:
        return Response(status_code=err.status, headers={"Cache-Control": "no-store"})
    response = Response(data, media_type="image/jpeg")
    secure_headers(response)
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Content-Disposition"] = f'inline; filename="{event_id}.jpg"'
    return response
