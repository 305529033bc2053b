"""The in-memory 1:N index gives exactly the brute-force answer and follows the database."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session

from app.attendance import service
from app.attendance.face import DLIB_IDENTITY, ModelIdentity, fused_distance, fused_score
from app.attendance.models import FaceTemplate, TemplateStatus
from app.attendance.search import TemplateIndex
from app.attendance.sface import SFACE_IDENTITY
from app.db import transaction
from tests.attendance import index_world
from tests.attendance.index_world import unit
from tests.factories import make_institution, make_learner


@pytest.fixture
def db(app_env: str) -> Any:
    """The database engine (this folder's ``engine`` fixture is the face engine)."""
    from app.db import get_engine

    return get_engine()


TEST_MODEL = ModelIdentity("test", "test", "0", "0" * 64, "euclidean")


def add_template(
    engine: Any, user_id: uuid.UUID, embs: np.ndarray, model: ModelIdentity = TEST_MODEL
) -> uuid.UUID:
    return index_world.add_template(engine, user_id, embs, model)


def test_index_equals_brute_force_and_follows_changes(db: Any) -> None:
    engine = db
    rng = np.random.default_rng(7)
    inst = make_institution(engine)
    users = [make_learner(engine, inst) for _ in range(12)]
    # Real face embeddings sit ~0.4-0.7 apart; scale random directions to that regime.
    base = unit(rng.normal(size=(12, 128))) * 0.3
    templates: dict[uuid.UUID, np.ndarray] = {}
    tids = {}
    for i, u in enumerate(users):
        k = 3 + i % 3  # 3 to 5 embeddings, as enrolment keeps
        embs = base[i] + rng.normal(scale=0.02, size=(k, 128))
        templates[u.id] = embs
        tids[u.id] = add_template(engine, u.id, embs)
    index = TemplateIndex(service._decode_embeddings, TEST_MODEL)
    stranger = uuid.uuid4()

    def brute(
        probes: np.ndarray, threshold: float, exclude: uuid.UUID
    ) -> list[tuple[uuid.UUID, float]]:
        hits = [
            (uid, fused_distance(probes, embs.astype(np.float32).astype(np.float64)))
            for uid, embs in templates.items()
            if uid != exclude
        ]
        return sorted([h for h in hits if h[1] <= threshold], key=lambda h: h[1])

    s = Session(engine)
    index.refresh(s)
    assert len(index) == 12
    for trial in range(40):
        target = users[trial % 12].id
        probes = templates[target][:2] + rng.normal(scale=0.03 * (trial % 4), size=(2, 128))
        for threshold in (0.05, 0.2, 0.38, 0.6):
            got = index.search(s, probes, threshold, exclude_user=stranger)
            want = brute(probes, threshold, stranger)
            assert [u for u, _ in got] == [u for u, _ in want]
            assert np.allclose([d for _, d in got], [d for _, d in want], atol=1e-4)
        assert all(u != target for u, _ in index.search(s, probes, 0.6, exclude_user=target))
    s.close()

    # A re-enrolment retires the old template; consent withdrawal wipes another.
    victim, withdrawn = users[0], users[1]
    with transaction(engine) as s:
        old = s.get(FaceTemplate, tids[victim.id])
        assert old is not None
        old.status = TemplateStatus.retired
        s.add(old)
        learner = s.get(type(withdrawn), withdrawn.id)
        service.delete_templates(s, learner)
    newer = templates[victim.id] + 0.5  # a different face now
    add_template(engine, victim.id, newer)
    with Session(engine) as s:
        index.refresh(s)
        assert len(index) == 11
        probe_old = templates[victim.id][:1]
        hits = index.search(s, probe_old, 0.2, exclude_user=stranger)
        assert victim.id not in [u for u, _ in hits]
        hits = index.search(s, templates[withdrawn.id][:1], 0.2, exclude_user=stranger)
        assert withdrawn.id not in [u for u, _ in hits]
        hits = index.search(s, newer[:2], 0.38, exclude_user=stranger)
        assert victim.id in [u for u, _ in hits]


def test_find_duplicates_uses_the_index(db: Any) -> None:
    engine = db
    inst = make_institution(engine)
    a, b = make_learner(engine, inst), make_learner(engine, inst)
    rng = np.random.default_rng(1)
    embs = unit(unit(rng.normal(size=(1, 128))) + rng.normal(scale=0.01, size=(3, 128)))
    add_template(engine, a.id, embs, SFACE_IDENTITY)
    with Session(engine) as s:
        hits = service.find_duplicates(s, embs[:2], exclude_user=b.id, threshold=0.5)
        assert [u for u, _ in hits] == [a.id]
        assert service.find_duplicates(s, embs[:2], exclude_user=a.id, threshold=0.5) == []


def test_search_runs_per_model(db: Any) -> None:
    """Templates of another model (an older engine) are never compared with the probes: the same
    vectors stored as a dlib template are invisible to the SFace index, and vice versa."""
    engine = db
    inst = make_institution(engine)
    old, new, probe_user = (make_learner(engine, inst) for _ in range(3))
    rng = np.random.default_rng(3)
    embs = unit(unit(rng.normal(size=(1, 128))) + rng.normal(scale=0.01, size=(3, 128)))
    add_template(engine, old.id, embs, DLIB_IDENTITY)
    add_template(engine, new.id, embs, SFACE_IDENTITY)
    with Session(engine) as s:
        hits = service.find_duplicates(s, embs[:2], exclude_user=probe_user.id, threshold=0.5)
        assert [u for u, _ in hits] == [new.id]
        dlib_index = TemplateIndex(service._decode_embeddings, DLIB_IDENTITY)
        dlib_index.refresh(s)
        got = dlib_index.search(s, embs[:2], 0.38, exclude_user=probe_user.id)
        assert [u for u, _ in got] == [old.id]


def test_cosine_index_equals_brute_force(db: Any) -> None:
    """With SFace's metric (cosine similarity, larger = closer) the index's Euclidean prefilter
    (sqrt(2 - 2t) on unit vectors) still gives exactly the brute-force answer."""
    engine = db
    rng = np.random.default_rng(11)
    inst = make_institution(engine)
    users = [make_learner(engine, inst) for _ in range(10)]
    centres = unit(rng.normal(size=(10, 128)))
    templates = {}
    for i, u in enumerate(users):
        embs = unit(centres[i] + rng.normal(scale=0.08, size=(3 + i % 3, 128)))
        templates[u.id] = embs
        add_template(engine, u.id, embs, SFACE_IDENTITY)
    index = TemplateIndex(service._decode_embeddings, SFACE_IDENTITY)
    s = Session(engine)
    index.refresh(s)
    stranger = uuid.uuid4()
    for trial in range(30):
        target = users[trial % 10].id
        probes = unit(templates[target][:2] + rng.normal(scale=0.05 * (trial % 5), size=(2, 128)))
        for t in (0.2, 0.4, 0.5, 0.7, 0.9):
            got = index.search(s, probes, t, exclude_user=stranger)
            scores = [
                (uid, fused_score(probes, e.astype(np.float32), "cosine"))
                for uid, e in templates.items()
            ]
            want = sorted([h for h in scores if h[1] >= t], key=lambda h: -h[1])
            assert [u for u, _ in got] == [u for u, _ in want]
            assert np.allclose([d for _, d in got], [d for _, d in want], atol=1e-4)
    s.close()
