"""Recording employment outcomes: staff of the institution, for a completed enrolment.

The summary (app/reports/statistics.py) counts them against the certificates of the period: a
certificate whose training has an ``employed`` or ``self_employed`` outcome counts as employed
(实现就业人数，包括自主创业或灵活就业, seed 003).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit import service as audit
from app.clock import SHANGHAI
from app.courses.models import Enrollment
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.outcomes.models import EmploymentOutcome, OutcomeStatus
from app.validation import check_text


class OutcomeEnrollmentNotFound(NotFound):
    code = "enrollment_not_found"
    message_zh = "找不到该报名记录。"
    message_en = "No such enrolment."


class TrainingNotCompleted(Conflict):
    code = "training_not_completed"
    message_zh = "培训尚未结业，不能登记就业情况。"
    message_en = "An outcome is recorded after the training is completed."


class InvalidOutcome(ValidationFailed):
    code = "invalid_outcome"
    message_zh = "就业情况填写有误。"
    message_en = "The employment outcome is not valid."


def record_outcome(
    session: Session,
    principal: Principal,
    enrollment_id: uuid.UUID,
    *,
    status: OutcomeStatus,
    on: date,
    employer: str | None = None,
    si_reference: str | None = None,
) -> EmploymentOutcome:
    """Record (or correct) the outcome of a completed enrolment of the caller's institution."""
    if principal.user is None or principal.role is not Role.staff or not principal.institution_id:
        raise Forbidden("Employment outcomes are recorded by the institution's staff.")
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.institution_id != principal.institution_id:
        raise OutcomeEnrollmentNotFound()
    if enrollment.completed_at is None:
        raise TrainingNotCompleted()
    today = clock.now().astimezone(SHANGHAI).date()
    if on > today or on < enrollment.created_at.astimezone(SHANGHAI).date():
        raise InvalidOutcome("on: between the enrolment and today.", field="on")
    who = check_text(employer or "", field="employer", required=False)
    ref = check_text(si_reference or "", field="si_reference", required=False)
    if len(who) > 200 or len(ref) > 100:
        raise InvalidOutcome("employer: at most 200 characters; si_reference: at most 100.")
    if status.counts_as_employed and not (who or ref):
        raise InvalidOutcome(
            "Name the employer (or the business) or the social-insurance check.", field="employer"
        )
    outcome = session.exec(
        select(EmploymentOutcome)
        .where(col(EmploymentOutcome.enrollment_id) == enrollment.id)
        .with_for_update()
    ).first()
    before = outcome.status.value if outcome else None
    outcome = outcome or EmploymentOutcome(
        enrollment_id=enrollment.id,
        user_id=enrollment.user_id,
        institution_id=enrollment.institution_id,
        status=status,
        on=on,
        recorded_by="",
    )
    outcome.status, outcome.on = status, on
    outcome.employer, outcome.si_reference = who or None, ref or None
    outcome.recorded_by, outcome.recorded_at = str(principal.actor), clock.now()
    session.add(outcome)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="outcome.recorded",
        subject=f"enrollment:{enrollment.id}",
        institution_id=enrollment.institution_id,
        payload={
            "status": status.value,
            "previous": before,
            "on": on.isoformat(),
            "employer": who or None,
            "si_reference": ref or None,
        },
    )
    return outcome
