"""Subsidy claims as a workflow: filing, line-by-line review, batch approval, public notice,
objections, payment, recovery.

Functions take the caller's session, ``flush()`` and never commit; every change appends its
audit entry to the institution's chain in the same transaction.

The life of a batch::

    filed ──(every line approved or rejected; regulator approves)──▶ approved (in notice)
          ──(notice over, no open objection; payment recorded)──▶ paid
    (approved with nothing to pay ▶ closed)

Lines are frozen at filing (:func:`line_content` is hashed into the filing's audit entry);
decisions, payments and recoveries are appended beside them. A revoked certificate is taken out
of a batch not yet paid (a system ``rejected`` decision) and turns a paid line into a recovery
item.

This module is the workflow's one import (``from app.claims import service as claims``); the
rules live in ``common`` (access, frozen lines), ``filing``, ``review``, ``notice``, ``payment``,
``recovery``, ``reading``, and ``application`` (a learner's own application where the
programme pays the individual, with ``accounts``).
"""

from __future__ import annotations

from app.claims.accounts import *  # noqa: F403 - the service's public face
from app.claims.application import *  # noqa: F403 - the service's public face
from app.claims.common import *  # noqa: F403 - the service's public face
from app.claims.filing import *  # noqa: F403 - the service's public face
from app.claims.notice import *  # noqa: F403 - the service's public face
from app.claims.payment import *  # noqa: F403 - the service's public face
from app.claims.reading import *  # noqa: F403 - the service's public face
from app.claims.recovery import *  # noqa: F403 - the service's public face
from app.claims.review import *  # noqa: F403 - the service's public face
