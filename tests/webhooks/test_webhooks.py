"""Webhooks: subscriptions over the API, the outbox written with the change, signed delivery to
a real local receiver, retries on the test clock, secret rotation, tenancy and SSRF refusals.

Every test runs on SQLite and PostgreSQL (``client``/``engine`` fixtures).
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.accounts import service as accounts
from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.certificates import service as certificates
from app.certificates.models import Certificate, CertificateSettings
from app.config import get_settings
from app.courses import progress
from app.courses.models import (
    Course,
    Enrollment,
    RollCall,
    RollCallStatus,
    SessionState,
    StudySession,
)
from app.courses.study import sweep_missed_rollcalls
from app.db import transaction
from app.errors import Conflict
from app.webhooks import service as webhooks
from app.webhooks import signing, urls
from app.webhooks.delivery import RETRY_SCHEDULE, claim, deliver_due, request_for
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from tests.factories import (
    course_row,
    enrollment_row,
    id_number,
    login,
    make_institution,
    make_learner,
    make_user,
    migrate_again_from,
)
from tests.webhooks.conftest import Receiver, deliver, subscribe, verify_signature


def _staff(client: TestClient, engine: Engine) -> tuple[Any, dict[str, str]]:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    return inst, login(client, staff.username)


def _partner(engine: Engine) -> tuple[Any, dict[str, str]]:
    """An institution and its partner key (keys do not expire when the test clock jumps)."""
    inst = make_institution(engine)
    return inst, _key(engine, inst.id, ["webhooks:manage"])


def _key(engine: Engine, institution_id: uuid.UUID, scopes: list[str]) -> dict[str, str]:
    with transaction(engine) as s:
        _, key = accounts.create_api_key(
            s, institution_id=institution_id, name="partner", scopes=scopes, actor=Actor.system()
        )
    return {"Authorization": f"Bearer {key}"}


def _complete(engine: Engine, enrollment_id: uuid.UUID, *, fail: bool = False) -> None:
    """What the last verified minute does: meet every condition and refresh completion."""
    with transaction(engine) as s:
        e = s.get(Enrollment, enrollment_id)
        assert e is not None
        course = s.get(Course, e.course_id)
        assert course is not None
        e.credited_ms = course.required_minutes * 60_000
        e.quiz_passed, e.best_quiz_score = True, 95
        e.rollcalls_passed, e.rollcalls_total = 4, 4
        s.add(e)
        assert progress.refresh_completion(s, e, course, Actor.system("test"))
        if fail:
            raise Conflict("something after the completion refused the request")


def _deliveries(engine: Engine) -> list[WebhookDelivery]:
    with Session(engine) as s:
        return list(s.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.created_at))))


def _events(engine: Engine) -> list[WebhookEvent]:
    with Session(engine) as s:
        return list(s.exec(select(WebhookEvent).order_by(col(WebhookEvent.created_at))))


# ---------------------------------------------------------------- signatures


def test_signature_matches_the_specification_example() -> None:
    """The example of the Standard Webhooks reference libraries, and our own HMAC agrees."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    when = datetime.fromtimestamp(1614265330, UTC)
    sig = signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", when, body)
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = signing.headers("msg_p5jXN8AQM9LWM0D4loKWxJek", when, body, [secret])
    assert headers["webhook-timestamp"] == "1614265330"
    assert verify_signature(secret, headers, body)
    assert not verify_signature(secret, headers, body + b" ")


def test_new_secret_is_32_random_bytes() -> None:
    a, b = signing.new_secret(), signing.new_secret()
    assert a != b and a.startswith("whsec_")
    assert len(base64.b64decode(a.removeprefix("whsec_"))) == 32


# ---------------------------------------------------------------- subscriptions


