"""A node's 1:N index on disk, encrypted, so a process starts in seconds instead of decrypting
every template in the database again (≈ 60 µs and a database row each: minutes at 1 M).

The file holds what :class:`app.attendance.search.TemplateIndex` keeps in memory for its live
templates — ids, users, centroids, radii, and the int8 embeddings with their scales and error
bounds — together with the change clock (epoch and value) it was loaded up to. The int8
embeddings are biometric data, so nothing of them is written in the clear: the file is a
sequence of AES-256-GCM chunks under a key derived from ``SKILLTRACE_SECRET_KEY`` for this purpose
only (:func:`app.crypto.derive_key`), each bound (associated data) to the file's header, its
position and the number of chunks, so a changed header, a reordered, truncated or spliced file,
a file of another model or a rotated secret fails authentication and the process loads from
the database instead. Only templates alive when the snapshot is taken are written (a retired or
withdrawn template's rows are left out); files are written 0600, to a temporary name, synced and
renamed into place, so a reader sees a whole file or the previous one.

A snapshot is a starting point, never the truth: it is used only when its clock epoch is the
database's and its value is not ahead of the database's clock, and the index then loads every
template written since that value (:meth:`TemplateIndex.refresh`), dropping those retired or
wiped meanwhile — so a learner who withdrew consent after the file was written is dropped as
the process starts, and the file itself is rewritten on the refresh loop's next turn.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.attendance.face import ModelIdentity
from app.crypto import derive_key

MAGIC = b"SKILLTRACE-FACE-INDEX\n"
FORMAT = 2  # 2: int8 centroids with their scale (1: float32 centroids)
_PURPOSE = "enc:face_index_snapshot"
#: Templates per encrypted chunk (≈ 25 MB of int8 embeddings at 6 rows of 128).
CHUNK_TEMPLATES = 32_768
_U32 = struct.Struct(">I")
_COUNTS = struct.Struct(">QQ")  # templates, embedding rows in a chunk

#: Per-template arrays in the order they are written, with their dtype and row shape.
PER_TEMPLATE: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("ids", "S16", ()),
    ("users", "S16", ()),
    ("centres", "i1", (128,)),
    ("cscale", "<f4", ()),
    ("radius", "<f4", ()),
    ("scale", "<f4", ()),
    ("qerr", "<f4", ()),
    ("count", "<i2", ()),
)


class SnapshotInvalid(Exception):
    """The file cannot be used (damaged, of another model or key, or an unknown format)."""


@dataclass
class Snapshot:
    """The live templates of an index, compact, and the clock they were loaded up to."""

    epoch: str
    seen: int
    #: PER_TEMPLATE names, and "emb" (rows, 128) int8; the rows in use are the first
    #: ``templates`` and ``embeddings``, the rest room to grow.
    arrays: dict[str, np.ndarray[Any, Any]]
    templates: int
    embeddings: int


def write(
    path: Path,
    model: ModelIdentity,
    snap: Snapshot,
    alive: np.ndarray[Any, Any],
    starts: np.ndarray[Any, Any],
) -> bool:
    """Write ``snap`` to ``path`` atomically. Its arrays may hold dead rows: only the templates
    ``alive`` marks are written, their embeddings found from ``starts`` (each one's first row).
    Returns False, writing nothing, when another process is writing the same file."""
    keep = np.nonzero(alive)[0]
    counts = snap.arrays["count"][keep].astype(np.int64)
    header = json.dumps(
        {
            "format": FORMAT,
            "epoch": snap.epoch,
            "seen": snap.seen,
            "engine": model.engine,
            "name": model.name,
            "sha256": model.sha256,
            "dim": 128,
            "templates": len(keep),
            "embeddings": int(counts.sum()),
            "chunks": _chunks(len(keep)),
        },
        sort_keys=True,
    ).encode()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _lock(path) as locked:
        if not locked:
            return False
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + _U32.pack(len(header)) + header)
                aead, aad = AESGCM(derive_key(_PURPOSE)), hashlib.sha256(MAGIC + header).digest()
                total = _chunks(len(keep))
                for i in range(total):
                    rows = keep[i * CHUNK_TEMPLATES : (i + 1) * CHUNK_TEMPLATES]
                    plain = _pack(snap.arrays, rows, starts)
                    nonce = os.urandom(12)
                    sealed = nonce + aead.encrypt(nonce, plain, aad + _COUNTS.pack(i, total))
                    out.write(_U32.pack(len(sealed)) + sealed)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        _sync_dir(path.parent)
    return True


def read(path: Path, model: ModelIdentity, room: float = 0.0) -> Snapshot:
    """The snapshot in ``path`` if it is whole, authentic and of ``model``; else
    :class:`SnapshotInvalid` (FileNotFoundError when there is none). Its arrays have ``room``
    (a share of their rows) to grow into, so templates written since load without copying
    every array (which would hold two copies of the index at once)."""
    with path.open("rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise SnapshotInvalid("not a face index snapshot")
        header = _exactly(f, _U32.unpack(_exactly(f, 4))[0])
        try:
            meta = json.loads(header)
        except ValueError as exc:
            raise SnapshotInvalid("unreadable header") from exc
        if meta.get("format") != FORMAT or meta.get("dim") != 128:
            raise SnapshotInvalid(f"format {meta.get('format')} dim {meta.get('dim')}")
        if (meta["engine"], meta["name"], meta["sha256"]) != (
            model.engine,
            model.name,
            model.sha256,
        ):
            raise SnapshotInvalid("another face model's index")
        n, m, total = int(meta["templates"]), int(meta["embeddings"]), int(meta["chunks"])
        if total != _chunks(n):
            raise SnapshotInvalid("chunk count does not match the template count")
        # np.zeros maps pages lazily: the room costs memory only once it is used.
        cap_n, cap_m = n + int(n * room) + 64, m + int(m * room) + 64 * 8
        arrays = {name: np.zeros((cap_n, *shape), dtype) for name, dtype, shape in PER_TEMPLATE}
        arrays["emb"] = np.zeros((cap_m, 128), np.int8)
        aead, aad = AESGCM(derive_key(_PURPOSE)), hashlib.sha256(MAGIC + header).digest()
        at_t = at_e = 0
        for i in range(total):
            sealed = _exactly(f, _U32.unpack(_exactly(f, 4))[0])
            try:
                plain = aead.decrypt(sealed[:12], sealed[12:], aad + _COUNTS.pack(i, total))
            except InvalidTag as exc:
                raise SnapshotInvalid(f"chunk {i} fails authentication") from exc
            at_t, at_e = _unpack(plain, arrays, at_t, at_e, n, m)
        if f.read(1) or at_t != n or at_e != m:
            raise SnapshotInvalid("length does not match the header")
    if int(arrays["count"][:n].astype(np.int64).sum()) != m:
        raise SnapshotInvalid("embedding counts do not add up")
    return Snapshot(str(meta["epoch"]), int(meta["seen"]), arrays, templates=n, embeddings=m)


def _chunks(templates: int) -> int:
    return max(1, -(-templates // CHUNK_TEMPLATES))


def _pack(
    arrays: dict[str, np.ndarray[Any, Any]],
    rows: np.ndarray[Any, Any],
    starts: np.ndarray[Any, Any],
) -> bytes:
    counts = arrays["count"][rows].astype(np.int64)
    emb_rows = (
        np.repeat(starts[rows] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        if len(rows)
        else np.zeros(0, np.int64)
    )
    parts = [_COUNTS.pack(len(rows), len(emb_rows))]
    for name, dtype, _shape in PER_TEMPLATE:
        parts.append(np.ascontiguousarray(arrays[name][rows], dtype).tobytes())
    parts.append(np.ascontiguousarray(arrays["emb"][emb_rows], np.int8).tobytes())
    return b"".join(parts)


def _unpack(
    plain: bytes, arrays: dict[str, np.ndarray[Any, Any]], at_t: int, at_e: int, n: int, m: int
) -> tuple[int, int]:
    k, e = _COUNTS.unpack_from(plain)
    offset = _COUNTS.size
    if at_t + k > n or at_e + e > m:
        raise SnapshotInvalid("more rows than the header says")
    for name, dtype, shape in PER_TEMPLATE:
        items = k * int(np.prod(shape, dtype=np.int64))
        part = np.frombuffer(plain, dtype, count=items, offset=offset)
        arrays[name][at_t : at_t + k] = part.reshape(k, *shape)
        offset += items * np.dtype(dtype).itemsize
    arrays["emb"][at_e : at_e + e] = np.frombuffer(plain, np.int8, e * 128, offset).reshape(e, 128)
    if offset + e * 128 != len(plain):
        raise SnapshotInvalid("chunk length does not match its counts")
    return at_t + k, at_e + e


def _exactly(f: IO[bytes], size: int) -> bytes:
    data = f.read(size)
    if len(data) != size:
        raise SnapshotInvalid("truncated")
    return data


@contextlib.contextmanager
def _lock(path: Path) -> Any:
    """An exclusive lock on ``path``'s lock file, or False at once if another process holds it
    (the worker processes of one node share one file: one of them writes it)."""
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
