"""Which face engine to build, and what depends on the engine's model.

``sface`` (YuNet + SFace, :mod:`app.attendance.sface`) is the default; ``dlib`` (HOG + ResNet,
:mod:`app.attendance.face`) is the first engine, kept for deployments whose learners all hold dlib
templates and for comparison. The choice is ``SKILLTRACE_FACE_ENGINE``.
"""

from __future__ import annotations

from app.attendance.face import (
    DLIB_IDENTITY,
    DlibFaceEngine,
    EngineConfig,
    ModelIdentity,
)
from app.attendance.liveness import LivenessParams
from app.attendance.sface import SFACE_IDENTITY, SFaceEngine
from app.attendance.streaming import STREAM_ACTIONS, StreamParams

IDENTITIES: dict[str, ModelIdentity] = {"sface": SFACE_IDENTITY, "dlib": DLIB_IDENTITY}

#: Largest distance of any frame's embedding to the burst's median embedding that still counts as
#: one person (liveness ``different_person``). dlib: 0.41 measured over talking_head_1 (see
#: LivenessParams). SFace (unit vectors, Euclidean distance = sqrt(2 - 2 cos)): 0.68 max over the
#: 200 frames of talking_head_1 with blinks and turns; different people's median embeddings sit
#: >= 0.95 apart (cosine <= 0.55) on the East-Asian sets.
SAME_PERSON_MAX_DISTANCE: dict[str, float] = {"sface": 0.8, "dlib": 0.5}


def make_engine(config: EngineConfig | None = None) -> DlibFaceEngine:
    """The engine ``config.engine`` names (both share :class:`DlibFaceEngine`'s pipeline)."""
    config = config or EngineConfig()
    if config.engine == "dlib":
        return DlibFaceEngine(config)
    return SFaceEngine(config)


def identity_of(engine: str) -> ModelIdentity:
    try:
        return IDENTITIES[engine]
    except KeyError:
        raise ValueError(f"unknown face engine {engine!r}") from None


def liveness_params(engine: str) -> LivenessParams:
    return LivenessParams(same_person_max_distance=SAME_PERSON_MAX_DISTANCE[engine])


#: Streamed checks: (largest distance to the stream's median, largest step between consecutive
#: frames). SFace measured on responsive streams of talking_head_1 with head turns: 0.83 / 0.55
#: (see StreamParams); dlib's embeddings are about 0.6x as spread (v1: 0.41 vs 0.68).
STREAM_IDENTITY: dict[str, tuple[float, float]] = {"sface": (0.9, 0.8), "dlib": (0.55, 0.5)}


def stream_params(
    engine: str,
    reveals: int = 3,
    actions: tuple[str, ...] = STREAM_ACTIONS,
    *,
    min_fps: float | None = None,
    max_gap_s: float | None = None,
) -> StreamParams:
    """The streamed protocol's parameters for an engine's embeddings (frame-rate bounds: the
    measured defaults unless given)."""
    median, step = STREAM_IDENTITY[engine]
    defaults = StreamParams()
    return StreamParams(
        reveals=reveals,
        actions=actions,
        min_fps=defaults.min_fps if min_fps is None else min_fps,
        max_gap_s=defaults.max_gap_s if max_gap_s is None else max_gap_s,
        same_person_max_distance=median,
        same_person_max_step=step,
    )


__all__ = ["IDENTITIES", "identity_of", "liveness_params", "make_engine", "stream_params"]
