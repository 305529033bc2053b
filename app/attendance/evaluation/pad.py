"""Presentation attacks: APCER per attack type and BPCER, per frame and per burst, at a grid of
thresholds and at the configured one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from app.attendance.calibration import (
    ProgressCallback,
    scan_folder,
)
from app.attendance.evaluation.matching import PAD_GRID, FloatArray
from app.attendance.exceptions import FaceRejected
from app.attendance.face import DlibFaceEngine, EngineConfig, load_image_file

# ------------------------------------------------------------------------------ PAD


@cache
def _engine(config: EngineConfig) -> DlibFaceEngine:
    from app.attendance.engines import make_engine  # late: avoids an import cycle

    engine = make_engine(config)
    engine.warm_up()
    return engine


def pad_file_score(item: tuple[str, EngineConfig]) -> float | None:
    """PAD score of the largest face in an image file (``None``: no face found). Module-level
    so pool workers can run it; one engine per process and configuration."""
    from app.attendance import pad  # late: needs the sface engine's module

    path, config = item
    engine = _engine(config)
    try:
        img = load_image_file(path)
    except FaceRejected:
        return None
    boxes = engine.detect(img)
    if not boxes or boxes[0].detection is None:
        return None
    folder = Path(config.model_dir) if config.model_dir else None
    return pad.frame_score(img, pad.detection_box(boxes[0].detection), folder)


def pad_scores(
    paths: Sequence[Path],
    config: EngineConfig,
    workers: int = 1,
    on_progress: ProgressCallback | None = None,
) -> dict[str, float | None]:
    """PAD score of every file, in a :class:`FacePool` when ``workers > 1``."""
    items = [(str(p), config) for p in paths]
    if workers <= 1 or len(items) < 2:
        out: dict[str, float | None] = {}
        for item in items:
            out[item[0]] = pad_file_score(item)
            if on_progress:
                on_progress(1)
        return out
    from app.attendance.pool import FacePool  # late: only needed here

    with FacePool(workers=workers, config=config) as pool:
        scores = pool.run(pad_file_score, items)
    if on_progress:
        on_progress(len(items))
    return {item[0]: s for item, s in zip(items, scores, strict=True)}


@dataclass(frozen=True, slots=True)
class PadRow:
    """At ``threshold``: per attack type, attacks taken for live (score >= threshold); bona
    fide presentations taken for attacks (score < threshold). Frames and bursts."""

    threshold: float
    bpcer: float
    bona_fide_rejected: int
    bona_fide: int
    apcer: dict[str, float]
    attacks_accepted: dict[str, int]
    attacks: dict[str, int]
    burst_bpcer: float
    burst_bona_fide_rejected: int
    burst_bona_fide: int
    burst_apcer: dict[str, float]
    burst_attacks_accepted: dict[str, int]
    burst_attacks: dict[str, int]


@dataclass(frozen=True, slots=True)
class PadGroup:
    """Scores of one presentation type (bona fide or an attack type), by person."""

    name: str
    folder: str
    images: int
    scored: int
    by_person: dict[str, list[float]] = field(default_factory=dict)

    def frame_scores(self) -> FloatArray:
        return np.array([s for v in self.by_person.values() for s in v], np.float64)


@dataclass(frozen=True, slots=True)
class PadReport:
    model: str
    configured_threshold: float
    burst_frames: int
    trials: int
    bona_fide: PadGroup
    attacks: list[PadGroup]
    table: list[PadRow]
    configured: PadRow


def burst_scores(group: PadGroup, frames: int, trials: int, seed: int = 0) -> FloatArray:
    """Medians of ``trials`` random draws of ``frames`` distinct frames per person (people with
    fewer scored frames give one burst of all of theirs)."""
    rng = np.random.default_rng(seed)
    out: list[float] = []
    for scores in group.by_person.values():
        s = np.asarray(scores, np.float64)
        if s.size == 0:
            continue
        if s.size <= frames:
            out.append(float(np.median(s)))
            continue
        for _ in range(trials):
            out.append(float(np.median(rng.choice(s, frames, replace=False))))
    return np.array(out, np.float64)


def _share(n: int, total: int) -> float:
    return n / total if total else float("nan")


def pad_row(
    threshold: float,
    bona: FloatArray,
    attacks: dict[str, FloatArray],
    bona_bursts: FloatArray,
    attack_bursts: dict[str, FloatArray],
) -> PadRow:
    rejected = int(np.count_nonzero(bona < threshold))
    b_rejected = int(np.count_nonzero(bona_bursts < threshold))
    accepted = {k: int(np.count_nonzero(v >= threshold)) for k, v in attacks.items()}
    b_accepted = {k: int(np.count_nonzero(v >= threshold)) for k, v in attack_bursts.items()}
    return PadRow(
        threshold=threshold,
        bpcer=_share(rejected, bona.size),
        bona_fide_rejected=rejected,
        bona_fide=int(bona.size),
        apcer={k: _share(accepted[k], v.size) for k, v in attacks.items()},
        attacks_accepted=accepted,
        attacks={k: int(v.size) for k, v in attacks.items()},
        burst_bpcer=_share(b_rejected, bona_bursts.size),
        burst_bona_fide_rejected=b_rejected,
        burst_bona_fide=int(bona_bursts.size),
        burst_apcer={k: _share(b_accepted[k], v.size) for k, v in attack_bursts.items()},
        burst_attacks_accepted=b_accepted,
        burst_attacks={k: int(v.size) for k, v in attack_bursts.items()},
    )


def _group(name: str, folder: Path, scores: dict[str, float | None]) -> PadGroup:
    layout = scan_folder(folder)
    by_person = {
        person: [s for p in paths if (s := scores.get(str(p))) is not None]
        for person, paths in layout.items()
    }
    images = sum(len(v) for v in layout.values())
    return PadGroup(name, str(folder), images, sum(len(v) for v in by_person.values()), by_person)


def pad_report(
    bona_fide: Path,
    attack_folders: Sequence[Path],
    config: EngineConfig,
    configured_threshold: float,
    *,
    burst_frames: int = 5,
    trials: int = 10,
    workers: int = 1,
    thresholds: Sequence[float] = PAD_GRID,
    on_total: Callable[[int], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> PadReport:
    """Score the bona fide folder and each attack folder; APCER/BPCER tables."""
    from app.attendance.pad import PAD_MODEL  # late: needs the sface engine's module

    folders = [bona_fide, *attack_folders]
    paths = [p for f in folders for v in scan_folder(f).values() for p in v]
    if on_total:
        on_total(len(paths))
    scores = pad_scores(paths, config, workers=workers, on_progress=on_progress)
    bona = _group("bona_fide", bona_fide, scores)
    names: dict[str, int] = {}
    attacks: list[PadGroup] = []
    for folder in attack_folders:
        name = folder.name
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:
            name = f"{name}#{names[name]}"
        attacks.append(_group(name, folder, scores))
    frames_bona = bona.frame_scores()
    frames_att = {a.name: a.frame_scores() for a in attacks}
    bursts_bona = burst_scores(bona, burst_frames, trials)
    bursts_att = {a.name: burst_scores(a, burst_frames, trials) for a in attacks}

    def row(t: float) -> PadRow:
        return pad_row(t, frames_bona, frames_att, bursts_bona, bursts_att)

    return PadReport(
        model=PAD_MODEL,
        configured_threshold=configured_threshold,
        burst_frames=burst_frames,
        trials=trials,
        bona_fide=bona,
        attacks=attacks,
        table=[row(float(t)) for t in sorted({*thresholds, configured_threshold})],
        configured=row(configured_threshold),
    )