def test_subscribe_shows_the_secret_once_and_keeps_it_encrypted(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    _, h = _staff(client, engine)
    created = subscribe(client, h, receiver.url, ["certificate.issued", "enrollment.completed"])
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["enabled"] is True
    assert created["events"] == ["certificate.issued", "enrollment.completed"]

    listed = client.get("/api/v1/webhooks", headers=h)
    assert listed.status_code == 200
    detail = client.get(f"/api/v1/webhooks/{created['id']}", headers=h)
    assert detail.status_code == 200 and detail.json()["deliveries"] == []
    for r in (listed, detail):
        assert secret not in r.text and "secret" not in r.text

    with Session(engine) as s:
        sub = s.get(WebhookSubscription, uuid.UUID(created["id"]))
        assert sub is not None and secret not in sub.secret_enc
        assert signing.unseal(sub.secret_enc) == secret
        entries = s.exec(select(AuditEntry).where(col(AuditEntry.subject).like("webhook:%"))).all()
    assert [e.action for e in entries] == ["webhook.created"]
    assert all(secret not in e.payload for e in entries)

    types = client.get("/api/v1/webhooks/event-types", headers=h).json()
    assert {t["type"] for t in types} == {
        "attendance.verified",
        "attendance.reviewed",
        "rollcall.missed",
        "enrollment.completed",
        "certificate.issued",
        "certificate.revoked",
    }
    bad = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["user.deleted"]}, headers=h
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "unknown_event_type")


def test_completion_and_certificate_each_delivered_once_signed(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    inst, h = _staff(client, engine)
    idn = id_number(seq=321)
    learner = make_learner(engine, inst, id_number=idn, real_name="李雪梅")
    sub = subscribe(client, h, receiver.url, ["enrollment.completed", "certificate.issued"])
    enrollment = enrollment_row(engine, learner, course_row(engine, inst), complete=False)

    _complete(engine, enrollment.id)
    r = client.post(
        f"/api/v1/enrollments/{enrollment.id}/certificate",
        headers=login(client, learner.username),
    )
    assert r.status_code == 201, r.text
    serial = r.json()["serial"]

    report = deliver(engine)
    assert (report.delivered, report.retrying, report.failed) == (2, 0, 0)
    # Same instant on the test clock: sent in the order written.
    assert [q.json["type"] for q in receiver.requests] == [
        "enrollment.completed",
        "certificate.issued",
    ]
    events = {e.type: e for e in _events(engine)}
    for q in receiver.requests:
        assert q.path == "/hooks/skilltrace"
        assert q.headers["content-type"] == "application/json"
        assert verify_signature(sub["secret"], q.headers, q.body)
        assert q.headers["webhook-id"] == f"msg_{events[q.json['type']].id.hex}"
        assert int(q.headers["webhook-timestamp"]) == int(clock.now().timestamp())
        text = q.body.decode()
        assert idn not in text and idn[-6:] not in text and "李雪梅" not in text
        assert "distance" not in text
    completed, issued = (q.json for q in receiver.requests)
    assert completed["data"]["enrollment_id"] == str(enrollment.id)
    assert completed["data"]["learner_id"] == str(learner.id)
    assert completed["data"]["credited_minutes"] == 60
    assert issued["data"]["serial"] == serial
    assert issued["data"]["verify_url"].endswith(f"/certificates/{serial}")
    assert issued["timestamp"].endswith("Z")

    # Exactly once: nothing is due any more.
    assert deliver(engine).delivered == 0
    assert len(receiver.requests) == 2
    detail = client.get(f"/api/v1/webhooks/{sub['id']}", headers=h).json()
    assert [d["status"] for d in detail["deliveries"]] == ["delivered", "delivered"]
    assert {d["last_status_code"] for d in detail["deliveries"]} == {200}


def test_cli_delivers(client: TestClient, engine: Engine, clock: Any, receiver: Receiver) -> None:
    from app.cli import app as cli

    _, h = _staff(client, engine)
    sub = subscribe(client, h, receiver.url, ["certificate.issued"])
    assert client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h).status_code == 202
    out = CliRunner().invoke(cli, ["deliver-webhooks"])
    assert out.exit_code == 0, out.output
    assert '"delivered": 1' in out.stdout
    [ping] = receiver.requests
    assert ping.json["type"] == "ping" and verify_signature(sub["secret"], ping.headers, ping.body)


# ---------------------------------------------------------------- the outbox and the transaction


