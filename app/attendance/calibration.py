"""Calibration of the decision thresholds on labelled face folders.

A folder laid out ``person/image`` gives *genuine* distances (two images of the same person) and
*impostor* distances (two different people). From them: the false-match rate (FMR, impostor
pairs accepted) and false-non-match rate (FNMR, genuine pairs refused) at any threshold, and the
thresholds to recommend. A distance ``d`` is accepted when ``d <= threshold``.

Decision bands the service applies (:func:`app.attendance.face.decide`)::

    d <= accept            -> passed   (accept chosen for FMR <= target, e.g. 1e-4)
    accept < d <= reject   -> review   (a staff member looks at the evidence crop)
    d > reject             -> failed   (reject chosen so few genuine learners land here)

SFace scores are cosine similarities, where *larger* is closer: every function takes the
``metric`` and then accepts ``s >= threshold``; the reject threshold lies *below* the accept one.

An FMR estimated from ``n`` impostor pairs cannot resolve rates below ``1/n``; with no false
match observed the 95 % upper bound is ``3/n`` ("rule of three"). Reports print both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from app.attendance.face import (
    EngineConfig,
    FileSample,
    Metric,
    QualityThresholds,
    measure_file,
    score_matrix,
)

#: Defaults from ``benchmarks/calibrate.py`` on ../shared/faces. Accept: FMR <= 1e-4 on the
#: East-Asian webcam crops (antispoof/live, single frames: 0.383; LFW: 0.445 - the stricter one
#: wins). Reject: FNMR <= 1 % on the same set (0.509). Meant for fused distances (several
#: templates x burst frames, ``mean_k_best``), where genuine FNMR at 0.38-0.40 falls to ~0-0.5 %.
#: The service reads its own settings; these are the fallback for the operator CLI.
RECOMMENDED_ACCEPT = 0.38
RECOMMENDED_REJECT = 0.50

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RatePoint:
    """Error rates at one threshold."""

    threshold: float
    fmr: float
    fnmr: float
    false_matches: int
    false_non_matches: int


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Recommended thresholds and the rates they give on the calibration data."""

    accept: float
    reject: float
    fmr_target: float
    fmr_at_accept: float
    fnmr_at_accept: float
    fmr_at_reject: float
    fnmr_at_reject: float
    #: Smallest FMR the impostor count can resolve (1/n) and the 95 % bound at zero errors (3/n).
    fmr_resolution: float
    fmr_zero_bound: float
    #: Shares of genuine / impostor pairs that land in the review band.
    genuine_in_review: float
    impostor_in_review: float


@dataclass(slots=True)
class CalibrationData:
    """Embeddings of one labelled folder and the distances derived from them."""

    root: Path
    metric: Metric = "euclidean"
    samples: dict[str, FileSample] = field(default_factory=dict)
    by_person: dict[str, list[str]] = field(default_factory=dict)
    genuine: FloatArray = field(default_factory=lambda: np.zeros(0))
    impostor: FloatArray = field(default_factory=lambda: np.zeros(0))

    @property
    def embedded(self) -> int:
        return sum(1 for s in self.samples.values() if s.embedding is not None)

    def embeddings_by_person(self) -> dict[str, FloatArray]:
        """(n_i, 128) float64 arrays of every embedded image, per person."""
        out: dict[str, FloatArray] = {}
        for person, paths in self.by_person.items():
            embs = [self.samples[p].embedding for p in paths if p in self.samples]
            rows = [np.asarray(e, np.float64) for e in embs if e is not None]
            if rows:
                out[person] = np.stack(rows)
        return out


# ------------------------------------------------------------------------------------------
# Reading folders and pairs files
# ------------------------------------------------------------------------------------------


