"""Face-gated quizzes: drawing a paper, one submission before the deadline, scoring.

An attempt starts only after a passed face verification (purpose ``quiz``). It draws
``min(quiz_question_count, bank size)`` questions with a cryptographically secure generator, in
random order, with each question's options shuffled (judge questions keep 正确/错误 in place:
two fixed words gain nothing from shuffling and read wrongly reversed). The paper stored on the
attempt is a copy of what was shown — stem, options in the shown order, and the right answers as
shown indexes — so later edits to the bank never change an attempt already started, and the
answers never leave the server.

An attempt accepts exactly one submission, before its deadline; a late one records nothing.
Scoring is all-or-nothing per question; the score is the percent of questions fully right,
rounded down, and passes at ``course.pass_score`` or more.

Concurrency: starting and submitting lock the enrolment row (after the face check, which takes
its own locks), so two requests cannot both pass the attempt limit or both submit.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import User
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.audit import service as audit
from app.courses import progress
from app.courses import service as courses
from app.courses.exceptions import (
    AttemptClosed,
    AttemptLimitReached,
    AttemptNotFound,
    AttemptOpen,
    AttemptTimeUp,
    InvalidAnswers,
    QuizNotOpen,
    QuizUnavailable,
)
from app.courses.models import (
    Course,
    Enrollment,
    Question,
    QuestionKind,
    QuizAttempt,
    QuizOpens,
)
from app.errors import Forbidden

AttemptState = Literal["open", "submitted", "expired"]


@dataclass(frozen=True)
class Submission:
    """What one submission did: the scored attempt and the enrolment it counted towards."""

    attempt: QuizAttempt
    enrollment: Enrollment
    course: Course
    correct: int
    total: int
    #: Whether this submission met the last completion condition.
    completed_now: bool
    #: Attempts the learner may still start after this one.
    attempts_left: int = 0

    def result(self) -> dict[str, Any]:
        """The result as the learner is told it: the submit answer's body, and the body of the
        409 that answers a repeat (a retry after a lost answer shows the same result)."""
        return {
            "attempt_id": str(self.attempt.id),
            "score": self.attempt.score or 0,
            "passed": bool(self.attempt.passed),
            "correct": self.correct,
            "total": self.total,
            "pass_score": self.course.pass_score,
            "quiz_passed": self.enrollment.quiz_passed,
            "completed": self.enrollment.completed_at is not None,
            "attempts_left": self.attempts_left,
        }


def attempt_state(attempt: QuizAttempt, now: datetime | None = None) -> AttemptState:
    """``submitted``, ``expired`` (deadline passed unsubmitted) or ``open``."""
    if attempt.submitted_at is not None:
        return "submitted"
    if (now or clock.now()) > attempt.deadline:
        return "expired"
    return "open"


def shown_questions(attempt: QuizAttempt) -> list[dict[str, Any]]:
    """The paper as the learner sees it: id, kind, stem, options — never the answers."""
    return [
        {
            "id": item["question_id"],
            "kind": item["kind"],
            "stem": item["stem"],
            "options": item["options"],
        }
        for item in attempt.paper
    ]


def _attempts(session: Session, enrollment_id: uuid.UUID) -> list[QuizAttempt]:
    return list(
        session.exec(
            select(QuizAttempt)
            .where(col(QuizAttempt.enrollment_id) == enrollment_id)
            .order_by(col(QuizAttempt.started_at), col(QuizAttempt.id))
        )
    )


def not_open(enrollment: Enrollment, course: Course) -> QuizNotOpen | None:
    """Why the course's rule keeps the quiz closed for this enrolment, or None when it is open.

    ``after_hours``: the verified (credited) minutes must reach the course's required minutes;
    ``any_time``: open from enrolment on. The API and the quiz page both ask this.
    """
    if course.quiz_opens is QuizOpens.any_time:
        return None
    credited = enrollment.credited_seconds // 60
    if enrollment.credited_seconds >= course.required_minutes * 60:
        return None
    return QuizNotOpen(
        f"The quiz opens after {course.required_minutes} verified minutes of study; "
        f"{credited} are done so far.",
        required_minutes=course.required_minutes,
        credited_minutes=credited,
        minutes_short=course.required_minutes - credited,
    )


def attempts_left(session: Session, enrollment: Enrollment, course: Course) -> int:
    """How many more attempts the learner may start (the course's limit less those used)."""
    return max(course.quiz_max_attempts - len(_attempts(session, enrollment.id)), 0)


def _check_can_start(session: Session, enrollment: Enrollment, course: Course) -> int:
    """Refuse a new attempt (open one, quiz not open yet, limit, empty bank); returns the bank
    size."""
    now = clock.now()
    attempts = _attempts(session, enrollment.id)
    for a in attempts:
        if attempt_state(a, now) == "open":
            raise AttemptOpen(attempt_id=str(a.id), deadline=audit.format_time(a.deadline))
    closed = not_open(enrollment, course)
    if closed is not None:
        raise closed
    if len(attempts) >= course.quiz_max_attempts:
        raise AttemptLimitReached(
            f"All {course.quiz_max_attempts} quiz attempts for this course have been used.",
            max_attempts=course.quiz_max_attempts,
        )
    bank = int(
        session.exec(
            select(func.count()).select_from(Question).where(col(Question.course_id) == course.id)
        ).one()
    )
    if bank == 0:
        raise QuizUnavailable()
    return bank


def _draw(session: Session, course: Course) -> list[dict[str, Any]]:
    rng = secrets.SystemRandom()
    bank = list(session.exec(select(Question).where(col(Question.course_id) == course.id)))
    chosen = rng.sample(bank, k=min(course.quiz_question_count, len(bank)))
    paper: list[dict[str, Any]] = []
    for q in chosen:
        order = list(range(len(q.options)))
        if q.kind is not QuestionKind.judge:
            rng.shuffle(order)
        shown_of = {original: shown for shown, original in enumerate(order)}
        paper.append(
            {
                "question_id": str(q.id),
                "order": order,
                "kind": q.kind.value,
                "stem": q.stem,
                "options": [q.options[i] for i in order],
                "answer": sorted(shown_of[i] for i in q.answer),
            }
        )
    return paper


def start_attempt(
    session: Session,
    user: User,
    enrollment_id: uuid.UUID,
    *,
    challenge_id: uuid.UUID,
    frames: Sequence[bytes],
    client: attendance.ClientInfo = attendance.ClientInfo(),
) -> QuizAttempt:
    """Verify the learner's face (purpose ``quiz``), then draw a paper with a deadline.

    Only the enrolment's learner starts an attempt. Refusals that need no face check come first
    (an open attempt: 409 ``attempt_open`` with its id; 409 ``quiz_not_open`` while the course's
    rule waits for the required minutes; 409 ``attempt_limit_reached``), so no challenge is
    spent on them. A face check that does not pass raises 403 ``face_mismatch``
    and keeps its attendance event.
    """
    principal = Principal.of_user(user)
    enrollment = courses.get_enrollment_for(session, principal, enrollment_id)
    if enrollment.user_id != user.id:
        raise Forbidden("Only the enrolled learner takes the quiz.")
    course = courses.course_of(session, enrollment)
    _check_can_start(session, enrollment, course)
    event = attendance.verify(
        session,
        user,
        challenge_id=challenge_id,
        frames=frames,
        purpose=Purpose.quiz,
        institution_id=enrollment.institution_id,
        client=client,
    )
    if event.outcome is not Outcome.passed:
        raise attendance.refusal(event)
    return start_after_check(session, user, enrollment_id, event)


def start_after_check(
    session: Session, user: User, enrollment_id: uuid.UUID, event: AttendanceEvent
) -> QuizAttempt:
    """Draw the paper a passed quiz-gate check ``event`` allows: the part of
    :func:`start_attempt` after the face decision (the demo's simulated history,
    app/attendance/simulation.py, comes in here with its recorded decision)."""
    if event.outcome is not Outcome.passed or event.purpose is not Purpose.quiz:
        raise attendance.refusal(event)
    principal = Principal.of_user(user)
    # Check again under the row lock: a concurrent start may have won while we verified.
    enrollment = courses.get_enrollment_for(session, principal, enrollment_id, for_update=True)
    course = courses.course_of(session, enrollment)
    _check_can_start(session, enrollment, course)
    now = clock.now()
    attempt = QuizAttempt(
        enrollment_id=enrollment.id,
        user_id=user.id,
        attendance_event_id=event.id,
        started_at=now,
        deadline=now + timedelta(seconds=course.quiz_time_limit_s),
        paper=_draw(session, course),
    )
    session.add(attempt)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="quiz.attempt_started",
        subject=f"quiz_attempt:{attempt.id}",
        payload={
            "enrollment": str(enrollment.id),
            "attendance_event": str(event.id),
            "questions": [item["question_id"] for item in attempt.paper],
            "deadline": audit.format_time(attempt.deadline),
        },
        institution_id=enrollment.institution_id,
    )
    return attempt


