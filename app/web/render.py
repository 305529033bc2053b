"""Rendering pages: the templates, security headers, flash messages, redirects and the error
pages every page module shares. Page modules import from here, never from each other."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from app.accounts.models import LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.clock import SHANGHAI
from app.courses.models import LEVEL_NAMES_ZH
from app.db import attempt
from app.errors import DomainError
from app.idempotency import service as idempotency
from app.web.durations import Duration
from app.web.i18n import (
    gettext,
    js_strings,
    labeller,
    lang_of,
    message_for,
    remember_lang,
)
from app.web.session import csrf_value, remember_csrf

TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True),
    )
)
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
    "class_joined": "已按班级邀请码报名该班级。",
    "class_already_joined": "您已在这个班级中，无需再次报名。",
    "registered_class": "注册成功，并已按班级邀请码报名该班级！请先阅读并确认人脸信息处理说明。",
    "signed_in": "登录成功。",
    "signed_out": "您已安全退出。",
    "consent_granted": "已同意人脸信息处理。下一步：采集人脸。",
    "consent_withdrawn": "已撤回同意，您的人脸特征已删除。如需继续线上学习，请重新同意并采集人脸。",
    "certificate_photo_on": "已开启证书照片：此后下载的证书 PDF 将印有您人脸采集时的照片。",
    "certificate_photo_off": "已关闭证书照片：为证书保存的照片已删除，此后的证书 PDF 不再印照片。",
    "enrolled": "报名成功！刷脸签到后即可开始学习。",
    "already_enrolled": "您已报名该课程。",
    "need_consent": "使用人脸验证前，请先阅读并同意人脸信息处理说明。",
    "need_face": "请先完成人脸采集。",
    "need_institution": "请先选择您参加培训的机构：人脸采集的人工审核由该机构的工作人员负责。",
    "institution_chosen": "已加入该培训机构。",
    "password_reset_done": "密码已重置，请用新密码登录。",
    "password_changed": "密码已修改。",
    "email_verified": "电子邮箱已验证：忘记密码时可以用它接收验证码。",
    "email_removed": "电子邮箱已删除。",
    "need_reenrol": "人脸识别模型已升级，请重新采集一次人脸（含活体检测）。已获得的学时不受影响。",
    "session_expired": "登录已过期，请重新登录。",
    "review_approved": "审核结果已保存：已批准。该记录已移至“已审核”。",
    "review_rejected": "审核结果已保存：已驳回。该记录已移至“已审核”。",
    # staff pages: courses, lessons, questions, certificates (app/web/staff.py)
    # regulator: subsidy standards (app/web/regulator/standards.py)
    "standard_set": "补贴标准已保存并生效；同一职业、等级的上一版本自前一日起终止。",
    "standard_confirmed": "补贴标准已确认生效。",
    "standard_withdrawn": "补贴标准已撤回；已颁发证书的补贴金额不受影响。",
    # eligibility facts (app/web/eligibility.py)
    "group_confirmed": "人员类别已按证明材料核实。",
    "residence_confirmed": "地区信息已按证明材料核实。",
    "external_recorded": "外部证书已登记，待人社部门确认后计入补贴条件。",
    "fact_verified": "已核验。",
    "fact_rejected": "已驳回，原因已记录。",
    "external_confirmed": "外部证书已确认，现计入补贴条件。",
    "external_rejected": "外部证书未获确认，原因已记录。",
    # the institution registry (app/web/regulator/registry.py)
    "registry_approved": "已核准，核准范围已记入该机构的审计日志。",
    "registry_suspended": "已暂停该机构；其工作人员仍可查看数据，但不能开班、发证或申报补贴。",
    "registry_revoked": "已撤销该机构的登记。",
    "registry_updated": "登记信息已保存。",
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
    "certificate_settings_saved": "证书设置已保存。",
    "seal_saved": "印章已保存。此后颁发的证书将加盖该印章，已颁发的证书不变。",
    "seal_removed": "已停用印章图片。此后颁发的证书不再加盖印章图片，已颁发的证书不变。",
    # staff classes pages (app/web/staff/classes.py)
    "class_created": "班级已创建。开班后学员即可按期学习。",
    "form_already_sent": "这份表单刚才已经提交过，没有重复创建。",
    "class_opened": "已开班。",
    "class_closed": "已结业，班级名册已冻结。",
    "class_enrolled": "学员已报名本班。",
    "class_moved": "已转班：学员已转入本班，原班级的名额已释放，转班原因已记入审计日志。",
    # offline sessions (app/web/offline.py)
    "offline_scheduled": "线下实训场次已安排。学员可在手机上“线下实训”页面查看并出示签到二维码。",
    "assessed": "实操考核结果已保存。",
    "offline_cancelled": "本场线下实训已取消，学员的实训安排中会显示取消原因。",
    "class_filed": "开班备案已提交，等待人社部门审核。",
    "class_completion_filed": "结业备案已提交，等待人社部门审核。",
    "filing_approved": "已同意该备案。",
    "filing_returned": "已退回该备案，机构修改后可重新提交。",
    "activated": "账号已激活，请用新设置的用户名和密码登录，然后阅读并确认人脸信息处理说明。",
    "exception_granted": "已作例外处理：本次点名计为通过，未计入的学时已补记。",
    # staff integrations page: API keys and webhooks (app/web/integrations.py)
    "api_key_revoked": "API 密钥已撤销，立即失效。",
    "webhook_disable": "Webhook 订阅已停用，尚未发送的消息已取消。",
    "webhook_enable": "Webhook 订阅已启用，此后的事件将发送到该地址。",
    "webhook_test": "测试消息已加入发送队列，稍后可在投递记录中查看结果。",
    # the public notice of subsidy claims (app/web/notices.py)
    "objection_received": "您的异议已提交，将由人社部门核查处理。",
    # claim batches: staff and regulator pages (app/web/staff/claim_batches.py, regulator/claims.py)
    "claim_filed": "申报批次已提交，明细已冻结，等待人社部门审核。",
    "claim_evidence_provided": "补充材料已提交，该条明细已退回复核。",
    "claim_line_reviewed": "审核意见已保存。",
    "claim_batch_approved": "批次已审核通过，通过的明细已进入公示期。",
    "claim_payment_recorded": "拨付记录已登记。",
    "claim_finding_recorded": "核查发现已登记，已生成追回事项。",
    "claim_recovery_settled": "追回事项已办结。",
    "claim_objection_resolved": "异议处理结果已保存。",
    "claim_corrections_filed": "更正申报已提交：重新申报的明细注明了它更正的原明细。",
    "subsidy_applied": "补贴申请已提交，请留意审核进度。",
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

#: When a course's quiz opens (app/courses/quiz.py applies it), as the pages say it; the
#: after-hours words take the course's required minutes.
QUIZ_OPENS_WORDS = {
    "after_hours": "学完要求的 %d 分钟有效学时后方可参加考试",
    "any_time": "报名后随时可以参加考试",
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
        "quiz_rule": lambda course: _quiz_rule(t, course),
        "span": lambda seconds: Duration(int(seconds)).words(t),
        "label": labeller(lang),
        "form_token": form_token,
        **ctx,
    }
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    secure_headers(response)
    remember_csrf(response, request, csrf)
    remember_lang(request, response)
    if flash_key:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def _quiz_rule(t: Any, course: Any) -> str:
    """The course's quiz opening rule in words (``course.quiz_opens``)."""
    words = str(t(QUIZ_OPENS_WORDS[course.quiz_opens.value]))
    return words % course.required_minutes if "%d" in words else words


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


