"""The regulator dashboard: the figures as charts and tables, the fraud indicators with links to
their evidence."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.accounts.models import Institution
from app.accounts.principal import Principal
from app.config import get_settings
from app.errors import DomainError
from app.http.session import SessionDep
from app.reports import dashboard, fraud, statistics
from app.reports import service as reports
from app.web.i18n import lang_of, message_for
from app.web.regulator.views import (
    DetailRow,
    build_charts,
    build_indicators,
    group_label,
)
from app.web.regulator.words import (
    COUNT_NAMES,
    TEXTS,
    BadFilter,
    fmt_time,
    parse_date,
    reader,
    t_of,
    uuid_or_none,
    yuan_text,
)
from app.web.render import (
    error_page,
    render,
)
from app.web.session import PageUser

router = APIRouter(include_in_schema=False)


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
    who = reader(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101 - reader answered otherwise
    principal = who
    lang = lang_of(request)
    t = t_of(request)
    per: statistics.Period = "quarter" if period == "quarter" else "month"
    form = {
        "period": per,
        "since": since.strip()[:10],
        "until": until.strip()[:10],
        "institution_id": institution_id.strip()[:36],
    }
    institutions = dashboard.institutions_for(session, principal)
    try:
        window = statistics.Window(parse_date(since), parse_date(until))
        inst = uuid_or_none(institution_id)
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
            group=group_label(t)(r),
            counts={k: getattr(r, k) for k in statistics.COUNTS},
        )
        for r in summary.rows
    ]
    chain_inst = inst if principal.is_regulator else principal.institution_id
    # The platform's own chain is for national regulators; a regional one picks an institution.
    has_chain = chain_inst is not None or principal.is_national
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
        yuan=yuan_text,
        indicators=build_indicators(report, records, params, institutions, lang, t),
        generated_at=fmt_time(summary.generated_at),
        export_links={
            fmt: "/regulator/audit/export?" + urlencode({**audit_query, "format": fmt})
            for fmt in ("ndjson", "csv")
        },
        checkpoint_link="/regulator/audit/checkpoint"
        + (f"?institution_id={chain_inst}" if chain_inst else ""),
        chain_name=_chain_name(chain_inst, institutions, t),
        has_chain=has_chain,
        no_chain=t(TEXTS["no_chain"]),
        script="regulator",
    )


def _chain_name(
    inst: uuid.UUID | None, institutions: list[Institution], t: Callable[[str], str]
) -> str:
    for i in institutions:
        if i.id == inst:
            return f"{i.name}（{i.code}）"
    return t(TEXTS["platform_chain"])
