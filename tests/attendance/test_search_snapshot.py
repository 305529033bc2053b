"""The 1:N index's snapshot: a process starts from the node's encrypted copy instead of
decrypting every template again, then loads only what was written since; a damaged, foreign,
stale or rekeyed file is never used, and no biometric byte is written in the clear."""

from __future__ import annotations

import stat
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session

from app.accounts.models import User
from app.attendance import indexsnapshot, search, service
from app.attendance.models import FaceTemplate, TemplateStatus
from app.attendance.search import TemplateIndex
from app.attendance.sface import SFACE_IDENTITY
from app.db import transaction
from tests.attendance.index_world import Statements, add_template, face, hits
from tests.factories import make_institution, make_learner


@pytest.fixture
def db(app_env: str) -> Any:
    from app.db import get_engine

    return get_engine()


class Counting:
    """A decoder that counts the templates it decrypts."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, blob: str) -> np.ndarray:
        self.calls += 1
        return service._decode_embeddings(blob)


def node(path: Path) -> tuple[TemplateIndex, Counting]:
    decode = Counting()
    return TemplateIndex(decode, SFACE_IDENTITY, path), decode


def enrolled(db: Any, n: int, seed: int) -> list[tuple[uuid.UUID, uuid.UUID, np.ndarray]]:
    """``n`` learners with a template each: (user, template, embeddings)."""
    rng = np.random.default_rng(seed)
    inst = make_institution(db)
    out = []
    for _ in range(n):
        learner, f = make_learner(db, inst), face(rng)
        out.append((learner.id, add_template(db, learner.id, f), f))
    return out


def test_a_new_process_starts_from_the_snapshot(db: Any, tmp_path: Path) -> None:
    """Saved, then read by a fresh index: nothing is decrypted or read from the templates
    table when nothing changed, and every search answers as the index loaded from the
    database does (the compact scores are the same, the matches exact)."""
    people = enrolled(db, 5, 1)
    path = tmp_path / "index.snapshot"
    first, _ = node(path)
    with Session(db) as s:
        first.refresh(s)
    assert first.save_snapshot() and path.exists()

    second, decoded = node(path)
    with Session(db) as s, Statements(db) as seen:
        second.refresh(s)
    assert second.restored == first.seen and len(second) == 5
    assert decoded.calls == 0 and not [q for q in seen if "face_templates" in q]
    for user, _tid, f in people:
        assert hits(second, db, f[:3]) == [user] == hits(first, db, f[:3])


def test_writes_since_the_snapshot_are_caught_up(db: Any, tmp_path: Path) -> None:
    """A template retired, one wiped by a consent withdrawal and one enrolled after the file
    was written: the fresh index drops the first two and adds the third, decrypting only it."""
    people = enrolled(db, 4, 2)
    path = tmp_path / "index.snapshot"
    first, _ = node(path)
    with Session(db) as s:
        first.refresh(s)
    assert first.save_snapshot()
    (_u0, t0, f0), (u1, _t1, f1) = people[0], people[1]
    with transaction(db) as s:
        old = s.get(FaceTemplate, t0)
        assert old is not None
        old.status = TemplateStatus.retired
        s.add(old)
    with transaction(db) as s:  # the learner withdraws consent: the template is wiped
        learner = s.get(User, u1)
        assert learner is not None
        service.delete_templates(s, learner)
    ((u_new, _t, f_new),) = enrolled(db, 1, 3)

    second, decoded = node(path)
    with Session(db) as s:
        second.refresh(s)
    assert second.restored == first.seen < second.seen
    assert decoded.calls == 1 and len(second) == 3  # only the new template was decrypted
    assert hits(second, db, f0[:3]) == [] and hits(second, db, f1[:3]) == []
    assert hits(second, db, f_new[:3]) == [u_new]
    for user, _tid, f in people[2:]:
        assert hits(second, db, f[:3]) == [user]


def test_no_biometric_byte_in_the_clear(db: Any, tmp_path: Path) -> None:
    """The file is 0600 and holds neither the templates' ids nor their int8 rows; a retired
    template's rows are not written at all."""
    people = enrolled(db, 3, 4)
    path = tmp_path / "index.snapshot"
    index, _ = node(path)
    with Session(db) as s:
        index.refresh(s)
    with transaction(db) as s:
        old = s.get(FaceTemplate, people[0][1])
        assert old is not None
        old.status = TemplateStatus.retired
        s.add(old)
    with Session(db) as s:
        index.refresh(s)
    assert index.save_snapshot()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    for _user, tid, f in people:
        assert tid.bytes not in data
        q = np.clip(np.rint(f / (np.abs(f).max() / 127)), -127, 127).astype(np.int8)
        assert q[0].tobytes()[:32] not in data
    snap = indexsnapshot.read(path, SFACE_IDENTITY)
    written = {bytes(i).ljust(16, b"\0") for i in snap.arrays["ids"][: snap.templates]}
    assert written == {p[1].bytes for p in people[1:]} and snap.templates == 2
    assert snap.embeddings == int(snap.arrays["count"][:2].astype(int).sum())


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        "flipped ciphertext",
        "flipped header",
        "truncated",
        "appended",
        "other key",
        "other model",
        "older format",  # format 1 held float32 centroids
    ],
)
def test_a_damaged_or_foreign_snapshot_is_not_used(
    db: Any, tmp_path: Path, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever is wrong with the file, the index loads from the database and answers right."""
    people = enrolled(db, 3, 5)
    path = tmp_path / "index.snapshot"
    first, _ = node(path)
    with Session(db) as s:
        first.refresh(s)
    assert first.save_snapshot()
    size = path.stat().st_size
    if damage == "flipped ciphertext":
        _flip(path, size - 40)
    elif damage == "flipped header":  # the clock value "seen": 1 -> 0 or similar
        data = path.read_bytes()
        at = data.index(b'"seen": ') + len(b'"seen": ')
        _flip(path, at)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-1])
    elif damage == "appended":
        path.write_bytes(path.read_bytes() + b"\0")
    elif damage == "older format":
        fmt = f'"format": {indexsnapshot.FORMAT}'.encode()
        path.write_bytes(path.read_bytes().replace(fmt, b'"format": 1', 1))
    elif damage == "other key":
        from app.config import get_settings
        from app.crypto import _derive

        monkeypatch.setenv("SKILLTRACE_SECRET_KEY", "another-secret-key-" + "y" * 32)
        get_settings.cache_clear()
        _derive.cache_clear()
    else:
        data = path.read_bytes().replace(SFACE_IDENTITY.sha256.encode(), b"0" * 64)
        path.write_bytes(data)
    if damage == "other key":  # the templates were encrypted under the first key
        with pytest.raises(indexsnapshot.SnapshotInvalid):
            indexsnapshot.read(path, SFACE_IDENTITY)
        return
    second, decoded = node(path)
    with Session(db) as s:
        second.refresh(s)
    assert second.restored is None and decoded.calls == 3
    for user, _tid, f in people:
        assert hits(second, db, f[:3]) == [user]


def test_a_snapshot_of_another_database_state_is_not_used(db: Any, tmp_path: Path) -> None:
    """Another epoch (another or an emptied database) or a clock ahead of the database's
    (a restored backup): the snapshot is ignored and the index loads from the database."""
    people = enrolled(db, 2, 6)
    path = tmp_path / "index.snapshot"
    first, _ = node(path)
    with Session(db) as s:
        first.refresh(s)
    assert first.save_snapshot()
    good = indexsnapshot.read(path, SFACE_IDENTITY)
    alive = np.ones(good.templates, bool)
    counts = good.arrays["count"].astype(np.int64)
    starts = np.cumsum(counts) - counts
    for epoch, seen in (("0" * 32, good.seen), (good.epoch, good.seen + 1)):
        stale = indexsnapshot.Snapshot(epoch, seen, good.arrays, good.templates, good.embeddings)
        assert indexsnapshot.write(path, SFACE_IDENTITY, stale, alive, starts)
        second, decoded = node(path)
        with Session(db) as s:
            second.refresh(s)
        assert second.restored is None and decoded.calls == 2
        assert hits(second, db, people[0][2][:3]) == [people[0][0]]


def test_maintain_index_loads_and_writes_the_snapshot(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the app runs in the background: the first call loads the index and writes the
    node's snapshot; the next process (a fresh index) starts from it."""
    from app.attendance.templates import maintain_index
    from app.config import get_settings

    monkeypatch.setenv("SKILLTRACE_FACE_INDEX_SNAPSHOT_INTERVAL_S", "0")
    get_settings.cache_clear()
    monkeypatch.setattr(search, "_indexes", {})  # this process's indexes of earlier tests
    people = enrolled(db, 3, 7)
    index = maintain_index(db)
    assert len(index) == 3 and index.snapshot is not None and index.saved == index.seen
    assert index.snapshot.parent == get_settings().data_dir / "face-index"
    monkeypatch.setattr(search, "_indexes", {})  # a new process
    again = maintain_index(db)
    assert again is not index and again.restored == index.seen
    with Session(db) as s:  # the search the enrolment runs uses this index
        found = service.find_duplicates(
            s, people[1][2][:3], exclude_user=uuid.uuid4(), threshold=0.5
        )
    assert [u for u, _ in found] == [people[1][0]] and search._indexes


def test_the_app_loads_the_index_in_the_background(
    app_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``face_index_refresh_interval_s`` set, start-up loads the index (and writes its
    snapshot) without waiting for an enrolment."""
    from fastapi.testclient import TestClient

    from app.config import get_settings
    from app.db import get_engine
    from app.main import create_app

    people = enrolled(get_engine(), 2, 8)
    monkeypatch.setenv("SKILLTRACE_FACE_INDEX_REFRESH_INTERVAL_S", "3600")
    get_settings.cache_clear()
    monkeypatch.setattr(search, "_indexes", {})
    with TestClient(create_app()):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            i.saved is not None for i in list(search._indexes.values())
        ):
            time.sleep(0.05)
        loaded = list(search._indexes.values())
    assert len(loaded) == 1 and len(loaded[0]) == len(people)
    assert loaded[0].snapshot is not None and loaded[0].snapshot.exists()
