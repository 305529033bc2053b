"""The regulator dashboard: the reported figures as charts and tables, the fraud indicators with
links to their evidence, audit exports and certificate lookup.

Regulators see every institution (with a filter); an institution's staff see the same page for
their own institution. The figures come from :mod:`app.reports.statistics`, the indicators from
:mod:`app.reports.service`, the exports from :mod:`app.audit.export` — the same code the REST
API runs, so the page and the API always agree. Charts are drawn by the vendored Chart.js
(``static/vendor/``) from a JSON block; every chart has the same figures as a table beside it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.responses import Response as PlainResponse
from starlette.responses import Response

from app import rfc3339
from app.accounts.models import Institution, LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.api.certificates import verify_out
from app.api.deps import SessionDep
from app.audit import export
from app.audit import service as audit
from app.certificates import exceptions as certx
from app.certificates import service as certificates
from app.certificates import subsidy
from app.config import get_settings
from app.db import get_engine, transaction
from app.errors import DomainError
from app.reports import audit_access, dashboard, fraud, statistics
from app.reports import service as reports
from app.reports.schemas import EvidenceOut, FindingOut, SummaryRowOut
from app.web.i18n import LABELS, gettext, lang_of, message_for
from app.web.pages import (
    GROUP_NAMES,
    SHANGHAI,
    error_page,
    evidence_image,
    render,
    secure_headers,
    to_login,
)
from app.web.session import PageUser

router = APIRouter(include_in_schema=False)

COUNT_NAMES = {
    "enrolled": "报名",
    "trained": "参训",
    "qualified": "取得证书（有效）",
    "certificates_revoked": "证书已撤销",
    "subsidy_eligible": "符合补贴",
    "subsidy_amount_fen": "补贴金额（元）",
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
}


# ---------------------------------------------------------------- helpers


def not_for_you(request: Request, user: User) -> HTMLResponse:
    t = _t(request)
    return render(request, "error.html", user, status=403, message=t(TEXTS["not_for_you"]))


def _t(request: Request) -> Callable[[str], str]:
    return gettext(lang_of(request))


def _reader(request: Request, user: User | None) -> Response | Principal:
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


def _date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return rfc3339.parse_date(value)
    except ValueError:
        raise BadFilter(TEXTS["bad_date"]) from None


def _instant(value: str) -> datetime | None:
    """A day (the start of that Shanghai day) or an RFC 3339 time, as the API takes it."""
    value = value.strip()
    if not value:
        return None
    if len(value) == 10:
        return statistics.Window(_date(value)).since_utc
    try:
        return rfc3339.parse_datetime(value)
    except ValueError:
        raise BadFilter(TEXTS["bad_date"]) from None


def _uuid_or_none(value: str) -> uuid.UUID | None:
    value = value.strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadFilter(TEXTS["bad_institution"]) from None


def bad_filter(request: Request, user: User | None, err: BadFilter | DomainError) -> HTMLResponse:
    t = _t(request)
    if isinstance(err, BadFilter):
        return render(request, "error.html", user, status=422, message=t(err.text))
    return error_page(request, user, err)


def _fmt_time(value: datetime | str | None) -> str:
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


def _yuan(fen: int) -> str:
    return subsidy.yuan(fen)


# ---------------------------------------------------------------- charts and tables


@dataclass
class Chart:
    """One chart and its table: rows are ``labels``, columns the datasets."""

    id: str
    title: str
    labels: list[str]
    datasets: list[dict[str, Any]]
    horizontal: bool = False
    money: bool = False

    def cell(self, value: float) -> str:
        return f"{value:.2f}" if self.money else str(int(value))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "labels": self.labels,
            "datasets": self.datasets,
            "horizontal": self.horizontal,
            "money": self.money,
        }


def _counts_chart(
    cid: str, title: str, lines: list[dashboard.Line], t: Callable[[str], str], **kw: Any
) -> Chart:
    return Chart(
        cid,
        title,
        [ln.label for ln in lines],
        [
            {"key": k, "label": t(COUNT_NAMES[k]), "data": [ln.counts[k] for ln in lines]}
            for k in ("enrolled", "trained", "qualified")
        ],
        **kw,
    )


def _group_label(t: Callable[[str], str]) -> Callable[[SummaryRowOut], str]:
    def label(row: SummaryRowOut) -> str:
        group = row.learner_group
        return t(GROUP_NAMES[group]) if group is not None else t(TEXTS["no_group"])

    return label


def _group_order(line: dashboard.Line) -> int:
    names = [g.value for g in LearnerGroup]
    return names.index(line.key) if line.key in names else len(names)


def build_charts(summary: Any, t: Callable[[str], str]) -> list[Chart]:
    by_period = dashboard.fold(summary, key=lambda r: r.period)
    by_group = dashboard.fold(
        summary,
        key=lambda r: r.learner_group.value if r.learner_group else "",
        label=_group_label(t),
        order=_group_order,
    )
    by_inst = dashboard.fold(
        summary,
        key=lambda r: r.institution_id,
        label=lambda r: f"{r.institution_name}（{r.institution_code}）",
        order=lambda ln: ln.label,
    )
    return [
        _counts_chart("chart-period", t(CHART_TITLES["period"]), by_period, t),
        Chart(
            "chart-subsidy",
            t(CHART_TITLES["subsidy"]),
            [ln.key for ln in by_period],
            [
                {
                    "key": "subsidy_amount_fen",
                    "label": t(COUNT_NAMES["subsidy_amount_fen"]),
                    "data": [ln.counts["subsidy_amount_fen"] / 100 for ln in by_period],
                }
            ],
            money=True,
        ),
        _counts_chart("chart-group", t(CHART_TITLES["group"]), by_group, t, horizontal=True),
        _counts_chart(
            "chart-institution", t(CHART_TITLES["institution"]), by_inst, t, horizontal=True
        ),
    ]


@dataclass
class DetailRow:
    period: str
    institution: str
    occupation: str
    level: str
    group: str
    counts: dict[str, int]


# ---------------------------------------------------------------- fraud evidence in words


@dataclass
class EvidenceView:
    kind: str
    ident: str
    when: str = ""
    detail: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FindingView:
    text: str
    subjects: list[tuple[str, str | None]]  # (name, link)
    evidence: list[EvidenceView]


@dataclass
class IndicatorView:
    code: str
    title: str
    explanation: str
    findings: list[FindingView]


def _learner_link(uid: str, anchor: str = "") -> str:
    return f"/regulator/learners/{uid}" + (f"#{anchor}" if anchor else "")


def _crop_link(event: Any) -> str | None:
    if event is None or not event.evidence_path or event.evidence_purged_at is not None:
        return None
    return f"/regulator/evidence/{event.id}.jpg"


def _evidence_view(
    ev: EvidenceOut, records: dashboard.EvidenceRecords, t: Callable[[str], str]
) -> EvidenceView:
    view = EvidenceView(kind=t(EVIDENCE_KINDS.get(ev.kind, ev.kind)), ident=ev.id[:8])
    if ev.kind in ("attendance_event", "face_template"):
        event_id = (
            ev.id if ev.kind == "attendance_event" else records.owners.get(ev.id, ("", None))[1]
        )
        event = records.events.get(event_id or "")
        if event is None:
            view.detail = t(TEXTS["other_institution"])
            return view
        view.when = _fmt_time(event.created_at)
        parts = [f"{t(PURPOSES[event.purpose.value])} · {t(OUTCOMES[event.outcome.value])}"]
        if ev.detail.get("ip"):
            parts.append(f"{t(TEXTS['ip'])} {ev.detail['ip']}")
        view.detail = "；".join(parts)
        crop = _crop_link(event)
        view.links.append((t(TEXTS["crop"]), crop) if crop else (t(TEXTS["no_crop"]), ""))
        if str(event.user_id) in records.users:
            view.links.append(
                (t(TEXTS["learner_file"]), _learner_link(str(event.user_id), f"ev-{event.id}"))
            )
        return view
    owner = records.owners.get(ev.id)
    if ev.kind in ("enrollment", "study_session"):
        if owner is None:
            view.detail = t(TEXTS["other_institution"])
            return view
        if ev.kind == "enrollment":
            minutes = int(ev.detail.get("seconds", 0)) // 60
            view.when = str(ev.detail.get("day", ""))
            view.detail = f"{minutes} {t(TEXTS['minutes'])}"
        else:
            view.when = t(TEXTS["from_to"]) % (
                _fmt_time(ev.detail.get("started_at", "")),
                _fmt_time(ev.detail.get("end", "")),
            )
        if owner[0] in records.users:
            view.links.append((t(TEXTS["learner_file"]), _learner_link(owner[0], f"en-{owner[1]}")))
        return view
    # roll-calls: named by course or institution, no page of their own
    for k in ("course", "institution"):
        if k in ev.detail:
            view.detail = f"{t(TEXTS[k])} {str(ev.detail[k])[:8]}"
    return view


def _finding_text(code: str, f: FindingOut, t: Callable[[str], str], names: dict[str, str]) -> str:
    m = f.metrics
    text = t(FINDING_TEXTS[code])
    if code == "shared_face":
        return text % (m.get("distance"), m.get("threshold"))
    if code == "shared_frame":
        return text % (m.get("learners"), str(m.get("frame_sha256", ""))[:12])
    if code == "crowded_ip":
        return text % (
            m.get("learners"),
            _fmt_time(m.get("from")),
            _fmt_time(m.get("to")),
            m.get("ip"),
        )
    if code == "over_daily_cap":
        return text % (m.get("day"), m.get("minutes"), m.get("cap"))
    if code == "overlapping_sessions":
        return text % (int(m.get("overlap_s", 0)) // 60,)
    if code == "rollcall_failure_rate":
        subject = f.subjects[0] if f.subjects else ""
        kind, _, ident = subject.partition(":")
        who = names.get(ident) or f"{t(TEXTS.get(kind, kind))} {ident[:8]}"
        return text % (
            who,
            m.get("rollcalls"),
            m.get("failed"),
            m.get("missed"),
            f"{float(m.get('rate', 0)):.0%}",
            f"{float(m.get('overall_rate', 0)):.0%}",
        )
    return f.summary  # pragma: no cover - a new indicator: its English summary until translated


def _explanation(code: str, params: fraud.FraudParams, t: Callable[[str], str]) -> str:
    text = t(INDICATOR_EXPLANATIONS[code])
    if code == "shared_face":
        return text % (f"{params.face_threshold:.4f}",)
    if code == "crowded_ip":
        return text % (params.ip_window_minutes, params.ip_min_learners)
    if code == "rollcall_failure_rate":
        return text % (f"{params.rollcall_max_rate:.0%}", f"{params.rollcall_rate_factor:g}")
    return text


def build_indicators(
    report: Any,
    records: dashboard.EvidenceRecords,
    params: fraud.FraudParams,
    institutions: list[Institution],
    lang: str,
    t: Callable[[str], str],
) -> list[IndicatorView]:
    names = {str(i.id): f"{i.name}（{i.code}）" for i in institutions}
    out = []
    for ind in report.indicators:
        findings = []
        for f in ind.findings:
            subjects: list[tuple[str, str | None]] = []
            for s in f.subjects:
                if ":" in s:
                    continue
                u = records.users.get(s)
                if u is None:
                    subjects.append((t(TEXTS["unknown_learner"]), None))
                else:
                    subjects.append(
                        (f"{u.real_name or u.username}（{u.username}）", _learner_link(s))
                    )
            findings.append(
                FindingView(
                    text=_finding_text(ind.code, f, t, names),
                    subjects=subjects,
                    evidence=[_evidence_view(ev, records, t) for ev in f.evidence],
                )
            )
        out.append(
            IndicatorView(
                code=ind.code,
                title=ind.title_zh if lang == "zh" else ind.title,
                explanation=_explanation(ind.code, params, t),
                findings=findings,
            )
        )
    return out


# ---------------------------------------------------------------- the dashboard


@router.get("/regulator")
def dashboard_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    period: str = "month",
    since: str = "",
    until: str = "",
    institution_id: str = "",
) -> Response:
    """The dashboard: filters, the summary as charts and tables, fraud indicators, audit exports
    and certificate lookup."""
    who = _reader(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101 - _reader answered otherwise
    principal = who
    lang = lang_of(request)
    t = _t(request)
    per: statistics.Period = "quarter" if period == "quarter" else "month"
    form = {
        "period": per,
        "since": since.strip()[:10],
        "until": until.strip()[:10],
        "institution_id": institution_id.strip()[:36],
    }
    institutions = dashboard.institutions_for(session, principal)
    try:
        window = statistics.Window(_date(since), _date(until))
        inst = _uuid_or_none(institution_id)
    except (BadFilter, DomainError) as err:
        return render(
            request,
            "regulator.html",
            user,
            status=422,
            form=form,
            error=t(err.text) if isinstance(err, BadFilter) else message_for(err, lang),
            institutions=institutions,
            is_regulator=principal.is_regulator,
            summary=None,
        )
    params = fraud.FraudParams(
        face_threshold=get_settings().face_thresholds()[0],
        since=window.since_utc,
        until=window.until_utc,
    )
    try:
        summary = statistics.summary(
            session, principal, institution_id=inst, window=window, period=per
        )
        report = reports.fraud_report(session, principal, params, institution_id=inst)
    except DomainError as err:
        return error_page(request, user, err)
    records = dashboard.evidence_records(session, principal, report)
    charts = build_charts(summary, t)
    details = [
        DetailRow(
            period=r.period,
            institution=f"{r.institution_name}（{r.institution_code}）",
            occupation=f"{r.occupation_name}（{r.occupation_code}）",
            level=r.level.value,
            group=_group_label(t)(r),
            counts={k: getattr(r, k) for k in statistics.COUNTS},
        )
        for r in summary.rows
    ]
    chain_inst = inst if principal.is_regulator else principal.institution_id
    audit_query = {
        k: v
        for k, v in (
            ("institution_id", str(chain_inst) if chain_inst else ""),
            ("since", form["since"]),
            ("until", form["until"]),
        )
        if v
    }
    return render(
        request,
        "regulator.html",
        user,
        form=form,
        error=None,
        institutions=institutions,
        is_regulator=principal.is_regulator,
        summary=summary,
        charts=charts,
        charts_json={"charts": [c.as_json() for c in charts]},
        details=details,
        totals=summary.totals.model_dump(),
        count_names={k: t(v) for k, v in COUNT_NAMES.items()},
        yuan=_yuan,
        indicators=build_indicators(report, records, params, institutions, lang, t),
        generated_at=_fmt_time(summary.generated_at),
        export_links={
            fmt: "/regulator/audit/export?" + urlencode({**audit_query, "format": fmt})
            for fmt in ("ndjson", "csv")
        },
        checkpoint_link="/regulator/audit/checkpoint"
        + (f"?institution_id={chain_inst}" if chain_inst else ""),
        chain_name=_chain_name(chain_inst, institutions, t),
        script="regulator",
    )


def _chain_name(
    inst: uuid.UUID | None, institutions: list[Institution], t: Callable[[str], str]
) -> str:
    for i in institutions:
        if i.id == inst:
            return f"{i.name}（{i.code}）"
    return t(TEXTS["platform_chain"])


# ---------------------------------------------------------------- evidence and learners


@router.get("/regulator/evidence/{event_id}.jpg")
def evidence_crop(event_id: uuid.UUID, user: PageUser, session: SessionDep) -> Response:
    """An evidence crop for the dashboard and learner pages: regulators, and staff of the
    event's institution (the rule of the REST endpoint, ``attendance.evidence``). The session
    cookie alone signs in: an ``<img>`` or a link cannot send the CSRF header; a GET changes
    nothing."""
    if user is None:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    return evidence_image(session, user, event_id)


@router.get("/regulator/learners/{user_id}")
def learner_page(
    request: Request, user_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    """One learner's enrolments and attendance events, read-only (evidence of a finding)."""
    who = _reader(request, user)
    if not isinstance(who, Principal):
        return who
    try:
        file = dashboard.learner_file(session, who, user_id)
    except DomainError as err:
        return error_page(request, user, err)
    courses = {}
    for en, course, credits in file.enrolments:
        courses[en.id] = {
            "over": {dc.day for dc in credits if dc.seconds > course.daily_cap_minutes * 60},
        }
    return render(
        request,
        "regulator_learner.html",
        user,
        file=file,
        over=courses,
        purposes=PURPOSES,
        outcomes=OUTCOMES,
        crop_link=_crop_link,
        group_name=GROUP_NAMES.get(file.learner.group) if file.learner.group else None,
    )


