"""A checked roster stored for staff to look at (:func:`preview`), enrolled in one transaction
(:func:`commit`), and one person enrolled from a form (:func:`enrol_person`)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict

from sqlmodel import Session, col, select

from app import clock
from app.accounts import activation, idcard
from app.accounts.models import LearnerGroup, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.courses import classes
from app.courses.exceptions import (
    ClassNotFound,
    InvalidRoster,
    RosterChanged,
    RosterImportNotFound,
    RosterNotReady,
)
from app.courses.models import Course, CourseClass, RosterImport
from app.courses.roster.checks import _check_class, _check_database, validate
from app.courses.roster.fields import PREVIEW_TTL, Checked, Enrolled, RosterRow, RowError
from app.courses.roster.files import parse
from app.crypto import decrypt, encrypt
from app.errors import Forbidden

# ---------------------------------------------------------------- preview and commit


def _class_for_enrolment(
    session: Session, principal: Principal, class_id: uuid.UUID
) -> tuple[CourseClass, Course]:
    if not classes.may_enrol_others(principal):
        raise Forbidden("Only staff of the institution or its keys with enrolments:write.")
    klass = session.get(CourseClass, class_id)
    if klass is None or klass.institution_id != principal.institution_id:
        raise ClassNotFound()
    course = session.get(Course, klass.course_id)
    if course is None:  # pragma: no cover - a foreign key guarantees it
        raise ClassNotFound()
    return klass, course


def preview(
    session: Session, principal: Principal, class_id: uuid.UUID, data: bytes, filename: str
) -> tuple[RosterImport, Checked]:
    """Check a roster file and keep it for review; nothing is enrolled yet. A file that cannot
    be read at all is refused (422 ``invalid_roster``); problems in rows are the preview's."""
    klass, _course = _class_for_enrolment(session, principal, class_id)
    raw_rows, total = parse(data)
    checked = validate(session, klass, raw_rows)
    imp = RosterImport(
        institution_id=klass.institution_id,
        class_id=klass.id,
        created_by=str(principal.actor)[:64],
        created_at=clock.now(),
        filename=(filename or "roster")[-200:],
        total_rows=total,
        valid_rows=len(checked.rows),
        errors=[asdict(e) for e in checked.errors],
        rows_enc=encrypt("roster", json.dumps([asdict(r) for r in checked.rows]).encode()),
    )
    session.add(imp)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="roster.checked",
        subject=f"roster_import:{imp.id}",
        payload={
            "class": str(klass.id),
            "rows": total,
            "valid": len(checked.rows),
            "errors": len(checked.errors),
        },
        institution_id=klass.institution_id,
    )
    return imp, checked


def get_import(session: Session, principal: Principal, import_id: uuid.UUID) -> RosterImport:
    """A roster import of the caller's institution (staff, keys with ``enrolments:write``)."""
    imp = session.get(RosterImport, import_id)
    if (
        imp is None
        or not classes.may_enrol_others(principal)
        or imp.institution_id != principal.institution_id
    ):
        raise RosterImportNotFound()
    return imp


def is_ready(imp: RosterImport) -> bool:
    """Whether :func:`commit` would take it: no errors, not committed, checked within a day."""
    return (
        not imp.errors and imp.committed_at is None and clock.now() - imp.created_at <= PREVIEW_TTL
    )


def stored_rows(imp: RosterImport) -> list[RosterRow]:
    return [RosterRow(**r) for r in json.loads(decrypt("roster", imp.rows_enc))]


#: Known learners looked up per ``IN (...)`` query.
LOOKUP_BATCH = 500


