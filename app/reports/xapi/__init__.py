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

The package's modules: ``query`` (parameters, cursor, scope), ``build`` (statements from
entries), ``store`` (filters, pages, one statement), ``format``.
"""

from __future__ import annotations

from app.reports.xapi.build import *  # noqa: F403 - the package's public face
from app.reports.xapi.format import *  # noqa: F403 - the package's public face
from app.reports.xapi.query import *  # noqa: F403 - the package's public face
from app.reports.xapi.store import *  # noqa: F403 - the package's public face