# ---------------------------------------------------------------- audit


def _audit_window(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    lo, hi = _instant(since), _instant(until)
    export.check_window(lo, hi)
    return lo, hi


@router.get("/regulator/audit/export")
def audit_export(
    request: Request,
    user: PageUser,
    session: SessionDep,
    institution_id: str = "",
    since: str = "",
    until: str = "",
    format: str = "ndjson",  # noqa: A002 - the API's parameter name
) -> Response:
    """The audit export of ``GET /api/v1/audit/export`` behind the session cookie (a download
    link cannot send the CSRF header): the same chain rules and the same bytes."""
    who = _reader(request, user)
    if not isinstance(who, Principal):
        return who
    fmt: export.ExportFormat = "csv" if format == "csv" else "ndjson"
    try:
        lo, hi = _audit_window(since, until)
        chain = audit_access.resolve_chain(session, who, _uuid_or_none(institution_id))
    except (BadFilter, DomainError) as err:
        return bad_filter(request, user, err)

    def body() -> Iterator[bytes]:
        # The request's session is closed once streaming starts: read in a transaction of our own.
        with transaction(get_engine(), reading=True) as s:
            yield from export.iter_export_bytes(s, chain, since=lo, until=hi, fmt=fmt)

    response = StreamingResponse(
        body(),
        media_type=export.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename(chain, lo, hi, fmt)}"'
        },
    )
    secure_headers(response)
    return response