def test_events_exist_only_if_the_change_committed(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    inst, h = _staff(client, engine)
    learner = make_learner(engine, inst)
    subscribe(client, h, receiver.url, ["enrollment.completed"])
    enrollment = enrollment_row(engine, learner, course_row(engine, inst), complete=False)

    with pytest.raises(Conflict):
        _complete(engine, enrollment.id, fail=True)
    assert _events(engine) == [] and _deliveries(engine) == []
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and e.completed_at is None

    _complete(engine, enrollment.id)
    [event] = _events(engine)
    assert event.type == "enrollment.completed"
    assert len(_deliveries(engine)) == 1


def test_failed_automatic_issue_rolls_back_its_event_only(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver, monkeypatch: Any
) -> None:
    """Automatic issuing runs in a savepoint: when it fails after the certificate.issued event
    was written, the certificate and its event go, the completion and its event stay."""
    inst, h = _staff(client, engine)
    with transaction(engine) as s:
        s.add(CertificateSettings(institution_id=inst.id, auto_issue=True, updated_by="test"))
    subscribe(client, h, receiver.url, ["enrollment.completed", "certificate.issued"])
    course = course_row(engine, inst)

    def refuse(session: Session, cert: Certificate, actor: Actor) -> None:
        raise Conflict("refused after the certificate and its event were written")

    monkeypatch.setattr(certificates, "issued_hooks", [*certificates.issued_hooks, refuse])
    unlucky = make_learner(engine, inst)
    _complete(engine, enrollment_row(engine, unlucky, course, complete=False).id)
    assert [e.type for e in _events(engine)] == ["enrollment.completed"]
    with Session(engine) as s:
        assert s.exec(select(Certificate)).all() == []

    monkeypatch.undo()
    lucky = make_learner(engine, inst)
    _complete(engine, enrollment_row(engine, lucky, course, complete=False).id)
    types = sorted(e.type for e in _events(engine))
    assert types == ["certificate.issued", "enrollment.completed", "enrollment.completed"]
    assert deliver(engine).delivered == 3


def test_rollcall_missed_by_the_sweep(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    inst, h = _staff(client, engine)
    learner = make_learner(engine, inst)
    sub = subscribe(client, h, receiver.url, ["rollcall.missed"])
    enrollment = enrollment_row(engine, learner, course_row(engine, inst), complete=False)
    now = clock.now()
    with transaction(engine) as s:
        study = StudySession(
            enrollment_id=enrollment.id,
            user_id=learner.id,
            state=SessionState.studying,
            checkin_event_id=uuid.uuid4(),
            started_at=now - timedelta(minutes=20),
            segment_started_at=now - timedelta(minutes=20),
            last_heartbeat_at=now - timedelta(minutes=3),
        )
        s.add(study)
        s.flush()
        rc = RollCall(
            session_id=study.id,
            enrollment_id=enrollment.id,
            user_id=learner.id,
            due_at=now - timedelta(minutes=4),
            offered_at=now - timedelta(minutes=4),
            deadline=now - timedelta(minutes=2),
            status=RollCallStatus.pending,
        )
        s.add(rc)
    with transaction(engine) as s:
        assert sweep_missed_rollcalls(s) == 1
    with transaction(engine) as s:  # nothing new: the event was announced once
        assert sweep_missed_rollcalls(s) == 0

    assert deliver(engine).delivered == 1
    [q] = receiver.requests
    assert verify_signature(sub["secret"], q.headers, q.body)
    assert q.json["type"] == "rollcall.missed"
    data = q.json["data"]
    assert data["rollcall_id"] == str(rc.id)
    assert data["enrollment_id"] == str(enrollment.id)
    assert data["learner_id"] == str(learner.id)
    assert data["deadline"].endswith("Z")


def test_events_written_in_one_instant_arrive_in_the_order_written(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    """A certificate issued and revoked in one transaction (the clock stands still): the partner
    gets the issue before the revocation, across claim rounds, and the delivery listing shows
    them newest first. With only the instant and a random id between them, the order was luck."""
    inst, h = _partner(engine)
    sub = subscribe(client, h, receiver.url, ["certificate.issued", "certificate.revoked"])
    serials = [f"SZ001-2026-{n:06d}" for n in range(1, 6)]
    with transaction(engine) as s:
        for serial in serials:
            for type_ in ("certificate.issued", "certificate.revoked"):
                webhooks.emit(s, institution_id=inst.id, type_=type_, data={"serial": serial})
    written = [(t, serial) for serial in serials for t in ("issued", "revoked")]
    assert len({e.created_at for e in _events(engine)}) == 1

    assert deliver_due(engine, limit=3).delivered == len(written)
    got = [
        (q.json["type"].removeprefix("certificate."), q.json["data"]["serial"])
        for q in receiver.requests
    ]
    assert got == written
    listed = client.get(f"/api/v1/webhooks/{sub['id']}", headers=h).json()["deliveries"]
    assert [d["event_type"].removeprefix("certificate.") for d in listed] == [
        t for t, _ in reversed(written)
    ]
    assert [d["webhook_id"] for d in listed] == [
        q.headers["webhook-id"] for q in reversed(receiver.requests)
    ]


def test_migration_numbers_existing_events_by_time_and_new_ones_follow(
    client: TestClient, engine: Engine, db_url: str, clock: Any, receiver: Receiver
) -> None:
    """0039 numbers the events a database already holds in the order they were written, and
    the next event follows them (PostgreSQL's sequence starts past them)."""
    inst, h = _partner(engine)
    subscribe(client, h, receiver.url, ["certificate.issued"])
    t0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    written = {"third": t0 + timedelta(hours=2), "first": t0, "second": t0 + timedelta(hours=1)}

    def write(serial: str) -> None:
        with transaction(engine) as s:
            webhooks.emit(
                s, institution_id=inst.id, type_="certificate.issued", data={"serial": serial}
            )

    for serial in written:
        write(serial)
    with transaction(engine) as s:
        for e in s.exec(select(WebhookEvent)):
            e.created_at = written[e.data["serial"]]
            s.add(e)
    migrate_again_from(engine, db_url, "0038")
    write("fourth")
    with Session(engine) as s:
        got = [
            (e.seq, e.data["serial"])
            for e in s.exec(select(WebhookEvent).order_by(col(WebhookEvent.seq)))
        ]
    assert got == [(1, "first"), (2, "second"), (3, "third"), (4, "fourth")]


# ---------------------------------------------------------------- retries


def test_retried_with_backoff_and_delivered_once(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    _, h = _partner(engine)
    sub = subscribe(client, h, receiver.url, ["certificate.issued"])
    receiver.statuses = [500, 200]
    queued = client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)
    assert queued.status_code == 202 and queued.json()["status"] == "pending"
    assert receiver.requests == []  # queued, not sent by the request

    assert deliver(engine).retrying == 1
    [d] = _deliveries(engine)
    assert d.status is DeliveryStatus.pending and d.attempts == 1 and d.last_status_code == 500
    assert d.next_attempt_at is not None
    wait = d.next_attempt_at - clock.now()
    assert RETRY_SCHEDULE[0] <= wait <= RETRY_SCHEDULE[0] * 1.1

    clock.advance(seconds=59)
    assert deliver(engine).delivered == 0 and len(receiver.requests) == 1  # not due yet
    clock.advance(seconds=10)
    assert deliver(engine).delivered == 1
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 69
    assert first.body == second.body
    assert verify_signature(sub["secret"], second.headers, second.body)

    clock.advance(hours=30)
    assert deliver(engine).delivered == 0 and len(receiver.requests) == 2
    [d] = client.get(f"/api/v1/webhooks/{sub['id']}", headers=h).json()["deliveries"]
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("delivered", 2, 200)
    assert d["next_attempt_at"] is None


def test_gives_up_after_the_schedule_and_disables_after_three_days(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    _, h = _partner(engine)
    sub = subscribe(client, h, receiver.url, ["certificate.issued"])
    receiver.statuses = [503]
    start = clock.now()
    client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)
    deliver(engine)
    for wait in RETRY_SCHEDULE:
        clock.advance(seconds=wait.total_seconds() * 1.1 + 1)
        deliver(engine)
    assert len(receiver.requests) == 7
    [d] = _deliveries(engine)
    assert (d.status, d.attempts) == (DeliveryStatus.failed, 7)
    assert clock.now() - start < timedelta(days=2)
    assert client.get(f"/api/v1/webhooks/{sub['id']}", headers=h).json()["enabled"] is True

    # Still failing on day 3, with no success in between: disabled, audited, pending cancelled.
    clock.set(start + timedelta(days=2, hours=23))
    client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)
    assert deliver(engine).retrying == 1
    client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)  # queued, never sent
    clock.advance(hours=1, minutes=2)
    report = deliver(engine)
    assert report.disabled == [sub["id"]]
    detail = client.get(f"/api/v1/webhooks/{sub['id']}", headers=h).json()
    assert (detail["enabled"], detail["disabled_reason"]) == (False, "failing")
    # The one that failed on day 3 and the one queued behind it are cancelled, unsent.
    assert sorted(d["status"] for d in detail["deliveries"]) == ["cancelled", "cancelled", "failed"]
    assert len(receiver.requests) == 9
    with Session(engine) as s:
        [entry] = s.exec(
            select(AuditEntry).where(col(AuditEntry.action) == "webhook.disabled")
        ).all()
    assert entry.actor == "system:webhooks" and '"reason":"failing"' in entry.payload


def test_gone_disables_at_once_and_redirects_are_not_followed(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    _, h = _staff(client, engine)
    sub = subscribe(client, h, receiver.url, ["certificate.issued"])
    receiver.statuses = [302, 410]
    receiver.location = receiver.url.replace("/hooks/skilltrace", "/elsewhere")
    client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)
    assert deliver(engine).retrying == 1
    assert [q.path for q in receiver.requests] == ["/hooks/skilltrace"]  # no second request
    clock.advance(minutes=2)
    assert deliver(engine).disabled == [sub["id"]]
    detail = client.get(f"/api/v1/webhooks/{sub['id']}", headers=h).json()
    assert (detail["enabled"], detail["disabled_reason"]) == (False, "gone")
    assert detail["deliveries"][0]["status"] == "failed"


# ---------------------------------------------------------------- disable, enable, rotate


def test_disabled_subscription_gets_nothing(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    inst, h = _staff(client, engine)
    learner = make_learner(engine, inst)
    sub = subscribe(client, h, receiver.url, ["enrollment.completed"])
    course = course_row(engine, inst)
    client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)  # queued before disabling

    r = client.post(f"/api/v1/webhooks/{sub['id']}/disable", headers=h)
    assert (r.status_code, r.json()["enabled"], r.json()["disabled_reason"]) == (
        200,
        False,
        "manual",
    )
    _complete(engine, enrollment_row(engine, learner, course, complete=False).id)
    assert [e.type for e in _events(engine)] == ["ping"]  # the completion found no subscriber
    assert deliver(engine).delivered == 0 and receiver.requests == []
    assert [d.status for d in _deliveries(engine)] == [DeliveryStatus.cancelled]
    refused = client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)
    assert (refused.status_code, refused.json()["code"]) == (409, "webhook_disabled")

    assert client.post(f"/api/v1/webhooks/{sub['id']}/enable", headers=h).json()["enabled"]
    other = make_learner(engine, inst)
    _complete(engine, enrollment_row(engine, other, course, complete=False).id)
    assert deliver(engine).delivered == 1
    [q] = receiver.requests
    assert q.json["data"]["learner_id"] == str(other.id)
    with Session(engine) as s:
        actions = s.exec(
            select(AuditEntry.action)
            .where(col(AuditEntry.subject) == f"webhook:{sub['id']}")
            .order_by(col(AuditEntry.seq))
        ).all()
    assert list(actions) == [
        "webhook.created",
        "webhook.test_queued",
        "webhook.disabled",
        "webhook.enabled",
    ]


