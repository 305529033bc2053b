"""xAPI 1.0.3 statements, derived from stored facts, in the audit log's stored order.

The audit log is the index: every fact that makes a statement was appended as an audit entry in
the same transaction (``study.session_started`` for a passed check-in, ``rollcall.passed|failed|
missed``, ``face.review_approved|rejected`` for a roll-call or check-in decided by staff,
``quiz.attempt_submitted``, ``enrollment.completed``). Statements are ordered by the entry's id,
``stored`` is the entry's time, and the fact tables (roll-calls, quiz attempts, enrolments,
courses) fill in the rest. Entries never change, so neither do statements:

- the statement id is ``uuid5(NAMESPACE, "<fact kind>:<fact id>")``: one fact, one statement;
- a correction (staff rejecting a check-in that had already counted as attended) is a separate
  ``voided`` statement whose object is a StatementRef to it; as the spec asks, queries no longer
  return the voided statement itself.

Actors are pseudonymous: ``account{homePage: base_url, name: HMAC(user id)}``
(:func:`app.crypto.blind_index` with purpose ``xapi``); never an ID number or a real name.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import clock
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.config import get_settings
from app.courses.models import Course, Enrollment, QuizAttempt, RollCall, StudySession
from app.crypto import blind_index
from app.errors import DomainError, Forbidden

XAPI_VERSION = "1.0.3"
#: Namespace of statement ids (uuid5 over the fact); never change it.
NAMESPACE = uuid.UUID("6b1f3c2e-8a4d-5e7f-9c0b-1d2e3f4a5b6c")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
#: Entries read at most per page, whatever the filters: a page may hold fewer than ``limit``
#: statements and still have ``more``.
SCAN_BUDGET = 5000
#: Statements stored before now minus this are final: no open transaction still adds to them.
CONSISTENCY_LAG = timedelta(seconds=10)

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS: dict[str, dict[str, Any]] = {
    name: {"id": ADL + name, "display": {"en-US": name, "zh-CN": zh}}
    for name, zh in (
        ("attended", "出勤"),
        ("failed", "未通过"),
        ("passed", "通过"),
        ("completed", "完成"),
        ("voided", "作废"),
    )
}
#: Audit actions that can make a statement with each verb (narrows the scan for ``verb=``).
_ACTIONS_BY_VERB: dict[str, tuple[str, ...]] = {
    "attended": ("study.session_started", "rollcall.passed", "face.review_approved"),
    "failed": (
        "rollcall.failed",
        "rollcall.missed",
        "face.review_rejected",
        "quiz.attempt_submitted",
    ),
    "passed": ("quiz.attempt_submitted",),
    "completed": ("enrollment.completed",),
    "voided": ("face.review_rejected",),
}
ACTIONS = tuple(sorted({a for acts in _ACTIONS_BY_VERB.values() for a in acts}))


class InvalidXapiQuery(DomainError):
    code = "invalid_xapi_query"
    status = 400
    title = "Bad xAPI query"
    message_zh = "xAPI 查询参数无效。"
    message_en = "The xAPI query parameters are not valid."


@dataclass(frozen=True)
class Query:
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    agent: str | None = None  # the account name to match, or "" for an agent nobody matches
    verb: str | None = None
    after: int = 0  # entry id of the last statement returned


@dataclass
class Page:
    statements: list[dict[str, Any]]
    cursor: str | None
    consistent_through: str


@dataclass
class _Ctx:
    enrollments: dict[uuid.UUID, Enrollment] = field(default_factory=dict)
    courses: dict[uuid.UUID, Course] = field(default_factory=dict)
    rollcalls: dict[uuid.UUID, RollCall] = field(default_factory=dict)
    rollcall_by_event: dict[uuid.UUID, RollCall] = field(default_factory=dict)
    quizzes: dict[uuid.UUID, QuizAttempt] = field(default_factory=dict)
    checkins: dict[uuid.UUID, StudySession] = field(default_factory=dict)
    voided: set[uuid.UUID] = field(default_factory=set)


def pseudonym(user_id: uuid.UUID) -> str:
    """The learner's xAPI account name: a keyed hash of the user id (stable, not reversible)."""
    return blind_index("xapi", str(user_id))


