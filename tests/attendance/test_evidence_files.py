"""Evidence crops and their rows stay consistent whatever becomes of the transaction: a crop is
written before its row commits and removed if the transaction rolls back; a purge deletes the
file only once it has committed, so a purge that rolls back leaves a readable crop (before,
the row kept pointing to a deleted file and the evidence route answered 500). On the local
store and on the S3 stand-in alike."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.exceptions import EvidencePurged
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.config import get_settings
from app.db import transaction
from app.storage import evidence_store
from tests.factories import make_institution, make_learner, make_user

CROP = b"\xff\xd8\xff\xe0 a face crop \xff\xd9"


class Boom(Exception):
    pass


def _event(learner: Any, at: Any) -> AttendanceEvent:
    return AttendanceEvent(
        user_id=learner.id,
        institution_id=learner.institution_id,
        purpose=Purpose.checkin,
        outcome=Outcome.passed,
        accept_threshold="0.3800",
        reject_threshold="0.5000",
        model_name="test",
        model_version="0",
        match_metric="euclidean",
        face_engine="test",
        model_sha256="0" * 64,
        created_at=at,
    )


def _with_evidence(engine: Any, learner: Any, at: Any) -> uuid.UUID:
    with transaction(engine) as s:
        event = _event(learner, at)
        attendance._store_evidence(s, event, CROP)
        s.add(event)
        s.flush()
        return uuid.UUID(str(event.id))


def test_a_rolled_back_purge_leaves_row_and_file_as_they_were(
    storage: str, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    staff = Principal.of_user(make_user(engine, Role.staff, inst))
    event_id = _with_evidence(engine, learner, clock.now())
    later = clock.now() + timedelta(days=get_settings().evidence_retention_days + 1)

    with pytest.raises(Boom), transaction(engine) as s:
        assert attendance.purge_evidence(s, now=later) == 1
        raise Boom  # anything after the purge in the same transaction fails

    with Session(engine) as s:
        assert attendance.evidence(s, staff, event_id) == CROP  # not a 500: the file is there

    with transaction(engine) as s:
        assert attendance.purge_evidence(s, now=later) == 1
    with Session(engine) as s:
        event = s.get(AttendanceEvent, event_id)
        assert event is not None and event.evidence_purged_at is not None
        assert evidence_store().stat(str(event.evidence_path)) is None
        assert event.evidence_sha256 is not None  # the hash stays
        with pytest.raises(EvidencePurged):
            attendance.evidence(s, staff, event_id)


def test_a_crop_whose_row_rolls_back_is_removed(storage: str, engine: Any, clock: Any) -> None:
    learner = make_learner(engine, make_institution(engine))
    with pytest.raises(Boom), transaction(engine) as s:
        event = _event(learner, clock.now())
        attendance._store_evidence(s, event, CROP)
        s.add(event)
        s.flush()
        key = str(event.evidence_path)
        assert evidence_store().read(key) == CROP  # written before the row commits
        raise Boom
    assert evidence_store().stat(key) is None


def test_a_savepoint_rolling_back_keeps_the_crop_of_the_outer_transaction(
    storage: str, engine: Any, clock: Any
) -> None:
    learner = make_learner(engine, make_institution(engine))
    with transaction(engine) as s:
        event = _event(learner, clock.now())
        attendance._store_evidence(s, event, CROP)
        s.add(event)
        s.flush()
        key = str(event.evidence_path)
        with pytest.raises(Boom), s.begin_nested():  # e.g. an automatic certificate refused
            raise Boom
    assert evidence_store().read(key) == CROP


def test_a_missing_crop_is_reported_not_a_server_error(
    storage: str, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    staff = Principal.of_user(make_user(engine, Role.staff, inst))
    event_id = _with_evidence(engine, make_learner(engine, inst), clock.now())
    with Session(engine) as s:
        event = s.get(AttendanceEvent, event_id)
        assert event is not None
        evidence_store().delete(str(event.evidence_path))
        with pytest.raises(EvidencePurged, match="missing"):
            attendance.evidence(s, staff, event_id)


def test_a_changed_crop_is_refused_by_its_hash(storage: str, engine: Any, clock: Any) -> None:
    """The audit holds the crop's sha256: bytes that differ from it are never served."""
    inst = make_institution(engine)
    staff = Principal.of_user(make_user(engine, Role.staff, inst))
    event_id = _with_evidence(engine, make_learner(engine, inst), clock.now())
    with Session(engine) as s:
        event = s.get(AttendanceEvent, event_id)
        assert event is not None
        evidence_store().put_bytes(str(event.evidence_path), CROP + b"tampered")
        with pytest.raises(EvidencePurged, match="does not match its recorded hash"):
            attendance.evidence(s, staff, event_id)
