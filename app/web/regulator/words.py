"""The regulator pages' words (Chinese sources; English in the catalogue) and the small
helpers every regulator page uses: the reader guard, filters, formats."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from app import rfc3339
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.certificates import subsidy
from app.clock import SHANGHAI
from app.errors import DomainError
from app.reports import dashboard, statistics
from app.web.i18n import LABELS, gettext, lang_of
from app.web.render import (
    error_page,
    render,
    to_login,
)

COUNT_NAMES = {
    "enrolled": "报名",
    "trained": "参训",
    "qualified": "取得证书（有效）",
    "certificates_revoked": "证书已撤销",
    "subsidy_eligible": "符合补贴",
    "subsidy_amount_fen": "补贴金额（元）",
    "offline_minutes": "线下实训（分钟）",
}

#: Each indicator in words: what it looks for and why it matters.
INDICATOR_EXPLANATIONS = {
    "shared_face": (
        "比对全部已采集的人脸：两个不同账号的人脸特征过于接近（距离不高于阈值 %s），"
        "可能是同一人注册了多个账号，由一人替多人学习或签到。"
    ),
    "shared_frame": (
        "同一张画面（按 SHA-256 判断完全相同）出现在不同学员的人脸验证中："
        "画面被复制、转发或重放，而不是本人当场拍摄。"
    ),
    "crowded_ip": (
        "%s 分钟内有 %s 名及以上学员从同一 IP 地址签到：可能是集中代签。"
        "同一机房或同一网络出口也会出现，需结合实际情况核实。"
    ),
    "over_daily_cap": (
        "某天记入的有效学时超过了课程规定的每日上限：正常学习不会出现，需核查该学员的学时记录。"
    ),
    "overlapping_sessions": (
        "同一学员的两段学习时间相互重叠（例如同时学习两门课程）：一个人不能同时在两处学习。"
    ),
    "rollcall_failure_rate": (
        "某课程或机构的随机点名失败与未应答比例异常（高于 %s，或达到全体平均水平的 %s 倍）："
        "可能有人挂机刷学时或由他人代学。"
    ),
}

FINDING_TEXTS = {
    "shared_face": "两个账号的人脸距离为 %s，不高于阈值 %s。",
    "shared_frame": "%s 名学员提交了完全相同的画面（SHA-256 %s…）。",
    "crowded_ip": "%s 名学员在 %s 至 %s 之间从 IP %s 签到。",
    "over_daily_cap": "%s 记入 %s 分钟，超过每日上限 %s 分钟。",
    "overlapping_sessions": "两段学习时间重叠 %s 分钟。",
    "rollcall_failure_rate": "%s：随机点名 %s 次，失败 %s 次、未应答 %s 次（%s），全体平均 %s。",
}

EVIDENCE_KINDS = {
    "attendance_event": "人脸验证记录",
    "face_template": "人脸特征（采集记录）",
    "enrollment": "报名记录",
    "study_session": "学习时段",
    "rollcall": "随机点名",
    "other_institution": "其他机构的记录（无权查看）",
}

PURPOSES = LABELS["purpose"]
OUTCOMES = LABELS["outcome"]
RULE_NAMES = LABELS["rule"]

#: Words the handlers put on the page (the templates' own strings are found by the i18n test).
TEXTS = {
    "not_for_you": "此页面供监管部门和培训机构工作人员使用。",
    "bad_date": "日期格式应为 YYYY-MM-DD。",
    "bad_institution": "请选择列表中的培训机构。",
    "course": "课程",
    "institution": "机构",
    "other_institution": "其他机构的记录（无权查看）",
    "crop": "人脸截图",
    "learner_file": "学员档案",
    "no_crop": "截图已过保存期限或未保存",
    "unknown_learner": "其他机构的学员",
    "all_institutions": "全部机构",
    "no_group": "未登记",
    "no_region": "未设置地区",
    "no_chain": "请先在上方选择一个培训机构（您的管辖区域内）。",
    "day": "日期",
    "minutes": "分钟",
    "ip": "IP",
    "frame": "画面",
    "from_to": "%s 至 %s",
    "platform_chain": "平台（机构之外的操作）",
}

CHART_TITLES = {
    "period": "各期报名、参训与取证人数",
    "subsidy": "各期补贴金额（元）",
    "group": "按人员类别",
    "institution": "按培训机构",
    "region": "按地区",
}


# ---------------------------------------------------------------- helpers


def not_for_you(request: Request, user: User) -> HTMLResponse:
    t = t_of(request)
    return render(request, "error.html", user, status=403, message=t(TEXTS["not_for_you"]))


def t_of(request: Request) -> Callable[[str], str]:
    return gettext(lang_of(request))


def reader(request: Request, user: User | None) -> Response | Principal:
    """The caller as a principal if they may read the dashboard; else the page to answer with."""
    if user is None:
        return to_login(request)
    if user.role is Role.learner:
        return not_for_you(request, user)
    principal = Principal.of_user(user)
    try:
        dashboard.require_reader(principal)
    except DomainError as err:
        return error_page(request, user, err)
    return principal


class BadFilter(ValueError):
    """A filter the page cannot read; ``text`` is the Chinese source of the message."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def parse_date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return rfc3339.parse_date(value)
    except ValueError:
        raise BadFilter(TEXTS["bad_date"]) from None


def parse_instant(value: str) -> datetime | None:
    """A day (the start of that Shanghai day) or an RFC 3339 time, as the API takes it."""
    value = value.strip()
    if not value:
        return None
    if len(value) == 10:
        return statistics.Window(parse_date(value)).since_utc
    try:
        return rfc3339.parse_datetime(value)
    except ValueError:
        raise BadFilter(TEXTS["bad_date"]) from None


def uuid_or_none(value: str) -> uuid.UUID | None:
    value = value.strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadFilter(TEXTS["bad_institution"]) from None


def bad_filter(request: Request, user: User | None, err: BadFilter | DomainError) -> HTMLResponse:
    t = t_of(request)
    if isinstance(err, BadFilter):
        return render(request, "error.html", user, status=422, message=t(err.text))
    return error_page(request, user, err)


def fmt_time(value: datetime | str | None) -> str:
    """A time in Asia/Shanghai (``YYYY-MM-DD HH:MM``); ISO text is parsed first."""
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    elif value is None:
        return ""
    else:
        when = value
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def yuan_text(fen: int) -> str:
    return subsidy.yuan(fen)
