"""``skilltrace storage …``: the operator's tools for the file store (app/storage.py).

* ``check``: the configured store answers (what ``serve`` checks at start).
* ``verify``: every object the database refers to is stored, and where a row (and its audit
  entry) holds the sha256 — lesson videos, certificate scans, evidence crops — the bytes match
  it; purged evidence crops are gone (``--delete-purged`` deletes any a failed deletion left).
* ``copy-local``: moving a one-node install to S3: every object the database refers to is
  copied from the local data dir into the configured (S3) store, checked against its hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from app.cli.base import app, fail
from app.config import get_settings
from app.storage import (
    MediaStore,
    ObjectMissing,
    copy_object,
    evidence_store,
    local_stores,
    media_store,
)

storage_app = typer.Typer(help="The file store: check, verify, copy a local install to S3.")
app.add_typer(storage_app, name="storage")

#: Problems listed in full (the counts are always complete).
SHOWN = 50


@dataclass(frozen=True)
class Stored:
    """An object a row refers to: its store, key, the sha256 the row holds (None: no hash
    recorded, e.g. a poster frame) and what it is."""

    store: str  # "media" or "evidence"
    key: str
    sha256: str | None
    kind: str
    subject: str


def referenced(session: Session, *, purged: bool = False) -> Iterator[Stored]:
    """Every object the database refers to (``purged``: evidence crops purged instead)."""
    from app.attendance.models import AttendanceEvent
    from app.courses.models import Lesson
    from app.programmes.models import ExternalCertificate

    if not purged:
        for lesson in session.exec(select(Lesson).where(col(Lesson.video_key).is_not(None))):
            subject = f"lesson:{lesson.id}"
            video = str(lesson.video_key)  # not None: the query's condition
            yield Stored("media", video, lesson.video_sha256, "video", subject)
            if lesson.poster_key:
                yield Stored("media", lesson.poster_key, None, "poster", subject)
        for cert in session.exec(select(ExternalCertificate)):
            subject = f"external_certificate:{cert.id}"
            yield Stored("media", cert.scan_key, cert.scan_sha256, "scan", subject)
    events = select(AttendanceEvent).where(col(AttendanceEvent.evidence_path).is_not(None))
    if purged:
        events = events.where(col(AttendanceEvent.evidence_purged_at).is_not(None))
    else:
        events = events.where(col(AttendanceEvent.evidence_purged_at).is_(None))
    for event in session.exec(events):
        yield Stored(
            "evidence",
            str(event.evidence_path),  # not None: the query's condition
            event.evidence_sha256,
            "evidence",
            f"attendance_event:{event.id}",
        )


def object_sha256(store: MediaStore, key: str) -> str:
    info = store.stat(key)
    if info is None:
        raise ObjectMissing(key)
    h = hashlib.sha256()
    if info.size:
        for chunk in store.open_range(key, 0, info.size - 1):
            h.update(chunk)
    return h.hexdigest()


def _stores() -> dict[str, MediaStore]:
    return {"media": media_store(), "evidence": evidence_store()}


@storage_app.command("check")
def check() -> None:
    """Check that the configured store can be used (bucket reachable, data dir writable)."""
    from app.storage import check_storage

    check_storage()
    s = get_settings()
    where = f"s3://{s.s3_bucket}/{s.s3_prefix}" if s.storage == "s3" else str(s.data_dir)
    typer.echo(json.dumps({"storage": s.storage, "at": where, "ok": True}))


@storage_app.command("verify")
def verify(
    delete_purged: Annotated[
        bool,
        typer.Option(
            "--delete-purged", help="Delete purged evidence crops still stored (a failed delete)"
        ),
    ] = False,
) -> None:
    """Every stored object the database refers to is there and matches its recorded sha256;
    purged evidence crops are gone. Prints a JSON summary; exit code 1 if anything is wrong."""
    from app.db import get_engine

    stores = _stores()
    checked = 0
    problems: list[dict[str, str]] = []
    leftover: list[Stored] = []
    with Session(get_engine()) as session:
        for obj in referenced(session):
            checked += 1
            store = stores[obj.store]
            try:
                if obj.sha256 is None:
                    if store.stat(obj.key) is None:
                        raise ObjectMissing(obj.key)
                elif object_sha256(store, obj.key) != obj.sha256:
                    problems.append({"problem": "hash_mismatch", **_row(obj)})
            except ObjectMissing:
                problems.append({"problem": "missing", **_row(obj)})
        for obj in referenced(session, purged=True):
            if stores[obj.store].stat(obj.key) is not None:
                leftover.append(obj)
    deleted = 0
    if delete_purged:
        for obj in leftover:
            stores[obj.store].delete(obj.key)
            deleted += 1
    else:
        problems += [{"problem": "purged_but_stored", **_row(obj)} for obj in leftover]
    typer.echo(
        json.dumps(
            {
                "storage": get_settings().storage,
                "checked": checked,
                "problems": len(problems),
                "purged_deleted": deleted,
                "first_problems": problems[:SHOWN],
            },
            ensure_ascii=False,
        )
    )
    if problems:
        raise typer.Exit(1)


def _row(obj: Stored) -> dict[str, str]:
    return {"kind": obj.kind, "subject": obj.subject, "key": obj.key}


@storage_app.command("copy-local")
def copy_local() -> None:
    """Copy every object the database refers to from the local data dir into the configured
    S3 store (moving a one-node install to several nodes). Objects already there with the same
    sha256 are skipped; a local object that does not match its recorded hash is not copied and
    is reported. Safe to run again."""
    from app.db import get_engine

    s = get_settings()
    if s.storage != "s3":
        fail("storage copy-local: set SKILLTRACE_STORAGE=s3 and the SKILLTRACE_S3_… settings first")
    local_media, local_evidence = local_stores(s)
    local: dict[str, MediaStore] = {"media": local_media, "evidence": local_evidence}
    target = _stores()
    copied = skipped = 0
    problems: list[dict[str, str]] = []
    with Session(get_engine()) as session:
        objects = list(referenced(session))
    for obj in objects:
        source, dest = local[obj.store], target[obj.store]
        try:
            want = obj.sha256 or object_sha256(source, obj.key)
            if dest.stat(obj.key) is not None and object_sha256(dest, obj.key) == want:
                skipped += 1
                continue
            if obj.sha256 is not None and object_sha256(source, obj.key) != obj.sha256:
                problems.append({"problem": "hash_mismatch", **_row(obj)})
                continue
            copy_object(source, dest, obj.key)
            copied += 1
        except ObjectMissing:
            problems.append({"problem": "missing", **_row(obj)})
    typer.echo(
        json.dumps(
            {
                "copied": copied,
                "already_there": skipped,
                "problems": len(problems),
                "first_problems": problems[:SHOWN],
            },
            ensure_ascii=False,
        )
    )
    if problems:
        raise typer.Exit(1)
