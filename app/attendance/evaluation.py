"""``skilltrace face evaluate``: the evidence an audit asks for, on any labelled folder.

* **Matching** on a ``person/image`` folder: FMR and FNMR at a grid of thresholds and at the
  configured accept/reject thresholds, each with the pair counts behind it (an FMR from ``n``
  impostor pairs cannot resolve below ``1/n``), and the decision-level rates of the service's
  fused burst decision. Embedding and pair logic are :mod:`app.attendance.calibration`'s.
* **Presentation attacks** (``--attacks DIR``, one folder per attack type, laid out like the
  bona fide folder): APCER per attack type (attack presentations taken for live) and BPCER
  (live presentations taken for attacks), per frame and per burst (median of ``burst`` frames of
  one person, as the service scores a burst), at a grid of thresholds and at the configured one.
  The attack folders' photos are also fed through the streamed liveness protocol in random order
  (``print`` trials, :mod:`app.attendance.stream_eval`).
* **Replay** (``--videos DIR``): every clip in the folder played into the streamed, server-paced
  protocol at its own pace from a random point, deaf to the random reveals, ``trials`` times;
  and, where the clip shows the actions, a responsive harness built from it (what a live,
  cooperating learner looks like), to show the protocol still passes live people.

Every figure carries its numerator and denominator, so a table can be checked by hand.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.attendance.calibration import (
    CalibrationData,
    ProgressCallback,
    attempt_rates,
    calibrate_folder,
    error_table,
    rates_at,
    scan_folder,
)
from app.attendance.exceptions import FaceRejected
from app.attendance.face import DlibFaceEngine, EngineConfig, load_image_file, score_matrix

FloatArray = npt.NDArray[np.float64]

#: Thresholds the PAD table is printed at (probability of "live" below which a burst is
#: taken for an attack).
PAD_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


# ------------------------------------------------------------------------------ matching


@dataclass(frozen=True, slots=True)
class MatchRow:
    threshold: float
    fmr: float
    false_matches: int
    impostor_pairs: int
    fnmr: float
    false_non_matches: int
    genuine_pairs: int


@dataclass(frozen=True, slots=True)
class MatchReport:
    folder: str
    metric: str
    people: int
    images: int
    embedded: int
    genuine_pairs: int
    impostor_pairs: int
    table: list[MatchRow]
    #: The configured thresholds ("accept", "reject") with their single-pair rates.
    configured: dict[str, MatchRow]
    #: Closest impostor pair and worst genuine pair (None without pairs).
    closest_impostor: float | None
    worst_genuine: float | None
    #: Decision-level shares (5-image template vs 5-image burst), as ``calibrate`` prints.
    decision_level: dict[str, Any] | None
    #: One probe image against the centroid of 5 other images of the enrolled person (the
    #: template's last row), at the configured thresholds: see :func:`template_level`.
    template_level: dict[str, Any] | None = None


def _row(genuine: FloatArray, impostor: FloatArray, t: float, metric: Any) -> MatchRow:
    r = rates_at(genuine, impostor, t, metric)
    return MatchRow(
        threshold=float(t),
        fmr=r.fmr,
        false_matches=r.false_matches,
        impostor_pairs=int(impostor.size),
        fnmr=r.fnmr,
        false_non_matches=r.false_non_matches,
        genuine_pairs=int(genuine.size),
    )


def template_level(
    data: CalibrationData,
    thresholds: dict[str, float],
    frames: int = 5,
    draws: int = 10,
    seed: int = 0,
) -> dict[str, Any] | None:
    """Single probe images against a template centroid: per person with more than ``frames``
    images, ``draws`` random choices of ``frames`` images averaged (unit length for cosine),
    against each of the person's other images (genuine) and every image of everyone else
    (impostor). Rows per threshold with their counts."""
    rng = np.random.default_rng(seed)
    people = data.embeddings_by_person()
    genuine: list[FloatArray] = []
    impostor: list[FloatArray] = []
    for name, embs in people.items():
        if len(embs) <= frames:
            continue
        others = [e for n, e in people.items() if n != name]
        rest_all = np.concatenate(others) if others else np.zeros((0, embs.shape[1]))
        for _ in range(draws):
            idx = rng.permutation(len(embs))
            centroid = embs[idx[:frames]].mean(axis=0)
            if data.metric == "cosine":
                centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
            genuine.append(score_matrix(embs[idx[frames:]], centroid, data.metric).ravel())
            if len(rest_all):
                impostor.append(score_matrix(rest_all, centroid, data.metric).ravel())
    if not genuine:
        return None
    g = np.concatenate(genuine)
    i = np.concatenate(impostor) if impostor else np.zeros(0)
    return {
        "template_frames": frames,
        "draws_per_person": draws,
        "rows": {k: asdict(_row(g, i, t, data.metric)) for k, t in thresholds.items()},
    }


def match_report(
    data: CalibrationData,
    accept: float,
    reject: float,
    thresholds: Sequence[float] | None = None,
    trials: int = 10,
) -> MatchReport:
    """FMR/FNMR table of calibrated data (see :func:`calibrate_folder`)."""
    g, i, metric = data.genuine, data.impostor, data.metric
    grid = [r.threshold for r in error_table(g, i, thresholds, metric)]
    best = max if metric == "cosine" else min
    worst = min if metric == "cosine" else max
    att = attempt_rates(data, accept, reject, trials=trials) if g.size else None
    return MatchReport(
        folder=str(data.root),
        metric=metric,
        people=len(data.by_person),
        images=len(data.samples),
        embedded=data.embedded,
        genuine_pairs=int(g.size),
        impostor_pairs=int(i.size),
        table=[_row(g, i, t, metric) for t in grid],
        configured={"accept": _row(g, i, accept, metric), "reject": _row(g, i, reject, metric)},
        closest_impostor=float(best(i)) if i.size else None,
        worst_genuine=float(worst(g)) if g.size else None,
        decision_level=asdict(att) if att is not None else None,
        template_level=template_level(data, {"accept": accept, "reject": reject}),
    )


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


# ------------------------------------------------------------------------------ replay

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"})


@dataclass(frozen=True, slots=True)
class StreamReport:
    """Pass rates of the streamed protocol: replayed clips, responsive harnesses (live users),
    printed-photo streams; each a :meth:`TrialSummary.to_dict` (trials, passed, reasons)."""

    trials: int
    seed: int
    replay: dict[str, dict[str, Any]]
    responsive: dict[str, dict[str, Any]]
    #: Clips no harness could be built from, with the reason (e.g. no head turn in it).
    no_harness: dict[str, str]
    printed: dict[str, dict[str, Any]]


def stream_report(
    videos: Sequence[Path],
    attack_folders: Sequence[Path],
    config: EngineConfig,
    *,
    trials: int,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
) -> StreamReport:
    """Replay and responsive trials on each clip; print trials on each attack folder (a random
    person's photos per trial, in random order)."""
    from app.attendance import stream_eval as se  # late: the protocol builds on this layer
    from app.attendance.streaming import StreamParams

    params = StreamParams()
    engine = _engine(config)
    replay: dict[str, dict[str, Any]] = {}
    responsive: dict[str, dict[str, Any]] = {}
    no_harness: dict[str, str] = {}
    for video in videos:
        clip = se.analyse_clip(engine, video, mirror_turns=params)

        def replayed(r: random.Random, clip: se.Clip = clip) -> se.Trial:
            return se.replay_trial(clip, r, params)

        replay[video.name] = se.run_trials(replayed, trials, seed, "replay").to_dict()
        try:
            harness = se.build_harness(clip, params)
        except ValueError as exc:
            no_harness[video.name] = str(exc)
            continue
        finally:
            if on_progress:
                on_progress(1)

        def live(r: random.Random, harness: se.Harness = harness) -> se.Trial:
            return se.responsive_trial(harness, r, params)

        responsive[video.name] = se.run_trials(live, trials, seed, "responsive").to_dict()
    printed: dict[str, dict[str, Any]] = {}
    for folder in attack_folders:
        people = [
            [f for f in se.analyse_photos(engine, paths) if f.features is not None]
            for paths in scan_folder(folder).values()
        ]
        people = [p for p in people if p]
        if not people:
            continue

        def make(r: random.Random, people: list[list[se.ClipFrame]] = people) -> se.Trial:
            return se.print_trial(r.choice(people), r, params)

        printed[folder.name] = se.run_trials(make, trials, seed, f"print:{folder.name}").to_dict()
        if on_progress:
            on_progress(1)
    return StreamReport(trials, seed, replay, responsive, no_harness, printed)


def find_videos(folder: Path) -> list[Path]:
    """Video files directly in ``folder``, sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


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


__all__ = [
    "PAD_GRID",
    "Evaluation",
    "MatchReport",
    "MatchRow",
    "PadGroup",
    "PadReport",
    "PadRow",
    "StreamReport",
    "burst_scores",
    "find_videos",
    "stream_report",
    "evaluate",
    "match_report",
    "pad_file_score",
    "pad_report",
    "pad_row",
    "pad_scores",
]
