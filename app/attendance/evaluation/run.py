"""The whole evaluation (:func:`evaluate`): matching, presentation attacks and replay, as one
JSON-ready report."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.attendance.calibration import (
    ProgressCallback,
    calibrate_folder,
)
from app.attendance.evaluation.matching import MatchReport, match_report
from app.attendance.evaluation.pad import PadReport, pad_report
from app.attendance.evaluation.replay import StreamReport, stream_report
from app.attendance.face import EngineConfig

# ------------------------------------------------------------------------------ the whole run


@dataclass(frozen=True, slots=True)
class Evaluation:
    engine: dict[str, str]
    matching: MatchReport
    pad: PadReport | None
    stream: StreamReport | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.pad is not None:  # scores by person are data, not results: keep the counts
            for g in [out["pad"]["bona_fide"], *out["pad"]["attacks"]]:
                g["people"] = len(g.pop("by_person"))
        cleaned: dict[str, Any] = _finite(out)
        return cleaned


def _finite(v: Any) -> Any:
    """JSON has no NaN: rates over zero cases become ``None``."""
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


def evaluate(
    folder: Path,
    *,
    config: EngineConfig,
    accept: float,
    reject: float,
    attack_folders: Sequence[Path] = (),
    videos: Sequence[Path] = (),
    pad_threshold: float | None = None,
    trials: int = 10,
    workers: int | None = None,
    max_per_person: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> Evaluation:
    """Matching on ``folder``; with attack folders, PAD on ``folder`` vs each of them and print
    trials of the streamed protocol; with videos, replay (and responsive) trials."""
    from app.attendance.engines import identity_of  # late: avoids an import cycle

    workers = workers or min(2, os.cpu_count() or 1)
    data = calibrate_folder(
        folder,
        max_per_person=max_per_person,
        workers=workers,
        config=config,
        on_total=on_total,
        on_progress=on_progress,
    )
    matching = match_report(data, accept, reject)  # decision level: 10 draws, as calibrate
    pad = None
    if attack_folders:
        if config.engine != "sface":
            raise ValueError("presentation-attack scores need the sface engine (YuNet's box)")
        from app.attendance.pad import DEFAULT_REVIEW_BELOW

        pad = pad_report(
            folder,
            attack_folders,
            config,
            DEFAULT_REVIEW_BELOW if pad_threshold is None else pad_threshold,
            trials=trials,
            workers=workers,
            on_total=on_total,
            on_progress=on_progress,
        )
    stream = None
    if videos or attack_folders:
        if config.engine != "sface":
            raise ValueError("the streamed protocol is evaluated with the sface engine")
        stream_config = EngineConfig(limits=config.limits, engine=config.engine, pad=False)
        if on_total:
            on_total(len(videos) + len(attack_folders))
        stream = stream_report(
            videos, attack_folders, stream_config, trials=trials, on_progress=on_progress
        )
    ident = identity_of(config.engine)
    engine = {
        "engine": ident.engine,
        "model": ident.name,
        "version": ident.version,
        "sha256": ident.sha256,
        "metric": ident.metric,
    }
    return Evaluation(engine=engine, matching=matching, pad=pad, stream=stream)
