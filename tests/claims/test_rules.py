"""The claim rules one by one: what a revocation does before payment, an upheld objection,
corrections as new lines, the filing block on overdue recoveries, findings on paid lines only,
jurisdiction of staff."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.certificates import service as certificates
from app.claims import exceptions as cx
from app.claims import service as claims
from app.claims.models import BatchStatus, ClaimBatch, ClaimLine, LineDecision, RecoveryStatus
from app.db import transaction
from tests.factories import (
    certified,
    filing_regulator,
    make_institution,
    make_learner,
    make_user,
)


def clock_date() -> date:
    from app import clock

    return clock.now().astimezone(clock.SHANGHAI).date()


class World:
    def __init__(self, engine: Any, clock: Any, n: int = 2) -> None:
        self.engine = engine
        self.clock = clock
        self.inst = make_institution(engine)
        clock.set(datetime(2026, 5, 6, 2, tzinfo=UTC))
        self.certs = [
            # one occupation per amount: the amount is the regulator's standard for it
            certified(
                engine,
                make_learner(engine, self.inst),
                self.inst,
                subsidy_fen=100_000 * i,
                occupation_code=f"6-31-01-{i:02d}",
            )
            for i in range(1, n + 1)
        ]
        self.staff = Principal.of_user(make_user(engine, Role.staff, self.inst))
        self.reg = Principal.of_user(make_user(engine, Role.regulator))
        clock.set(datetime(2026, 7, 2, 2, tzinfo=UTC))

    def run(self, fn: Any, *args: Any, **kw: Any) -> Any:
        with transaction(self.engine) as s:
            return fn(s, *args, **kw)

    def file(self) -> ClaimBatch:
        return self.run(claims.file_quarter, self.staff, year=2026, quarter=2)

    def lines(self, batch: ClaimBatch) -> list[ClaimLine]:
        with Session(self.engine) as s:
            return claims.lines_of(s, batch)

    def decide(self, line: ClaimLine, decision: LineDecision, reason: str | None = None) -> None:
        self.run(claims.review_line, self.reg, line.id, decision=decision, reason=reason)

    def approve_all(self, batch: ClaimBatch) -> ClaimBatch:
        for line in self.lines(batch):
            self.decide(line, LineDecision.approved)
        return self.run(claims.approve_batch, self.reg, batch.id)

    def revoke(self, i: int) -> None:
        with transaction(self.engine) as s:
            certificates.revoke(s, self.staff, self.certs[i].serial, "虚假培训")

    def pay(self, batch: ClaimBatch, amount: int) -> Any:
        return self.run(
            claims.record_payment,
            self.reg,
            batch.id,
            amount_fen=amount,
            paid_on=clock_date(),
            reference="深财拨〔2026〕7号",
        )

    def batch(self, batch: ClaimBatch) -> ClaimBatch:
        with Session(self.engine) as s:
            got = s.get(ClaimBatch, batch.id)
            assert got is not None
            return got


def test_a_revocation_before_payment_takes_the_line_out(engine: Any, clock: Any) -> None:
    w = World(engine, clock)
    batch = w.approve_all(w.file())
    w.revoke(0)
    with Session(engine) as s:
        first = claims.lines_of(s, batch)[0]
        assert claims.latest_decision(s, first) is LineDecision.rejected
    clock.advance(days=8)
    with pytest.raises(cx.PaymentMismatch) as err:
        w.pay(batch, 300_000)
    assert err.value.extra["expected_fen"] == 200_000
    w.pay(batch, 200_000)
    assert w.batch(batch).status is BatchStatus.paid
    with Session(engine) as s:
        assert claims.list_recoveries(s, w.reg) == []  # nothing was paid for it


def test_revoking_the_only_line_closes_the_batch(engine: Any, clock: Any) -> None:
    w = World(engine, clock, n=1)
    batch = w.approve_all(w.file())
    w.revoke(0)
    assert w.batch(batch).status is BatchStatus.closed
    clock.advance(days=8)
    with pytest.raises(cx.BatchNotPayable):
        w.pay(batch, 0)


def test_an_upheld_objection_rejects_its_line(engine: Any, clock: Any) -> None:
    w = World(engine, clock)
    batch = w.approve_all(w.file())
    second = w.lines(batch)[1]
    objection = w.run(claims.raise_objection, batch.id, text="本人未参训", line_id=second.id)
    w.run(claims.resolve_objection, w.reg, objection.id, upheld=True, resolution="核实未参训")
    with Session(engine) as s:
        assert claims.latest_decision(s, second) is LineDecision.rejected
        assert [n.total_fen for n in claims.current_notices(s)] == [100_000]
    with pytest.raises(cx.ObjectionClosed):
        w.run(claims.resolve_objection, w.reg, objection.id, upheld=False, resolution="x")
    clock.advance(days=7, seconds=1)
    w.pay(batch, 100_000)


def test_corrections_are_new_lines_that_reference_the_old(engine: Any, clock: Any) -> None:
    w = World(engine, clock)
    batch = w.file()
    first, second = w.lines(batch)
    w.decide(first, LineDecision.approved)
    with pytest.raises(cx.InvalidClaimInput):  # only a rejected line can be corrected
        w.run(claims.file_corrections, w.staff, [first.id], "重新申领")
    w.decide(second, LineDecision.rejected, "缺少实操记录")
    fixed = w.run(claims.file_corrections, w.staff, [second.id], "补充实操记录后重新申领")
    (new,) = w.lines(fixed)
    assert new.corrects_line_id == second.id and new.revision == 2
    assert new.certificate_id == second.certificate_id and new.amount_fen == second.amount_fen
    assert fixed.period_kind == "correction" and fixed.reference.endswith("B00002")
    with pytest.raises(cx.InvalidClaimInput):  # corrected once already
        w.run(claims.file_corrections, w.staff, [second.id], "再次申领")
    stored, stored_fix = w.batch(batch), w.batch(fixed)
    with Session(engine) as s:
        assert claims.verify_frozen(s, stored) == []
        assert claims.verify_frozen(s, stored_fix) == []
        assert s.get(ClaimLine, second.id) == second  # the old line as it was


def test_a_changed_line_no_longer_matches_its_hash(engine: Any, clock: Any) -> None:
    w = World(engine, clock)
    batch = w.file()
    with transaction(engine) as s:
        line = claims.lines_of(s, batch)[1]
        line.amount_fen += 1
        s.add(line)
    stored = w.batch(batch)
    with Session(engine) as s:
        assert claims.verify_frozen(s, stored) == [2]


def test_overdue_recoveries_block_filing_when_set(
    engine: Any, clock: Any, monkeypatch: Any
) -> None:
    from app.config import get_settings

    w = World(engine, clock)
    batch = w.approve_all(w.file())
    line = w.lines(batch)[0]
    with pytest.raises(cx.LineNotPaid):  # a finding recovers money paid: none was yet
        w.run(claims.record_finding, w.reg, line.id, reason="代学代考")
    clock.advance(days=8)
    w.pay(batch, 300_000)
    item = w.run(claims.record_finding, w.reg, line.id, reason="代学代考", amount_fen=50_000)
    assert item.amount_fen == 50_000 and item.status is RecoveryStatus.open
    clock.set(datetime(2026, 10, 10, 2, tzinfo=UTC))  # past the 30 days; Q3 certificate
    certified(engine, make_learner(engine, w.inst), w.inst)
    clock.advance(days=1)
    monkeypatch.setenv("SKILLTRACE_CLAIMS_BLOCK_ON_OVERDUE_RECOVERIES", "true")
    get_settings.cache_clear()
    with pytest.raises(cx.FilingBlocked) as err:
        w.run(claims.file_quarter, w.staff, year=2026, quarter=4)
    assert err.value.extra["overdue_recoveries"] == 1
    w.run(
        claims.settle_recovery,
        w.reg,
        item.id,
        outcome=RecoveryStatus.recovered,
        reference="缴款书1",
    )
    assert w.run(claims.file_quarter, w.staff, year=2026, quarter=4).line_count == 1
    get_settings.cache_clear()


def test_staff_see_only_their_own_batches(engine: Any, clock: Any) -> None:
    w = World(engine, clock)
    batch = w.file()
    stranger = Principal.of_user(make_user(engine, Role.staff, make_institution(engine)))
    with Session(engine) as s:
        with pytest.raises(cx.BatchNotFound):
            claims.view(s, stranger, batch.id)
        assert claims.list_batches(s, stranger) == []
        assert [b.id for b in claims.list_batches(s, w.reg)] == [batch.id]
        assert claims.in_jurisdiction(s, w.reg, batch)
    with pytest.raises(cx.LineNotFound):
        w.run(claims.provide_evidence, stranger, w.lines(batch)[0].id, "材料")
    assert w.batch(batch).status is BatchStatus.filed


def test_a_lines_evidence(client: Any, engine: Any, clock: Any) -> None:
    """The regulator's evidence view: the certificate's attendance, the learner's face checks
    during the training (linked), roll-calls and quiz of the enrolment; hidden from others."""
    from app.attendance.models import Outcome, Purpose
    from app.courses.models import QuizAttempt
    from tests.factories import attendance_verdict, login

    w = World(engine, clock, n=1)
    cert = w.certs[0]
    others = [make_learner(engine, w.inst) for _ in range(4)]
    with transaction(engine) as s:
        learner = s.get(type(w.staff.user), cert.user_id)
        clock.set(cert.issued_at)
        event = attendance_verdict(s, learner, Outcome.passed, w.inst)
        # five learners checking in from one address within minutes: crowded_ip names them
        for who in [learner, *others]:
            check = event if who is learner else attendance_verdict(s, who, Outcome.passed, w.inst)
            check.purpose, check.client_ip = Purpose.checkin, "183.62.11.20"
            s.add(check)
        s.add(
            QuizAttempt(
                enrollment_id=cert.enrollment_id,
                user_id=cert.user_id,
                attendance_event_id=event.id,
                started_at=cert.issued_at,
                deadline=cert.issued_at,
                paper=[],
                score=90,
                passed=True,
            )
        )
    clock.set(datetime(2026, 7, 2, 2, tzinfo=UTC))
    (line,) = w.lines(w.file())
    assert w.staff.user is not None and w.reg.user is not None
    r = client.get(
        f"/api/v1/claim-lines/{line.id}/evidence", headers=login(client, w.reg.user.username)
    )
    assert r.status_code == 200, r.text
    ev = r.json()
    assert ev["serial"] == cert.serial and ev["certificate_status"] == "valid"
    assert (ev["credited_minutes"], ev["required_minutes"]) == (60, 60)
    assert (ev["rollcalls_passed"], ev["rollcalls_total"]) == (5, 5)
    assert [f["id"] for f in ev["face_checks"]] == [str(event.id)]
    assert ev["face_checks"][0]["url"] == f"/api/v1/attendance-events/{event.id}"
    assert ev["face_checks"][0]["crop_url"] is None  # no crop kept for this one
    assert [(q["score"], q["passed"]) for q in ev["quiz_attempts"]] == [(90, True)]
    (hit,) = ev["fraud"]
    assert hit["indicator"] == "crowded_ip" and "183.62.11.20" in hit["summary"]
    assert str(event.id) in {e["id"] for e in hit["evidence"]}
    stranger = make_user(engine, Role.staff, make_institution(engine))
    hidden = client.get(
        f"/api/v1/claim-lines/{line.id}/evidence", headers=login(client, stranger.username)
    )
    assert hidden.status_code == 404


def test_a_completed_class_is_claimed_as_one_batch(engine: Any, clock: Any) -> None:
    """Filing by class: only a completed class (结业) of the institution whose completion
    filing (结业备案) the regulator approved, and only the certificates of its roster; the
    regional exchange hears of the opening and the completion."""
    from datetime import timedelta

    from sqlmodel import select

    from app.courses import classes
    from app.courses.models import Enrollment
    from app.exchange.models import ExchangeRecord
    from app.filing import service as filing
    from app.filing.models import FilingKind

    w = World(engine, clock, n=3)
    regulator = filing_regulator(engine)
    assert w.staff.user is not None
    teacher = w.staff.user.id
    first = w.certs[0]
    with transaction(engine) as s:
        course_id = s.get(Enrollment, first.enrollment_id).course_id  # type: ignore[union-attr]
        today = clock_date()
        klass = classes.create_class(
            s,
            w.staff,
            course_id,
            code="2026-07",
            name="低压电工作业 2026 年第 7 期",
            starts_on=today,
            ends_on=today + timedelta(days=30),
            capacity=40,
            head_teacher_id=teacher,
        )
        classes.open_class(s, w.staff, klass.id)
        # filed with the regulator and approved (开班备案): only such training is claimed
        opening = filing.file_class(s, w.staff, klass.id, kind=FilingKind.opening)
        filing.approve(s, Principal.of_user(s.get(User, regulator.id)), opening.id)  # type: ignore[arg-type]
        # the first two certificates' enrolments study in this class; the third elsewhere
        for cert in w.certs[:2]:
            e = s.get(Enrollment, cert.enrollment_id)
            assert e is not None
            e.class_id = klass.id
            s.add(e)
    with pytest.raises(cx.ClassNotClaimable):  # still running
        w.run(claims.file_class, w.staff, klass.id)
    w.run(classes.close_class, w.staff, klass.id)
    stranger = Principal.of_user(make_user(engine, Role.staff, make_institution(engine)))
    with pytest.raises(cx.ClassNotClaimable):
        w.run(claims.file_class, stranger, klass.id)
    # ended, but its completion (结业备案) is not filed, then pending, then returned: refused
    hr = Principal.of_user(regulator)
    with pytest.raises(cx.CompletionNotApproved) as refused:
        w.run(claims.file_class, w.staff, klass.id)
    assert refused.value.extra == {"completion_filing_status": "none"}
    done = w.run(filing.file_class, w.staff, klass.id, kind=FilingKind.completion)
    with pytest.raises(cx.CompletionNotApproved) as refused:
        w.run(claims.file_class, w.staff, klass.id)
    assert refused.value.extra == {"completion_filing_status": "pending"}
    w.run(filing.return_filing, hr, done.id, reason="结业名单与考勤记录不符，请核对")
    with pytest.raises(cx.CompletionNotApproved) as refused:
        w.run(claims.file_class, w.staff, klass.id)
    assert refused.value.extra == {"completion_filing_status": "returned"}
    again = w.run(filing.file_class, w.staff, klass.id, kind=FilingKind.completion)
    w.run(filing.approve, hr, again.id)
    batch = w.run(claims.file_class, w.staff, klass.id)
    assert (batch.period_kind, batch.class_id, batch.year) == ("class", klass.id, None)
    assert [line.serial for line in w.lines(batch)] == [c.serial for c in w.certs[:2]]
    with pytest.raises(cx.NothingToClaim):  # claimed already
        w.run(claims.file_class, w.staff, klass.id)
    # the quarter's filing takes only what is left
    rest = w.file()
    assert [line.serial for line in w.lines(rest)] == [w.certs[2].serial]
    with Session(engine) as s:
        kinds = [
            r.type
            for r in s.exec(
                select(ExchangeRecord).where(ExchangeRecord.subject == f"class:{klass.id}")
            )
        ]
    assert sorted(kinds) == ["class.completed", "class.opened"]
