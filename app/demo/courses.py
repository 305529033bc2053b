"""Seeding the catalogue: the province's subsidy standards, each course with its lessons and
question bank (published), its classes filed with the regulator (开班备案) and opened, and next
term's class waiting in the regulators' queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session

from app import clock
from app.accounts.models import User
from app.accounts.principal import Principal
from app.courses import classes
from app.courses import service as courses
from app.courses.models import Course, CourseClass, QuizOpens
from app.demo.catalogue import COMMON_QUESTIONS, COURSES, CourseSpec
from app.demo.timeline import ProgressFn
from app.filing import service as filing
from app.filing.models import FilingKind
from app.programmes import standards


def seed_standards(session: Session, regulator: User) -> int:
    """The province's subsidy standards for the demo's occupations and levels (the courses'
    amounts are only proposals: certificates are paid from these)."""
    amounts: dict[tuple[str, str, str], int] = {}
    for spec in COURSES:
        key = (spec.code, spec.occupation, spec.level.value)
        amounts[key] = max(amounts.get(key, 0), spec.subsidy_yuan * 100)
    principal = Principal.of_user(regulator)
    for (code, occupation, level), fen in sorted(amounts.items()):
        standards.set_standard(
            session,
            principal,
            occupation_code=code,
            occupation_name=occupation,
            level=level,
            amount_fen=fen,
            effective_from=date(2025, 1, 1),
            note="演示：广东省职业技能培训补贴标准",
        )
    return len(amounts)


@dataclass
class Run:
    spec: CourseSpec
    course: Course
    classes: list[CourseClass]


def seed_courses(
    session: Session,
    staff: dict[str, list[User]],
    frozen: clock.FrozenClock,
    progress: ProgressFn,
    regulator: User,
) -> list[Run]:
    runs: list[Run] = []
    approver = Principal.of_user(regulator)
    for n, spec in enumerate(COURSES):
        progress("课程、题库与班级", n, len(COURSES))
        teacher = staff[spec.inst][0]
        as_staff = Principal.of_user(teacher)
        demo = n == 0
        questions = spec.questions + COMMON_QUESTIONS
        # Both quiz rules show: the course to try out, and every other one, opens its quiz at any
        # time; the rest after the required hours (the default).
        opens = QuizOpens.any_time if demo or n % 2 else QuizOpens.after_hours
        policy = (
            courses.CoursePolicy(
                rollcall_min_interval_s=60,
                rollcall_max_interval_s=120,
                heartbeat_interval_s=10,
                quiz_question_count=len(questions),
                quiz_opens=opens,
            )
            if demo
            else courses.CoursePolicy(
                quiz_question_count=5, heartbeat_interval_s=60, quiz_opens=opens
            )
        )
        course = courses.create_course(
            session,
            as_staff,
            title=spec.title,
            occupation_code=spec.code,
            occupation_name=spec.occupation,
            level=spec.level,
            required_minutes=spec.minutes,
            pass_score=60,
            subsidy_fen=spec.subsidy_yuan * 100,
            description=(
                "演示课程：点名间隔较短，便于体验签到、随机点名与考试。"
                if demo
                else f"{spec.occupation}职业技能培训，按《国家职业技能标准》组织教学，"
                f"学时达标并考试合格后颁发培训合格证书，可申领职业技能培训补贴。"
            ),
            policy=policy,
        )
        # The lessons share the course's minutes (the first ones take the remainder): they add
        # up to exactly what the course requires, as publishing checks.
        each, extra = divmod(spec.minutes, len(spec.lessons))
        for i, (title, body) in enumerate(spec.lessons):
            courses.add_lesson(
                session,
                as_staff,
                course.id,
                title=title,
                kind="text",
                body_or_url=body,
                minutes=max(1, each + (1 if i < extra else 0)),
            )
        for kind, stem, options, answer in questions:
            courses.add_question(
                session,
                as_staff,
                course.id,
                kind=kind,
                stem=stem,
                options=list(options),
                answer=list(answer),
            )
        courses.publish_course(session, as_staff, course.id)
        today = clock.now().astimezone(clock.SHANGHAI).date()
        kls: list[CourseClass] = []
        if not demo:  # the live-demo course keeps its default class (self-enrolment)
            for term, offset in ((1, 0), (2, 60)):
                klass = classes.create_class(
                    session,
                    as_staff,
                    course.id,
                    code=f"2026-{term:02d}",
                    name=f"{spec.occupation}培训 2026年第{term}期",
                    starts_on=today + timedelta(days=offset),
                    ends_on=today + timedelta(days=offset + 150),
                    capacity=80,
                    head_teacher_id=staff[spec.inst][term - 1].id,
                )
                kls.append(klass)
                _file_opening(
                    session, as_staff, approver, klass, returned_first=n == 1 and term == 1
                )
            classes.open_class(session, as_staff, kls[0].id)
        frozen.advance(minutes=7)
        runs.append(Run(spec, course, kls))
    return runs


def file_next_term(session: Session, run: Run, staff: dict[str, list[User]]) -> None:
    """Next term's class of a course, filed at the end of the history and waiting in the
    regulators' queue (开班备案 pending)."""
    teacher = staff[run.spec.inst][0]
    as_staff = Principal.of_user(teacher)
    start = clock.now().astimezone(clock.SHANGHAI).date() + timedelta(days=14)
    upcoming = classes.create_class(
        session,
        as_staff,
        run.course.id,
        code="2026-03",
        name=f"{run.spec.occupation}培训 2026年第3期",
        starts_on=start,
        ends_on=start + timedelta(days=150),
        capacity=80,
        head_teacher_id=teacher.id,
    )
    filing.file_class(
        session,
        as_staff,
        upcoming.id,
        kind=FilingKind.opening,
        site="深圳市南山区西丽街道留仙大道 3370 号实训楼 2 层",
    )


def _file_opening(
    session: Session,
    staff: Principal,
    regulator: Principal,
    klass: CourseClass,
    *,
    returned_first: bool = False,
) -> None:
    """开班备案: the class is filed with the provincial regulator and approved; one class's first
    filing is returned for the missing practical site and filed again (its history shows both
    versions)."""
    if returned_first:
        first = filing.file_class(session, staff, klass.id, kind=FilingKind.opening)
        filing.return_filing(
            session, regulator, first.id, reason="未填写线下实操场地，请补充后重新备案"
        )
    f = filing.file_class(
        session,
        staff,
        klass.id,
        kind=FilingKind.opening,
        site="深圳市南山区西丽街道留仙大道 3370 号实训楼 2 层",
    )
    filing.approve(session, regulator, f.id, note="同意开班")
