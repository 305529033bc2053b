"""What each webhook event says, and where in the domains it is raised.

The ``on_*`` listeners below are subscribed to the domains' hook lists by :mod:`app.wiring`
(the domains never import this package): attendance (``event_recorded_hooks``,
``review_decided_hooks``), courses (``completion_hooks``), roll-calls (``rollcall_missed_hooks``:
a late answer, a heartbeat past the deadline, the sweep) and certificates (``issued_hooks``,
``revoked_hooks``). Every hook runs inside the transaction of the change, so the outbox row
commits or rolls back with it.

Payloads carry ids and facts only: never an ID number, a name, a face distance or an image.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.attendance.models import AttendanceEvent
from app.audit.service import Actor
from app.certificates import credential
from app.certificates.models import Certificate
from app.courses.models import Course, Enrollment, RollCall
from app.webhooks.service import emit, iso


def _opt(t: Any) -> str | None:
    return iso(t) if t is not None else None


def attendance_data(event: AttendanceEvent) -> dict[str, Any]:
    return {
        "attendance_event_id": str(event.id),
        "learner_id": str(event.user_id),
        "purpose": event.purpose.value,
        "outcome": event.outcome.value,
        "reason_code": event.reason_code,
        "review_status": event.review_status.value if event.review_status else None,
        "occurred_at": iso(event.created_at),
    }


def on_attendance_recorded(session: Session, event: AttendanceEvent, actor: Actor) -> None:
    emit(
        session,
        institution_id=event.institution_id,
        type_="attendance.verified",
        data=attendance_data(event),
    )


def on_review_decided(
    session: Session, event: AttendanceEvent, approved: bool, actor: Actor
) -> None:
    data = attendance_data(event)
    data.update(
        {
            "decision": "approved" if approved else "rejected",
            "reviewed_at": _opt(event.reviewed_at),
            "reviewed_by": str(event.reviewed_by) if event.reviewed_by else None,
        }
    )
    emit(session, institution_id=event.institution_id, type_="attendance.reviewed", data=data)


def on_completion(session: Session, enrollment: Enrollment, course: Course, actor: Actor) -> None:
    emit(
        session,
        institution_id=enrollment.institution_id,
        type_="enrollment.completed",
        data={
            "enrollment_id": str(enrollment.id),
            "course_id": str(course.id),
            "learner_id": str(enrollment.user_id),
            "completed_at": _opt(enrollment.completed_at),
            "credited_minutes": enrollment.credited_seconds // 60,
            "quiz_score": enrollment.best_quiz_score,
            "rollcalls_passed": enrollment.rollcalls_passed,
            "rollcalls_total": enrollment.rollcalls_total,
        },
    )


def certificate_data(cert: Certificate) -> dict[str, Any]:
    return {
        "certificate_id": str(cert.id),
        "serial": cert.serial,
        "enrollment_id": str(cert.enrollment_id),
        "course_id": str(cert.course_id),
        "learner_id": str(cert.user_id),
        "occupation_code": cert.occupation_code,
        "level": cert.level.value,
        "issued_at": iso(cert.issued_at),
        "status": cert.status.value,
        "verify_url": credential.verify_url(cert.serial),
    }


def on_certificate_issued(session: Session, cert: Certificate, actor: Actor) -> None:
    emit(
        session,
        institution_id=cert.institution_id,
        type_="certificate.issued",
        data=certificate_data(cert),
    )


def on_certificate_revoked(session: Session, cert: Certificate, actor: Actor) -> None:
    data = certificate_data(cert)
    data["revoked_at"] = _opt(cert.revoked_at)
    emit(session, institution_id=cert.institution_id, type_="certificate.revoked", data=data)


def on_rollcall_missed(
    session: Session, rc: RollCall, enrollment: Enrollment, actor: Actor
) -> None:
    emit(
        session,
        institution_id=enrollment.institution_id,
        type_="rollcall.missed",
        data={
            "rollcall_id": str(rc.id),
            "study_session_id": str(rc.session_id),
            "enrollment_id": str(rc.enrollment_id),
            "course_id": str(enrollment.course_id),
            "learner_id": str(rc.user_id),
            "deadline": iso(rc.deadline),
            "missed_at": _opt(rc.answered_at),
        },
    )
