"""Staff excuse a failed or missed roll-call (a camera fault) with a reason: the forfeited
stretch is credited again and the roll-call counts as passed."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.attendance.models import AttendanceEvent
from app.audit import service as audit
from app.courses.credit import (
    _confirm,
    _course_of,
    _enrollment_of,
    _segment_credit,
)
from app.courses.exceptions import (
    RollCallNotExcusable,
    RollCallNotFound,
)
from app.courses.models import (
    CreditSegment,
    RollCall,
    RollCallStatus,
    SegmentStatus,
)
from app.courses.progress import refresh_completion
from app.errors import Forbidden
from app.validation import check_text


def can_excuse(session: Session, rc: RollCall) -> bool:
    """A failed or missed roll-call, not excused yet, that staff did not already decide in
    review."""
    if rc.status not in (RollCallStatus.failed, RollCallStatus.missed) or rc.excused_at:
        return False
    if rc.attendance_event_id is None:
        return True
    decided = session.get(AttendanceEvent, rc.attendance_event_id)
    return decided is None or decided.review_status is None


def grant_exception(
    session: Session, principal: Principal, rollcall_id: uuid.UUID, *, reason: str
) -> RollCall:
    """Staff excuse a failed or missed roll-call (a camera fault, a network cut): the stretch it
    forfeited is credited again (under the daily cap, as of now) and it counts as passed. The
    reason is required and audited; the ledger replays the exception from the roll-call row."""
    user = principal.user
    if user is None or principal.role not in (Role.staff, Role.admin):
        raise Forbidden("Only staff of the learner's institution grant exceptions.")
    rc = session.get(RollCall, rollcall_id, with_for_update=True)
    if rc is None:
        raise RollCallNotFound()
    enrollment = _enrollment_of(session, rc.enrollment_id)
    if not principal.can_see_institution(enrollment.institution_id):
        raise RollCallNotFound()
    why = check_text(reason, field="reason", multiline=True, required=True)[:500]
    if not can_excuse(session, rc):
        raise RollCallNotExcusable()
    course = _course_of(session, enrollment)
    seg = session.exec(
        select(CreditSegment).where(col(CreditSegment.closed_by) == f"rollcall:{rc.id}")
    ).first()
    restored_ms = 0
    if seg is not None and seg.status is SegmentStatus.forfeited:
        restored_ms = _confirm(session, enrollment, course, _segment_credit(session, seg))
        seg.ms, seg.status = restored_ms, SegmentStatus.credited
        session.add(seg)
    now = clock.now()
    rc.excused_at, rc.excused_by, rc.excuse_reason = now, user.id, why
    enrollment.rollcalls_passed += 1
    session.add_all([rc, enrollment])
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="rollcall.exception_granted",
        subject=f"rollcall:{rc.id}",
        payload={
            "enrollment": str(enrollment.id),
            "learner": str(rc.user_id),
            "rollcall": rc.status.value,
            "reason": why,
            "restored_seconds": restored_ms // 1000,
            "credited_seconds": enrollment.credited_seconds,
            "rollcalls_total": enrollment.rollcalls_total,
            "rollcalls_passed": enrollment.rollcalls_passed,
        },
        institution_id=enrollment.institution_id,
    )
    refresh_completion(session, enrollment, course, principal.actor)
    return rc