def scan_folder(root: Path, max_per_person: int | None = None) -> dict[str, list[Path]]:
    """``{person: [image paths]}`` of a ``person/image`` folder.

    Folders starting with ``_`` (unlabelled or group photos by convention in ../shared/faces) and
    files that are not JPEG/PNG are skipped. Images are taken in sorted order.
    """
    out: dict[str, list[Path]] = {}
    for person_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if person_dir.name.startswith(("_", ".")):
            continue
        images = sorted(
            p for p in person_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if max_per_person is not None:
            images = images[:max_per_person]
        if images:
            out[person_dir.name] = images
    return out


def read_pairs(pairs_file: Path, root: Path) -> list[tuple[Path, Path, bool]]:
    """Parse an LFW-style pairs file into ``(image_a, image_b, same_person)``.

    Lines with 3 fields are genuine (``name n1 n2``), 4 fields impostor (``name1 n1 name2 n2``);
    images are ``root/name/name_%04d.jpg``. Header lines (counts) and blank lines are skipped.
    """

    def image(name: str, number: str) -> Path:
        return root / name / f"{name}_{int(number):04d}.jpg"

    pairs: list[tuple[Path, Path, bool]] = []
    for line in pairs_file.read_text(encoding="utf-8").splitlines():
        f = line.split()
        if len(f) == 3:
            pairs.append((image(f[0], f[1]), image(f[0], f[2]), True))
        elif len(f) == 4:
            pairs.append((image(f[0], f[1]), image(f[2], f[3]), False))
    return pairs


# ------------------------------------------------------------------------------------------
# Embedding
# ------------------------------------------------------------------------------------------

ProgressCallback = Callable[[int], None]


def calibration_engine_config(
    min_face_px: int = 60, engine: Literal["sface", "dlib"] = "sface"
) -> EngineConfig:
    """Engine settings for calibration: the deployed pipeline, with a smaller minimum face so
    250x250 LFW crops (faces ~90-110 px) are all detected; quality is recorded, not enforced."""
    return EngineConfig(quality=QualityThresholds(min_face_px=min_face_px), engine=engine)


def embed_files(
    paths: Sequence[Path],
    workers: int = 1,
    config: EngineConfig | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, FileSample]:
    """Embed the largest face of every file, in a :class:`FacePool` when ``workers > 1``."""
    config = config or calibration_engine_config()
    out: dict[str, FileSample] = {}
    if workers <= 1:
        from app.attendance.engines import make_engine  # late: avoids an import cycle

        engine = make_engine(config)
        for p in paths:
            out[str(p)] = measure_file(engine, p)
            if on_progress:
                on_progress(1)
        return out
    from app.attendance.pool import FacePool  # late: the pool module is only needed here

    with FacePool(workers=workers, config=config) as pool:
        futures = [pool.submit_measure_file(p) for p in paths]
        for fut in as_completed(futures):
            sample = fut.result()
            out[sample.path] = sample
            if on_progress:
                on_progress(1)
    return out


# ------------------------------------------------------------------------------------------
# Distances and rates
# ------------------------------------------------------------------------------------------


def all_pairs_distances(
    by_person: dict[str, FloatArray], metric: Metric = "euclidean"
) -> tuple[FloatArray, FloatArray]:
    """Genuine scores (every within-person pair) and impostor scores (every cross-person
    pair) from per-person embedding arrays."""
    names = list(by_person)
    genuine: list[FloatArray] = []
    for name in names:
        e = by_person[name]
        if len(e) > 1:
            d = score_matrix(e, e, metric)
            genuine.append(d[np.triu_indices(len(e), k=1)])
    impostor: list[FloatArray] = []
    for i, a in enumerate(names):
        rest = [by_person[b] for b in names[i + 1 :]]
        if rest:
            impostor.append(score_matrix(by_person[a], np.concatenate(rest), metric).ravel())
    cat = np.concatenate
    return (
        cat(genuine) if genuine else np.zeros(0),
        cat(impostor) if impostor else np.zeros(0),
    )


def pairs_distances(
    pairs: Iterable[tuple[Path, Path, bool]],
    samples: dict[str, FileSample],
    metric: Metric = "euclidean",
) -> tuple[FloatArray, FloatArray, int]:
    """Distances of the listed pairs; returns (genuine, impostor, pairs skipped: no face)."""
    gen: list[float] = []
    imp: list[float] = []
    skipped = 0
    for a, b, same in pairs:
        sa, sb = samples.get(str(a)), samples.get(str(b))
        if sa is None or sb is None or sa.embedding is None or sb.embedding is None:
            skipped += 1
            continue
        d = float(score_matrix(sa.embedding, sb.embedding, metric)[0, 0])
        (gen if same else imp).append(d)
    return np.array(gen), np.array(imp), skipped


def rates_at(
    genuine: FloatArray, impostor: FloatArray, threshold: float, metric: Metric = "euclidean"
) -> RatePoint:
    """FMR and FNMR when accepting ``d <= threshold`` (cosine: ``s >= threshold``)."""
    if metric == "cosine":
        point = rates_at(-genuine, -impostor, -threshold)
        return RatePoint(
            threshold, point.fmr, point.fnmr, point.false_matches, point.false_non_matches
        )
    fm = int(np.count_nonzero(impostor <= threshold))
    fnm = int(np.count_nonzero(genuine > threshold))
    return RatePoint(
        threshold=threshold,
        fmr=fm / impostor.size if impostor.size else float("nan"),
        fnmr=fnm / genuine.size if genuine.size else float("nan"),
        false_matches=fm,
        false_non_matches=fnm,
    )


def error_table(
    genuine: FloatArray,
    impostor: FloatArray,
    thresholds: Iterable[float] | None = None,
    metric: Metric = "euclidean",
) -> list[RatePoint]:
    """FMR/FNMR over a grid of thresholds (default 0.30..0.70 step 0.025; cosine 0.20..0.60)."""
    lo = 0.30 if metric == "euclidean" else 0.20
    grid = thresholds if thresholds is not None else np.round(np.arange(lo, lo + 0.4001, 0.025), 3)
    return [rates_at(genuine, impostor, float(t), metric) for t in grid]


def threshold_at_fmr(impostor: FloatArray, target: float, metric: Metric = "euclidean") -> float:
    """Largest threshold whose FMR on ``impostor`` is <= ``target``.

    Allows ``floor(target * n)`` false matches and returns a value just below the next impostor
    distance, so ``d <= threshold`` accepts exactly that many.
    """
    if impostor.size == 0:
        raise ValueError("no impostor distances")
    if metric == "cosine":
        return -threshold_at_fmr(-impostor, target)
    s = np.sort(impostor)
    allowed = int(np.floor(target * s.size))
    if allowed >= s.size:
        return float(s[-1])
    nxt = float(s[allowed])
    prev = float(s[allowed - 1]) if allowed > 0 else nxt - 1e-3
    return (prev + nxt) / 2.0 if prev < nxt else nxt - 1e-9


def threshold_at_fnmr(genuine: FloatArray, target: float, metric: Metric = "euclidean") -> float:
    """Smallest threshold (cosine: largest) whose FNMR on ``genuine`` is <= ``target``."""
    if genuine.size == 0:
        raise ValueError("no genuine distances")
    if metric == "cosine":
        return -threshold_at_fnmr(-genuine, target)
    return float(np.quantile(genuine, 1.0 - target, method="higher"))


def recommend(
    genuine: FloatArray,
    impostor: FloatArray,
    fmr_target: float = 1e-4,
    reject_fnmr: float = 0.01,
    metric: Metric = "euclidean",
) -> Recommendation:
    """Accept at FMR <= ``fmr_target``; reject above the distance that keeps FNMR <=
    ``reject_fnmr`` (so at most that share of genuine learners is failed outright; the band
    between goes to review). Cosine: accept at ``s >= accept``, fail below ``reject``."""
    if metric == "cosine":
        neg = recommend(-genuine, -impostor, fmr_target, reject_fnmr)
        return Recommendation(
            accept=-neg.accept,
            reject=-neg.reject,
            fmr_target=neg.fmr_target,
            fmr_at_accept=neg.fmr_at_accept,
            fnmr_at_accept=neg.fnmr_at_accept,
            fmr_at_reject=neg.fmr_at_reject,
            fnmr_at_reject=neg.fnmr_at_reject,
            fmr_resolution=neg.fmr_resolution,
            fmr_zero_bound=neg.fmr_zero_bound,
            genuine_in_review=neg.genuine_in_review,
            impostor_in_review=neg.impostor_in_review,
        )
    accept = threshold_at_fmr(impostor, fmr_target)
    reject = max(accept, threshold_at_fnmr(genuine, reject_fnmr))
    a = rates_at(genuine, impostor, accept)
    r = rates_at(genuine, impostor, reject)
    in_band_g = float(np.mean((genuine > accept) & (genuine <= reject))) if genuine.size else 0.0
    in_band_i = float(np.mean((impostor > accept) & (impostor <= reject))) if impostor.size else 0.0
    return Recommendation(
        accept=round(accept, 4),
        reject=round(reject, 4),
        fmr_target=fmr_target,
        fmr_at_accept=a.fmr,
        fnmr_at_accept=a.fnmr,
        fmr_at_reject=r.fmr,
        fnmr_at_reject=r.fnmr,
        fmr_resolution=1.0 / impostor.size,
        fmr_zero_bound=3.0 / impostor.size,
        genuine_in_review=in_band_g,
        impostor_in_review=in_band_i,
    )


def merge(datasets: Sequence[CalibrationData]) -> CalibrationData:
    """Pool several calibrated folders: people are told apart by folder (``set/person``), and
    every cross-folder pair is an impostor pair too (a set of one person gains impostors)."""
    if not datasets:
        raise ValueError("nothing to merge")
    metric = datasets[0].metric
    out = CalibrationData(root=Path("+".join(str(d.root) for d in datasets)), metric=metric)
    for d in datasets:
        if d.metric != metric:
            raise ValueError("cannot pool scores of different metrics")
        out.samples.update(d.samples)
        for person, paths in d.by_person.items():
            out.by_person[f"{d.root.name}/{person}"] = paths
    out.genuine, out.impostor = all_pairs_distances(out.embeddings_by_person(), metric)
    return out


@dataclass(frozen=True, slots=True)
class AttemptRates:
    """Decision-level figures: a template of ``template_frames`` images against a burst of
    ``probe_frames`` other images, fused as the service does (mean of the 3 closest pairs)."""

    genuine_attempts: int
    impostor_attempts: int
    genuine: dict[str, float]  # decision -> share
    impostor: dict[str, float]
    worst_genuine: float
    closest_impostor: float


def attempt_rates(
    data: CalibrationData,
    accept: float,
    reject: float,
    *,
    template_frames: int = 5,
    probe_frames: int = 5,
    trials: int = 10,
    seed: int = 0,
) -> AttemptRates | None:
    """Simulate verification attempts on people with >= template + probe images: per person
    ``trials`` genuine attempts and, against every other person, ``trials`` impostor attempts
    (random disjoint image choices, a fixed seed)."""
    from app.attendance.face import decide_score, fused_score  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    need = template_frames + probe_frames
    people = {k: v for k, v in data.embeddings_by_person().items() if len(v) >= need}
    if not people:
        return None
    gen: list[float] = []
    imp: list[float] = []
    for name, embs in people.items():
        for _ in range(trials):
            idx = rng.permutation(len(embs))
            tmpl, probe = embs[idx[:template_frames]], embs[idx[template_frames:need]]
            gen.append(fused_score(probe, tmpl, data.metric))
        for other, oembs in people.items():
            if other == name:
                continue
            for _ in range(trials):
                tmpl = embs[rng.permutation(len(embs))[:template_frames]]
                probe = oembs[rng.permutation(len(oembs))[:probe_frames]]
                imp.append(fused_score(probe, tmpl, data.metric))

    def shares(scores: list[float]) -> dict[str, float]:
        if not scores:
            return {}
        ds = [decide_score(v, accept, reject, data.metric) for v in scores]
        return {k: ds.count(k) / len(ds) for k in ("passed", "review", "failed")}

    sign = 1.0 if data.metric == "cosine" else -1.0
    return AttemptRates(
        genuine_attempts=len(gen),
        impostor_attempts=len(imp),
        genuine=shares(gen),
        impostor=shares(imp),
        worst_genuine=float(min(gen, key=lambda v: sign * v)),
        closest_impostor=float(max(imp, key=lambda v: sign * v)) if imp else float("nan"),
    )


def calibrate_folder(
    root: Path,
    pairs_file: Path | None = None,
    max_per_person: int | None = None,
    workers: int | None = None,
    config: EngineConfig | None = None,
    on_total: Callable[[int], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> CalibrationData:
    """Embed a ``person/image`` folder and compute genuine/impostor distances.

    With ``pairs_file`` only the listed pairs are used (and only their images embedded);
    otherwise every within-person and cross-person pair.
    """
    config = config or calibration_engine_config()
    from app.attendance.engines import identity_of  # late: avoids an import cycle

    data = CalibrationData(root=root, metric=identity_of(config.engine).metric)
    workers = workers or min(2, os.cpu_count() or 1)
    if pairs_file is not None:
        pairs = read_pairs(pairs_file, root)
        paths = sorted({p for a, b, _ in pairs for p in (a, b)})
        paths = [p for p in paths if p.is_file()]
        data.by_person = {}
        for p in paths:
            data.by_person.setdefault(p.parent.name, []).append(str(p))
    else:
        folder = scan_folder(root, max_per_person)
        data.by_person = {k: [str(p) for p in v] for k, v in folder.items()}
        paths = [p for v in folder.values() for p in v]
    if on_total:
        on_total(len(paths))
    data.samples = embed_files(paths, workers=workers, config=config, on_progress=on_progress)
    if pairs_file is not None:
        data.genuine, data.impostor, _ = pairs_distances(
            read_pairs(pairs_file, root), data.samples, data.metric
        )
    else:
        data.genuine, data.impostor = all_pairs_distances(data.embeddings_by_person(), data.metric)
    return data


__all__ = [
    "AttemptRates",
    "attempt_rates",
    "merge",
    "RECOMMENDED_ACCEPT",
    "RECOMMENDED_REJECT",
    "CalibrationData",
    "RatePoint",
    "Recommendation",
    "all_pairs_distances",
    "calibrate_folder",
    "calibration_engine_config",
    "embed_files",
    "error_table",
    "pairs_distances",
    "rates_at",
    "read_pairs",
    "recommend",
    "scan_folder",
    "threshold_at_fmr",
    "threshold_at_fnmr",
]