def statement_id(kind: str, fact_id: uuid.UUID | str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{fact_id}"))


def parse_agent(raw: str | None) -> str | None:
    """The ``agent`` parameter (a JSON Agent) as the account name to match."""
    if raw is None:
        return None
    try:
        agent = json.loads(raw)
    except ValueError:
        raise InvalidXapiQuery("`agent` must be a JSON Agent object.") from None
    if not isinstance(agent, dict):
        raise InvalidXapiQuery("`agent` must be a JSON Agent object.")
    account = agent.get("account")
    ifis = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if agent.get(k) is not None]
    if len(ifis) != 1:
        raise InvalidXapiQuery("An Agent has exactly one inverse functional identifier.")
    if account is None:
        return ""  # we only ever state account agents: nothing matches an mbox
    if (
        not isinstance(account, dict)
        or not isinstance(account.get("name"), str)
        or not isinstance(account.get("homePage"), str)
    ):
        raise InvalidXapiQuery("`agent.account` needs `homePage` and `name`.")
    if account["homePage"].rstrip("/") != get_settings().base_url:
        return ""
    return str(account["name"])


def parse_verb(raw: str | None) -> str | None:
    if raw is None:
        return None
    for name, verb in VERBS.items():
        if verb["id"] == raw:
            return name
    return ""  # a verb we never state: an empty result, not an error


def encode_cursor(q: Query) -> str:
    doc = {
        "a": q.after,
        "s": q.since.isoformat() if q.since else None,
        "u": q.until.isoformat() if q.until else None,
        "l": q.limit,
        "g": q.agent,
        "v": q.verb,
    }
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def decode_cursor(token: str) -> Query:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        return Query(
            after=int(doc["a"]),
            since=datetime.fromisoformat(doc["s"]) if doc["s"] else None,
            until=datetime.fromisoformat(doc["u"]) if doc["u"] else None,
            limit=min(max(int(doc["l"]), 1), MAX_LIMIT),
            agent=doc["g"],
            verb=doc["v"],
        )
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidXapiQuery("`cursor` is not one this server gave out.") from None


def chain_scope(principal: Principal) -> str | None:
    """None: every chain (regulators); else the caller's institution chain."""
    if principal.is_regulator:
        return None
    if principal.role is not None and principal.role is not Role.staff:
        raise Forbidden()
    if principal.institution_id is None:
        raise Forbidden()
    return audit.chain_for(principal.institution_id)


