"""Shared fixtures.

Every database-touching test runs on SQLite and, when ``SKILLTRACE_TEST_POSTGRES_URL`` is set
(CI always sets it), on PostgreSQL too: use the ``db_url`` fixture (or ``app_env``/``client``,
which build on it). The schema always comes from the Alembic migrations.

Isolation: SQLite tests get a fresh copy of a migrated template file; PostgreSQL tests share one
migrated database per xdist worker and every table a test wrote to is emptied after it.
"""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, exists, literal, select, text, union_all
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
FACES = SHARED / "faces"

# Settings for every test run; set before the app is imported anywhere.
os.environ.setdefault("SKILLTRACE_ENV", "test")
os.environ.setdefault("SKILLTRACE_SECRET_KEY", "test-secret-key-" + "x" * 32)
os.environ.setdefault("SKILLTRACE_LOG_LEVEL", "WARNING")
# Face analysis in the request thread: spawning a process pool per test app would dominate the
# run time. The pool itself has its own tests.
os.environ.setdefault("SKILLTRACE_FACE_WORKERS", "0")
# Tests sweep roll-calls explicitly, on their own clock.
os.environ.setdefault("SKILLTRACE_ROLLCALL_SWEEP_INTERVAL_S", "0")
os.environ.setdefault("SKILLTRACE_FACE_INDEX_REFRESH_INTERVAL_S", "0")  # loaded by the search
# Nothing is sent in the background: webhook tests deliver explicitly, to local receivers.
os.environ.setdefault("SKILLTRACE_WEBHOOK_DELIVERY_INTERVAL_S", "0")
# Every TestClient request comes from the address "testclient": the per-address limits on
# failed logins, registrations and hand-off codes (app/accounts/throttle.py) would trip in
# tests that try many on purpose (schemathesis). Their own tests set them low.
for _limit in ("LOGIN_IP_MAX_FAILURES", "REGISTER_IP_MAX", "HANDOFF_IP_MAX_FAILURES"):
    os.environ.setdefault(f"SKILLTRACE_{_limit}", "1000000")

PG_URL = os.environ.get("SKILLTRACE_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("SKILLTRACE_REQUIRE_POSTGRES") == "1"

BACKENDS = ["sqlite", "postgres"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL or not REQUIRE_PG:
        return
    raise pytest.UsageError(
        "SKILLTRACE_REQUIRE_POSTGRES=1 but SKILLTRACE_TEST_POSTGRES_URL is not set"
    )


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.migrate import upgrade

    path = tmp_path_factory.mktemp("tpl") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_worker_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set SKILLTRACE_TEST_POSTGRES_URL)")
    from app.migrate import upgrade

    name = f"skilltrace_test_{_worker()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(_pg(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_pg(PG_URL)).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    from app.db import dispose_engines

    dispose_engines()
    if url in _cleaners:
        _cleaners.pop(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


_cleaners: dict[str, Engine] = {}


def _empty_all(url: str) -> None:
    """Empty every table a test wrote to, as a freshly migrated database has them.

    One query finds the tables holding rows; only those are emptied (``DELETE``, children
    first): ``TRUNCATE`` of all ~60 tables made new files for each of them and their indexes
    after every test (0.3-1 s, most of it for tables the test never touched)."""
    from sqlmodel import Session

    from app.models import metadata
    from app.programmes import regions

    engine = _cleaners.get(url)
    if engine is None:
        engine = _cleaners[url] = create_engine(url, poolclass=NullPool)
    tables = metadata.sorted_tables
    probe = union_all(
        *(select(literal(i)).where(exists().select_from(t)) for i, t in enumerate(tables))
    )
    with engine.begin() as conn:
        written = {row[0] for row in conn.execute(probe)}
        for i in sorted(written, reverse=True):
            conn.execute(delete(tables[i]))
        # Sequences a test used (none of the tables has one today) start again, as TRUNCATE
        # ... RESTART IDENTITY did.
        for (name,) in conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE last_value IS NOT NULL")
        ).all():
            conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
    # What the migrations themselves seed comes back, as in a freshly migrated database (the
    # SQLite side copies one): the national root region (migration 0018).
    with Session(engine) as session:
        regions.ensure_root(session)
        session.commit()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_worker_url")
        yield url
        from app.db import dispose_engines

        dispose_engines()
        _empty_all(url)


@pytest.fixture
def clock() -> Iterator[object]:
    from app import clock as clock_mod

    frozen = clock_mod.FrozenClock()
    previous = clock_mod.get_clock()
    clock_mod.set_clock(frozen)
    yield frozen
    clock_mod.set_clock(previous)


@pytest.fixture
def app_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the settings at the test database and a private data dir."""
    from app.config import get_settings
    from app.db import dispose_engines

    monkeypatch.setenv("SKILLTRACE_DATABASE_URL", db_url)
    monkeypatch.setenv("SKILLTRACE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield db_url
    dispose_engines()
    get_settings.cache_clear()


@pytest.fixture
def engine(app_env: str) -> object:
    from app.db import get_engine

    return get_engine()


@pytest.fixture
def client(app_env: str) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(autouse=True, scope="session")
def _wired() -> None:
    """The cross-domain reactions, wired as create_app() and the CLI wire them (app/wiring.py):
    tests that call the services directly see what the app does."""
    from app.wiring import wire

    wire()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A local S3 stand-in (moto's server, in a thread of this process; no network): the
    endpoint URL. Each test makes its own bucket (:func:`s3_bucket`)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


S3_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def new_s3_bucket(endpoint: str) -> str:
    import boto3

    bucket = f"skilltrace-{uuid.uuid4().hex[:16]}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **S3_KEYS)
    client.create_bucket(Bucket=bucket)
    return bucket


@functools.cache
def node_keys() -> dict[str, str]:
    """The signing keys (PEM) every app node on a bucket is configured with (app/keys.py): the
    ``SKILLTRACE_*_SIGNING_KEY_PEM`` variables, made once per test run."""
    from app.keys import new_node_keys

    return new_node_keys()


def use_s3(monkeypatch: pytest.MonkeyPatch, endpoint: str, bucket: str, prefix: str = "") -> None:
    """Point the settings at a bucket of the stand-in (``SKILLTRACE_STORAGE=s3``), with the
    signing keys configured as such nodes need them (they share no data dir)."""
    from app.config import get_settings

    for name, value in node_keys().items():
        monkeypatch.setenv(name, value)

    monkeypatch.setenv("SKILLTRACE_STORAGE", "s3")
    monkeypatch.setenv("SKILLTRACE_S3_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("SKILLTRACE_S3_BUCKET", bucket)
    monkeypatch.setenv("SKILLTRACE_S3_REGION", "us-east-1")
    monkeypatch.setenv("SKILLTRACE_S3_PREFIX", prefix)
    monkeypatch.setenv("SKILLTRACE_S3_ACCESS_KEY_ID", S3_KEYS["aws_access_key_id"])
    monkeypatch.setenv("SKILLTRACE_S3_SECRET_ACCESS_KEY", S3_KEYS["aws_secret_access_key"])
    get_settings.cache_clear()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, app_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The app's file store on each kind: the data dir, and a fresh bucket (under a key prefix)
    of the S3 stand-in. Name it before ``client`` so the app starts on it."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        use_s3(monkeypatch, endpoint, new_s3_bucket(endpoint), prefix="node-shared/")
    return str(request.param)
