"""Issuing: refused before completion, allowed after, once per enrolment, serials per
institution and year (also under concurrent issuing), automatic issuing on completion."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.service import Actor
from app.certificates import service as certificates
from app.certificates.exceptions import AlreadyIssued
from app.certificates.models import Certificate
from app.courses import progress
from app.courses.models import Course, Enrollment
from app.db import transaction
from tests.factories import (
    audit_log,
    complete,
    course_row,
    enrollment_row,
    login,
    make_institution,
    make_learner,
    make_user,
)


def test_refused_before_completion_then_issued(client: Any, engine: Any, clock: Any) -> None:
    inst = make_institution(engine, code="BJDG")
    learner = make_learner(engine, inst, real_name="李雪梅")
    course = course_row(engine, inst)
    enrollment = enrollment_row(engine, learner, course, complete=False)
    h = login(client, learner.username)
    url = f"/api/v1/enrollments/{enrollment.id}/certificate"

    r = client.post(url, headers=h)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "not_complete"
    assert any("verified minutes" in m for m in body["missing"])
    assert any("quiz" in m for m in body["missing"])
    assert body["missing_zh"]

    complete(engine, enrollment.id)
    r = client.post(url, headers=h)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["serial"] == "BJDG-2026-000001"
    assert out["verify_url"].endswith("/certificates/BJDG-2026-000001")
    assert out["pdf_url"].endswith("/certificates/BJDG-2026-000001.pdf")
    assert out["credential_jwt"].count(".") == 2
    [(action, payload)] = audit_log(engine, subject="certificate:BJDG-2026-000001")
    assert action == "certificate.issued"
    assert payload["enrollment"] == str(enrollment.id)
    assert payload["attendance_passed"] is True


def test_one_certificate_per_enrolment(client: Any, engine: Any, clock: Any) -> None:
    """A second request, from anyone, is refused 409 `already_issued` naming the serial."""
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    learner = make_learner(engine, inst)
    enrollment = enrollment_row(engine, learner, course_row(engine, inst))
    url = f"/api/v1/enrollments/{enrollment.id}/certificate"
    first = client.post(url, headers=login(client, learner.username))
    assert first.status_code == 201
    for who in (learner, staff):
        again = client.post(url, headers=login(client, who.username))
        assert again.status_code == 409
        assert again.json()["code"] == "already_issued"
        assert again.json()["serial"] == first.json()["serial"]
    with Session(engine) as s:
        assert len(s.exec(select(Certificate)).all()) == 1


def test_who_may_issue(client: Any, engine: Any, clock: Any) -> None:
    inst, other = make_institution(engine), make_institution(engine)
    learner = make_learner(engine, inst)
    enrollment = enrollment_row(engine, learner, course_row(engine, inst))
    url = f"/api/v1/enrollments/{enrollment.id}/certificate"
    stranger = make_learner(engine, inst)
    assert client.post(url, headers=login(client, stranger.username)).status_code == 404
    foreign_staff = make_user(engine, Role.staff, other)
    assert client.post(url, headers=login(client, foreign_staff.username)).status_code == 404
    regulator = make_user(engine, Role.regulator)
    r = client.post(url, headers=login(client, regulator.username))
    assert r.status_code == 403
    staff = make_user(engine, Role.staff, inst)
    assert client.post(url, headers=login(client, staff.username)).status_code == 201


def test_serials_count_per_institution_and_year(engine: Any, clock: Any) -> None:
    a, b = make_institution(engine, code="AAA"), make_institution(engine, code="BBB")
    serials = []
    for inst, when in [
        (a, datetime(2026, 3, 1, tzinfo=UTC)),
        (a, datetime(2026, 3, 2, tzinfo=UTC)),
        (b, datetime(2026, 3, 3, tzinfo=UTC)),
        # 2026-12-31 17:00 UTC is already 2027 in Shanghai
        (a, datetime(2026, 12, 31, 17, tzinfo=UTC)),
    ]:
        clock.set(when)
        learner = make_learner(engine, inst)
        e = enrollment_row(engine, learner, course_row(engine, inst))
        with transaction(engine) as s:
            serials.append(certificates.issue(s, Principal.of_user(learner), e.id).serial)
    assert serials == ["AAA-2026-000001", "AAA-2026-000002", "BBB-2026-000001", "AAA-2027-000001"]


def test_serials_unique_under_concurrent_issuing(engine: Any, clock: Any) -> None:
    inst = make_institution(engine, code="CONC")
    course = course_row(engine, inst)
    pairs = []
    for _ in range(8):
        learner = make_learner(engine, inst)
        pairs.append((learner, enrollment_row(engine, learner, course)))
    barrier = threading.Barrier(len(pairs))
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(learner: Any, enrollment: Enrollment) -> None:
        try:
            barrier.wait()
            with transaction(engine) as s:
                results.append(
                    certificates.issue(s, Principal.of_user(learner), enrollment.id).serial
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=p) for p in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(results) == [f"CONC-2026-{i:06d}" for i in range(1, 9)]


def test_concurrent_requests_for_one_enrolment_issue_once(engine: Any, clock: Any) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    enrollment = enrollment_row(engine, learner, course_row(engine, inst))
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            with transaction(engine) as s:
                certificates.issue(s, Principal.of_user(learner), enrollment.id)
            outcomes.append("issued")
        except AlreadyIssued:
            outcomes.append("already")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already", "already", "already", "issued"]


def _complete_now(engine: Any, enrollment: Enrollment) -> None:
    complete(engine, enrollment.id)
    with transaction(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        course = s.get(Course, enrollment.course_id)
        assert e is not None and course is not None
        assert progress.refresh_completion(s, e, course, Actor.system("test"))


def test_automatic_issuing_when_the_institution_chooses(
    client: Any, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = course_row(engine, inst)
    learner1, learner2 = make_learner(engine, inst), make_learner(engine, inst)
    e1 = enrollment_row(engine, learner1, course, complete=False)
    e2 = enrollment_row(engine, learner2, course, complete=False)
    h = login(client, staff.username)
    url = f"/api/v1/institutions/{inst.id}/certificate-settings"
    assert client.get(url, headers=h).json()["auto_issue"] is False

    _complete_now(engine, e1)  # not chosen yet: nothing issued
    assert client.put(url, json={"auto_issue": True}, headers=h).json()["auto_issue"] is True
    _complete_now(engine, e2)

    with Session(engine) as s:
        certs = s.exec(select(Certificate)).all()
    assert [c.enrollment_id for c in certs] == [e2.id]
    assert certs[0].issued_by == "system:test"
    assert [a for a, _ in audit_log(engine, action="certificate_settings.updated")]
    # The learner may still ask for the first one.
    r = client.post(
        f"/api/v1/enrollments/{e1.id}/certificate", headers=login(client, learner1.username)
    )
    assert r.status_code == 201


def test_settings_belong_to_the_institution(client: Any, engine: Any) -> None:
    inst, other = make_institution(engine), make_institution(engine)
    foreign = login(client, make_user(engine, Role.staff, other).username)
    url = f"/api/v1/institutions/{inst.id}/certificate-settings"
    assert client.put(url, json={"auto_issue": True}, headers=foreign).status_code == 403
    regulator = login(client, make_user(engine, Role.regulator).username)
    assert client.get(url, headers=regulator).status_code == 200
    assert client.put(url, json={"auto_issue": True}, headers=regulator).status_code == 403
    with Session(engine) as s:
        assert (
            s.exec(select(Certificate).where(col(Certificate.institution_id) == inst.id)).all()
            == []
        )