@router.get("/regulator/audit/checkpoint")
def audit_checkpoint(
    request: Request, user: PageUser, session: SessionDep, institution_id: str = ""
) -> Response:
    """The chain's latest signed checkpoint (``GET /api/v1/audit/checkpoint``) as a download."""
    who = _reader(request, user)
    if not isinstance(who, Principal):
        return who
    try:
        chain = audit_access.resolve_chain(session, who, _uuid_or_none(institution_id))
    except (BadFilter, DomainError) as err:
        return bad_filter(request, user, err)
    body = json.dumps(audit.checkpoint(session, chain), ensure_ascii=False, indent=2)
    response = PlainResponse(body.encode("utf-8"), media_type="application/json")
    secure_headers(response)
    name = "checkpoint-" + chain.replace(":", "-") + ".json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------- certificate lookup


@router.get("/regulator/certificates")
def certificate_lookup(
    request: Request, user: PageUser, session: SessionDep, serial: str = ""
) -> Response:
    """Look a certificate up by serial: its public verification and, for regulators and staff of
    the issuing institution, the subsidy evaluation with every rule named."""
    who = _reader(request, user)
    if not isinstance(who, Principal):
        return who
    serial = serial.strip()[:64]
    ctx: dict[str, Any] = {"serial": serial, "cert": None, "decision": None, "found": None}
    status = 200
    if serial:
        try:
            cert = certificates.by_serial(session, serial)
        except certx.CertificateNotFound:
            cert = None
            status = 404
        ctx["found"] = cert is not None
        if cert is not None:
            ctx["cert"] = verify_out(session, cert)
            if certificates.can_see_certificate(who, cert):
                ctx["decision"] = subsidy.decide(session, cert)
    return render(
        request,
        "regulator_certificate.html",
        user,
        status=status,
        rule_names=RULE_NAMES,
        yuan=_yuan,
        local_day=lambda d: _fmt_time(d)[:10],
        **ctx,
    )