T = TypeVar("T")


def act(
    request: Request,
    session: Session,
    user: User,
    change: Callable[[], T],
    *,
    refused: Callable[[DomainError], Response],
    done: Callable[[T], Response],
    gone: tuple[type[DomainError], ...] = (),
    once: str = "",
) -> Response:
    """A page's button or form that changes something: ``change`` in a savepoint; a refusal that
    leaves nothing to show the page on (``gone``: the class not found, say) as the error page,
    any other as ``refused`` says (the page again with the reason); on success ``done``.

    ``once``: the form's one-use token (:func:`form_token`, a hidden field). The form sent again
    with it — a double click, a reload, the back button — makes nothing twice: it goes where the
    first went, saying so. The token is claimed with the change and kept with its outcome
    (app/idempotency, the API's Idempotency-Key store), so a refused form may be sent again."""
    key = _form_key(request, user, once)
    claimed: uuid.UUID | idempotency.StoredResponse | None = None
    try:
        with attempt(session):
            claimed = idempotency.claim(session, key) if key is not None else None
            if not isinstance(claimed, idempotency.StoredResponse):
                made = change()
    except gone as err:
        return error_page(request, user, err)
    except DomainError as err:
        return refused(err)
    if isinstance(claimed, idempotency.StoredResponse):
        location = dict(claimed.headers).get("location")
        return redirect(request, location or request.url.path, "form_already_sent")
    response = done(made)
    if isinstance(claimed, uuid.UUID):
        idempotency.complete(
            session,
            claimed,
            status=response.status_code,
            headers=response.headers.items(),
            body=b"",
        )
    return response


#: What a form's one-use token looks like (``form_token``: 32 hex digits).
_TOKEN = re.compile(r"[0-9a-f]{32}")


def form_token() -> str:
    """A new one-use token for a form that makes something (the ``once`` hidden field)."""
    return uuid.uuid4().hex


def _form_key(request: Request, user: User, once: str) -> idempotency.KeyedRequest | None:
    if not _TOKEN.fullmatch(once):  # none (a form without it, an old page): as before
        return None
    return idempotency.KeyedRequest(
        caller=f"user:{user.id}",
        key=f"form:{request.url.path}:{once}"[:255],  # a token is its own form's
        method="POST",
        path=request.url.path,
        fingerprint="page-form",
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
