"""Reports for regulators and institution staff: fraud indicators with their evidence, and the
summary statistics institutions report."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app import rfc3339
from app.accounts.exceptions import InstitutionNotFound, InvalidToken, MissingScope
from app.api.deps import PrincipalDep, SessionDep, require_scope
from app.audit.export import InvalidWindow, as_utc, check_window
from app.config import get_settings
from app.errors import Forbidden, NotAuthenticated, ValidationFailed, problem_responses
from app.reports import fraud, statistics, workbook
from app.reports import service as reports
from app.reports.schemas import FraudReportOut, SummaryOut

router = APIRouter(tags=["reports"])

IndicatorCode = Literal[
    "shared_face",
    "shared_frame",
    "crowded_ip",
    "over_daily_cap",
    "overlapping_sessions",
    "rollcall_failure_rate",
]


@router.get(
    "/reports/fraud",
    response_model=FraudReportOut,
    dependencies=[require_scope("audit:read")],
    responses=problem_responses(
        NotAuthenticated,
        InvalidToken,
        Forbidden,
        MissingScope,
        InstitutionNotFound,
        InvalidWindow,
        ValidationFailed,
    ),
)
def fraud_indicators(
    principal: PrincipalDep,
    session: SessionDep,
    institution_id: uuid.UUID | None = None,
    indicator: Annotated[list[IndicatorCode] | None, Query(description="Only these")] = None,
    since: rfc3339.DateTime | None = None,
    until: rfc3339.DateTime | None = None,
    face_threshold: Annotated[float | None, Query(gt=0, lt=2)] = None,
    ip_window_minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 10,
    ip_min_learners: Annotated[int, Query(ge=2, le=10_000)] = 5,
    rollcall_min_count: Annotated[int, Query(ge=1, le=1_000_000)] = 20,
    rollcall_max_rate: Annotated[float, Query(ge=0, le=1)] = 0.5,
    rollcall_rate_factor: Annotated[float, Query(ge=1, le=100)] = 3.0,
) -> FraudReportOut:
    """Fraud indicators, each with the evidence rows behind it. Regulators: all institutions or
    one; staff and API keys (scope `audit:read`): their own institution only. Face threshold
    defaults to the accept threshold of the configured face model, in its metric (SFace: cosine
    similarity, dlib: distance); only templates of that model are compared."""
    since, until = as_utc(since), as_utc(until)
    check_window(since, until)
    params = fraud.FraudParams(
        face_threshold=face_threshold or get_settings().face_thresholds()[0],
        ip_window_minutes=ip_window_minutes,
        ip_min_learners=ip_min_learners,
        rollcall_min_count=rollcall_min_count,
        rollcall_max_rate=rollcall_max_rate,
        rollcall_rate_factor=rollcall_rate_factor,
        since=since,
        until=until,
    )
    return reports.fraud_report(
        session,
        principal,
        params,
        institution_id=institution_id,
        only=list(indicator) if indicator else None,
    )


@router.get(
    "/reports/summary",
    response_model=SummaryOut,
    dependencies=[require_scope("audit:read")],
    responses=problem_responses(
        NotAuthenticated,
        InvalidToken,
        Forbidden,
        MissingScope,
        InstitutionNotFound,
        InvalidWindow,
        ValidationFailed,
    ),
)
def summary(
    principal: PrincipalDep,
    session: SessionDep,
    institution_id: uuid.UUID | None = None,
    since: Annotated[
        rfc3339.Date | None, Query(description="First Asia/Shanghai day counted (inclusive)")
    ] = None,
    until: Annotated[
        rfc3339.Date | None,
        Query(description="First Asia/Shanghai day not counted (exclusive)"),
    ] = None,
    period: Annotated[
        Literal["month", "quarter", "year"],
        Query(description="Asia/Shanghai months, quarters or years"),
    ] = "month",
) -> SummaryOut:
    """Counts by period, institution, occupation, level and learner group: enrolled, trained
    (≥ 1 verified minute), qualified (certificates not revoked), certificates revoked, subsidy
    eligible and amount, employment outcomes (employed, rate) — the figures institutions report
    (DESIGN.md §1). Regulators: their jurisdiction or one institution in it; staff and API keys
    (scope `audit:read`): their own institution."""
    return statistics.summary(
        session,
        principal,
        institution_id=institution_id,
        window=statistics.Window(since, until),
        period=period,
    )


@router.get(
    "/reports/summary/download",
    response_class=Response,
    dependencies=[require_scope("audit:read")],
    responses={
        200: {
            "description": "The monthly, quarterly or annual report (月报/季报/年报) as XLSX: "
            "totals per period with charts, then the rows",
            "content": {workbook.XLSX: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(
            NotAuthenticated,
            InvalidToken,
            Forbidden,
            MissingScope,
            InstitutionNotFound,
            InvalidWindow,
            ValidationFailed,
        ),
    },
)
def summary_download(
    principal: PrincipalDep,
    session: SessionDep,
    institution_id: uuid.UUID | None = None,
    since: Annotated[rfc3339.Date | None, Query(description="First day counted")] = None,
    until: Annotated[rfc3339.Date | None, Query(description="First day not counted")] = None,
    period: Annotated[
        Literal["month", "quarter", "year"], Query(description="月报, 季报 or 年报")
    ] = "quarter",
) -> Response:
    """The summary as a downloadable XLSX report with charts (same scope rules as the summary)."""
    out = statistics.summary(
        session,
        principal,
        institution_id=institution_id,
        window=statistics.Window(since, until),
        period=period,
    )
    names = {row.institution_id: row.institution_name for row in out.rows}
    scope_name = names.get(str(institution_id), "") if institution_id else "全部 All"
    body = workbook.to_xlsx(out, scope_name=scope_name or str(institution_id))
    return Response(
        body,
        media_type=workbook.XLSX,
        headers={"Content-Disposition": f'attachment; filename="report-{period}.xlsx"'},
    )
