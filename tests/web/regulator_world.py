"""The regulators' data set (tests/web/test_regulator.py, test_regulator_browser.py): two
institutions, enrolments in two months, certificates (one revoked), a frame shared by two
learners of A and a day over the cap in B; events with real LFW crops as evidence files, stored
as the service stores them."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from typing import Any

import cv2
from sqlalchemy.engine import Engine

from app.accounts.models import Institution, LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.certificates import service as certificates
from app.courses.models import DailyCredit, Level
from app.db import transaction
from tests.face_data import FACES
from tests.factories import (
    course_row,
    enrollment_row,
    issue,
    make_institution,
    make_learner,
    make_user,
)

JAN = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)


FEB = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)


LFW = FACES / "lfw"


def crop_of(person: str, n: int = 0) -> bytes:
    """A face crop of an LFW photo, like the one the service keeps as evidence."""
    img = cv2.imread(str(sorted((LFW / person).iterdir())[n]))
    assert img is not None
    face = cv2.resize(img[60:190, 60:190], (160, 160), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return bytes(buf.tobytes())


def named_institution(engine: Engine, code: str, name: str, region: str) -> Institution:
    return make_institution(engine, code, name=name, region=region)


def learner(engine: Engine, inst: Institution, group: LearnerGroup, name: str) -> User:
    user = make_learner(engine, inst, real_name=name)
    with transaction(engine) as s:
        u = s.get(User, user.id)
        assert u is not None
        u.group = group
        s.add(u)
    return u


def checkin(engine: Engine, user: User, frame: str, person: str, at: datetime) -> uuid.UUID:
    from app.attendance import service as attendance

    with transaction(engine) as s:
        ev = AttendanceEvent(
            user_id=user.id,
            institution_id=user.institution_id,
            purpose=Purpose.checkin,
            outcome=Outcome.passed,
            accept_threshold="0.3800",
            reject_threshold="0.5000",
            model_name="test",
            model_version="0",
            match_metric="euclidean",
            face_engine="test",
            model_sha256="0" * 64,
            best_distance="0.2100",
            frame_sha256=[frame],
            client_ip="198.51.100.7",
            created_at=at,
        )
        attendance._store_evidence(s, ev, crop_of(person))
        s.add(ev)
        s.flush()
        return uuid.UUID(str(ev.id))


class World:
    """Two institutions with figures in January and February 2026, and two fraud cases."""

    def __init__(self, engine: Engine, clock: Any) -> None:
        self.a = named_institution(engine, "NORTH01", "北城职业技能培训学校", "440106")
        self.b = named_institution(engine, "SOUTH02", "南郊家政服务培训中心", "440305")
        ca = course_row(engine, self.a)  # 电工 level4, 1500 yuan
        cb = course_row(
            engine,
            self.b,
            occupation_code="4-10-01-01",
            occupation_name="保育师",
            level=Level.level5,
            subsidy_fen=100_000,
        )
        self.staff_a = make_user(engine, Role.staff, self.a)
        self.staff_b = make_user(engine, Role.staff, self.b)
        self.regulator = make_user(engine, Role.regulator)
        self.a1 = learner(engine, self.a, LearnerGroup.migrant_worker, "周建国")
        self.a2 = learner(engine, self.a, LearnerGroup.unemployed, "吴秀兰")
        self.b1 = learner(engine, self.b, LearnerGroup.migrant_worker, "郑春花")
        self.b2 = learner(engine, self.b, LearnerGroup.college_graduate, "孙晓东")

        clock.set(JAN)
        e = enrollment_row(engine, self.a1, ca)
        self.credit(engine, e.id, date(2026, 1, 10), 600)
        self.cert_valid = issue(engine, self.a1, e).serial
        clock.set(FEB)
        e = enrollment_row(engine, self.a2, ca)
        self.cert_revoked = issue(engine, self.a2, e).serial
        with transaction(engine) as s:
            certificates.revoke(s, Principal.of_user(self.staff_a), self.cert_revoked, "冒名顶替")
        clock.set(JAN)
        e = enrollment_row(engine, self.b1, cb)
        self.b1_enrollment = e.id
        # 9 hours on one day: beyond the course's daily cap of 8 hours.
        self.credit(engine, e.id, date(2026, 1, 12), 9 * 3600)
        issue(engine, self.b1, e)
        clock.set(FEB)
        enrollment_row(engine, self.b2, cb, complete=False)
        # One frame sent by two learners of A.
        frame = hashlib.sha256(b"the same frame").hexdigest()
        self.ev1 = checkin(engine, self.a1, frame, "Adrien_Brody", JAN)
        self.ev2 = checkin(engine, self.a2, frame, "Adrien_Brody", FEB)

    @staticmethod
    def credit(engine: Engine, enrollment_id: uuid.UUID, day: date, seconds: int) -> None:
        with transaction(engine) as s:
            s.add(DailyCredit(enrollment_id=enrollment_id, day=day, ms=seconds * 1000))
