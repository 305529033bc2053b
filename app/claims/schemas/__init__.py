"""Request and response bodies of the claims API, by section: ``requests`` (what callers send),
``batches`` (a batch, its frozen lines, decisions, payments, objections, recoveries),
``notices`` (the public notice), ``evidence`` (a line's evidence), ``learner`` (the learner's
own claims) and ``examples`` (the OpenAPI examples they share)."""

from __future__ import annotations

from app.claims.schemas.batches import (
    ApplicationOut,
    BatchOut,
    BatchSummaryOut,
    LineOut,
    LineRefOut,
    LineReviewOut,
    ObjectionOut,
    ObjectionReceivedOut,
    PaymentOut,
    RecoveryOut,
    RuleOutcomeOut,
    batch_out,
    line_out,
)
from app.claims.schemas.evidence import (
    FaceCheckOut,
    FraudHitOut,
    LineEvidenceOut,
    QuizEvidenceOut,
    RollCallEvidenceOut,
)
from app.claims.schemas.learner import (
    ApplicationIn,
    ApplicationOfferOut,
    LearnerClaimOut,
    RefusalOut,
)
from app.claims.schemas.notices import NoticeLineOut, NoticeOut
from app.claims.schemas.requests import (
    CorrectionIn,
    EvidenceIn,
    ExportIn,
    FileQuarterIn,
    FindingIn,
    LineReviewIn,
    ObjectionIn,
    PaymentIn,
    ResolveObjectionIn,
    SettleRecoveryIn,
)

__all__ = [
    "ApplicationIn",
    "ApplicationOfferOut",
    "ApplicationOut",
    "BatchOut",
    "BatchSummaryOut",
    "CorrectionIn",
    "EvidenceIn",
    "ExportIn",
    "FaceCheckOut",
    "FileQuarterIn",
    "FindingIn",
    "FraudHitOut",
    "LearnerClaimOut",
    "LineEvidenceOut",
    "LineOut",
    "LineRefOut",
    "LineReviewIn",
    "LineReviewOut",
    "NoticeLineOut",
    "NoticeOut",
    "ObjectionIn",
    "ObjectionOut",
    "ObjectionReceivedOut",
    "PaymentIn",
    "PaymentOut",
    "QuizEvidenceOut",
    "RecoveryOut",
    "RefusalOut",
    "ResolveObjectionIn",
    "RollCallEvidenceOut",
    "RuleOutcomeOut",
    "SettleRecoveryIn",
    "batch_out",
    "line_out",
]