def test_rotated_secret_signs_with_both_then_only_the_new(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    _, h = _partner(engine)
    sub = subscribe(client, h, receiver.url, ["certificate.issued"])
    old = sub["secret"]
    r = client.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", headers=h)
    assert r.status_code == 200
    new = r.json()["secret"]
    assert new != old and new.startswith("whsec_")

    client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)
    deliver(engine)
    q = receiver.requests[-1]
    assert len(q.headers["webhook-signature"].split(" ")) == 2
    assert verify_signature(new, q.headers, q.body) and verify_signature(old, q.headers, q.body)

    clock.advance(hours=25)
    client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)
    deliver(engine)
    q = receiver.requests[-1]
    assert verify_signature(new, q.headers, q.body)
    assert not verify_signature(old, q.headers, q.body)
    with Session(engine) as s:
        entries = s.exec(
            select(AuditEntry).where(col(AuditEntry.subject) == f"webhook:{sub['id']}")
        ).all()
    assert "webhook.secret_rotated" in [e.action for e in entries]
    assert all(old not in e.payload and new not in e.payload for e in entries)


# ---------------------------------------------------------------- who may manage


def test_only_the_institution_manages_its_webhooks(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    inst, h = _staff(client, engine)
    sub = subscribe(client, h, receiver.url, ["certificate.issued"])
    own_key = _key(engine, inst.id, ["webhooks:manage"])
    assert [w["id"] for w in client.get("/api/v1/webhooks", headers=own_key).json()["items"]] == [
        sub["id"]
    ]
    by_key = subscribe(client, own_key, receiver.url, ["certificate.revoked"])
    assert client.get(f"/api/v1/webhooks/{by_key['id']}", headers=h).status_code == 200

    other, other_h = _staff(client, engine)
    other_key = _key(engine, other.id, ["webhooks:manage"])
    for hh in (other_h, other_key):
        assert client.get("/api/v1/webhooks", headers=hh).json()["items"] == []
        assert client.get(f"/api/v1/webhooks/{sub['id']}", headers=hh).status_code == 404
        for action in ("disable", "enable", "rotate-secret", "test"):
            r = client.post(f"/api/v1/webhooks/{sub['id']}/{action}", headers=hh)
            assert (r.status_code, r.json()["code"]) == (404, "webhook_not_found"), action

    unscoped = _key(engine, inst.id, ["certificates:read"])
    r = client.get("/api/v1/webhooks", headers=unscoped)
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")
    learner = make_learner(engine, inst)
    regulator = make_user(engine, Role.regulator)
    for who in (learner, regulator):
        r = client.get("/api/v1/webhooks", headers=login(client, who.username))
        assert r.status_code == 403
        r = client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["certificate.issued"]},
            headers=login(client, who.username),
        )
        assert r.status_code == 403
    with Session(engine) as s:
        assert len(s.exec(select(WebhookSubscription)).all()) == 2