def get_attempt(session: Session, principal: Principal, attempt_id: uuid.UUID) -> QuizAttempt:
    """An attempt whose enrolment the caller may see (the learner, staff, regulators); else 404."""
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None:
        raise AttemptNotFound()
    enrollment = session.get(Enrollment, attempt.enrollment_id)
    if enrollment is None or not courses.can_see_enrollment(principal, enrollment):
        raise AttemptNotFound()
    return attempt


def list_attempts(
    session: Session, principal: Principal, enrollment_id: uuid.UUID
) -> list[QuizAttempt]:
    """Attempts of an enrolment the caller may see, oldest first."""
    enrollment = courses.get_enrollment_for(session, principal, enrollment_id)
    return _attempts(session, enrollment.id)


def _checked_answers(
    attempt: QuizAttempt, answers: Mapping[str, Sequence[int]]
) -> dict[str, list[int]]:
    paper = {item["question_id"]: item for item in attempt.paper}
    out: dict[str, list[int]] = {}
    for key, chosen in answers.items():
        try:
            qid = str(uuid.UUID(key))
        except (ValueError, AttributeError, TypeError):
            raise InvalidAnswers(f"{key!r} is not a question id.") from None
        item = paper.get(qid)
        if item is None or qid in out:
            raise InvalidAnswers(f"Question {qid} is not on this paper (or is named twice).")
        n = len(item["options"])
        picks = list(chosen)
        if any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n for i in picks):
            raise InvalidAnswers(f"Question {qid} has options 0 to {n - 1}.", question_id=qid)
        if len(set(picks)) != len(picks):
            raise InvalidAnswers(f"An option of question {qid} is chosen twice.", question_id=qid)
        if item["kind"] != QuestionKind.multiple.value and len(picks) > 1:
            raise InvalidAnswers(f"Question {qid} takes one answer.", question_id=qid)
        out[qid] = sorted(picks)
    return out


