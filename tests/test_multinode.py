"""Two app nodes on one PostgreSQL behind HAProxy, one of them killed (SIGKILL) mid-run.

Real processes: PostgreSQL (CI's), two ``skilltrace serve`` nodes with a face worker each and
their background jobs on (roll-call sweep and webhook sender every second), an S3 stand-in
(moto's server) holding their files, and Debian's HAProxy in front (health check ``/readyz``).
The nodes share no disk, as production nodes do not: each has its own data dir, the files go to
the bucket and the signing keys come from configuration (app/keys.py).

Through the balancer: a learner enrols and checks in with real frames of ../shared/faces and
answers a roll-call with real frames; 16 learners send heartbeats throughout. Another learner's
certificate is issued on the node that stored the check-in's evidence, and that node is killed
while the heartbeats go on. Roll-calls left unanswered become overdue in two waves (both nodes
sweeping, then the survivor alone) and are announced to a webhook receiver.

Then: the survivor serves what the dead node wrote (the evidence crops, the certificate's PDF,
the public key its credential names, which verifies it); every acknowledged heartbeat is stored
(none lost), every ledger replays to its stored total (no credit twice), the audit chains verify
with ``skilltrace audit verify``, each overdue roll-call was marked missed once, and each of its
webhook deliveries arrived once.

Needs PostgreSQL (SKILLTRACE_TEST_POSTGRES_URL) and ``haproxy`` on the PATH; CI installs both
and sets SKILLTRACE_REQUIRE_MULTINODE=1, so there it fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import http.server
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pypdf
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from tests.conftest import S3_KEYS, new_s3_bucket, node_keys
from tests.factories import checked_in, in_default_class
from tests.procs import alive, descendants, wait_for

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("SKILLTRACE_TEST_POSTGRES_URL", "")
REQUIRED = os.environ.get("SKILLTRACE_REQUIRE_MULTINODE") == "1"
HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
)

pytestmark = [pytest.mark.slow]
if not REQUIRED and (not PG_URL or HAPROXY is None):
    pytestmark.append(
        pytest.mark.skip(reason="needs SKILLTRACE_TEST_POSTGRES_URL and haproxy (CI has both)")
    )

LEARNERS = 16  # heartbeating
SWEPT = 4  # per wave: sessions whose roll-call nobody answers


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Receiver(http.server.BaseHTTPRequestHandler):
    """A partner's webhook endpoint: records each delivery's ``webhook-id``."""

    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with self.lock:
            self.seen[self.headers["webhook-id"]] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated PostgreSQL database; the test process's settings point at it."""
    from app.config import get_settings
    from app.db import dispose_engines
    from app.migrate import upgrade

    name = f"skilltrace_nodes_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    monkeypatch.setenv("SKILLTRACE_DATABASE_URL", url)
    monkeypatch.setenv("SKILLTRACE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    dispose_engines()
    yield url
    dispose_engines()
    get_settings.cache_clear()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An S3 stand-in (moto's server, its own process, as a bucket service is) and a fresh
    bucket: the ``SKILLTRACE_*`` settings of nodes that keep their files there."""
    port = _port()
    log = (tmp_path / "moto.log").open("wb")
    moto = subprocess.Popen(  # noqa: S603 - moto's server, a dev dependency
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _ok(f"{endpoint}/moto-api/"), timeout=60), (
            tmp_path / "moto.log"
        ).read_text()[-2000:]
        yield {
            "SKILLTRACE_STORAGE": "s3",
            "SKILLTRACE_S3_ENDPOINT_URL": endpoint,
            "SKILLTRACE_S3_BUCKET": new_s3_bucket(endpoint),
            "SKILLTRACE_S3_REGION": "us-east-1",
            "SKILLTRACE_S3_ACCESS_KEY_ID": S3_KEYS["aws_access_key_id"],
            "SKILLTRACE_S3_SECRET_ACCESS_KEY": S3_KEYS["aws_secret_access_key"],
        }
    finally:
        moto.terminate()
        moto.wait(10)
        log.close()


def _seed(engine: Engine, receiver_url: str) -> dict[str, Any]:
    from app import clock
    from app.accounts import service as accounts
    from app.accounts.models import Role
    from app.accounts.principal import Principal
    from app.audit.service import Actor
    from app.courses.models import Course, Level
    from app.db import transaction
    from app.webhooks import service as webhooks
    from tests.factories import id_number

    out: dict[str, Any] = {"beats": [], "swept": [], "face": None}
    with transaction(engine) as s:
        inst = accounts.create_institution(
            s, code="NODE01", name="多节点测试培训学校", actor=Actor.system()
        )
        staff = accounts.create_user(
            s,
            role=Role.staff,
            username="nodestaff",
            password="Node-Test-Pass-9",
            institution_id=inst.id,
            actor=Actor.system(),
        )
        webhooks.create(s, Principal.of_user(staff), url=receiver_url, events=["rollcall.missed"])
        course = Course(
            institution_id=inst.id,
            title="电工（多节点）",
            occupation_code="6-31-01-03",
            occupation_name="电工",
            level=Level.level5,
            required_minutes=600,
            pass_score=60,
            subsidy_fen=0,
            rollcall_min_interval_s=3600,
            rollcall_max_interval_s=7200,
            heartbeat_interval_s=30,
            rollcall_response_window_s=60,
        )
        s.add(course)
        s.flush()
        now = clock.now()
        for i in range(LEARNERS + 2 * SWEPT + 1):
            user = accounts.register_learner(
                s,
                username=f"node{i}",
                password="Node-Test-Pass-9",
                real_name="李多节",
                id_number=id_number(seq=i + 1),
                institution_id=inst.id,
            )
            e = in_default_class(s, user, course)
            if i == LEARNERS + 2 * SWEPT:  # the learner who checks in with real frames
                out["face"] = (user.username, e.id)
                continue
            sess = checked_in(e, user.id, now)
            s.add(sess)
            s.flush()
            if i < LEARNERS:
                out["beats"].append((accounts.issue_token(user)[0], sess.id))
            else:
                out["swept"].append((sess.id, e.id, user.id))
    return out


def _rollcalls(
    engine: Engine, sessions: list[tuple[Any, Any, Any]], overdue_by: float
) -> list[Any]:
    """A pending roll-call per session whose deadline passed ``overdue_by`` seconds ago."""
    from app import clock
    from app.courses.models import RollCall, RollCallStatus
    from app.db import transaction

    ids = []
    with transaction(engine) as s:
        now = clock.now()
        for sid, eid, uid in sessions:
            rc = RollCall(
                session_id=sid,
                enrollment_id=eid,
                user_id=uid,
                due_at=now - timedelta(seconds=90),
                offered_at=now - timedelta(seconds=90),
                deadline=now - timedelta(seconds=overdue_by),
                status=RollCallStatus.pending,
            )
            s.add(rc)
            s.flush()
            ids.append(rc.id)
    return ids


def _node_env(url: str, data: Path, shared: dict[str, str]) -> dict[str, str]:
    """A node's environment: its own data dir; the bucket, the keys and the public address
    (the balancer's, which credentials and QR codes name) the same on every node."""
    return {
        **os.environ,
        **shared,
        "PYTHONPATH": str(REPO),
        "SKILLTRACE_DATABASE_URL": url,
        "SKILLTRACE_DATA_DIR": str(data),
        "SKILLTRACE_FACE_WORKERS": "1",
        "SKILLTRACE_ROLLCALL_SWEEP_INTERVAL_S": "1",
        "SKILLTRACE_WEBHOOK_DELIVERY_INTERVAL_S": "1",
        "SKILLTRACE_WEBHOOK_ALLOW_PRIVATE": "true",
        "SKILLTRACE_LOG_LEVEL": "WARNING",
    }


HAPROXY_CFG = """
global
    maxconn 1024
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 2s
    retries 2
    option redispatch
frontend skilltrace
    bind 127.0.0.1:{front}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 300ms fall 2 rise 2
    http-response set-header X-Node %[srv_name]
    server a 127.0.0.1:{a} check
    server b 127.0.0.1:{b} check
"""


def _face_checks(base: str, engine: Engine, username: str, enrollment_id: Any) -> dict[str, Any]:
    """Enrol, check in and answer a roll-call with real frames, through the balancer."""
    with httpx.Client(base_url=base, timeout=120) as c:
        return _face_flow(c, engine, username, enrollment_id)


def _face_flow(
    c: httpx.Client, engine: Engine, username: str, enrollment_id: Any
) -> dict[str, Any]:
    from app.attendance.models import FaceChallenge
    from tests.face_data import blink_burst

    r = c.post("/api/v1/auth/token", data={"username": username, "password": "Node-Test-Pass-9"})
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert c.post("/api/v1/me/consent", json={"biometric": True}, headers=h).status_code == 200

    def challenge() -> str:
        r = c.post("/api/v1/me/face/challenge", headers=h)
        assert r.status_code == 201, r.text
        cid = r.json()["challenge_id"]
        # The clip blinks and never turns its head on cue: a burst challenge asking for a blink
        # (learners get streamed checks; the burst path shares every rule after liveness).
        with Session(engine) as s:
            ch = s.get(FaceChallenge, uuid.UUID(cid))
            assert ch is not None
            ch.actions = ["blink"]
            ch.mode, ch.schedule = "burst", None  # a whole burst, as tests/factories.py sends
            s.add(ch)
            s.commit()
        return str(cid)

    def send(url: str, burst: str) -> Any:
        files = [
            ("frames", (f"f{i}.jpg", b, "image/jpeg")) for i, b in enumerate(blink_burst(burst))
        ]
        return c.post(url, data={"challenge_id": challenge()}, files=files, headers=h)

    r = send("/api/v1/me/face/enrol", "a")
    assert r.status_code == 201, r.text
    r = send(f"/api/v1/enrollments/{enrollment_id}/sessions", "b")
    assert r.status_code == 201, r.text
    sid = r.json()["session_id"]
    checkin = {"event": r.json()["attendance_event_id"], "node": r.headers["x-node"]}
    with engine.begin() as conn:  # the roll-call is due now
        conn.execute(
            text(
                "UPDATE study_sessions SET next_rollcall_at = now() - interval '1 second'"
                " WHERE id = :id"
            ),
            {"id": sid},
        )
    r = c.post(f"/api/v1/sessions/{sid}/heartbeat", json={"visible": True}, headers=h)
    assert r.status_code == 200 and r.json()["rollcall"], r.text
    rollcall = r.json()["rollcall"]["rollcall_id"]
    r = send(f"/api/v1/rollcalls/{rollcall}/response", "c")
    assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text
    return {
        "session": sid,
        "rollcall": rollcall,
        "checkin": checkin,
        "events": [checkin["event"], r.json()["attendance_event_id"]],
    }


def _certified_learner(engine: Engine) -> tuple[str, Any]:
    """A learner of another (approved) institution whose enrolment is complete: (username,
    enrolment id), to have a certificate issued on one node and read on the other."""
    from tests.factories import (
        course_row,
        enrollment_row,
        id_number,
        make_institution,
        make_learner,
    )

    inst = make_institution(engine, "NODE02", name="多节点证书测试学校")
    learner = make_learner(engine, inst, username="nodecert", id_number=id_number(seq=900))
    enrollment = enrollment_row(engine, learner, course_row(engine, inst), filed=False)
    return learner.username, enrollment.id


def _issue(node: str, username: str, enrollment_id: Any) -> dict[str, Any]:
    """The certificate issued on ``node`` (its own address, not the balancer's)."""
    from tests.factories import PASSWORD

    with httpx.Client(base_url=node, timeout=60) as c:
        r = c.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        r = c.post(
            f"/api/v1/enrollments/{enrollment_id}/certificate",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
        return {**r.json(), "token": token}


def _served_by_survivor(
    base: str, survivor: str, engine: Engine, cert: dict[str, Any], events: list[str]
) -> None:
    """What the dead node wrote, read through the balancer from the survivor: the evidence
    crops (bytes equal to the hash the event recorded), the certificate's PDF, and the public
    key its credential's ``kid`` names, which verifies the credential."""
    from app.attendance.models import AttendanceEvent

    with httpx.Client(base_url=base, timeout=60) as c:
        r = c.post(
            "/api/v1/auth/token", data={"username": "nodestaff", "password": "Node-Test-Pass-9"}
        )
        assert r.status_code == 200, r.text
        staff = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for event_id in events:
            r = c.get(f"/api/v1/attendance-events/{event_id}/evidence", headers=staff)
            assert r.status_code == 200 and r.headers["x-node"] == survivor, r.text
            with Session(engine) as s:
                event = s.get(AttendanceEvent, uuid.UUID(event_id))
                assert event is not None
            assert hashlib.sha256(r.content).hexdigest() == event.evidence_sha256
        r = c.get(cert["pdf_url"], headers={"Authorization": f"Bearer {cert['token']}"})
        assert r.status_code == 200 and r.headers["x-node"] == survivor, r.text
        pages = pypdf.PdfReader(io.BytesIO(r.content)).pages
        # pypdf puts NULs and spaces between the two-byte CID glyphs; the characters are right.
        text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in pages))
        assert cert["serial"] in text, text
        kid = jwt.get_unverified_header(cert["credential_jwt"])["kid"]
        assert kid.startswith(base + "/keys/"), kid  # the public address, not a node's own
        r = c.get(kid.removeprefix(base))
        assert r.status_code == 200 and r.headers["x-node"] == survivor, r.text
        claims = jwt.decode(
            cert["credential_jwt"],
            jwt.PyJWK(r.json()).key,
            algorithms=["RS256"],
            options={"verify_aud": False, "verify_nbf": False},
        )
        assert cert["serial"] in str(claims)


async def _drive(
    base: str, beats: list[tuple[str, Any]], stop: threading.Event, acks: dict[str, list[int]]
) -> Counter[str]:
    """Heartbeats until ``stop``; ``acks[session]`` gets credited_seconds of every 200."""
    outcomes: Counter[str] = Counter()

    async def learner(token: str, sid: Any, client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                r = await client.post(
                    f"/api/v1/sessions/{sid}/heartbeat",
                    json={"visible": True},
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError:
                outcomes["connection error"] += 1
                await asyncio.sleep(0.25)
                continue
            outcomes[str(r.status_code)] += 1
            if r.status_code == 200:
                acks[str(sid)].append(r.json()["credited_seconds"])
            await asyncio.sleep(0.25)

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await asyncio.gather(*(learner(t, sid, client) for t, sid in beats))
    return outcomes


def _recorded(engine: Engine) -> int:
    """Webhook deliveries recorded as delivered."""
    from app.webhooks.models import DeliveryStatus, WebhookDelivery

    with Session(engine) as s:
        done = s.exec(
            select(WebhookDelivery.id).where(
                col(WebhookDelivery.status) == DeliveryStatus.delivered
            )
        ).all()
    return len(done)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_two_nodes_behind_haproxy_survive_a_kill(
    database: str, bucket: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.audit.models import AuditEntry
    from app.courses.models import Enrollment, Heartbeat, StudySession
    from app.courses.study import check_ledger
    from app.db import get_engine
    from app.webhooks.models import DeliveryStatus, WebhookDelivery

    assert HAPROXY is not None, "haproxy is not installed (apt-get install haproxy)"
    engine = get_engine()
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.seen = Counter()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()

    ports = {"a": _port(), "b": _port()}
    front = _port()
    base = f"http://127.0.0.1:{front}"
    shared = {**bucket, **node_keys(), "SKILLTRACE_PUBLIC_BASE_URL": base}
    for name, value in shared.items():  # this process writes to the database as a third node
        monkeypatch.setenv(name, value)
    env = {n: _node_env(database, tmp_path / f"data-{n}", shared) for n in ports}
    logs = {n: (tmp_path / f"node-{n}.log").open("wb") for n in ports}
    nodes = {
        n: subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "app.cli", "serve", "--port", str(p)],
            env=env[n],
            stdout=logs[n],
            stderr=subprocess.STDOUT,
        )
        for n, p in ports.items()
    }
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.format(front=front, **ports))
    proxy = subprocess.Popen(  # noqa: S603 - the Debian package's binary
        [HAPROXY, "-f", str(cfg), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    children: set[int] = set()
    stop = threading.Event()
    driver: threading.Thread | None = None
    try:
        # Seeded while the nodes start. Learners who only send heartbeats never sign in: one
        # password hash (Argon2id, ~0.1 s each) serves them all.
        with pytest.MonkeyPatch.context() as m:
            from app.accounts import passwords

            hashed = passwords.hash_password("Node-Test-Pass-9")
            m.setattr(passwords, "hash_password", functools.partial(lambda h, _p: h, hashed))
            world = _seed(engine, f"http://127.0.0.1:{receiver.server_address[1]}/hooks")
        certified = _certified_learner(engine)
        for n, p in ports.items():
            assert wait_for(lambda p=p: _ok(f"http://127.0.0.1:{p}/readyz"), timeout=90), (
                tmp_path / f"node-{n}.log"
            ).read_text()[-3000:]
        assert wait_for(lambda: _ok(f"{base}/readyz"), timeout=30)
        children = descendants(nodes["a"].pid) | descendants(nodes["b"].pid)

        face = _face_checks(base, engine, *world["face"])
        # The node that stored the check-in's evidence issues a certificate, then dies.
        victim = face["checkin"]["node"]
        survivor = "b" if victim == "a" else "a"
        cert = _issue(f"http://127.0.0.1:{ports[victim]}", *certified)

        acks: dict[str, list[int]] = {str(sid): [] for _, sid in world["beats"]}
        result: dict[str, Counter[str]] = {}
        driver = threading.Thread(
            target=lambda: result.update(out=asyncio.run(_drive(base, world["beats"], stop, acks)))
        )
        driver.start()

        wave1 = _rollcalls(engine, world["swept"][:SWEPT], overdue_by=1)

        def delivered(n: int) -> bool:
            with Receiver.lock:
                return len(Receiver.seen) >= n

        assert wait_for(lambda: delivered(SWEPT), timeout=60), Receiver.seen  # both nodes at work
        # … and recorded as delivered: a node killed between the receiver's answer and that
        # commit sends the delivery again after its lease (at least once, by design), which is
        # not what this test is about.
        assert wait_for(lambda: _recorded(engine) == SWEPT, timeout=30), _recorded(engine)
        before_kill = sum(len(v) for v in acks.values())
        os.kill(nodes[victim].pid, signal.SIGKILL)
        nodes[victim].wait(10)
        wave2 = _rollcalls(engine, world["swept"][SWEPT:], overdue_by=1)
        assert wait_for(lambda: delivered(2 * SWEPT), timeout=60), Receiver.seen
        assert wait_for(
            lambda: sum(len(v) for v in acks.values()) >= before_kill + 3 * LEARNERS, timeout=60
        ), "heartbeats stopped after the kill"
        assert wait_for(lambda: not _ok(f"http://127.0.0.1:{ports[victim]}/readyz"), timeout=10)
        _served_by_survivor(base, survivor, engine, cert, face["events"])
        stop.set()
        driver.join(60)
    finally:
        stop.set()  # a failed assertion above must not leave the driver running
        if driver is not None:
            driver.join(60)
        for proc in nodes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        proxy.terminate()
        proxy.wait(10)
        for pid in children:  # the killed node's face worker, if the kill left it behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        receiver.shutdown()
        receiver.server_close()
        for fh in logs.values():
            fh.close()

    outcomes = result["out"]
    assert outcomes["200"] > 0 and set(outcomes) <= {"200", "502", "503", "connection error"}, (
        outcomes
    )

    with Session(engine) as s:
        # No acknowledged heartbeat lost: each stored, and the credit it reported is kept.
        for _token, sid in world["beats"]:
            sess = s.get(StudySession, sid)
            assert sess is not None
            enrollment = s.get(Enrollment, sess.enrollment_id)
            assert enrollment is not None
            stored = s.exec(select(Heartbeat.id).where(col(Heartbeat.session_id) == sid)).all()
            assert len(stored) >= len(acks[str(sid)]), sid
            assert (enrollment.credited_ms + sess.open_ms) // 1000 >= max(acks[str(sid)], default=0)
        # No credit counted twice: every ledger replays to its stored total (the certified
        # learner's enrolment was made complete by hand, with no ledger).
        for e in s.exec(select(Enrollment).where(col(Enrollment.id) != certified[1])).all():
            check = check_ledger(s, e)
            assert check.matches, (e.id, check)
        # Each overdue roll-call marked missed once, each announcement delivered once.
        for rc in [*wave1, *wave2]:
            missed = s.exec(
                select(AuditEntry.id).where(
                    col(AuditEntry.action) == "rollcall.missed",
                    col(AuditEntry.subject) == f"rollcall:{rc}",
                )
            ).all()
            assert len(missed) == 1, rc
        deliveries = s.exec(select(WebhookDelivery)).all()
        assert len(deliveries) == 2 * SWEPT
        states = [(d.status, d.attempts, d.last_status_code) for d in deliveries]
        assert all(d.status is DeliveryStatus.delivered for d in deliveries), states
        assert all(d.attempts == 1 for d in deliveries), states
    assert len(Receiver.seen) == 2 * SWEPT and set(Receiver.seen.values()) == {1}, Receiver.seen
    assert face["rollcall"]

    # The audit chains verify offline, as a regulator would check them: exported (checkpoint
    # signed) on the survivor, checked with the key the dead node's configuration gives.
    jwks = tmp_path / "jwks.json"
    r = _cli(env[victim], "audit", "public-key")
    assert r.returncode == 0, r.stderr
    jwks.write_text(r.stdout)
    for chain in (["--institution", "NODE01"], []):
        out = tmp_path / f"chain-{'-'.join(chain) or 'platform'}.ndjson"
        r = _cli(env[survivor], "audit", "export", *chain, "-o", str(out))
        assert r.returncode == 0, r.stderr
        r = _cli(env[survivor], "audit", "verify", str(out), "--jwks", str(jwks))
        assert r.returncode == 0, r.stdout + r.stderr
