"""Where uploaded media (lesson videos and their poster frames) are kept.

A :class:`MediaStore` holds objects by key (``lessons/<lesson id>/<hash>.webm``). The embedded
default keeps them as files under ``data_dir/media``; a multi-node deployment needs a store the
nodes share (an S3-compatible store: not built yet, the interface is what it must implement).
Objects are written before the row that points to them commits and removed if it rolls back
(``app/aftercommit.py``), so a row never points to a missing object.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from app.config import get_settings

#: Keys are relative paths of plain segments: nothing that could climb out of the store's root.
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}(/[a-z0-9][a-z0-9._-]{0,99}){0,4}$")


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"not a media key: {key!r}")
    return key


class MediaStore(Protocol):
    def put(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key`` (replacing an object of that key)."""

    def delete(self, key: str) -> None:
        """Remove the object (nothing if it is not there)."""

    def path(self, key: str) -> Path:
        """The object as a local file a response can send (with its byte ranges)."""


class LocalMediaStore:
    """Files under one directory; written to a temporary name and renamed into place, so a
    reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: Path) -> None:
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        return self._file(key)


def media_store() -> MediaStore:
    """The configured store (``data_dir/media``)."""
    return LocalMediaStore(get_settings().data_dir / "media")