# ---------------------------------------------------------------- request forgery


@pytest.fixture
def no_private(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Production's rule: only https, only public addresses."""
    monkeypatch.setenv("SKILLTRACE_WEBHOOK_ALLOW_PRIVATE", "false")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("SKILLTRACE_WEBHOOK_ALLOW_PRIVATE")
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/hook", "invalid_webhook_url"),
        ("ftp://example.com/hook", "invalid_webhook_url"),
        ("https://user:pw@example.com/hook", "invalid_webhook_url"),
        ("https:///nohost", "invalid_webhook_url"),
        ("https://127.0.0.1/hook", "webhook_url_refused"),
        ("https://localhost:8443/hook", "webhook_url_refused"),
        ("https://10.1.2.3/hook", "webhook_url_refused"),
        ("https://192.168.0.10/hook", "webhook_url_refused"),
        ("https://169.254.169.254/latest/meta-data/", "webhook_url_refused"),
        ("https://[::1]/hook", "webhook_url_refused"),
        ("https://[::ffff:127.0.0.1]/hook", "webhook_url_refused"),
        ("https://[fe80::1]/hook", "webhook_url_refused"),
        ("https://0.0.0.0/hook", "webhook_url_refused"),
        ("https://2130706433/hook", "webhook_url_refused"),  # 127.0.0.1 as one number
        ("https://no-such-host.invalid/hook", "webhook_url_refused"),
    ],
)
def test_private_urls_are_refused_when_not_allowed(
    client: TestClient, engine: Engine, no_private: Any, url: str, code: str
) -> None:
    _, h = _staff(client, engine)
    r = client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["certificate.issued"]}, headers=h
    )
    assert (r.status_code, r.json()["code"]) == (422, code), r.text
    with Session(engine) as s:
        assert s.exec(select(WebhookSubscription)).all() == []


