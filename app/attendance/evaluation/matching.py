"""Matching on a ``person/image`` folder: FMR and FNMR at a grid of thresholds and at the
configured ones, template-level and fused-burst rates, each with its pair counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.attendance.calibration import (
    CalibrationData,
    attempt_rates,
    error_table,
    rates_at,
)
from app.attendance.face import score_matrix

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
