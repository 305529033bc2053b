"""Reports: who may see which institution's, and running the fraud indicators."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from sqlmodel import Session

from app import clock
from app.accounts.principal import Principal
from app.audit.service import format_time
from app.reports import fraud
from app.reports.schemas import EvidenceOut, FindingOut, FraudReportOut, IndicatorOut
from app.reports.scope import Scope, scope_for


def report_scope(session: Session, principal: Principal, institution_id: uuid.UUID | None) -> Scope:
    """Regulators: their jurisdiction or one institution in it; staff and partner API keys
    (scope ``audit:read``, checked by the route): their own institution only."""
    return scope_for(session, principal, institution_id, what="Fraud indicators")


def fraud_report(
    session: Session,
    principal: Principal,
    params: fraud.FraudParams,
    *,
    institution_id: uuid.UUID | None = None,
    only: list[str] | None = None,
) -> FraudReportOut:
    scope = report_scope(session, principal, institution_id)
    indicators = []
    for code, (scan, title, title_zh) in fraud.INDICATORS.items():
        if only and code not in only:
            continue
        findings = scan(session, scope, params)
        indicators.append(
            IndicatorOut(
                code=code,
                title=title,
                title_zh=title_zh,
                fired=bool(findings),
                findings=[
                    FindingOut(
                        summary=f.summary,
                        subjects=f.subjects,
                        metrics=f.metrics,
                        evidence=[EvidenceOut(**asdict(e)) for e in f.evidence],
                    )
                    for f in findings
                ],
            )
        )
    parameters = {
        k: (format_time(v) if hasattr(v, "tzinfo") else v)
        for k, v in asdict(params).items()
        if v is not None
    }
    return FraudReportOut(
        generated_at=format_time(clock.now()),
        institution_id=str(scope.institution_id) if scope.institution_id else None,
        parameters=parameters,
        indicators=indicators,
    )
