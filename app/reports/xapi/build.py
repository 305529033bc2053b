"""Statements built from audit entries and the fact tables they point to, voiding statements
for corrections (one fact, one statement; entries never change, so neither do statements)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.certificates.models import Certificate, CertificateStatus
from app.courses.models import Course, Enrollment, QuizAttempt, RollCall, StudySession
from app.reports.xapi.query import VERBS, XAPI_VERSION, _subject_id, pseudonym, statement_id

__all__ = []


@dataclass
class _Ctx:
    enrollments: dict[uuid.UUID, Enrollment] = field(default_factory=dict)
    courses: dict[uuid.UUID, Course] = field(default_factory=dict)
    rollcalls: dict[uuid.UUID, RollCall] = field(default_factory=dict)
    rollcall_by_event: dict[uuid.UUID, RollCall] = field(default_factory=dict)
    quizzes: dict[uuid.UUID, QuizAttempt] = field(default_factory=dict)
    checkins: dict[uuid.UUID, StudySession] = field(default_factory=dict)
    voided: set[uuid.UUID] = field(default_factory=set)
    #: Enrolments whose certificate was revoked: their ``completed`` statement is voided.
    revoked_enrollments: set[uuid.UUID] = field(default_factory=set)
    #: certificate id -> enrolment id, for ``certificate.revoked`` entries.
    certificates: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)


def _load(session: Session, entries: Sequence[Any]) -> _Ctx:
    """Every fact the entries name, in a handful of queries (no per-statement lookups)."""
    ctx = _Ctx()
    rc_ids, rc_events, quiz_ids, enr_ids, checkin_ids = set(), set(), set(), set(), set()
    cert_ids: set[uuid.UUID] = set()
    for e in entries:
        sid = _subject_id(e.subject)
        payload = json.loads(e.payload)
        if e.action.startswith("rollcall.") and sid:
            rc_ids.add(sid)
        elif e.action.startswith("face.review_") and sid:
            rc_events.add(sid)
            checkin_ids.add(sid)
        elif e.action == "quiz.attempt_submitted" and sid:
            quiz_ids.add(sid)
        elif e.action == "enrollment.completed" and sid:
            enr_ids.add(sid)
        elif e.action == "study.session_started":
            enr_ids.add(uuid.UUID(payload["enrollment"]))
            checkin_ids.add(uuid.UUID(payload["checkin_event"]))
        elif e.action in ("offline.checked_out", "offline.assessed"):
            enr_ids.add(uuid.UUID(payload["enrollment"]))
        elif e.action == "certificate.revoked":
            cert_ids.add(uuid.UUID(payload["certificate"]))
    if rc_ids or rc_events:
        for rc in session.execute(
            select(RollCall).where(
                col(RollCall.id).in_(rc_ids) | col(RollCall.attendance_event_id).in_(rc_events)
            )
        ).scalars():
            ctx.rollcalls[rc.id] = rc
            if rc.attendance_event_id is not None:
                ctx.rollcall_by_event[rc.attendance_event_id] = rc
            enr_ids.add(rc.enrollment_id)
    if quiz_ids:
        for qa in session.execute(
            select(QuizAttempt).where(col(QuizAttempt.id).in_(quiz_ids))
        ).scalars():
            ctx.quizzes[qa.id] = qa
            enr_ids.add(qa.enrollment_id)
    if checkin_ids:
        for st in session.execute(
            select(StudySession).where(col(StudySession.checkin_event_id).in_(checkin_ids))
        ).scalars():
            ctx.checkins[st.checkin_event_id] = st
            enr_ids.add(st.enrollment_id)
        # Check-ins rejected later: their attended statements are voided, so not listed.
        subjects = [f"attendance_event:{i}" for i in checkin_ids]
        for subject in session.execute(
            select(col(AuditEntry.subject)).where(
                col(AuditEntry.action) == "face.review_rejected",
                col(AuditEntry.subject).in_(subjects),
            )
        ).scalars():
            sid = _subject_id(subject)
            if sid is not None:
                ctx.voided.add(sid)
    if cert_ids:
        for cert_id, enr_id in session.execute(
            select(col(Certificate.id), col(Certificate.enrollment_id)).where(
                col(Certificate.id).in_(cert_ids)
            )
        ).all():
            ctx.certificates[cert_id] = enr_id
            enr_ids.add(enr_id)
    completed = {
        sid
        for e in entries
        if e.action == "enrollment.completed" and (sid := _subject_id(e.subject)) is not None
    }
    if completed:
        # A revoked certificate voids the enrolment's ``completed`` statement.
        ctx.revoked_enrollments.update(
            session.execute(
                select(col(Certificate.enrollment_id)).where(
                    col(Certificate.enrollment_id).in_(completed),
                    col(Certificate.status) == CertificateStatus.revoked,
                )
            ).scalars()
        )
    if enr_ids:
        for en in session.execute(
            select(Enrollment).where(col(Enrollment.id).in_(enr_ids))
        ).scalars():
            ctx.enrollments[en.id] = en
    course_ids = {en.course_id for en in ctx.enrollments.values()}
    if course_ids:
        for c in session.execute(select(Course).where(col(Course.id).in_(course_ids))).scalars():
            ctx.courses[c.id] = c
    return ctx


def _activity(base: str, course: Course) -> dict[str, Any]:
    en = f"{course.title} (occupation {course.occupation_code}, {course.level.value})"
    return {
        "objectType": "Activity",
        "id": f"{base}/courses/{course.id}",
        "definition": {
            "type": "http://adlnet.gov/expapi/activities/course",
            "name": {"zh-CN": course.title, "en-US": en},
        },
    }


def _statement(
    base: str,
    entry: Any,
    *,
    sid: str,
    verb: str,
    enrollment: Enrollment,
    course: Course,
    fact: str,
    result: dict[str, Any],
) -> dict[str, Any]:
    stored = audit.format_time(entry.time)
    return {
        "id": sid,
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": base, "name": pseudonym(enrollment.user_id)},
        },
        "verb": VERBS[verb],
        "object": _activity(base, course),
        "result": result,
        "context": {
            "registration": str(enrollment.id),
            "platform": "SkillTrace",
            "language": "zh-CN",
            "extensions": {
                f"{base}/xapi/extensions/fact": fact,
                f"{base}/xapi/extensions/audit-entry": f"{entry.chain}#{entry.seq}",
            },
        },
        "timestamp": stored,
        "stored": stored,
        "authority": {
            "objectType": "Agent",
            "account": {"homePage": base, "name": "skilltrace"},
        },
        "version": XAPI_VERSION,
    }


@dataclass
class _Built:
    """A statement, whether a later statement voids it, and (for a voiding one) its target."""

    statement: dict[str, Any]
    voided: bool = False
    target: dict[str, Any] | None = None


def _build(base: str, entry: Any, ctx: _Ctx) -> _Built | None:
    """The statement an audit entry makes, or None."""
    sid = _subject_id(entry.subject)
    payload = json.loads(entry.payload)

    def stmt(
        verb: str, kind: str, fact_id: uuid.UUID | str, enr_id: uuid.UUID, **res: Any
    ) -> dict[str, Any] | None:
        enrollment = ctx.enrollments.get(enr_id)
        course = ctx.courses.get(enrollment.course_id) if enrollment else None
        if enrollment is None or course is None:
            return None
        return _statement(
            base,
            entry,
            sid=statement_id(kind, fact_id),
            verb=verb,
            enrollment=enrollment,
            course=course,
            fact=f"{kind}:{fact_id}",
            result=res,
        )

    def built(st: dict[str, Any] | None, *, voided: bool = False) -> _Built | None:
        return None if st is None else _Built(st, voided=voided)

    action = entry.action
    if action == "study.session_started":
        event_id = uuid.UUID(payload["checkin_event"])
        return built(
            stmt(
                "attended",
                "attendance_event",
                event_id,
                uuid.UUID(payload["enrollment"]),
                success=True,
            ),
            voided=event_id in ctx.voided,
        )
    if action.startswith("rollcall.") and sid in ctx.rollcalls:
        rc = ctx.rollcalls[sid]
        outcome = action.removeprefix("rollcall.")
        if outcome == "passed":
            return built(stmt("attended", "rollcall", rc.id, rc.enrollment_id, success=True))
        if outcome in ("failed", "missed"):
            return built(
                stmt(
                    "failed",
                    "rollcall",
                    rc.id,
                    rc.enrollment_id,
                    success=False,
                    extensions={f"{base}/xapi/extensions/outcome": outcome},
                )
            )
        return None
    if action.startswith("face.review_") and sid is not None:
        approved = action == "face.review_approved"
        if payload.get("purpose") == "rollcall" and sid in ctx.rollcall_by_event:
            rc = ctx.rollcall_by_event[sid]
            return built(
                stmt(
                    "attended" if approved else "failed",
                    "rollcall",
                    rc.id,
                    rc.enrollment_id,
                    success=approved,
                    extensions={f"{base}/xapi/extensions/outcome": "review_" + action[12:]},
                )
            )
        if not approved and sid in ctx.checkins:
            # Staff rejecting a check-in that had counted: a voiding statement.
            study = ctx.checkins[sid]
            target = stmt("attended", "attendance_event", sid, study.enrollment_id, success=True)
            return _voiding(base, entry, ctx, target, f"review_rejected:{sid}")
        return None
    if action == "quiz.attempt_submitted" and sid in ctx.quizzes:
        qa = ctx.quizzes[sid]
        score = int(payload["score"])
        passed = bool(payload["passed"])
        return built(
            stmt(
                "passed" if passed else "failed",
                "quiz_attempt",
                qa.id,
                qa.enrollment_id,
                success=passed,
                completion=True,
                score={"raw": score, "min": 0, "max": 100, "scaled": score / 100},
            )
        )
    if action == "offline.checked_out" and sid is not None:
        # Blended training: a verified check-in to check-out at an offline session.
        minutes = int(payload["credited_ms"]) // 60_000
        return built(
            stmt(
                "attended",
                "offline_attendance",
                sid,
                uuid.UUID(payload["enrollment"]),
                success=True,
                duration=f"PT{minutes}M",
                extensions={
                    f"{base}/xapi/extensions/offline-minutes": minutes,
                    f"{base}/xapi/extensions/offline-session": payload["session"],
                },
            )
        )
    if action == "offline.assessed" and sid is not None:
        # The instructor's practical assessment (实操考核) at an offline session. Marking again
        # replaces the result: each marking is its own statement (the fact is the assessment
        # as of that audit entry), the latest one stands.
        passed = bool(payload["passed"])
        result: dict[str, Any] = {
            "success": passed,
            "completion": True,
            "extensions": {
                f"{base}/xapi/extensions/outcome": "practical_assessment",
                f"{base}/xapi/extensions/offline-session": payload["session"],
            },
        }
        if payload.get("note"):
            result["response"] = payload["note"]
        return built(
            stmt(
                "passed" if passed else "failed",
                "practical_assessment",
                f"{sid}#{entry.seq}",
                uuid.UUID(payload["enrollment"]),
                **result,
            )
        )
    if action == "enrollment.completed" and sid is not None:
        extra: dict[str, Any] = {}
        if "offline_minutes" in payload:  # a blended course: its offline part, separately
            extra["extensions"] = {
                f"{base}/xapi/extensions/offline-minutes": int(payload["offline_minutes"])
            }
        return built(
            stmt("completed", "enrollment", sid, sid, success=True, completion=True, **extra),
            voided=sid in ctx.revoked_enrollments,
        )
    if action == "certificate.revoked":
        enr_id = ctx.certificates.get(uuid.UUID(payload["certificate"]))
        if enr_id is None:
            return None
        # The certificate's enrolment is no longer completed: void that statement.
        target = stmt("completed", "enrollment", enr_id, enr_id, success=True, completion=True)
        return _voiding(base, entry, ctx, target, f"certificate_revoked:{payload['certificate']}")
    return None


def _voiding(
    base: str, entry: Any, ctx: _Ctx, target: dict[str, Any] | None, fact: str
) -> _Built | None:
    """The statement voiding ``target`` (built as it was stored), made by ``entry``."""
    if target is None:
        return None
    stored = audit.format_time(entry.time)
    st = {
        "id": statement_id("void", target["id"]),
        "actor": target["actor"],
        "verb": VERBS["voided"],
        "object": {"objectType": "StatementRef", "id": target["id"]},
        "context": {
            "registration": target["context"]["registration"],
            "platform": "SkillTrace",
            "extensions": {
                f"{base}/xapi/extensions/fact": fact,
                f"{base}/xapi/extensions/audit-entry": f"{entry.chain}#{entry.seq}",
            },
        },
        "timestamp": stored,
        "stored": stored,
        "authority": {
            "objectType": "Agent",
            "account": {"homePage": base, "name": "skilltrace"},
        },
        "version": XAPI_VERSION,
    }
    return _Built(st, target=target)