def _correct(attempt: QuizAttempt, given: Mapping[str, Sequence[int]]) -> int:
    """How many of the paper's questions ``given`` answers fully right."""
    return sum(
        1
        for item in attempt.paper
        if list(given.get(item["question_id"], ())) == sorted(item["answer"])
    )


def submit(
    session: Session,
    user: User,
    attempt_id: uuid.UUID,
    answers: Mapping[str, Sequence[int]],
) -> Submission:
    """Score the one submission of an attempt; update the enrolment and its completion.

    Refuses a second submission (409 ``attempt_closed`` with the first one's result, so a retry
    after a lost answer can show it) or one after the deadline (409 ``attempt_closed``, recording
    nothing), answers naming questions not on the paper or options that do not exist (422
    ``invalid_answers``), and any attempt but the caller's own (404 ``attempt_not_found``).
    """
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise AttemptNotFound()
    principal = Principal.of_user(user)
    # Lock order: enrolment, then (implicitly, by reloading) the attempt.
    enrollment = courses.get_enrollment_for(
        session, principal, attempt.enrollment_id, for_update=True
    )
    attempt = session.get(QuizAttempt, attempt_id, populate_existing=True)
    if attempt is None:  # pragma: no cover - attempts are never deleted
        raise AttemptNotFound()
    now = clock.now()
    course = courses.course_of(session, enrollment)
    if attempt.submitted_at is not None:
        given = attempt.answers or {}
        first = Submission(
            attempt,
            enrollment,
            course,
            _correct(attempt, given),
            len(attempt.paper),
            completed_now=False,
            attempts_left=attempts_left(session, enrollment, course),
        )
        raise AttemptClosed("This quiz attempt was already submitted.", **first.result())
    if now > attempt.deadline:
        raise AttemptTimeUp(
            "Time ran out for this quiz attempt (deadline "
            f"{audit.format_time(attempt.deadline)}); the answers were not recorded.",
            deadline=audit.format_time(attempt.deadline),
        )
    given = _checked_answers(attempt, answers)
    correct = _correct(attempt, given)
    total = len(attempt.paper)
    score = (100 * correct) // total if total else 0
    passed = score >= course.pass_score
    attempt.submitted_at = now
    attempt.answers = given
    attempt.score = score
    attempt.passed = passed
    session.add(attempt)
    enrollment.quiz_passed = enrollment.quiz_passed or passed
    enrollment.best_quiz_score = max(score, enrollment.best_quiz_score or 0)
    session.add(enrollment)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="quiz.attempt_submitted",
        subject=f"quiz_attempt:{attempt.id}",
        payload={
            "enrollment": str(enrollment.id),
            "score": score,
            "passed": passed,
            "correct": correct,
            "total": total,
            "pass_score": course.pass_score,
            "answers": given,
        },
        institution_id=enrollment.institution_id,
    )
    completed = progress.refresh_completion(session, enrollment, course, principal.actor)
    left = attempts_left(session, enrollment, course)
    return Submission(attempt, enrollment, course, correct, total, completed, left)
