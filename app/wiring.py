"""Cross-domain reactions, wired in one place.

A domain announces what happened through hook lists it owns and never imports who listens
(``completion_hooks`` in :mod:`app.courses.progress`, say). Nothing subscribes by being
imported: :func:`wire` — called by ``create_app()`` and by the ``skilltrace`` command before
any command runs — subscribes every listener below, in the order written here, so whether a
certificate is issued automatically never depends on which modules happened to be imported.
:func:`subscriptions` lists them (tests/test_wiring.py holds the list).

Every hook runs inside the transaction of the change it reacts to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Subscription:
    owner: Any  # the module that owns the hook list
    hook_list: str  # the list's name in that module
    listener: Callable[..., None]

    @property
    def name(self) -> tuple[str, str]:
        """("module.list", "module.listener")"""
        fn = self.listener
        return f"{self.owner.__name__}.{self.hook_list}", f"{fn.__module__}.{fn.__qualname__}"


def _subscriptions() -> list[Subscription]:
    from app.accounts import consent, registration
    from app.attendance import recording as attendance_events
    from app.attendance import review, templates
    from app.certificates import service as certificates
    from app.claims import service as claims
    from app.courses import classes, progress, rollcall
    from app.exchange import service as exchange
    from app.filing import facts as filing_facts
    from app.filing import service as filing
    from app.webhooks import events as webhooks

    return [
        # Consent withdrawn: the face templates' embeddings are wiped.
        Subscription(consent, "consent_withdrawn_hooks", templates.on_consent_withdrawn),
        # A learner of no institution chose one: their reviews left in no queue move to it.
        Subscription(registration, "institution_chosen_hooks", review.on_institution_chosen),
        # Every attendance event is announced to partners.
        Subscription(attendance_events, "event_recorded_hooks", webhooks.on_attendance_recorded),
        # Staff decided an event in review: first the study ledger settles the held roll-call
        # (which may complete the enrolment), then partners hear of the decision.
        Subscription(review, "review_decided_hooks", rollcall.on_review_decided),
        Subscription(review, "review_decided_hooks", webhooks.on_review_decided),
        # An enrolment completed: first the certificate (if the institution issues them
        # automatically), then the partners' enrollment.completed.
        Subscription(progress, "completion_hooks", certificates.auto_issue),
        Subscription(progress, "completion_hooks", webhooks.on_completion),
        Subscription(progress, "completion_hooks", exchange.on_completion),
        Subscription(rollcall, "rollcall_missed_hooks", webhooks.on_rollcall_missed),
        Subscription(certificates, "issued_hooks", webhooks.on_certificate_issued),
        Subscription(certificates, "issued_hooks", exchange.on_certificate_issued),
        Subscription(certificates, "revoked_hooks", webhooks.on_certificate_revoked),
        # A revoked certificate: its paid claim line becomes a recovery item, an unpaid one is
        # taken out of its batch.
        Subscription(certificates, "revoked_hooks", claims.on_certificate_revoked),
        Subscription(certificates, "revoked_hooks", exchange.on_certificate_revoked),
        # Classes opened and completed, and claim batches, reach the regional real-name system
        # (records in the exchange outbox).
        Subscription(classes, "class_opened_hooks", exchange.on_class_opened),
        Subscription(classes, "class_closed_hooks", exchange.on_class_closed),
        # A move (转班) of recorded study out of or into a class filed for opening is refused.
        Subscription(classes, "class_move_checks", filing_facts.refuse_move_of_filed_study),
        # Class filings (开班备案 / 结业备案) and the regulator's decisions on them, likewise.
        Subscription(filing, "filed_hooks", exchange.on_class_filing_filed),
        Subscription(filing, "decided_hooks", exchange.on_class_filing_decided),
        Subscription(claims, "filed_hooks", exchange.on_claim_filed),
        Subscription(claims, "approved_hooks", exchange.on_claim_approved),
        Subscription(claims, "paid_hooks", exchange.on_claim_paid),
    ]


def wire() -> None:
    """Subscribe every listener to its hook list (idempotent: a second call changes nothing)."""
    for sub in _subscriptions():
        hooks: list[Callable[..., None]] = getattr(sub.owner, sub.hook_list)
        if sub.listener not in hooks:
            hooks.append(sub.listener)


def subscriptions() -> list[tuple[str, str]]:
    """Every hook list with its current listeners, in call order: ("module.list", "listener")."""
    seen: dict[str, list[Callable[..., None]]] = {}
    for sub in _subscriptions():
        seen.setdefault(sub.name[0], getattr(sub.owner, sub.hook_list))
    return [
        (key, f"{fn.__module__}.{fn.__qualname__}") for key, hooks in seen.items() for fn in hooks
    ]
