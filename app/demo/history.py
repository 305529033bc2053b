"""Each studying learner's history: sittings (a simulated check-in, heartbeats, roll-calls
passed, failed, missed or sent to review and decided later), the quiz (failed papers retried),
certificates issued and some revoked; and the fraud report's planted patterns (a class that
fails and misses its roll-calls, an agent checking in learner after learner from one address)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlmodel import Session

from app import clock
from app.accounts.models import User
from app.accounts.principal import Principal
from app.attendance import simulation
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.certificates import service as certificates
from app.courses import heartbeat as heartbeats
from app.courses import quiz
from app.courses import rollcall as rollcalls
from app.courses import sessions as studies
from app.courses.models import Course, Enrollment, RollCall, RollCallStatus, StudySession
from app.demo.timeline import Timeline
from app.errors import DomainError

#: Learners with a simulated study history (check-ins, heartbeats, roll-calls); the others
#: are enrolled and waiting to activate their accounts (see app/demo/__init__.py).
HISTORY_LEARNERS = 24
#: The course whose learners fail and miss their roll-calls (the fraud report's "roll-call
#: rate" finding).
_SLACK_COURSE = "中式面点师（五级/初级工）"
#: One address shared by several learners' check-ins on the same days: the fraud report's
#: "crowded address" pattern (an agent studying for others).
_AGENT_IP = "113.87.160.23"


@dataclass
class _Learner:
    user: User
    clerk: Principal
    ip: str
    #: Chance that a roll-call is failed / missed / sent to review.
    fail: float = 0.03
    miss: float = 0.04
    review: float = 0.03
    #: Planted: the learner's first roll-call goes to review, so the demo always has one to
    #: decide. The roll-call moments are the app's random, not the seed's: at 3 % of the ~130
    #: roll-calls a history draws, about one run in fifty had no review (CI drew one).
    review_first: bool = False


#: The longest a simulated quiz takes (it answers in 6-25 minutes).
_QUIZ_LENGTH = timedelta(minutes=30)

#: A passing simulated match (SFace cosine similarity, above the accept threshold).
_MATCH = (0.58, 0.82)


def _face(
    session: Session,
    who: _Learner,
    enrollment: Enrollment,
    purpose: Purpose,
    outcome: Outcome,
    distance: float | None,
    reason_code: str | None = None,
) -> AttendanceEvent:
    """A simulated face check of the learner, at their institution, from their address."""
    return simulation.record(
        session,
        who.user,
        purpose=purpose,
        outcome=outcome,
        reason_code=reason_code,
        distance=distance,
        institution_id=enrollment.institution_id,
        client_ip=who.ip,
    )


def _study(
    session: Session,
    rng: random.Random,
    who: _Learner,
    enrollment: Enrollment,
    course: Course,
    minutes: int,
    timeline: Timeline,
    *,
    last: bool = False,
) -> None:
    """One sitting: a simulated check-in, a heartbeat every interval, the roll-calls offered
    answered (mostly passed), the session ended by the learner or by a failed roll-call; after
    the ``last`` one the learner tries the quiz."""
    user = who.user
    ev = _face(session, who, enrollment, Purpose.checkin, Outcome.passed, rng.uniform(*_MATCH))
    study = studies.open_after_checkin(session, user, enrollment, course, ev)
    end = clock.now() + timedelta(minutes=minutes)
    step = course.heartbeat_interval_s
    frozen = timeline.frozen
    while clock.now() < end:
        frozen.advance(step)
        r = heartbeats.heartbeat(session, user, study.id, visible=rng.random() > 0.02)
        if r.rollcall is None:
            continue
        roll = rng.random()
        planted, who.review_first = who.review_first, False
        if not planted and roll < who.miss:
            # Never answered: the next heartbeat after the deadline says so.
            frozen.set(r.rollcall.deadline + timedelta(seconds=step))
            heartbeats.heartbeat(session, user, study.id, visible=True)
            break
        frozen.advance(rng.randint(8, 40))
        rc = session.get(RollCall, r.rollcall.id)
        fresh = session.get(StudySession, study.id, populate_existing=True)
        if rc is None or fresh is None:  # pragma: no cover - offered a moment ago
            raise RuntimeError("the roll-call just offered is gone")
        if not planted and roll < who.miss + who.fail:
            # Someone else at the camera: every chance fails (a roll-call allows MAX_ATTEMPTS).
            for _ in range(rollcalls.MAX_ATTEMPTS):
                reason = rng.choice(("face_mismatch", "face_mismatch", "no_face"))
                distance = rng.uniform(0.05, 0.3) if reason == "face_mismatch" else None
                event = _face(
                    session, who, enrollment, Purpose.rollcall, Outcome.failed, distance, reason
                )
                rollcalls.settle_rollcall(session, fresh, rc, event)
                if rc.status is not RollCallStatus.pending:
                    break
                frozen.advance(rng.randint(8, 20))
            break
        if planted or roll < who.miss + who.fail + who.review:
            distance = rng.uniform(0.41, 0.49)
            event = _face(
                session,
                who,
                enrollment,
                Purpose.rollcall,
                Outcome.review,
                distance,
                "uncertain_match",
            )
            rollcalls.settle_rollcall(session, fresh, rc, event)
            approve = rng.random() < 0.7
            timeline.at(
                clock.now() + timedelta(hours=rng.uniform(2, 30)),
                partial(_decide, session, who.clerk, event.id, approve),
            )
            break
        distance = rng.uniform(*_MATCH)
        event = _face(session, who, enrollment, Purpose.rollcall, Outcome.passed, distance)
        rollcalls.settle_rollcall(session, fresh, rc, event)
    studies.end_session(session, user, study.id)
    if last:
        timeline.at(
            timeline.clear_of(clock.now() + timedelta(days=rng.uniform(0.5, 3)), _QUIZ_LENGTH),
            lambda: _take_quiz(session, rng, who, enrollment, course, timeline),
        )


def _take_quiz(
    session: Session,
    rng: random.Random,
    who: _Learner,
    enrollment: Enrollment,
    course: Course,
    timeline: Timeline,
    tries: int = 1,
) -> None:
    """The quiz behind a simulated quiz-gate check (only when the course's rule lets the
    learner start: otherwise nothing is recorded); a failed paper is tried again days later;
    a passed one completes the enrolment and staff issue the certificate the next day."""
    user = who.user
    try:
        with session.begin_nested():
            distance = rng.uniform(*_MATCH)
            ev = _face(session, who, enrollment, Purpose.quiz, Outcome.passed, distance)
            attempt = quiz.start_after_check(session, user, enrollment.id, ev)
    except DomainError:  # not yet allowed (time short, attempts used): nothing happened
        return
    timeline.frozen.advance(rng.randint(6 * 60, min(25 * 60, course.quiz_time_limit_s - 60)))
    skill = rng.uniform(0.55, 0.98)
    if tries == 1:
        # Every fourth learner's first paper is a weak one (and fails): the history always
        # shows failed and retried quizzes, however its random parts fall.
        timeline.first_papers += 1
        if timeline.first_papers % 4 == 1:
            skill = rng.uniform(0.1, 0.3)
    answers: dict[str, list[int]] = {}
    for item in attempt.paper:
        right = list(item["answer"])
        answers[item["question_id"]] = right if rng.random() < skill else [0 if right != [0] else 1]
    result = quiz.submit(session, user, attempt.id, answers)
    if result.completed_now:
        timeline.at(
            clock.now() + timedelta(hours=rng.uniform(18, 40)),
            lambda: _certify(session, timeline, who, enrollment),
        )
    elif not result.attempt.passed and tries < course.quiz_max_attempts:
        timeline.at(
            timeline.clear_of(clock.now() + timedelta(days=rng.uniform(1, 5)), _QUIZ_LENGTH),
            lambda: _take_quiz(session, rng, who, enrollment, course, timeline, tries + 1),
        )


#: Revoked certificates: every this many issued, one (the reason staff wrote).
_REVOKE_EVERY = 7


def _certify(session: Session, timeline: Timeline, who: _Learner, enrollment: Enrollment) -> None:
    cert = certificates.issue(session, who.clerk, enrollment.id)
    timeline.issued += 1
    if timeline.issued % _REVOKE_EVERY == 0:
        certificates.revoke(
            session,
            who.clerk,
            cert.serial,
            "复核发现部分学时由他人代学（同一设备多人签到），撤销证书并退回补贴",
        )


def _decide(session: Session, clerk: Principal, event_id: uuid.UUID, approve: bool) -> None:
    from app.attendance import review

    review.review(
        session,
        clerk,
        event_id,
        approve=approve,
        reason="核对学习记录与本人照片，确认为本人学习" if approve else "画面中不是本人，不予认定",
    )


def plan_history(
    session: Session,
    rng: random.Random,
    n: int,
    user: User,
    clerk: Principal,
    enrollment: Enrollment,
    course: Course,
    timeline: Timeline,
    agent_at: datetime | None,
) -> None:
    """Sittings every few days until the required time is (roughly) reached; some learners
    stop halfway (drop-outs); a few are the fraud report's planted patterns."""
    who = _Learner(user, clerk, ip=f"183.{14 + n % 7}.{rng.randint(1, 254)}.{rng.randint(1, 254)}")
    who.review_first = n == 0
    target = course.required_minutes * (rng.uniform(0.3, 0.7) if n % 6 == 5 else 1.25)
    if course.title == _SLACK_COURSE:  # planted: a class that fails and misses its roll-calls
        # 80 % bad: far enough above the indicator's 50 % that the roll-call timing (drawn by the
        # app, not this seed's rng) never leaves it below (at 0.3 + 0.3 it fell to 48 % of 29).
        who.fail, who.miss, target = 0.4, 0.4, course.required_minutes * 1.6
    day = clock.now() + timedelta(days=rng.uniform(1, 4))
    planned = 0
    while planned < target:
        minutes = rng.randint(25, 50)
        hour = rng.choice((9, 10, 14, 15, 19, 20))  # UTC+8 daytime and evening
        sit = day.astimezone(clock.SHANGHAI).replace(hour=hour, minute=rng.randint(0, 50))
        # The slack course's learners break off early and come back more often.
        planned += min(minutes, 12) if who.fail >= 0.3 else minutes
        timeline.at(
            # The sitting's minutes, with room for roll-calls answered or missed at its end.
            timeline.clear_of(sit.astimezone(UTC), timedelta(minutes=minutes + 15)),
            partial(
                _study,
                session,
                rng,
                who,
                enrollment,
                course,
                minutes,
                timeline,
                last=planned >= target,
            ),
        )
        day += timedelta(days=rng.uniform(1, 6))
    if agent_at is not None:
        # Planted: on one evening an agent checks in one learner after another from one
        # address (the fraud report's "crowded address"), a minute each.
        agent = _Learner(user, clerk, ip=_AGENT_IP)
        timeline.at(agent_at, lambda: _study(session, rng, agent, enrollment, course, 1, timeline))