def test_address_rules() -> None:
    import ipaddress

    public = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"]
    private = [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address refused, not one bound
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    ]
    assert all(urls.is_public(ipaddress.ip_address(a)) for a in public)
    assert not any(urls.is_public(ipaddress.ip_address(a)) for a in private)


def test_delivery_goes_to_the_checked_address() -> None:
    """DNS rebinding: the request is made to the address that was checked, with the host name
    kept for Host, SNI and the certificate check."""
    target = urls.Target(
        url="https://hooks.example.com:8443/p?q=1",
        host="hooks.example.com",
        port=8443,
        address="93.184.216.34",
    )
    url, headers, ext = request_for(target)
    assert url == "https://93.184.216.34:8443/p?q=1"
    assert headers == {"Host": "hooks.example.com:8443"}
    assert ext == {"sni_hostname": "hooks.example.com"}
    v6 = urls.Target(url="https://h.example/x", host="h.example", port=443, address="2606:4700::1")
    assert request_for(v6)[0] == "https://[2606:4700::1]/x"


def test_private_address_refused_again_at_delivery(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver, monkeypatch: Any
) -> None:
    """Subscribed while allowed (or while DNS said public): refused when it is time to send."""
    _, h = _staff(client, engine)
    sub = subscribe(client, h, receiver.url, ["certificate.issued"])
    client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)
    monkeypatch.setenv("SKILLTRACE_WEBHOOK_ALLOW_PRIVATE", "false")
    get_settings.cache_clear()
    try:
        assert deliver(engine).retrying == 1
    finally:
        monkeypatch.delenv("SKILLTRACE_WEBHOOK_ALLOW_PRIVATE")
        get_settings.cache_clear()
    assert receiver.requests == []
    [d] = _deliveries(engine)
    assert d.status is DeliveryStatus.pending and d.last_status_code is None
    assert d.last_error is not None and d.last_error.startswith("refused")


