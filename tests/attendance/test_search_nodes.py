"""The 1:N index on many nodes: each follows the database through the templates' change clock,
loads only what changed, and decides exactly from its compact (int8) copy."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.attendance import service, templateclock
from app.attendance.face import fused_score
from app.attendance.models import FaceIndexClock, FaceTemplate, TemplateStatus
from app.attendance.search import TemplateIndex
from app.attendance.sface import SFACE_IDENTITY
from app.db import transaction
from tests.attendance.index_world import Statements, add_template, face, hits, unit
from tests.factories import make_institution, make_learner


@pytest.fixture
def db(app_env: str) -> Any:
    from app.db import get_engine

    return get_engine()


def test_two_nodes_follow_each_others_changes(db: Any) -> None:
    """Two indexes on one database (two nodes): an enrolment, a retirement and a consent
    withdrawal written anywhere are seen by each index at its next search."""
    engine = db
    rng = np.random.default_rng(5)
    inst = make_institution(engine)
    a, b, c = (make_learner(engine, inst) for _ in range(3))
    node1 = TemplateIndex(service._decode_embeddings, SFACE_IDENTITY)
    node2 = TemplateIndex(service._decode_embeddings, SFACE_IDENTITY)
    fa, fb = face(rng), face(rng)
    ta = add_template(engine, a.id, fa, SFACE_IDENTITY)
    assert hits(node1, engine, fa[:3]) == [a.id]
    assert hits(node2, engine, fa[:3]) == [a.id]

    add_template(engine, b.id, fb, SFACE_IDENTITY)  # enrolled "on node 1"
    assert hits(node2, engine, fb[:3]) == [b.id]
    with transaction(engine) as s:  # a re-enrolment retires a's template "on node 2"
        old = s.get(FaceTemplate, ta)
        assert old is not None
        old.status = TemplateStatus.retired
        s.add(old)
    assert hits(node1, engine, fa[:3]) == []
    with transaction(engine) as s:  # b withdraws consent
        learner = s.get(type(b), b.id)
        assert learner is not None
        service.delete_templates(s, learner)
    assert hits(node1, engine, fb[:3]) == [] == hits(node2, engine, fb[:3])
    fc = face(rng)
    add_template(engine, c.id, fc, SFACE_IDENTITY)
    assert hits(node2, engine, fc[:3]) == [c.id] == hits(node1, engine, fc[:3])
    assert len(node1) == len(node2) == 1


def test_refresh_reads_only_what_changed(db: Any) -> None:
    """Nothing changed: a refresh reads the clock's row and no template. One template changed:
    it loads that one row, not every id (what the index did before)."""
    engine = db
    rng = np.random.default_rng(6)
    inst = make_institution(engine)
    learners = [make_learner(engine, inst) for _ in range(4)]
    for learner in learners:
        add_template(engine, learner.id, face(rng), SFACE_IDENTITY)
    decoded: list[str] = []

    def decode(blob: str) -> np.ndarray:
        decoded.append(blob)
        return service._decode_embeddings(blob)

    index = TemplateIndex(decode, SFACE_IDENTITY)
    with Session(engine) as s:
        index.refresh(s)
        assert len(index) == 4 == len(decoded)
        with Statements(engine) as seen:
            index.refresh(s)
        assert seen and not [q for q in seen if "face_templates" in q]
    new = make_learner(engine, inst)
    tid = add_template(engine, new.id, face(rng), SFACE_IDENTITY)
    with Session(engine) as s:
        stamped = s.exec(select(FaceTemplate.change_seq, FaceTemplate.id)).all()
        assert max(stamped)[1] == tid  # the newest write carries the highest stamp
        index.refresh(s)
        assert len(index) == 5 == len(decoded)  # the new one decrypted, no other


def test_every_template_write_takes_the_next_clock_value(db: Any) -> None:
    """Activation, retirement and deletion each stamp the template with a new clock value at
    commit; a rolled-back write takes none."""
    engine = db
    rng = np.random.default_rng(8)
    inst = make_institution(engine)
    learner = make_learner(engine, inst)

    def clock() -> int:
        with Session(engine) as s:
            return templateclock.read(s.connection())[1]

    def stamp_of(tid: uuid.UUID) -> int:
        with Session(engine) as s:
            t = s.get(FaceTemplate, tid)
            assert t is not None
            return t.change_seq

    before = clock()
    tid = add_template(engine, learner.id, face(rng), SFACE_IDENTITY)
    assert stamp_of(tid) == clock() == before + 1
    with pytest.raises(RuntimeError), transaction(engine) as s:
        t = s.get(FaceTemplate, tid)
        assert t is not None
        t.status = TemplateStatus.retired
        s.add(t)
        s.flush()
        raise RuntimeError("rolled back")
    assert stamp_of(tid) == clock() == before + 1
    with transaction(engine) as s:
        who = s.get(type(learner), learner.id)
        assert who is not None
        service.delete_templates(s, who)
    assert stamp_of(tid) == clock() == before + 2


def test_an_emptied_database_is_loaded_again(db: Any) -> None:
    """The clock's epoch names the database: an index that saw another one starts over."""
    engine = db
    rng = np.random.default_rng(9)
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    fa = face(rng)
    add_template(engine, learner.id, fa, SFACE_IDENTITY)
    index = TemplateIndex(service._decode_embeddings, SFACE_IDENTITY)
    assert hits(index, engine, fa[:3]) == [learner.id]
    with transaction(engine) as s:  # as a restore would leave it: another epoch, same value
        clock = s.get(FaceIndexClock, 1)
        assert clock is not None
        clock.epoch = uuid.uuid4().hex
        s.add(clock)
        # Its templates differ, written without the clock (not through the ORM).
        s.execute(FaceTemplate.__table__.update().values(status="retired"))  # type: ignore[attr-defined]
    assert hits(index, engine, fa[:3]) == []