def _subject_id(subject: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(subject.partition(":")[2])
    except ValueError:
        return None


def _load(session: Session, entries: Sequence[Any]) -> _Ctx:
    """Every fact the entries name, in a handful of queries (no per-statement lookups)."""
    ctx = _Ctx()
    rc_ids, rc_events, quiz_ids, enr_ids, checkin_ids = set(), set(), set(), set(), set()
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


def _build(base: str, entry: Any, ctx: _Ctx) -> dict[str, Any] | None:
    """The statement an audit entry makes, or None."""
    sid = _subject_id(entry.subject)
    payload = json.loads(entry.payload)

    def stmt(
        verb: str, kind: str, fact_id: uuid.UUID, enr_id: uuid.UUID, **res: Any
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

    action = entry.action
    if action == "study.session_started":
        event_id = uuid.UUID(payload["checkin_event"])
        if event_id in ctx.voided:
            return None
        return stmt(
            "attended", "attendance_event", event_id, uuid.UUID(payload["enrollment"]), success=True
        )
    if action.startswith("rollcall.") and sid in ctx.rollcalls:
        rc = ctx.rollcalls[sid]
        outcome = action.removeprefix("rollcall.")
        if outcome == "passed":
            return stmt("attended", "rollcall", rc.id, rc.enrollment_id, success=True)
        if outcome in ("failed", "missed"):
            return stmt(
                "failed",
                "rollcall",
                rc.id,
                rc.enrollment_id,
                success=False,
                extensions={f"{base}/xapi/extensions/outcome": outcome},
            )
        return None
    if action.startswith("face.review_") and sid is not None:
        approved = action == "face.review_approved"
        if payload.get("purpose") == "rollcall" and sid in ctx.rollcall_by_event:
            rc = ctx.rollcall_by_event[sid]
            return stmt(
                "attended" if approved else "failed",
                "rollcall",
                rc.id,
                rc.enrollment_id,
                success=approved,
                extensions={f"{base}/xapi/extensions/outcome": "review_" + action[12:]},
            )
        if not approved and sid in ctx.checkins:
            target = _build_void_target(base, sid, ctx)
            return None if target is None else target(entry)
        return None
    if action == "quiz.attempt_submitted" and sid in ctx.quizzes:
        qa = ctx.quizzes[sid]
        score = int(payload["score"])
        passed = bool(payload["passed"])
        return stmt(
            "passed" if passed else "failed",
            "quiz_attempt",
            qa.id,
            qa.enrollment_id,
            success=passed,
            completion=True,
            score={"raw": score, "min": 0, "max": 100, "scaled": score / 100},
        )
    if action == "enrollment.completed" and sid is not None:
        return stmt("completed", "enrollment", sid, sid, success=True, completion=True)
    return None


def _build_void_target(
    base: str, event_id: uuid.UUID, ctx: _Ctx
) -> Callable[[Any], dict[str, Any]] | None:
    study = ctx.checkins[event_id]
    enrollment = ctx.enrollments.get(study.enrollment_id)
    course = ctx.courses.get(enrollment.course_id) if enrollment else None
    if enrollment is None or course is None:
        return None
    target = statement_id("attendance_event", event_id)

    def make(entry: Any) -> dict[str, Any]:
        stored = audit.format_time(entry.time)
        return {
            "id": statement_id("void", target),
            "actor": {
                "objectType": "Agent",
                "account": {"homePage": base, "name": pseudonym(enrollment.user_id)},
            },
            "verb": VERBS["voided"],
            "object": {"objectType": "StatementRef", "id": target},
            "context": {
                "registration": str(enrollment.id),
                "platform": "SkillTrace",
                "extensions": {
                    f"{base}/xapi/extensions/fact": f"review_rejected:{event_id}",
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

    return make


def _matches(st: dict[str, Any], q: Query) -> bool:
    if q.verb is not None and st["verb"]["id"] != VERBS.get(q.verb, {}).get("id"):
        return False
    return q.agent is None or st["actor"]["account"]["name"] == q.agent


def statements(session: Session, principal: Principal, q: Query) -> Page:
    """One page of statements in stored order, and the cursor of the next page (None: done)."""
    chain = chain_scope(principal)
    base = get_settings().base_url
    through = audit.format_time(clock.now() - CONSISTENCY_LAG)
    if q.verb == "" or q.agent == "":
        return Page([], None, through)
    actions: Iterable[str] = _ACTIONS_BY_VERB[q.verb] if q.verb else ACTIONS
    out: list[dict[str, Any]] = []
    after, scanned = q.after, 0
    while True:
        batch = min(SCAN_BUDGET - scanned, max(q.limit * 2, 200))
        stmt = (
            select(
                col(AuditEntry.id),
                col(AuditEntry.chain),
                col(AuditEntry.seq),
                col(AuditEntry.time),
                col(AuditEntry.action),
                col(AuditEntry.subject),
                col(AuditEntry.payload),
            )
            .where(col(AuditEntry.id) > after, col(AuditEntry.action).in_(list(actions)))
            .order_by(col(AuditEntry.id))
            .limit(batch)
        )
        if chain is not None:
            stmt = stmt.where(col(AuditEntry.chain) == chain)
        if q.since is not None:  # exclusive, as the spec says
            stmt = stmt.where(col(AuditEntry.time) > q.since)
        if q.until is not None:  # inclusive
            stmt = stmt.where(col(AuditEntry.time) <= q.until)
        rows = session.execute(stmt).all()
        ctx = _load(session, rows)
        for row in rows:
            after = row.id
            st = _build(base, row, ctx)
            if st is not None and _matches(st, q):
                out.append(st)
                if len(out) == q.limit:
                    return Page(out, encode_cursor(_replace(q, after)), through)
        scanned += len(rows)
        if len(rows) < batch:
            return Page(out, None, through)
        if scanned >= SCAN_BUDGET:
            return Page(out, encode_cursor(_replace(q, after)), through)


def _replace(q: Query, after: int) -> Query:
    return Query(
        since=q.since, until=q.until, limit=q.limit, agent=q.agent, verb=q.verb, after=after
    )