# ---------------------------------------------------------------- concurrency


def test_a_claimed_delivery_is_not_claimed_twice(
    client: TestClient, engine: Engine, clock: Any, receiver: Receiver
) -> None:
    """Two senders: rows one has claimed are skipped by the other while it holds them
    (PostgreSQL: FOR UPDATE SKIP LOCKED), and after its claim commits, by the lease."""
    _, h = _staff(client, engine)
    sub = subscribe(client, h, receiver.url, ["certificate.issued"])
    for _ in range(3):
        client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=h)
    now = clock.now()
    if engine.dialect.name == "postgresql":
        with Session(engine) as first, Session(engine) as second:
            a = claim(first, now=now, limit=2)
            b = claim(second, now=now, limit=10)  # does not wait for `first`
            assert len(a) == 2 and len(b) == 1
            assert not {x.delivery_id for x in a} & {x.delivery_id for x in b}
            first.commit()
            second.commit()
    else:
        with transaction(engine) as first:
            assert len(claim(first, now=now, limit=2)) == 2
        with transaction(engine) as second:
            assert len(claim(second, now=now, limit=10)) == 1
    with transaction(engine) as third:
        assert claim(third, now=now, limit=10) == []  # all leased


def test_partner_key_without_scope_is_told_which(engine: Engine, client: TestClient) -> None:
    inst = make_institution(engine)
    h = _key(engine, inst.id, [])
    r = client.post(
        "/api/v1/webhooks",
        json={"url": "https://partner.example/hook", "events": ["certificate.issued"]},
        headers={**h, "Accept-Language": "en"},
    )
    assert r.status_code == 403 and "webhooks:manage" in r.json()["detail"]
    with Session(engine) as s:
        assert s.exec(select(WebhookSubscription)).all() == []
