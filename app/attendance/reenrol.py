"""Re-enrolment after a model switch: the new face must be the person of the old template.

When the configured model changes (dlib -> SFace), every learner re-enrols; the new template
cannot be compared with the old one in the new model's space. Without a check, whoever sits at
the camera at re-enrolment time would become the account's face. So the new burst is embedded
again **with the old template's model** (the dlib engine is still installed) and fused against
the stored template exactly as a verification with that model would be; the re-enrolment is
accepted only when the score meets that model's calibrated *accept* threshold. Otherwise the new
template is held and the event goes to staff review (reason ``face_reenrol_unconfirmed``); a
reviewer's approval activates it (:func:`app.attendance.review.review`). A template whose model
is not installed here cannot be checked and goes to review too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
from sqlmodel import Session

from app.accounts.models import User
from app.attendance.engine import engine_config, get_pool
from app.attendance.engines import IDENTITIES, make_engine
from app.attendance.exceptions import FaceRejected
from app.attendance.face import (
    DlibFaceEngine,
    EngineConfig,
    Metric,
    ModelIdentity,
    fused_score,
    matches,
)
from app.attendance.models import AttendanceEvent
from app.attendance.templates import _decode_embeddings, active_template, template_is_current
from app.config import get_settings


@dataclass(frozen=True, slots=True)
class PriorTemplate:
    """What the check needs of the learner's older-model template, read before the slow work
    (plain values: the session's objects expire when its read transaction ends)."""

    template_id: uuid.UUID
    embeddings: np.ndarray[Any, Any]
    #: The installed model the template was made with, or ``None`` if none here matches it.
    model: ModelIdentity | None


@dataclass(frozen=True, slots=True)
class PriorCheck:
    """The new frames against the previous template, in the previous template's model."""

    template_id: uuid.UUID
    metric: Metric | None
    #: Fused score (the service's mean of the 3 closest pairs); ``None`` when nothing could be
    #: compared (model not installed, or no frame passed that model's quality gate).
    score: float | None
    threshold: float | None
    frames_compared: int
    matched: bool


def prior_template(session: Session, user: User) -> PriorTemplate | None:
    """The learner's active template if it was made by another model than the configured one
    (a re-enrolment after a model switch), else ``None``."""
    template = active_template(session, user.id)
    if template is None or template.embeddings_enc is None or template_is_current(template):
        return None
    model = next(
        (
            m
            for m in IDENTITIES.values()
            if m.same_space(template.face_engine, template.model_name, template.model_sha256)
        ),
        None,
    )
    return PriorTemplate(template.id, _decode_embeddings(template.embeddings_enc), model)


@cache
def _engine(config: EngineConfig) -> DlibFaceEngine:
    engine = make_engine(config)
    engine.warm_up()
    return engine


def prior_embedding(item: tuple[bytes, EngineConfig]) -> np.ndarray[Any, Any] | None:
    """The embedding of one frame with the engine ``config`` names (``None``: the frame does not
    pass that engine's quality gate). Module-level so face workers can run it."""
    data, config = item
    try:
        return _engine(config).analyse_bytes(data).embedding
    except FaceRejected:
        return None


def _embed(frames: Sequence[bytes], config: EngineConfig) -> list[np.ndarray[Any, Any] | None]:
    items = [(f, config) for f in frames]
    pool = get_pool()
    if pool is None:
        return [prior_embedding(item) for item in items]
    return pool.run(prior_embedding, items)


def check(prior: PriorTemplate, frames: Sequence[bytes]) -> PriorCheck:
    """Embed ``frames`` with the previous template's model and fuse them against it."""
    model = prior.model
    if model is None:
        return PriorCheck(prior.template_id, None, None, None, 0, False)
    accept = get_settings().face_thresholds(model.engine)[0]
    base = engine_config()
    kind: Literal["sface", "dlib"] = "dlib" if model.engine == "dlib" else "sface"
    config = EngineConfig(limits=base.limits, quality=base.quality, engine=kind, pad=False)
    embs = [e for e in _embed(frames, config) if e is not None]
    if not embs:
        return PriorCheck(prior.template_id, model.metric, None, accept, 0, False)
    score = fused_score(np.stack(embs), prior.embeddings, model.metric)
    return PriorCheck(
        prior.template_id,
        model.metric,
        score,
        accept,
        len(embs),
        matches(score, accept, model.metric),
    )


def record(event: AttendanceEvent, result: PriorCheck) -> None:
    """Write the check onto the enrolment event (and so into its audit entry)."""
    event.prior_template_id = result.template_id
    event.prior_score = None if result.score is None else f"{result.score:.4f}"
    event.prior_threshold = None if result.threshold is None else f"{result.threshold:.4f}"


__all__ = ["PriorCheck", "PriorTemplate", "check", "prior_embedding", "prior_template", "record"]
