"""The xAPI query: its parameters as the LRS reads them (:class:`Query`), the cursor of ``more``,
the pseudonymous agent and the statement id, and which audit chains a caller may read."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit import service as audit
from app.config import get_settings
from app.crypto import blind_index
from app.errors import DomainError, Forbidden
from app.programmes.jurisdiction import visible_institutions

__all__ = [
    "ACTIONS",
    "ADL",
    "BATCH",
    "CONSISTENCY_LAG",
    "DEFAULT_LIMIT",
    "InvalidXapiQuery",
    "MAX_LIMIT",
    "NAMESPACE",
    "Page",
    "Query",
    "VERBS",
    "XAPI_VERSION",
    "chain_scope",
    "decode_cursor",
    "encode_cursor",
    "parse_agent",
    "parse_verb",
    "pseudonym",
    "statement_id",
]


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
    "attended": (
        "study.session_started",
        "rollcall.passed",
        "face.review_approved",
        "offline.checked_out",
    ),
    "failed": (
        "rollcall.failed",
        "rollcall.missed",
        "face.review_rejected",
        "quiz.attempt_submitted",
        "offline.assessed",
    ),
    "passed": ("quiz.attempt_submitted", "offline.assessed"),
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
