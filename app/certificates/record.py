"""The learner's electronic training record (职业培训电子档案): every enrolment with its hours,
attendance, quiz result, certificate and subsidy status.

The learner reads their own; staff read the part of it at their institution; regulators read
all of it. Three queries whatever the length of the record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.accounts.repository import visible_to
from app.certificates import subsidy
from app.certificates.exceptions import LearnerNotFound
from app.certificates.models import Certificate
from app.courses.models import Course, Enrollment
from app.courses.progress import Progress, progress


@dataclass(frozen=True)
class RecordEntry:
    enrollment: Enrollment
    course: Course
    institution: Institution
    progress: Progress
    certificate: Certificate | None
    decision: subsidy.Decision | None


@dataclass(frozen=True)
class TrainingRecord:
    learner: User
    entries: list[RecordEntry] = field(default_factory=list)


def _learner(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    if principal.user is None or principal.role is Role.learner:
        if principal.user is None or principal.user.id != user_id:
            raise LearnerNotFound()
    user = session.get(User, user_id)
    if user is None or user.role is not Role.learner:
        raise LearnerNotFound()
    return user


def record(session: Session, principal: Principal, user_id: uuid.UUID) -> TrainingRecord:
    """The record of one learner, limited to what the caller may see."""
    learner = _learner(session, principal, user_id)
    stmt = (
        select(Enrollment, Course, Institution)
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .join(Institution, col(Institution.id) == col(Enrollment.institution_id))
        .where(col(Enrollment.user_id) == learner.id)
        .order_by(col(Enrollment.created_at), col(Enrollment.id))
    )
    own = principal.user is not None and principal.user.id == learner.id
    if not own:
        if principal.institution_id is None and not principal.is_regulator:
            raise LearnerNotFound()
        stmt = stmt.where(visible_to(principal, Enrollment.institution_id))
    rows = session.exec(stmt).all()
    # Staff (regulators) see a learner who studied at, or belongs to, their institution (one in
    # their jurisdiction); for them others do not exist.
    if not own and not rows and not principal.can_see_institution(learner.institution_id):
        raise LearnerNotFound()
    certs = {
        c.enrollment_id: c
        for c in session.exec(select(Certificate).where(col(Certificate.user_id) == learner.id))
    }
    decisions = subsidy.for_learners(session, [learner.id]) if certs else {}
    entries = []
    for enrollment, course, institution in rows:
        cert = certs.get(enrollment.id)
        entries.append(
            RecordEntry(
                enrollment=enrollment,
                course=course,
                institution=institution,
                progress=progress(enrollment, course),
                certificate=cert,
                decision=decisions.get(cert.id) if cert else None,
            )
        )
    return TrainingRecord(learner=learner, entries=entries)
