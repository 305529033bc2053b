"""`skilltrace seed-demo`: a realistic platform seeded through the services into an empty
development database (every audit chain verifies), refused anywhere else."""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.accounts import idcard
from app.accounts.models import Institution, LearnerGroup, Role, User
from app.audit import service as audit
from app.certificates.models import Certificate
from app.cli import app
from app.config import get_settings
from app.courses.models import Course, CourseStatus, Enrollment, Question
from app.crypto import decrypt
from app.db import dispose_engines
from app.migrate import upgrade
from app.programmes.models import StandardStatus, SubsidyStandard
from tests.conftest import PG_URL, _pg

runner = CliRunner()
#: One worker seeds once per backend and runs every test that reads the seed.
pytestmark = pytest.mark.xdist_group("demo")


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


@dataclass
class Seed:
    """One real ``skilltrace seed-demo`` run into an empty database: where it left its data
    (the migrated database, the data dir with the signing keys it made) and what it printed."""

    database: str  # SQLite: the file; PostgreSQL: the database's name
    data_dir: Path
    result: Result


@pytest.fixture(scope="session")
def demo_seeds(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Seed]]:
    """The demo seeded once per backend and worker (10-22 s each), for the tests that read a
    seeded platform: each gets its own copy (:func:`seeded`), never the seed itself."""
    seeds: dict[str, Seed] = {}
    admin: Engine | None = None

    def seed_for(backend: str) -> Seed:
        nonlocal admin
        if backend in seeds:
            return seeds[backend]
        where = tmp_path_factory.mktemp(f"demo-{backend}")
        if backend == "sqlite":
            database = str(where / "demo.db")
            shutil.copyfile(request.getfixturevalue("sqlite_template"), database)
            url = f"sqlite:///{database}"
        else:
            database = f"skilltrace_demo_{uuid.uuid4().hex[:10]}"
            admin = admin or create_engine(_pg(PG_URL), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
            url = make_url(_pg(PG_URL)).set(database=database).render_as_string(False)
            upgrade(url)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SKILLTRACE_DATABASE_URL", url)
            mp.setenv("SKILLTRACE_DATA_DIR", str(where / "data"))
            get_settings.cache_clear()
            try:
                result = cli("seed-demo")
            finally:
                dispose_engines()  # a template database takes no connections
        get_settings.cache_clear()
        seeds[backend] = Seed(database, where / "data", result)
        return seeds[backend]

    yield seed_for
    if admin is not None:
        with admin.connect() as conn:
            for seed in seeds.values():
                if not seed.database.endswith(".db"):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{seed.database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def seeded(
    request: pytest.FixtureRequest,
    demo_seeds: Callable[[str], Seed],
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Engine]:
    """This test's own copy of the seeded demo on its backend (the SQLite file and data dir
    copied; PostgreSQL: ``CREATE DATABASE … TEMPLATE``), behind the settings and ``engine``."""
    seed = demo_seeds("sqlite" if db_url.startswith("sqlite") else "postgres")
    r = seed.result
    assert r.exit_code == 0, (r.stderr, r.exception)
    assert "demo logins" in r.stderr and "regulator-gd" in r.stderr
    app_env = request.getfixturevalue("app_env")  # the test's data dir and database settings
    shutil.copytree(seed.data_dir, tmp_path / "data")
    copy = None
    if app_env.startswith("sqlite"):
        shutil.copyfile(seed.database, make_url(app_env).database or "")
    else:
        copy = f"skilltrace_demo_{uuid.uuid4().hex[:10]}"
        admin = create_engine(_pg(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{seed.database}"'))
        monkeypatch.setenv(
            "SKILLTRACE_DATABASE_URL",
            make_url(app_env).set(database=copy).render_as_string(False),
        )
        get_settings.cache_clear()
    yield request.getfixturevalue("engine")
    if copy is not None:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()


def test_seed_demo_refused_on_a_database_with_data(seeded: Engine) -> None:
    with Session(seeded) as s:
        users = len(s.exec(select(User)).all())
    r = cli("seed-demo")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "not empty" in lines[0], r.stderr
    # make run: nothing added, the logins printed, success.
    r = cli("seed-demo", "--keep")
    assert r.exit_code == 0 and "Demo-Learner-2026" in r.stderr
    with Session(seeded) as s:
        assert len(s.exec(select(User)).all()) == users


def test_seed_demo_refused_outside_development(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv("SKILLTRACE_ENV", "production")
    monkeypatch.setenv("SKILLTRACE_SECRET_KEY", "x" * 48)
    get_settings.cache_clear()
    r = cli("seed-demo")
    assert r.exit_code == 1 and "development" in r.stderr
    with Session(engine) as s:
        assert s.exec(select(User)).first() is None


def test_seed_demo_shape(seeded: Engine) -> None:
    with Session(seeded) as s:
        roles = Counter(u.role for u in s.exec(select(User)))
        assert roles[Role.staff] >= 3 and roles[Role.regulator] == 2 and roles[Role.admin] == 1
        assert roles[Role.learner] >= 300
        regulators = {u.jurisdiction_code for u in s.exec(select(User)) if u.role is Role.regulator}
        assert regulators == {"440000", "440300"}  # the province and one prefecture
        insts = s.exec(select(Institution)).all()
        assert len(insts) == 3
        assert {i.region_code[:4] for i in insts if i.region_code} == {"4403", "4401"}
        courses = s.exec(select(Course)).all()
        assert len(courses) == 10 and all(c.status is CourseStatus.published for c in courses)
        assert len({(c.occupation_code, c.level) for c in courses}) == 10
        # the province's standards price every course's occupation and level (courses don't)
        priced = {
            (st.occupation_code, st.level): st.region_code
            for st in s.exec(select(SubsidyStandard))
            if st.status is StandardStatus.in_force
        }
        assert {(c.occupation_code, c.level.value) for c in courses} <= set(priced)
        assert set(priced.values()) == {"440000"}
        issued = s.exec(select(Certificate)).all()
        assert all(c.subsidy_standard_id is not None and c.subsidy_fen > 0 for c in issued)
        for c in courses:
            bank = s.exec(select(Question).where(Question.course_id == c.id)).all()
            assert len(bank) >= c.quiz_question_count
        learners = [u for u in s.exec(select(User)) if u.role is Role.learner]
        assert {u.group for u in learners} == set(LearnerGroup)
        ages = []
        for u in learners:
            assert u.id_number_enc is not None
            number = idcard.parse(decrypt("id_number", u.id_number_enc).decode())
            ages.append(2026 - number.birth_date.year)
        assert min(ages) <= 20 and max(ages) >= 50
        enrolments = s.exec(select(Enrollment)).all()
        assert len(enrolments) >= 300
        assert {e.institution_id for e in enrolments} == {i.id for i in insts}
        days = {e.created_at.date() for e in enrolments}
        assert (max(days) - min(days)).days >= 120  # months of history, not one afternoon


def test_history_replays_and_shows_its_shapes(seeded: Engine) -> None:
    from app.accounts.principal import Principal
    from app.attendance.models import AttendanceEvent, Outcome
    from app.certificates.models import Certificate
    from app.claims.models import BatchStatus, ClaimBatch
    from app.courses.credit import check_ledger
    from app.courses.models import QuizAttempt, RollCall, RollCallStatus
    from app.reports import fraud
    from app.reports import service as reports

    with Session(seeded) as s:
        enrolments = s.exec(select(Enrollment)).all()
        studied = [e for e in enrolments if e.credited_ms > 0]
        assert len(studied) >= 20
        for e in enrolments:  # every enrolment's ledger replays to its stored total
            check = check_ledger(s, e)
            assert check.matches, (e.id, check.stored_seconds, check.recomputed.credited_seconds)
        events = s.exec(select(AttendanceEvent)).all()
        assert len(events) > 200
        # Simulated, and saying so wherever an event is shown (engine, model, liveness mode).
        assert {(e.face_engine, e.model_name, e.liveness["mode"]) for e in events} == {
            ("simulated", "simulated", "simulated")
        }
        assert {e.outcome for e in events} == set(Outcome)
        statuses = Counter(rc.status for rc in s.exec(select(RollCall)))
        assert statuses[RollCallStatus.passed] > statuses[RollCallStatus.failed] > 0
        assert statuses[RollCallStatus.missed] > 0
        assert any(e.review_status is not None and e.reviewed_at for e in events)
        attempts = s.exec(select(QuizAttempt)).all()
        assert {a.passed for a in attempts} == {True, False}
        certs = s.exec(select(Certificate)).all()
        assert len(certs) >= 5 and 0 < sum(c.revoked_at is not None for c in certs) < len(certs)
        batches = s.exec(select(ClaimBatch)).all()
        assert {b.status for b in batches} >= {BatchStatus.paid, BatchStatus.filed}
        # A learner's own application (全程网办), approved and in its public notice today,
        # paid to the learner's card from the programme's own standard.
        from app.claims.models import ClaimApplication, Payee
        from app.claims.reading import learner_claims
        from app.demo.application import ACCOUNT, AMOUNT_FEN

        (applied,) = s.exec(select(ClaimApplication)).all()
        own = s.get_one(ClaimBatch, applied.batch_id)
        assert (own.period_kind, own.payee, own.status) == (
            "application",
            Payee.learner,
            BatchStatus.approved,
        )
        assert applied.account_masked == ACCOUNT[:4] + "*" * 11 + ACCOUNT[-4:]
        learner = s.get_one(User, applied.user_id)
        (claim,) = learner_claims(s, Principal.of_user(learner))
        assert (claim.status, claim.amount_fen, claim.payee) == (
            "in_notice",
            AMOUNT_FEN,
            Payee.learner,
        )
        reg = s.exec(select(User).where(User.username == "regulator-gd")).one()
        report = reports.fraud_report(s, Principal.of_user(reg), fraud.FraudParams())
        fired = {i.code for i in report.indicators if i.findings}
        assert {"crowded_ip", "rollcall_failure_rate"} <= fired
        # Blended training: one offline session run at its station (simulated decisions through
        # the station's own recording step), its minutes replaying from the face events alone.
        from app.courses.models import OfflineAttendance, PracticalAssessment
        from app.courses.offline_records import offline_ledger

        rows = s.exec(select(OfflineAttendance)).all()
        assert len(rows) == 4 and sum(r.checkout_at is None for r in rows) == 1
        assert all(r.credited_ms == 170 * 60_000 for r in rows if r.checkout_at is not None), [
            (r.credited_ms, r.checkin_at, r.checkout_at) for r in rows
        ]
        for r in rows:
            e = s.get(Enrollment, r.enrollment_id)
            assert e is not None and offline_ledger(s, e).matches
        marks = s.exec(select(PracticalAssessment)).all()
        assert sorted(m.passed for m in marks) == [False, True, True]


def test_simulated_decisions_only_while_seeding(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.attendance import simulation
    from app.attendance.models import Outcome, Purpose
    from app.db import transaction
    from tests.factories import make_learner

    learner = make_learner(engine)
    with transaction(engine) as s, pytest.raises(simulation.SimulationRefused):
        simulation.record(s, learner, purpose=Purpose.checkin, outcome=Outcome.passed)
    monkeypatch.setenv("SKILLTRACE_ENV", "production")
    monkeypatch.setenv("SKILLTRACE_SECRET_KEY", "x" * 48)
    get_settings.cache_clear()
    with pytest.raises(simulation.SimulationRefused), simulation.simulating():
        pass


def test_every_audit_chain_verifies(seeded: Engine, tmp_path: Path) -> None:
    r = cli("audit", "public-key")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(r.stdout)
    with Session(seeded) as s:
        codes = [i.code for i in s.exec(select(Institution))]
        chains = audit.chains(s)
    assert len(chains) == len(codes) + 1  # the platform's and one per institution
    for code in [*codes, None]:
        out = tmp_path / f"{code}.ndjson"
        args = ["audit", "export", "-o", str(out)] + (["--institution", code] if code else [])
        r = cli(*args)
        assert r.exit_code == 0, r.stderr
        assert len(out.read_text().splitlines()) > (10 if code else 2)
        r = cli("audit", "verify", str(out), "--jwks", str(jwks))
        assert r.exit_code == 0, r.stdout
        assert json.loads(r.stdout.strip().splitlines()[-1])["ok"] is True


def test_summary_has_rows_per_region_and_institution(seeded: Engine, client: Any) -> None:
    from tests.factories import login

    for username, prefixes in (("regulator-gd", {"4403", "4401"}), ("regulator", {"4403"})):
        h = login(client, username, "Demo-Regulator-2026")
        r = client.get("/api/v1/reports/summary", headers=h)
        assert r.status_code == 200, r.text
        rows = r.json()["rows"]
        assert {row["region_code"][:4] for row in rows} == prefixes
        per_inst = Counter(row["institution_code"] for row in rows)
        assert len(per_inst) == (3 if username == "regulator-gd" else 2)
        assert sum(row["enrolled"] for row in rows) > 0


def test_staff_see_simulated_decisions_marked(seeded: Engine, client: Any) -> None:
    """The staff enrolment page renders every seeded history (it answered 500 once: a merge had
    reverted its check table) and marks a simulated face decision as one."""
    from tests.factories import sign_in

    with Session(seeded) as s:
        e = next(e for e in s.exec(select(Enrollment)) if e.credited_ms > 0)
        inst = s.get(Institution, e.institution_id)
        assert inst is not None
    username = {"DEMO01": "staff", "SZBA01": "staff-baoan", "GZTH01": "staff-gz"}[inst.code]
    assert sign_in(client, username, "Demo-Staff-2026").status_code == 303
    page = client.get(f"/staff/enrollments/{e.id}")
    assert page.status_code == 200 and "模拟" in page.text
    assert 'class="wrap reason"' in page.text  # the explained check table, not the old one
