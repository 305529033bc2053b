"""``skilltrace storage check | verify | copy-local`` against a real database: moving a
one-node install's files to the S3 stand-in, checking every object against the sha256 its row
holds, and finishing an evidence purge whose deletion failed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.cli import app
from app.courses import media
from app.db import transaction
from app.programmes import external
from app.storage import evidence_store, media_store
from tests.conftest import new_s3_bucket, use_s3
from tests.factories import make_course, make_institution, make_learner, make_user
from tests.pdfs import SCAN_PDF
from tests.video_clips import webm_clip

PDF = SCAN_PDF
CROP = b"\xff\xd8\xff\xe0 a face crop \xff\xd9"


def run(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["storage", *args])
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def _install(engine: Any, tmp_path: Path) -> dict[str, Any]:
    """A one-node install's files: a hosted video (and poster), a certificate scan and two
    evidence crops, one of them past its purge."""
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    learner = make_learner(engine, inst)
    course = make_course(engine, inst, staff=staff, publish=False)
    clip = webm_clip(tmp_path / "v.webm", seconds=2, width=96)
    events = []
    with transaction(engine) as s:
        with clip.open("rb") as f:
            media.add_video_lesson(
                s, Principal.of_user(staff), course.id, title="视频", minutes=1, upload=f
            )
        external.record_external(
            s,
            Principal.of_user(staff),
            learner.id,
            external.ExternalInput(
                kind="skill_level",
                number="S000044030500009",
                issuer="深圳市南山区职业技能鉴定所",
                issued_on=date(2026, 3, 10),
                occupation_code="6-31-01-03",
                occupation_name="电工",
                level="level4",
            ),
            PDF,
        )
        for _ in range(2):
            event = AttendanceEvent(
                user_id=learner.id,
                institution_id=inst.id,
                purpose=Purpose.checkin,
                outcome=Outcome.passed,
                accept_threshold="0.3800",
                reject_threshold="0.5000",
                model_name="test",
                model_version="0",
                match_metric="euclidean",
                face_engine="test",
                model_sha256="0" * 64,
            )
            attendance._store_evidence(s, event, CROP)
            s.add(event)
            s.flush()
            events.append(event.id)
    return {"events": events}


def test_copy_a_local_install_to_s3_and_verify_it(
    app_env: str, engine: Any, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _install(engine, tmp_path)
    code, out = run("verify")
    assert (code, out["checked"], out["problems"]) == (0, 5, 0)  # video, poster, scan, 2 crops

    # A local crop whose bytes changed is reported by its hash (and not copied later).
    with Session(engine) as s:
        changed = s.get(AttendanceEvent, w["events"][0])
        assert changed is not None and changed.evidence_path
        key = changed.evidence_path
    evidence_store().put_bytes(key, CROP + b"changed")
    code, out = run("verify")
    assert code == 1 and [p["problem"] for p in out["first_problems"]] == ["hash_mismatch"]
    assert out["first_problems"][0]["subject"] == f"attendance_event:{w['events'][0]}"

    use_s3(monkeypatch, s3_endpoint, new_s3_bucket(s3_endpoint), prefix="prod/")
    code, out = run("verify")  # nothing in the bucket yet
    assert code == 1 and {p["problem"] for p in out["first_problems"]} == {"missing"}
    code, out = run("copy-local")
    assert code == 1 and (out["copied"], out["problems"]) == (4, 1)
    assert out["first_problems"][0]["problem"] == "hash_mismatch"
    monkeypatch.setenv("SKILLTRACE_STORAGE", "local")
    from app.config import get_settings

    get_settings.cache_clear()
    evidence_store().put_bytes(key, CROP)  # restored from backup
    monkeypatch.setenv("SKILLTRACE_STORAGE", "s3")
    get_settings.cache_clear()
    code, out = run("copy-local")
    assert (code, out["copied"], out["already_there"]) == (0, 1, 4)
    assert run("verify")[0] == 0
    assert evidence_store().read(key) == CROP and media_store().stat(key) is not None
    code, out = run("check")
    assert code == 0 and out["storage"] == "s3" and out["at"].endswith("/prod/")

    # A purge whose deletion failed after commit: the object outlived its row's purge.
    with transaction(engine) as s:
        purged = s.get(AttendanceEvent, w["events"][1])
        assert purged is not None
        purged.evidence_purged_at = purged.created_at
        s.add(purged)
        purged_key = str(purged.evidence_path)
    code, out = run("verify")
    assert code == 1 and [p["problem"] for p in out["first_problems"]] == ["purged_but_stored"]
    code, out = run("verify", "--delete-purged")
    assert (code, out["purged_deleted"], out["problems"]) == (0, 1, 0)
    assert evidence_store().stat(purged_key) is None


def test_copy_local_needs_s3(app_env: str) -> None:
    result = CliRunner().invoke(app, ["storage", "copy-local"])
    assert result.exit_code == 1 and "SKILLTRACE_STORAGE=s3" in result.stderr