def test_compact_decisions_are_exact_at_the_threshold(db: Any) -> None:
    """The int8 copy never decides a score that close: a template scoring exactly the
    threshold matches, one a hair below does not, with the exact score reported."""
    engine = db
    rng = np.random.default_rng(10)
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    embs = face(rng)
    add_template(engine, learner.id, embs, SFACE_IDENTITY)
    index = TemplateIndex(service._decode_embeddings, SFACE_IDENTITY)
    probes = unit(embs[:3] + rng.normal(scale=0.4, size=(3, 128)))
    exact = fused_score(probes, embs.astype(np.float32), "cosine")
    assert 0.1 < exact < 0.9
    with Session(engine) as s:
        index.refresh(s)
        got = index.search(s, probes, exact, exclude_user=uuid.uuid4())
        assert got == [(learner.id, exact)]
        assert index.search(s, probes, np.nextafter(exact, 1), exclude_user=uuid.uuid4()) == []
    # Compact: int8 embeddings, under a quarter of the float64 arrays the index held before.
    assert index.nbytes < len(embs) * 128 * 8 / 4 + 600


def test_concurrent_refreshes_and_searches(db: Any) -> None:
    """Threads of one node refresh and search one index at once while templates are enrolled:
    each template is loaded once."""
    engine = db
    rng = np.random.default_rng(12)
    inst = make_institution(engine)
    learners = [make_learner(engine, inst) for _ in range(8)]
    faces = [face(rng) for _ in learners]
    index = TemplateIndex(service._decode_embeddings, SFACE_IDENTITY)
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for f in faces:
                hits(index, engine, f[:3])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    for learner, f in zip(learners, faces, strict=True):
        add_template(engine, learner.id, f, SFACE_IDENTITY)
    for t in threads:
        t.join()
    assert not errors
    for learner, f in zip(learners, faces, strict=True):
        assert hits(index, engine, f[:3]) == [learner.id]
    assert len(index) == 8


@pytest.fixture
def two_sessions(db: Any, db_url: str) -> Iterator[tuple[Session, Session]]:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: no transaction commits out of order there")
    first, second = Session(db), Session(db)
    yield first, second
    first.close()
    second.close()


def test_a_write_that_commits_late_is_not_skipped(
    db: Any, two_sessions: tuple[Session, Session]
) -> None:
    """A transaction that wrote its template first but commits after another is still loaded:
    values are drawn at commit, in commit order (a timestamp watermark would skip it)."""
    engine = db
    rng = np.random.default_rng(13)
    inst = make_institution(engine)
    slow, quick = make_learner(engine, inst), make_learner(engine, inst)
    f_slow, f_quick = face(rng), face(rng)
    index = TemplateIndex(service._decode_embeddings, SFACE_IDENTITY)
    first, second = two_sessions
    for s, learner, f in ((first, slow, f_slow), (second, quick, f_quick)):
        blob, digest = service._encode_embeddings(f.astype(np.float32))
        s.add(
            FaceTemplate(
                user_id=learner.id,
                status=TemplateStatus.active,
                embeddings_enc=blob,
                embeddings_sha256=digest,
                n_embeddings=len(f),
                face_engine=SFACE_IDENTITY.engine,
                model_name=SFACE_IDENTITY.name,
                model_version=SFACE_IDENTITY.version,
                model_sha256=SFACE_IDENTITY.sha256,
            )
        )
    first.flush()  # written first...
    second.commit()  # ...but the other one commits first
    assert hits(index, engine, f_quick[:3]) == [quick.id]
    first.commit()
    assert hits(index, engine, f_slow[:3]) == [slow.id]
    assert len(index) == 2


def test_a_template_written_again_and_again_is_one_row(db: Any) -> None:
    """A template held for review, released, held and released again, refreshed after each
    write: it is in the index exactly while it is active, once (its old rows are found among
    those added by earlier refreshes), and its neighbours are untouched."""
    engine = db
    rng = np.random.default_rng(11)
    inst = make_institution(engine)
    a, b = make_learner(engine, inst), make_learner(engine, inst)
    fa, fb = face(rng), face(rng)
    ta = add_template(engine, a.id, fa)
    add_template(engine, b.id, fb)
    index = TemplateIndex(service._decode_embeddings, SFACE_IDENTITY)
    assert hits(index, engine, fa[:3]) == [a.id] and len(index) == 2
    for status in (TemplateStatus.pending, TemplateStatus.active) * 3:
        with transaction(engine) as s:
            t = s.get(FaceTemplate, ta)
            assert t is not None
            t.status = status
            s.add(t)
        want = [a.id] if status is TemplateStatus.active else []
        assert hits(index, engine, fa[:3]) == want
        assert len(index) == 1 + len(want)
        assert hits(index, engine, fb[:3]) == [b.id]
