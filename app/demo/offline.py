"""Blended training in the demo: one offline practical session (线下实训) for the class of the
first learners with a study history, run at its station — each learner checked in and out by a
simulated face decision (recorded as such, app/attendance/simulation.py) through the station's
own recording step, so the attendance rows, credited minutes and audit entries are the ones a
real station writes — and assessed by the instructor (one learner fails and is told why)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from app.accounts.models import User
from app.accounts.principal import Principal
from app.attendance import simulation
from app.attendance.models import Outcome, Purpose
from app.courses import offline, offline_records, offline_station
from app.courses.models import Enrollment
from app.demo.timeline import Timeline

#: How many learners of the class attend; the last of them leaves without checking out.
ATTENDING = 4


@dataclass
class OfflinePlan:
    """The history learners of one class, as they enrol (the first one's class is chosen)."""

    attendees: list[tuple[User, Enrollment]] = field(default_factory=list)
    clerk: Principal | None = None
    class_id: uuid.UUID | None = None

    def add(self, clerk: Principal, learner: User, enrollment: Enrollment) -> None:
        if self.class_id is None:
            self.class_id, self.clerk = enrollment.class_id, clerk
        if enrollment.class_id == self.class_id and len(self.attendees) < ATTENDING:
            self.attendees.append((learner, enrollment))


def plan_offline(session: Session, timeline: Timeline, plan: OfflinePlan, at: datetime) -> None:
    """Schedule the session at ``at`` for the next day, 09:00–12:00 Beijing time; check-in
    at 09:05, check-out at 11:55, assessments at noon."""
    starts = (at + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
    held: dict[str, uuid.UUID] = {}

    def schedule() -> None:
        if plan.clerk is None or plan.class_id is None or plan.clerk.user is None:
            return
        s = offline.schedule_session(
            session,
            plan.clerk,
            plan.class_id,
            title="低压电工实操：照明线路安装与通电测试",
            site_address="深圳市南山区留仙大道 1088 号 实训楼 302 室",
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            capacity=30,
            instructor_id=plan.clerk.user.id,
        )
        held["id"] = s.id

    def station(kind: str, who: list[tuple[User, Enrollment]]) -> None:
        if "id" not in held or plan.clerk is None:
            return
        purpose = Purpose.offline_checkin if kind == "checkin" else Purpose.offline_checkout
        for learner, enrollment in who:
            s = offline.get_session(session, plan.clerk, held["id"], for_update=True)
            event = simulation.record(
                session,
                learner,
                purpose=purpose,
                outcome=Outcome.passed,
                distance=0.62,
                institution_id=enrollment.institution_id,
            )
            offline_station.record_station_event(session, plan.clerk, s, learner, kind, event)

    def assess() -> None:
        if "id" not in held or plan.clerk is None:
            return
        for n, (_, enrollment) in enumerate(plan.attendees[:-1]):
            failed = n == 1
            offline_records.assess(
                session,
                plan.clerk,
                held["id"],
                enrollment.id,
                passed=not failed,
                note="接地线未按规范连接，需复训" if failed else "接线规范，通电测试一次成功",
            )

    timeline.keep_clear(starts, starts + timedelta(hours=3, minutes=5))
    timeline.at(at, schedule)
    timeline.at(starts + timedelta(minutes=5), lambda: station("checkin", plan.attendees))
    timeline.at(starts + timedelta(minutes=175), lambda: station("checkout", plan.attendees[:-1]))
    timeline.at(starts + timedelta(hours=3, minutes=5), assess)