def _enrol_rows(
    session: Session,
    principal: Principal,
    klass: CourseClass,
    course: Course,
    rows: list[RosterRow],
    via: str,
    *,
    seats_claimed: bool,
) -> list[Enrolled]:
    """Enrol checked rows: new people get a pending account and an activation code, known
    learners are enrolled as they are. Done for all rows at once (accounts, codes and
    enrolments in a flush each, the audit entries — per row ``learner.created`` for a new
    account, then ``enrollment.created`` — appended in row order with the chain locked once),
    so a 5,000-row roster is not 10,000 separate appends."""
    today = clock.now().date()
    new_rows = [r for r in rows if r.existing_user_id is None]
    created = activation.create_pending_learners(
        session,
        [
            activation.NewLearner(
                r.real_name,
                idcard.parse(r.id_number, today=today),
                r.phone,
                LearnerGroup(r.group) if r.group else None,
            )
            for r in new_rows
        ],
        institution_id=klass.institution_id,
        actor=principal.actor,
        via=via,
    )
    by_row = {r.row: c for r, c in zip(new_rows, created, strict=True)}
    known_ids = [uuid.UUID(r.existing_user_id) for r in rows if r.existing_user_id is not None]
    known: dict[uuid.UUID, User] = {}
    for start in range(0, len(known_ids), LOOKUP_BATCH):
        batch = known_ids[start : start + LOOKUP_BATCH]
        known.update((u.id, u) for u in session.exec(select(User).where(col(User.id).in_(batch))))
    learners: list[User] = []
    for r in rows:
        if r.existing_user_id is None:
            learners.append(by_row[r.row][0])
        else:
            found = known.get(uuid.UUID(r.existing_user_id))
            if found is None:  # pragma: no cover - checked in the same transaction
                raise RosterChanged()
            learners.append(found)
    enrollments, enrolled_records = classes.add_enrollments(
        session,
        klass=klass,
        course=course,
        learners=[(u.id, r.employer) for u, r in zip(learners, rows, strict=True)],
        actor=principal.actor,
        via=via,
        seat_claimed=seats_claimed,
    )
    records: list[audit.Record] = []
    out: list[Enrolled] = []
    for r, learner, enrollment, record in zip(
        rows, learners, enrollments, enrolled_records, strict=True
    ):
        new = by_row.get(r.row)
        if new is not None:
            records.append(new[2])
        records.append(record)
        out.append(Enrolled(r.row, learner, enrollment, new[1] if new else None))
    # One chain: add_enrollments made sure the class and the course are the institution's.
    audit.append_many(session, records, institution_id=klass.institution_id)
    return out


def commit(session: Session, principal: Principal, import_id: uuid.UUID) -> list[Enrolled]:
    """Enrol every row of a checked roster in one transaction, or none.

    Refused with 409 ``roster_not_ready`` if the preview had errors, was already committed or
    is older than a day; with 409 ``roster_changed`` (the import keeps the new errors) if the
    database changed since the preview so that a row no longer fits."""
    get_import(session, principal, import_id)  # who may, before any lock is taken
    imp = session.get(RosterImport, import_id, with_for_update=True, populate_existing=True)
    if imp is None:  # pragma: no cover - just read
        raise RosterImportNotFound()
    if not is_ready(imp):
        raise RosterNotReady()
    klass, course = _class_for_enrolment(session, principal, imp.class_id)
    session.refresh(klass, with_for_update=True)
    rows = stored_rows(imp)
    errors: list[RowError] = []
    again = _check_database(session, klass, rows, errors)
    _check_class(session, klass, len(rows), errors)
    if errors or len(again) != len(rows):
        imp.errors = [asdict(e) for e in errors]
        session.add(imp)
        session.flush()
        raise RosterChanged(errors=len(errors)).keeping_changes()
    # The class row is locked and its seats were counted for the whole roster just above.
    enrolled = _enrol_rows(session, principal, klass, course, again, "roster", seats_claimed=True)
    imp.committed_at = clock.now()
    imp.committed_by = str(principal.actor)[:64]
    imp.enrolled = len(enrolled)
    session.add(imp)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="roster.committed",
        subject=f"roster_import:{imp.id}",
        payload={
            "class": str(klass.id),
            "enrolled": len(enrolled),
            "new_accounts": sum(1 for e in enrolled if e.activation_code),
        },
        institution_id=klass.institution_id,
    )
    return enrolled


def enrol_person(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    *,
    real_name: str,
    id_number: str,
    phone: str | None = None,
    group: str | None = None,
    employer: str | None = None,
) -> Enrolled:
    """One person into a class by the same rules as a roster row (422 ``invalid_roster`` with
    the problems in words); a new learner gets an activation code."""
    klass, course = _class_for_enrolment(session, principal, class_id)
    raw = {
        "row": 2,
        "real_name": real_name,
        "id_number": id_number,
        "phone": phone,
        "group": group,
        "employer": employer,
    }
    checked = validate(session, klass, [raw])
    if checked.errors:
        raise InvalidRoster(
            "; ".join(e.message_en for e in checked.errors),
            reason="row",
            errors=[
                {"field": e.field, "code": e.code, "message_zh": e.message_zh.split("：", 1)[-1]}
                for e in checked.errors
            ],
        )
    return _enrol_rows(
        session, principal, klass, course, checked.rows, "staff", seats_claimed=False
    )[0]
