"""Class filing (开班备案 / 结业备案): filing → approval → completion, return and re-filing,
late filings, the ``class_filed`` subsidy rule in words, and jurisdiction — on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.certificates import subsidy
from app.certificates.models import Certificate
from app.config import get_settings
from app.courses import classes
from app.courses.exceptions import ClassNotFound
from app.courses.models import Course, Enrollment
from app.db import transaction
from app.errors import Forbidden
from app.filing import exceptions as fx
from app.filing import service as filing
from app.filing.models import ClassFiling, FilingKind, FilingStatus
from tests.factories import (
    audit_actions,
    course_row,
    enrollment_row,
    issue,
    make_institution,
    make_learner,
    make_user,
)

T = TypeVar("T")
START = datetime(2026, 3, 2, 1, tzinfo=UTC)  # 09:00 in Shanghai, 2026-03-02


class World:
    """An institution in 深圳市南山区 with a course, a class starting in ten days, its staff,
    the 深圳 regulator and a 广州 one."""

    def __init__(self, engine: Engine, clock: Any, *, starts_in: int = 10) -> None:
        clock.set(START)
        self.engine = engine
        self.clock = clock
        self.inst = make_institution(engine, region="440305", name="南山职业技能培训学校")
        self.staff_user = make_user(engine, Role.staff, self.inst)
        self.reg_user = make_user(engine, Role.regulator, jurisdiction="440300")  # 深圳市
        self.other_user = make_user(engine, Role.regulator, jurisdiction="440100")  # 广州市
        self.course = course_row(engine, self.inst)
        today = date(2026, 3, 2)
        self.klass = self.run(
            classes.create_class,
            "staff",
            self.course.id,
            code="2026-03",
            name="低压电工 2026 年第 3 期",
            starts_on=today + timedelta(days=starts_in),
            ends_on=today + timedelta(days=starts_in + 30),
            capacity=40,
            head_teacher_id=self.staff_user.id,
        )

    def principal(self, s: Session, who: str) -> Principal:
        user = {"staff": self.staff_user, "reg": self.reg_user, "other": self.other_user}[who]
        return Principal.of_user(s.get(User, user.id))  # type: ignore[arg-type]

    def run(self, fn: Callable[..., T], who: str, *args: Any, **kw: Any) -> T:
        with transaction(self.engine) as s:
            return fn(s, self.principal(s, who), *args, **kw)

    def file(self, kind: FilingKind = FilingKind.opening, **kw: Any) -> ClassFiling:
        return self.run(filing.file_class, "staff", self.klass.id, kind=kind, **kw)

    def certificate(self) -> Certificate:
        """A learner of the institution enrolled in the class, completed and certified."""
        learner = make_learner(self.engine, self.inst, real_name="陈晓东")
        e = enrollment_row(self.engine, learner, self.course, filed=False)
        with transaction(self.engine) as s:
            row = s.get(Enrollment, e.id)
            assert row is not None
            row.class_id = self.klass.id
            s.add(row)
        return issue(self.engine, learner, e)

    def decision(self, cert: Certificate) -> subsidy.Decision:
        with Session(self.engine) as s:
            c = s.get(Certificate, cert.id)
            assert c is not None
            return subsidy.decide(s, c)


def rule(d: subsidy.Decision) -> subsidy.RuleResult:
    (r,) = [r for r in d.rules if r.rule == "class_filed"]
    return r


def test_filing_approval_and_completion(engine: Engine, clock: Any) -> None:
    w = World(engine, clock)
    opening = w.file(site="深圳市南山区西丽街道留仙大道 3370 号实训楼", note="首期")
    assert (opening.status, opening.version, opening.days_late) == (FilingStatus.pending, 1, 0)
    assert (opening.due_on, opening.roster_size, opening.capacity) == (date(2026, 3, 12), 0, 40)
    assert opening.class_code == "2026-03" and opening.site and opening.site.startswith("深圳市")
    with pytest.raises(fx.ClassFilingPending):  # one awaits a decision
        w.file()
    with pytest.raises(Forbidden):  # the institution does not approve itself
        w.run(filing.approve, "staff", opening.id)
    with pytest.raises(fx.CompletionNotDue):  # completion: not before 结业
        w.file(FilingKind.completion)
    clock.advance(days=1)
    approved = w.run(filing.approve, "reg", opening.id, note="同意开班")
    assert approved.status is FilingStatus.approved and approved.decision_note == "同意开班"
    with pytest.raises(fx.ClassFilingDecided):
        w.run(filing.return_filing, "reg", opening.id, reason="重复审核")
    with pytest.raises(fx.ClassFilingApproved):
        w.file()
    # training in the approved class counts, and the rule says so in words
    cert = w.certificate()
    d = w.decision(cert)
    assert d.eligible, d.summary()
    assert "人社部门于 2026-03-03 同意" in rule(d).detail_zh
    assert "approved by the regulator on 2026-03-03" in rule(d).detail
    # a second learner enrolled who does not complete
    other = make_learner(engine, w.inst, real_name="刘思远")
    w.run(classes.open_class, "staff", w.klass.id)
    w.run(classes.enrol_learner, "staff", w.klass.id, other.id)
    with pytest.raises(fx.CompletionNotDue):
        w.file(FilingKind.completion)
    clock.set(datetime(2026, 4, 11, 2, tzinfo=UTC))
    w.run(classes.close_class, "staff", w.klass.id)
    clock.advance(days=3)
    done = w.file(FilingKind.completion)
    assert (done.kind, done.status, done.days_late) == (
        FilingKind.completion,
        FilingStatus.pending,
        0,
    )
    assert (done.roster_size, done.completed, done.certified) == (2, 1, 1)
    assert (done.ended_on, done.due_on) == (date(2026, 4, 11), date(2026, 4, 26))
    with Session(engine) as s:
        lines = filing.lines_of(s, s.get(ClassFiling, done.id))  # type: ignore[arg-type]
    # both enrolled at the same (frozen) instant: the roster's order between them is the ids'
    assert sorted(
        (x.learner_name, x.certificate_serial, x.completed_at is not None) for x in lines
    ) == [
        ("刘思远", None, False),
        ("陈晓东", cert.serial, True),
    ]
    w.run(filing.approve, "reg", done.id)
    with Session(engine) as s:
        state = filing.state(s, w.klass)
    assert state.approved and state.completion is not None
    assert state.completion.status is FilingStatus.approved
    assert audit_actions(engine, f"class_filing:{opening.id}") == [
        "class_filing.filed",
        "class_filing.approved",
    ]
    assert audit_actions(engine, f"class_filing:{done.id}") == [
        "class_filing.filed",
        "class_filing.approved",
    ]


def test_returned_then_refiled_each_version_kept(engine: Engine, clock: Any) -> None:
    w = World(engine, clock)
    cert = w.certificate()
    d = w.decision(cert)  # not filed at all
    assert not d.eligible and rule(d).passed is False
    assert "未向人社部门开班备案" in rule(d).detail_zh and "was not filed" in rule(d).detail
    first = w.file()
    d = w.decision(cert)
    assert not d.eligible and "待人社部门审核" in rule(d).detail_zh
    assert "awaits the regulator's approval" in rule(d).detail
    with pytest.raises(fx.InvalidClassFiling):  # a return says why
        w.run(filing.return_filing, "reg", first.id, reason="  ")
    w.run(filing.return_filing, "reg", first.id, reason="未填写线下实操场地")
    d = w.decision(cert)
    assert not d.eligible
    assert "退回" in rule(d).detail_zh and "未填写线下实操场地" in rule(d).detail_zh
    assert "returned" in rule(d).detail and "不符合" in d.summary_zh()
    second = w.file(site="深圳市南山区科技园实训基地")
    assert (second.version, second.status) == (2, FilingStatus.pending)
    w.run(filing.approve, "reg", second.id)
    assert w.decision(cert).eligible
    with Session(engine) as s:
        versions = filing.filings_of_class(s, w.principal(s, "reg"), w.klass.id)
        assert [(v.version, v.status, v.decision_note) for v in versions] == [
            (2, FilingStatus.approved, None),
            (1, FilingStatus.returned, "未填写线下实操场地"),
        ]
    assert audit_actions(engine, f"class_filing:{first.id}") == [
        "class_filing.filed",
        "class_filing.returned",
    ]


def test_self_enrolled_training_outside_a_class_is_not_subsidised(
    engine: Engine, clock: Any
) -> None:
    w = World(engine, clock)
    learner = make_learner(engine, w.inst)
    cert = issue(engine, learner, enrollment_row(engine, learner, w.course, filed=False))
    d = w.decision(cert)
    assert not d.eligible and d.amount_fen == 0
    assert "自主报名" in rule(d).detail_zh and "self-enrolled" in rule(d).detail
    with transaction(engine) as s:
        default = classes.default_class(s, s.get(Course, w.course.id))  # type: ignore[arg-type]
        default_id = default.id
    with pytest.raises(fx.ClassNotFileable):  # the default class has no dates to file
        w.run(filing.file_class, "staff", default_id, kind=FilingKind.opening)
    # certificates issued before filing existed are decided as before
    with transaction(engine) as s:
        c = s.get(Certificate, cert.id)
        assert c is not None
        c.issued_before_class_filing = True
        s.add(c)
    d = w.decision(cert)
    assert d.eligible and "发证早于开班备案要求" in rule(d).detail_zh


def test_late_filings_are_flagged_and_the_setting_decides(
    engine: Engine, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = World(engine, clock, starts_in=-3)  # started three days ago
    late = w.file()
    assert (late.late, late.days_late, late.due_on) == (True, 3, date(2026, 2, 27))
    with Session(engine) as s:
        queue = filing.queue(s, w.principal(s, "reg"), late=True)
        assert [f.id for f in queue] == [late.id]
        assert filing.queue(s, w.principal(s, "reg"), late=False) == []
    w.run(filing.approve, "reg", late.id)
    cert = w.certificate()
    d = w.decision(cert)
    assert d.eligible and "逾期备案" in rule(d).detail_zh and "filed late" in rule(d).detail
    monkeypatch.setenv("SKILLTRACE_CLASS_FILING_LATE_COUNTS", "false")
    get_settings.cache_clear()
    try:
        d = w.decision(cert)
        assert not d.eligible and "逾期开班备案" in rule(d).detail_zh
    finally:
        monkeypatch.delenv("SKILLTRACE_CLASS_FILING_LATE_COUNTS")
        get_settings.cache_clear()
    # a completion filed more than the setting's 15 days after 结业 is late too
    w.run(classes.open_class, "staff", w.klass.id)
    w.run(classes.close_class, "staff", w.klass.id)
    clock.advance(days=20)
    done = w.file(FilingKind.completion)
    assert (done.late, done.days_late) == (True, 5)


def test_another_prefectures_regulator_neither_sees_nor_acts(engine: Engine, clock: Any) -> None:
    w = World(engine, clock)
    f = w.file()
    for act in (
        lambda: w.run(filing.approve, "other", f.id),
        lambda: w.run(filing.return_filing, "other", f.id, reason="越权"),
        lambda: w.run(filing.get_filing, "other", f.id),
    ):
        with pytest.raises(fx.ClassFilingNotFound):
            act()
    with pytest.raises(ClassNotFound):
        w.run(filing.filings_of_class, "other", w.klass.id)
    with Session(engine) as s:
        assert filing.queue(s, w.principal(s, "other")) == []
        assert [x.id for x in filing.queue(s, w.principal(s, "reg"))] == [f.id]
    admin = make_user(engine, Role.admin)
    with transaction(engine) as s, pytest.raises(Forbidden):  # the 人社部门 decides, not admins
        filing.approve(s, Principal.of_user(s.get(User, admin.id)), f.id)  # type: ignore[arg-type]
    stranger = make_user(engine, Role.staff, make_institution(engine))
    with transaction(engine) as s, pytest.raises(ClassNotFound):
        filing.file_class(
            s,
            Principal.of_user(s.get(User, stranger.id)),
            w.klass.id,
            kind=FilingKind.opening,  # type: ignore[arg-type]
        )
    with Session(engine) as s:
        assert s.get(ClassFiling, f.id).status is FilingStatus.pending  # type: ignore[union-attr]
