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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import clock
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.certificates.models import Certificate, CertificateStatus
from app.config import get_settings
from app.courses.models import Course, Enrollment, QuizAttempt, RollCall, StudySession
from app.crypto import blind_index
from app.errors import DomainError, Forbidden
from app.programmes.jurisdiction import visible_institutions

XAPI_VERSION = "1.0.3"
#: Namespace of statement ids (uuid5 over the fact); never change it.
NAMESPACE = uuid.UUID("6b1f3c2e-8a4d-5e7f-9c0b-1d2e3f4a5b6c")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
#: Audit entries read per query round trip while filling a page.
BATCH = 500
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
    "voided": ("face.review_rejected", "certificate.revoked"),
}
#: Actions whose statement voids another (kept in a ``verb=`` scan: a voiding statement matches a
#: filter when the statement it targets does, Communication 2.1.4).
_VOIDING_ACTIONS = ("face.review_rejected", "certificate.revoked")
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
    activity: str | None = None
    registration: str | None = None
    related_agents: bool = False
    related_activities: bool = False
    ascending: bool = False
    #: Entry id of the last statement returned (exclusive bound in the query's order); None: start.
    after: int | None = None


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
    #: Enrolments whose certificate was revoked: their ``completed`` statement is voided.
    revoked_enrollments: set[uuid.UUID] = field(default_factory=set)
    #: certificate id -> enrolment id, for ``certificate.revoked`` entries.
    certificates: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)


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
        "c": q.activity,
        "r": q.registration,
        "ra": q.related_agents,
        "rc": q.related_activities,
        "o": q.ascending,
    }
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def decode_cursor(token: str) -> Query:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        return Query(
            after=None if doc["a"] is None else int(doc["a"]),
            since=datetime.fromisoformat(doc["s"]) if doc["s"] else None,
            until=datetime.fromisoformat(doc["u"]) if doc["u"] else None,
            limit=min(max(int(doc["l"]), 1), MAX_LIMIT),
            agent=doc["g"],
            verb=doc["v"],
            activity=doc["c"],
            registration=doc["r"],
            related_agents=bool(doc["ra"]),
            related_activities=bool(doc["rc"]),
            ascending=bool(doc["o"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidXapiQuery("`cursor` is not one this server gave out.") from None


def chain_scope(session: Session, principal: Principal) -> list[str] | None:
    """None: every chain (national regulators, admins); a regional regulator: the chains of the
    institutions in their jurisdiction; else the caller's institution chain."""
    if principal.is_regulator:
        if principal.is_national:
            return None
        return [audit.chain_for(i.id) for i in visible_institutions(session, principal)]
    if principal.role is not None and principal.role is not Role.staff:
        raise Forbidden()
    if principal.institution_id is None:
        raise Forbidden()
    return [audit.chain_for(principal.institution_id)]


def _subject_id(subject: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(subject.partition(":")[2])
    except ValueError:
        return None


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
    if action == "enrollment.completed" and sid is not None:
        return built(
            stmt("completed", "enrollment", sid, sid, success=True, completion=True),
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


def _agents(st: dict[str, Any], related: bool) -> list[str]:
    names = [st["actor"]["account"]["name"]]
    if related:
        names.append(st["authority"]["account"]["name"])
    return names


def _matches_one(st: dict[str, Any], q: Query) -> bool:
    if q.verb is not None and st["verb"]["id"] != VERBS.get(q.verb, {}).get("id"):
        return False
    if q.agent is not None and q.agent not in _agents(st, q.related_agents):
        return False
    if q.activity is not None and st["object"].get("id") != q.activity:
        return False
    if q.registration is not None:
        return bool(st.get("context", {}).get("registration") == q.registration)
    return True


def _matches(b: _Built, q: Query) -> bool:
    """Communication 2.1.4: a statement targeting another (a StatementRef) meets a filter other
    than since/until/limit when the targeted statement does."""
    return _matches_one(b.statement, q) or (b.target is not None and _matches_one(b.target, q))


def _select(chains: list[str] | None, actions: Iterable[str]) -> Any:
    stmt = select(
        col(AuditEntry.id),
        col(AuditEntry.chain),
        col(AuditEntry.seq),
        col(AuditEntry.time),
        col(AuditEntry.action),
        col(AuditEntry.subject),
        col(AuditEntry.payload),
    ).where(col(AuditEntry.action).in_(list(actions)))
    if chains is not None:
        stmt = stmt.where(col(AuditEntry.chain).in_(chains))
    return stmt


def statements(session: Session, principal: Principal, q: Query) -> Page:
    """One page of statements (newest stored first unless ``ascending``), voided ones left out,
    and the cursor of the next page: None exactly when no statement is left (no empty last page).
    """
    chain = chain_scope(session, principal)
    base = get_settings().base_url
    through = audit.format_time(clock.now() - CONSISTENCY_LAG)
    if q.verb == "" or q.agent == "":
        return Page([], None, through)
    actions: Iterable[str] = (
        set(_ACTIONS_BY_VERB[q.verb]) | set(_VOIDING_ACTIONS) if q.verb else ACTIONS
    )
    order = col(AuditEntry.id) if q.ascending else col(AuditEntry.id).desc()
    out: list[tuple[int, dict[str, Any]]] = []
    after = q.after
    while True:
        stmt = _select(chain, actions).order_by(order).limit(BATCH)
        if after is not None:
            stmt = stmt.where(
                col(AuditEntry.id) > after if q.ascending else col(AuditEntry.id) < after
            )
        if q.since is not None:  # exclusive, as the spec says
            stmt = stmt.where(col(AuditEntry.time) > q.since)
        if q.until is not None:  # inclusive
            stmt = stmt.where(col(AuditEntry.time) <= q.until)
        rows = session.execute(stmt).all()
        ctx = _load(session, rows)
        for row in rows:
            after = row.id
            b = _build(base, row, ctx)
            if b is None or b.voided or not _matches(b, q):
                continue
            if len(out) == q.limit:  # one more exists: this page ends at the last one kept
                cursor = encode_cursor(replace(q, after=out[-1][0]))
                return Page([st for _, st in out], cursor, through)
            out.append((row.id, b.statement))
        if len(rows) < BATCH:
            return Page([st for _, st in out], None, through)


def _candidate(row: Any) -> str | None:
    """The id of the statement an entry makes when it follows from the entry alone; None when
    the facts must be loaded to know (roll-call reviews, revocations)."""
    sid = _subject_id(row.subject)
    if row.action == "study.session_started":
        return statement_id("attendance_event", json.loads(row.payload)["checkin_event"])
    if sid is None:
        return None
    if row.action.startswith("rollcall."):
        return statement_id("rollcall", sid)
    if row.action == "quiz.attempt_submitted":
        return statement_id("quiz_attempt", sid)
    if row.action == "enrollment.completed":
        return statement_id("enrollment", sid)
    return None


def statement(
    session: Session, principal: Principal, wanted: str, *, voided: bool = False
) -> dict[str, Any] | None:
    """The statement with this id (``voided``: only if it is voided; else only if it is not),
    among those the caller may read; None if there is none."""
    chain = chain_scope(session, principal)
    base = get_settings().base_url
    try:
        wanted = str(uuid.UUID(wanted))
    except ValueError:
        raise InvalidXapiQuery("A statement id is a UUID.") from None
    after = 0
    while True:
        rows = session.execute(
            _select(chain, ACTIONS)
            .where(col(AuditEntry.id) > after)
            .order_by(col(AuditEntry.id))
            .limit(BATCH)
        ).all()
        if not rows:
            return None
        after = rows[-1].id
        picked = [r for r in rows if _candidate(r) in (wanted, None)]
        ctx = _load(session, picked)
        for row in picked:
            b = _build(base, row, ctx)
            if b is not None and b.statement["id"] == wanted:
                return b.statement if b.voided == voided else None


FORMATS = ("ids", "exact", "canonical")


def _pick_language(names: dict[str, str], accept: str | None) -> dict[str, str]:
    """One entry of a language map: the best by ``Accept-Language`` (exact tag, then the same
    primary language), else the first (Communication 2.1.3 ``canonical``)."""
    wanted: list[tuple[float, str]] = []
    for part in (accept or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            wanted.append((q, tag.lower()))
    wanted.sort(key=lambda w: -w[0])
    lowered = {k.lower(): k for k in names}
    for _, tag in wanted:
        if tag in lowered:
            return {lowered[tag]: names[lowered[tag]]}
    for _, tag in wanted:
        for low, key in lowered.items():
            if low.split("-")[0] == tag.split("-")[0]:
                return {key: names[key]}
    first = next(iter(names))
    return {first: names[first]}


def formatted(st: dict[str, Any], fmt: str, accept_language: str | None = None) -> dict[str, Any]:
    """A statement in the requested ``format``: ``exact`` as stored; ``ids`` with agents reduced
    to their identifier and verbs and activities to their ``id``; ``canonical`` with every
    language map reduced to one language (by ``Accept-Language``)."""
    if fmt == "exact":
        return st
    out: dict[str, Any] = json.loads(json.dumps(st))
    if fmt == "ids":
        out["verb"] = {"id": st["verb"]["id"]}
        if st["object"].get("objectType") == "Activity":
            out["object"] = {"objectType": "Activity", "id": st["object"]["id"]}
        for who in ("actor", "authority"):
            if who in out:
                out[who] = {"objectType": "Agent", "account": out[who]["account"]}
        return out
    if "display" in out["verb"]:
        out["verb"]["display"] = _pick_language(out["verb"]["display"], accept_language)
    definition = out["object"].get("definition")
    if definition:
        for key in ("name", "description"):
            if key in definition:
                definition[key] = _pick_language(definition[key], accept_language)
    return out
