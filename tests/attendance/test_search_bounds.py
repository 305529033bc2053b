"""The bounds the 1:N index decides with, without a database: the int8-centroid prefilter and
the float32 compact cosine scores never drop a template that matches — at the threshold itself
too — for wide and narrow templates, unit and non-unit embeddings, and both metrics."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from app.attendance import search, service
from app.attendance.face import DLIB_IDENTITY, ModelIdentity, fused_score, matches
from app.attendance.search import TemplateIndex
from app.attendance.sface import SFACE_IDENTITY
from tests.attendance.index_world import unit


def loaded(model: ModelIdentity, templates: list[np.ndarray]) -> tuple[TemplateIndex, list[int]]:
    """An index holding ``templates`` as a refresh adds them (float32, as stored), and the
    index's row of each (rows are grouped by embedding count)."""
    index = TemplateIndex(service._decode_embeddings, model)
    ids = [uuid.uuid4().bytes for _ in templates]
    index._add([(tid, uuid.uuid4().bytes, t) for tid, t in zip(ids, templates, strict=True)])
    row = {search._bytes16(index._ids[r]): r for r in range(len(templates))}
    return index, [row[tid] for tid in ids]


def world(
    rng: np.random.Generator, metric: str, n: int = 60
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Templates of 3-6 embeddings, from tight to very wide (so the farthest embedding, not
    the centroid, is what a probe matches), and bursts aimed at single embeddings."""
    templates = []
    for i in range(n):
        k, spread = 3 + i % 4, (0.02, 0.1, 0.4, 1.5)[i % 4]
        centre = unit(rng.normal(size=(1, 128)))
        e = centre + rng.normal(scale=spread / np.sqrt(128), size=(k, 128))
        if metric == "cosine":  # the compared vectors are unit; stored ones need not be
            e = unit(e) * rng.choice([1.0, 0.3, 7.0])
        else:  # dlib-like: ~0.6 apart
            e = e * 0.45
        templates.append(e.astype(np.float32))
    bursts = []
    for j in range(16):
        t = templates[rng.integers(n)].astype(np.float64)
        if j % 4 == 3:  # where the bound is tight: 3 equal probes on the far embedding's ray
            x = unit(t) if metric == "cosine" else t
            centre = x.mean(0)
            far = x[np.argmax(np.linalg.norm(x - centre, axis=1))]
            ray = unit(far - centre)
            probes = ray if metric == "cosine" else far + 0.2 * ray
            bursts.append(np.repeat(probes[None, :], 3, axis=0))
            continue
        aim = t[rng.integers(len(t))]  # one (outlying) embedding
        noise = rng.normal(scale=(0.0, 0.2, 0.6)[j % 3] / np.sqrt(128), size=(1 + j % 6, 128))
        probes = aim / np.linalg.norm(aim) + noise
        bursts.append(unit(probes) if metric == "cosine" else probes * 0.45)
    return templates, bursts


@pytest.mark.parametrize("model", [SFACE_IDENTITY, DLIB_IDENTITY], ids=["cosine", "euclidean"])
def test_no_template_that_matches_is_dropped(model: ModelIdentity) -> None:
    rng = np.random.default_rng(41)
    metric = model.metric
    templates, bursts = world(rng, metric)
    index, rows = loaded(model, templates)
    decision = 0.5 if metric == "cosine" else 0.4  # where few of these templates match
    kept = 0
    for probes in bursts:
        exact = [fused_score(probes, t, metric) for t in templates]
        # Every exact score as the threshold (that template sits at the threshold itself; for
        # the tight bursts, at the prefilter's bound too), and one where few match.
        for threshold in [*sorted(set(exact)), decision]:
            want = {rows[i] for i, s in enumerate(exact) if matches(s, threshold, metric)}
            near = index._prefilter(probes, threshold)
            assert want <= set(near.tolist()), (threshold, want - set(near.tolist()))
            unsure = index._compact_scores(near, probes, threshold)
            assert want <= set(unsure), (threshold, want - set(unsure))
            if threshold == decision:
                kept += len(near)
    # The prefilter decides: at the decision threshold most templates (all but the very wide)
    # are never scored.
    assert kept < 0.5 * len(templates) * len(bursts)


def test_compact_cosine_within_its_slack() -> None:
    """The float32 compact fused cosine of a template is within its int8 error bound plus the
    slack of the exact one: kept at the exact score as threshold, decided (dropped) once the
    threshold is past the exact score by twice that margin."""

    rng = np.random.default_rng(5)
    templates, bursts = world(rng, "cosine", n=40)
    index, rows = loaded(SFACE_IDENTITY, templates)
    for probes in bursts:
        for t, i in zip(templates, rows, strict=True):
            exact = fused_score(probes, t, "cosine")
            margin = float(index._qerr[i]) + search._SCORE_SLACK
            one = np.array([i])
            assert index._compact_scores(one, probes, exact) == [i]
            assert index._compact_scores(one, probes, exact + 2.001 * margin) == []


def test_int8_centroids_cost_less_memory() -> None:
    """The index per template: 6 int8 embeddings (768 B), an int8 centroid (128 B) and a few
    scalars and ids — under 1 KB, where float32 centroids took 1,335 B."""
    rng = np.random.default_rng(2)
    faces = [unit(rng.normal(size=(6, 128))).astype(np.float32) for _ in range(50)]
    index, _ = loaded(SFACE_IDENTITY, faces)
    assert index.nbytes / len(index) < 1000
