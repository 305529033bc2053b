"""Where uploaded files are kept: lesson videos and their poster frames, external-certificate
scans (the media store) and attendance evidence crops (the evidence store).

A :class:`MediaStore` holds immutable objects by key (``lessons/<lesson id>/<hash>.webm``,
``external-certificates/<id>/<sha256>.pdf``, ``evidence/<yyyy>/<mm>/<event id>.jpg``); every
read, write and deletion of these files goes through it, so what one app node stored another
can serve. ``SKILLTRACE_STORAGE`` chooses the store:

* ``local`` (the embedded default): files under the data dir: media under ``data_dir/media``,
  evidence under ``data_dir/evidence`` (where it always was). One node only, or a shared
  filesystem.
* ``s3``: one bucket of an S3-compatible object store (AWS S3, MinIO, Ceph RGW, OSS/COS in S3
  mode), optionally under a key prefix (:mod:`app.storage_s3`). For several app nodes.

Objects are written before the row that points to them commits and removed if it rolls back
(``app/aftercommit.py``), so a row never points to a missing object; an object a row stops
pointing to (a purged evidence crop, a removed draft lesson) is deleted after commit. Each
object's sha256 is computed while it is stored (kept with it as metadata on S3) and returned, so
the rows and the audit that refer to a hash can be checked against the bytes on every whole read.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from app.config import Settings, get_settings
from app.errors import DomainError

#: Keys are relative paths of plain segments: nothing that could climb out of the store's root.
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}(/[a-z0-9][a-z0-9._-]{0,99}){0,4}$")
CHUNK = 256 * 1024
#: Media types by a key's extension (what S3 records and a browser is told).
CONTENT_TYPES = {
    "webm": "video/webm",
    "mp4": "video/mp4",
    "jpg": "image/jpeg",
    "png": "image/png",
    "pdf": "application/pdf",
}


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"not a media key: {key!r}")
    return key


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


class ObjectMissing(LookupError):
    """No object is stored under the key."""


class StorageUnavailable(DomainError):
    """The object store cannot be reached or refused the request (an operator's problem, never
    the caller's): 503, and the detail names the store and its answer."""

    code = "storage_unavailable"
    status = 503
    title = "Storage unavailable"
    message_zh = "文件存储暂时无法访问，请稍后再试；如持续出现，请联系平台运维。"
    message_en = "The file store cannot be reached just now; try again later."


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    #: A strong validator of the stored bytes (quoted, as HTTP sends it).
    etag: str
    modified: datetime


class MediaStore(Protocol):
    def put(self, key: str, source: Path) -> str:
        """Store the file at ``source`` under ``key`` (replacing an object of that key) and
        return the sha256 (hex) of the bytes stored."""

    def put_bytes(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key``; the sha256 (hex) of the bytes stored."""

    def read(self, key: str) -> bytes:
        """The whole object (:class:`ObjectMissing` if there is none)."""

    def stat(self, key: str) -> ObjectInfo | None:
        """Size, validator and time of the object; None if there is none."""

    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (inclusive) of the object, in chunks. The object is
        opened before this returns (:class:`ObjectMissing` now, not while iterating)."""

    def delete(self, key: str) -> None:
        """Remove the object (nothing if it is not there)."""

    def check(self) -> None:
        """Raise :class:`StorageUnavailable` (one line an operator can act on) if the store
        cannot be used; run at start-up."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


class LocalMediaStore:
    """Files under one directory; written to a temporary name and renamed into place, so a
    reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, key: str) -> Path:
        return self.root / check_key(key)

    def path(self, key: str) -> Path:
        """The object as a local file (a response sends its byte ranges from it)."""
        return self._file(key)

    def _write(self, key: str, fill: bytes | Path) -> str:
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(fill, bytes):
                    out.write(fill)
                    h.update(fill)
                else:
                    with fill.open("rb") as src:
                        while chunk := src.read(1024 * 1024):
                            out.write(chunk)
                            h.update(chunk)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return h.hexdigest()

    def put(self, key: str, source: Path) -> str:
        return self._write(key, source)

    def put_bytes(self, key: str, data: bytes) -> str:
        return self._write(key, data)

    def read(self, key: str) -> bytes:
        try:
            return self._file(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectMissing(key) from None

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = self._file(key).stat()
        except FileNotFoundError:
            return None
        if not self._file(key).is_file():
            return None
        return ObjectInfo(
            size=st.st_size,
            etag=f'"{st.st_mtime_ns:x}-{st.st_size:x}"',
            modified=datetime.fromtimestamp(st.st_mtime, UTC),
        )

    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        try:
            f = self._file(key).open("rb")
        except FileNotFoundError:
            raise ObjectMissing(key) from None

        def chunks() -> Iterator[bytes]:
            with f:
                f.seek(start)
                left = end - start + 1
                while left > 0 and (chunk := f.read(min(CHUNK, left))):
                    left -= len(chunk)
                    yield chunk

        return chunks()

    def delete(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"local storage at {self.root}: {exc.strerror}") from None
        if not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"local storage at {self.root}: not writable")


def copy_to_file(store: MediaStore, key: str, target: Path) -> None:
    """The whole object into a local file (e.g. to decode it)."""
    info = store.stat(key)
    if info is None:
        raise ObjectMissing(key)
    with target.open("wb") as out:
        if info.size:
            for chunk in store.open_range(key, 0, info.size - 1):
                out.write(chunk)


@lru_cache(maxsize=8)
def _s3(settings_key: tuple[str, ...]) -> MediaStore:
    from app.storage_s3 import S3MediaStore

    endpoint, bucket, prefix, region, key_id, secret, style = settings_key
    return S3MediaStore(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=endpoint,
        region=region,
        access_key_id=key_id,
        secret_access_key=secret,
        addressing_style=style,
    )


def _configured_s3(s: Settings) -> MediaStore:
    return _s3(
        (
            s.s3_endpoint_url,
            s.s3_bucket,
            s.s3_prefix,
            s.s3_region,
            s.s3_access_key_id,
            s.s3_secret_access_key,
            s.s3_addressing_style,
        )
    )


def local_stores(s: Settings) -> tuple[LocalMediaStore, LocalMediaStore]:
    """The local (media, evidence) stores: ``data_dir/media``, and the data dir itself for the
    evidence keys (``evidence/…``, where the crops always were)."""
    return LocalMediaStore(s.data_dir / "media"), LocalMediaStore(s.data_dir)


def stores_for(s: Settings) -> tuple[MediaStore, MediaStore]:
    """The (media, evidence) stores the settings choose (S3: one bucket for both)."""
    if s.storage == "s3":
        return _configured_s3(s), _configured_s3(s)
    return local_stores(s)


def media_store() -> MediaStore:
    """The configured store of lesson videos, posters and scans."""
    return stores_for(get_settings())[0]


def evidence_store() -> MediaStore:
    """The configured store of evidence crops."""
    return stores_for(get_settings())[1]


def check_storage(settings: Settings | None = None) -> None:
    """Start-up check of the configured store (:class:`StorageUnavailable`: one line)."""
    media, evidence = stores_for(settings or get_settings())
    media.check()
    if evidence is not media:
        evidence.check()


def copy_object(source: MediaStore, target: MediaStore, key: str) -> str:
    """Copy one object between stores (``skilltrace storage copy``); its sha256."""
    with tempfile.TemporaryDirectory(prefix="skilltrace-copy-") as tmp:
        path = Path(tmp) / "object"
        copy_to_file(source, key, path)
        return target.put(key, path)


__all__ = [
    "CONTENT_TYPES",
    "LocalMediaStore",
    "MediaStore",
    "ObjectInfo",
    "ObjectMissing",
    "StorageUnavailable",
    "check_key",
    "check_storage",
    "content_type",
    "copy_object",
    "copy_to_file",
    "evidence_store",
    "local_stores",
    "media_store",
    "sha256_of",
    "stores_for",
]
