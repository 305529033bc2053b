"""The data exchange with the regional real-name training system, against a local fake of it.

The fake is a real HTTP server on 127.0.0.1: it checks each push's signature with its own HMAC,
validates the body against the documented schema, and keeps records by ``webhook-id`` (the
deduplication the documentation asks of a receiver). One push is refused (503) before it is
stored and another is stored but its answer is lost (500 after storing): after the retry every
record is in the fake exactly once. Its receipts come back signed; unsigned ones are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema_rs
import pytest
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.clock import SHANGHAI
from app.db import transaction
from app.exchange import delivery, service
from app.exchange.models import ExchangeRecord, ReceiptStatus, SendStatus
from app.webhooks import signing
from tests.claims.notice_world import approved_quarter
from tests.factories import (
    certified,
    course_row,
    enrollment_row,
    id_number,
    login,
    make_institution,
    make_learner,
    make_user,
    migrate_again_from,
)

SECRET = signing.new_secret()


def _hmac_ok(headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    return any(
        hmac.compare_digest(item.partition(",")[2].encode(), expected)
        for item in headers["webhook-signature"].split(" ")
    )


class FakeRegion:
    """Stores each record once by webhook-id; can refuse a record once, or lose one answer."""

    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.posts: Counter[str] = Counter()
        self.refuse_once: set[str] = set()
        self.lose_answer_once: set[str] = set()
        self.errors: list[str] = []
        validator = jsonschema_rs.Draft202012Validator(
            service.record_schema(), validate_formats=True
        )
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = 200
                if not _hmac_ok(headers, body):
                    status = 401
                else:
                    doc = json.loads(body)
                    fake.errors += [str(e) for e in validator.iter_errors(doc)]
                    msg = headers["webhook-id"]
                    fake.posts[msg] += 1
                    if msg in fake.refuse_once:
                        fake.refuse_once.discard(msg)
                        status = 503
                    else:
                        fake.stored.setdefault(msg, doc)  # a repeat is recognised, not stored
                        if msg in fake.lose_answer_once:
                            fake.lose_answer_once.discard(msg)
                            status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/px/ingest"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def region(monkeypatch: pytest.MonkeyPatch, app_env: str) -> Iterator[FakeRegion]:
    from app.config import get_settings

    fake = FakeRegion()
    monkeypatch.setenv("SKILLTRACE_REGIONAL_EXCHANGE_URL", fake.url)
    monkeypatch.setenv("SKILLTRACE_REGIONAL_EXCHANGE_SECRET", SECRET)
    get_settings.cache_clear()
    yield fake
    fake.close()
    get_settings.cache_clear()


def _msg(record_id: Any) -> str:
    return f"rec_{record_id.hex}"


def _signed(body: bytes) -> dict[str, str]:
    msg, now = f"msg_{time.time_ns()}", datetime.now(UTC)
    return {**signing.headers(msg, now, body, [SECRET]), "content-type": "application/json"}


def test_every_record_arrives_exactly_once(
    client: Any, engine: Any, clock: Any, region: FakeRegion
) -> None:
    clock.set(datetime.now(UTC).replace(microsecond=0))  # signatures carry real-time stamps
    inst = make_institution(engine)
    numbers = [id_number("19880214", "440306", 31), id_number("19950630", "110105", 47)]
    certs = [
        certified(engine, make_learner(engine, inst, real_name=n, id_number=x), inst)
        for n, x in zip(("王小明", "李华"), numbers, strict=True)
    ]
    batch, reg = approved_quarter(engine, clock, inst)
    with Session(engine) as s:
        records = list(s.exec(select(ExchangeRecord)))
    assert Counter(r.type for r in records) == {
        # each certificate's course has its class filed (开班备案) and approved
        "class_filing.filed": 2,
        "class_filing.approved": 2,
        "certificate.issued": 2,
        "claim_batch.filed": 1,
        "claim_batch.approved": 1,
    }
    by_type = {r.type: r for r in records}
    refused = by_type["claim_batch.filed"]
    lost = next(r for r in records if r.subject == f"certificate:{certs[1].serial}")
    region.refuse_once.add(_msg(refused.id))
    region.lose_answer_once.add(_msg(lost.id))

    hr = login(client, reg.user.username if reg.user else "")  # before the clock moves on
    first = delivery.deliver_due(engine)
    assert (first.delivered, first.retrying, first.failed) == (len(records) - 2, 2, 0)
    assert delivery.deliver_due(engine).as_dict()["delivered"] == 0  # not due yet
    clock.advance(minutes=2)
    second = delivery.deliver_due(engine)
    assert (second.delivered, second.retrying) == (2, 0)
    assert delivery.deliver_due(engine).delivered == 0

    # exactly once at the receiver, though two records were posted twice
    assert sorted(region.stored) == sorted(_msg(r.id) for r in records)
    assert region.posts[_msg(refused.id)] == 2 and region.posts[_msg(lost.id)] == 2
    assert sum(region.posts.values()) == len(records) + 2
    assert region.errors == []
    with Session(engine) as s:
        assert {r.status for r in s.exec(select(ExchangeRecord))} == {SendStatus.delivered}

    # what arrived: real names and full ID numbers for the real-name register, the frozen lines
    issued = region.stored[_msg(by_type["certificate.issued"].id)]
    assert issued["data"]["learner"]["id_number"] in numbers
    filed = region.stored[_msg(refused.id)]
    assert [x["learner"]["id_number"] for x in filed["data"]["lines"]] == numbers
    assert filed["data"]["lines_hash"] == batch.lines_hash
    # nothing of that is kept in the outbox itself
    with Session(engine) as s:
        stored = json.dumps([r.data for r in s.exec(select(ExchangeRecord))], ensure_ascii=False)
    assert not any(n in stored for n in numbers)

    # receipts: signed by the regional system, per record; unknown ids named back
    body = json.dumps(
        {
            "receipts": [
                {"record_id": str(refused.id), "status": "accepted", "regional_ref": "GD-1"},
                {"record_id": str(lost.id), "status": "rejected", "reason": "姓名与身份证号不符"},
                {"record_id": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "status": "accepted"},
            ]
        }
    ).encode()
    unsigned = client.post(
        "/api/v1/exchange/receipts", content=body, headers={"content-type": "application/json"}
    )
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "invalid_signature"
    forged = {**_signed(body), "webhook-signature": "v1,AAAA"}
    assert client.post("/api/v1/exchange/receipts", content=body, headers=forged).status_code == 401
    r = client.post("/api/v1/exchange/receipts", content=body, headers=_signed(body))
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 2, "unknown": ["5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"]}
    listed = client.get("/api/v1/exchange/records", headers=hr)
    assert listed.status_code == 200, listed.text
    seen = {x["id"]: x for x in listed.json()}
    assert seen[str(refused.id)]["receipt_status"] == "accepted"
    assert seen[str(lost.id)]["receipt_status"] == ReceiptStatus.rejected
    assert seen[str(lost.id)]["receipt_reason"] == "姓名与身份证号不符"


def test_nothing_is_sent_without_an_endpoint(engine: Any, clock: Any) -> None:
    inst = make_institution(engine)
    certified(engine, make_learner(engine, inst), inst)
    assert delivery.deliver_due(engine).as_dict() == {
        "delivered": 0,
        "retrying": 0,
        "failed": 0,
        "disabled_webhooks": [],
    }
    with Session(engine) as s:
        (record,) = s.exec(
            select(ExchangeRecord).where(ExchangeRecord.type == "certificate.issued")
        )
    assert record.status is SendStatus.pending and record.attempts == 0
    assert record.next_attempt_at is not None
    assert record.next_attempt_at - clock.now() <= timedelta(0)


def test_class_filings_and_decisions_reach_the_regional_system(
    engine: Any, clock: Any, region: FakeRegion
) -> None:
    """开班备案 and 结业备案, each version and each decision (approved, returned with the
    reason), become records in the outbox in their transaction; they arrive once each, valid
    against the documented schema, a completion with its roster's real names and full IDs."""
    from app.courses import classes
    from app.courses.models import Enrollment
    from app.filing import service as filing
    from app.filing.models import FilingKind

    clock.set(datetime.now(UTC).replace(microsecond=0))
    inst = make_institution(engine)
    course = course_row(engine, inst)
    number = id_number("19900512", "440305", 18)
    learner = make_learner(engine, inst, real_name="陈丽", id_number=number)
    staff_user = make_user(engine, Role.staff, inst)
    staff = Principal.of_user(staff_user)
    hr = Principal.of_user(make_user(engine, Role.regulator))
    today = clock.now().astimezone(SHANGHAI).date()
    enrolment = enrollment_row(engine, learner, course, filed=False)
    with transaction(engine) as s:
        klass = classes.create_class(
            s,
            staff,
            course.id,
            code="GD-2026-12",
            name="低压电工 12 月班",
            starts_on=today + timedelta(days=3),
            ends_on=today + timedelta(days=20),
            capacity=30,
            head_teacher_id=staff_user.id,
        )
        opening = filing.file_class(
            s, staff, klass.id, kind=FilingKind.opening, site="深圳市南山区实训基地 3 楼"
        )
        filing.approve(s, hr, opening.id, note="同意开班")
        e = s.get(Enrollment, enrolment.id)
        assert e is not None
        e.class_id = klass.id
        s.add(e)
        classes.open_class(s, staff, klass.id)
    with transaction(engine) as s:
        classes.close_class(s, staff, klass.id)
        first = filing.file_class(s, staff, klass.id, kind=FilingKind.completion)
        filing.return_filing(s, hr, first.id, reason="结业名单缺少考核成绩，请补充后重报")
        second = filing.file_class(s, staff, klass.id, kind=FilingKind.completion)
        filing.approve(s, hr, second.id)
    with Session(engine) as s:
        records = [
            r
            for r in s.exec(select(ExchangeRecord).order_by(col(ExchangeRecord.seq)))
            if r.subject.startswith("class_filing:")
        ]
        outbox = json.dumps([r.data for r in s.exec(select(ExchangeRecord))], ensure_ascii=False)
    assert [(r.type, r.subject) for r in records] == [
        ("class_filing.filed", f"class_filing:{opening.id}"),
        ("class_filing.approved", f"class_filing:{opening.id}"),
        ("class_filing.filed", f"class_filing:{first.id}"),
        ("class_filing.returned", f"class_filing:{first.id}"),
        ("class_filing.filed", f"class_filing:{second.id}"),
        ("class_filing.approved", f"class_filing:{second.id}"),
    ]
    assert number not in outbox  # the full ID is read from the encrypted column when sent

    delivery.deliver_due(engine)
    assert region.errors == []
    for r in records:
        assert region.posts[_msg(r.id)] == 1
    # Written in the same instant (the clock stands still), sent in the order written.
    assert len({r.created_at for r in records}) == 1
    arrived = [m for m in region.stored if m in {_msg(r.id) for r in records}]
    assert arrived == [_msg(r.id) for r in records]
    got = [region.stored[_msg(r.id)]["data"] for r in records]
    assert [(d["kind"], d["version"], d["status"]) for d in got] == [
        ("opening", 1, "pending"),
        ("opening", 1, "approved"),
        ("completion", 1, "pending"),
        ("completion", 1, "returned"),
        ("completion", 2, "pending"),
        ("completion", 2, "approved"),
    ]
    assert got[0]["site"] == "深圳市南山区实训基地 3 楼" and "lines" not in got[0]
    assert got[1]["decision_note"] == "同意开班"
    assert got[3]["decision_note"] == "结业名单缺少考核成绩，请补充后重报"
    assert (got[5]["completed"], got[5]["roster_size"]) == (1, 1)
    (line,) = got[5]["lines"]
    assert line["learner"] == {"name": "陈丽", "id_number": number}
    assert line["enrollment_id"] == str(enrolment.id)
    assert line["credited_minutes"] == course.required_minutes


def test_migration_numbers_existing_records_by_time_and_new_ones_follow(
    engine: Any, db_url: str
) -> None:
    """0038 numbers the records a database already holds in the order they were written, and
    the next record written after it follows them (PostgreSQL's sequence starts past them)."""
    inst = make_institution(engine)
    t0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    written = {"third": t0 + timedelta(hours=2), "first": t0, "second": t0 + timedelta(hours=1)}
    with transaction(engine) as s:
        for subject in written:
            service.emit(s, type_="test.record", institution_id=inst.id, subject=subject, data={})
    with transaction(engine) as s:
        for r in s.exec(select(ExchangeRecord)):
            r.created_at = written[r.subject]
            s.add(r)
    migrate_again_from(engine, db_url, "0037")
    with transaction(engine) as s:
        service.emit(s, type_="test.record", institution_id=inst.id, subject="fourth", data={})
    with Session(engine) as s:
        got = [
            (r.seq, r.subject)
            for r in s.exec(select(ExchangeRecord).order_by(col(ExchangeRecord.seq)))
        ]
    assert got == [(1, "first"), (2, "second"), (3, "third"), (4, "fourth")]
