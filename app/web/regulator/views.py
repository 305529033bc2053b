"""What the dashboard shows, built from the reports: charts with their tables, and the fraud
indicators with their evidence in words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.accounts.models import Institution, LearnerGroup
from app.reports import dashboard, fraud
from app.reports.schemas import EvidenceOut, FindingOut, SummaryRowOut
from app.web.regulator.words import (
    CHART_TITLES,
    COUNT_NAMES,
    EVIDENCE_KINDS,
    FINDING_TEXTS,
    INDICATOR_EXPLANATIONS,
    OUTCOMES,
    PURPOSES,
    TEXTS,
    fmt_time,
)
from app.web.render import (
    GROUP_NAMES,
)

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


def group_label(t: Callable[[str], str]) -> Callable[[SummaryRowOut], str]:
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
        label=group_label(t),
        order=_group_order,
    )
    by_inst = dashboard.fold(
        summary,
        key=lambda r: r.institution_id,
        label=lambda r: f"{r.institution_name}（{r.institution_code}）",
        order=lambda ln: ln.label,
    )
    by_region = dashboard.fold(
        summary,
        key=lambda r: r.region_code,
        label=lambda r: r.region_name or t(TEXTS["no_region"]),
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
        _counts_chart("chart-region", t(CHART_TITLES["region"]), by_region, t, horizontal=True),
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


def crop_link(event: Any) -> str | None:
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
        view.when = fmt_time(event.created_at)
        parts = [f"{t(PURPOSES[event.purpose.value])} · {t(OUTCOMES[event.outcome.value])}"]
        if ev.detail.get("ip"):
            parts.append(f"{t(TEXTS['ip'])} {ev.detail['ip']}")
        view.detail = "；".join(parts)
        crop = crop_link(event)
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
                fmt_time(ev.detail.get("started_at", "")),
                fmt_time(ev.detail.get("end", "")),
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
            fmt_time(m.get("from")),
            fmt_time(m.get("to")),
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
