"""Classes (班级/期次): scheduling, opening (开班) and closing (结业), rosters with progress, and
enrolling learners into a class."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, UploadFile, status
from sqlmodel import Session

from app.accounts import exceptions as ax
from app.accounts.principal import Principal
from app.api.deps import (
    SCOPE_ERRORS,
    USER_ERRORS,
    CoursesRead,
    CurrentUser,
    SessionDep,
    require_scope,
)
from app.courses import classes, roster
from app.courses import exceptions as cx
from app.courses import service as courses
from app.courses.class_schemas import (
    ClassEnrolmentOut,
    ClassIn,
    ClassMoveIn,
    ClassMoveOut,
    ClassOut,
    ClassUpdateIn,
    EnrolIntoClassIn,
    EnrolledLearnerOut,
    PersonIn,
    RosterCommitOut,
    RosterEntryOut,
    RosterImportOut,
    RosterOut,
)
from app.courses.models import CourseClass, RosterImport
from app.errors import problem_responses
from app.programmes.exceptions import InstitutionNotApproved, OutsideApprovedScope

router = APIRouter(tags=["classes"])

EnrolmentsWrite = Annotated[Principal, require_scope("enrolments:write")]


def _out(session: Session, klass: CourseClass) -> ClassOut:
    names = classes.head_teacher_names(session, [klass])
    return ClassOut.of(classes.summary(session, klass), names.get(klass.id))


@router.post(
    "/courses/{course_id}/classes",
    status_code=status.HTTP_201_CREATED,
    response_model=ClassOut,
    responses=problem_responses(
        *USER_ERRORS, cx.CourseNotFound, cx.InvalidClass, cx.ClassCodeTaken
    ),
)
def create_class(
    course_id: uuid.UUID, body: ClassIn, user: CurrentUser, session: SessionDep
) -> ClassOut:
    """Schedule a class (期次) of one of the institution's courses: staff only."""
    klass = classes.create_class(
        session,
        Principal.of_user(user),
        course_id,
        code=body.code,
        name=body.name,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        capacity=body.capacity,
        head_teacher_id=body.head_teacher_id,
    )
    return _out(session, klass)


@router.get(
    "/courses/{course_id}/classes",
    response_model=list[ClassOut],
    responses=problem_responses(*SCOPE_ERRORS, cx.CourseNotFound),
)
def list_classes(
    course_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> list[ClassOut]:
    """A course's classes with roster sizes, earliest first (its institution and regulators)."""
    rows = classes.list_classes(session, principal, course_id)
    names = classes.head_teacher_names(session, [s.klass for s in rows])
    return [ClassOut.of(s, names.get(s.klass.id)) for s in rows]


@router.get(
    "/classes/{class_id}",
    response_model=ClassOut,
    responses=problem_responses(*SCOPE_ERRORS, cx.ClassNotFound),
)
def get_class(class_id: uuid.UUID, principal: CoursesRead, session: SessionDep) -> ClassOut:
    """One class with its roster size and seats left."""
    return _out(session, classes.get_class(session, principal, class_id))


@router.patch(
    "/classes/{class_id}",
    response_model=ClassOut,
    responses=problem_responses(*USER_ERRORS, cx.ClassNotFound, cx.InvalidClass, cx.ClassClosed),
)
def update_class(
    class_id: uuid.UUID, body: ClassUpdateIn, user: CurrentUser, session: SessionDep
) -> ClassOut:
    """Change a class that has not ended (its first day only before it opens)."""
    klass = classes.update_class(
        session,
        Principal.of_user(user),
        class_id,
        name=body.name,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        capacity=body.capacity,
        head_teacher_id=body.head_teacher_id,
    )
    return _out(session, klass)


@router.post(
    "/classes/{class_id}/open",
    response_model=ClassOut,
    responses=problem_responses(
        *USER_ERRORS,
        cx.ClassNotFound,
        cx.ClassTransitionRefused,
        InstitutionNotApproved,
        OutsideApprovedScope,
    ),
)
def open_class(class_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> ClassOut:
    """开班: a planned class of a published course starts running."""
    return _out(session, classes.open_class(session, Principal.of_user(user), class_id))


@router.post(
    "/classes/{class_id}/close",
    response_model=ClassOut,
    responses=problem_responses(*USER_ERRORS, cx.ClassNotFound, cx.ClassTransitionRefused),
)
def close_class(class_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> ClassOut:
    """结业: an open class ends and its roster is frozen."""
    return _out(session, classes.close_class(session, Principal.of_user(user), class_id))


@router.get(
    "/classes/{class_id}/roster",
    response_model=RosterOut,
    responses=problem_responses(*SCOPE_ERRORS, cx.ClassNotFound),
)
def class_roster(class_id: uuid.UUID, principal: CoursesRead, session: SessionDep) -> RosterOut:
    """The class's learners with their progress (names and ID numbers masked)."""
    klass = classes.get_class(session, principal, class_id)
    lines = classes.roster(session, principal, class_id)
    return RosterOut(klass=_out(session, klass), entries=[RosterEntryOut.of(x) for x in lines])


@router.post(
    "/classes/{class_id}/enrollments",
    status_code=status.HTTP_201_CREATED,
    response_model=ClassEnrolmentOut,
    responses=problem_responses(
        *SCOPE_ERRORS,
        cx.ClassNotFound,
        ax.UserNotFound,
        cx.CourseNotFound,
        cx.InvalidClass,
        cx.AlreadyEnrolled,
        cx.ClassFull,
        cx.ClassClosed,
    ),
)
def enrol_into_class(
    class_id: uuid.UUID, body: EnrolIntoClassIn, principal: EnrolmentsWrite, session: SessionDep
) -> ClassEnrolmentOut:
    """Enrol one of the institution's learners into the class (staff, or `enrolments:write`)."""
    e = classes.enrol_learner(session, principal, class_id, body.learner_id, employer=body.employer)
    return ClassEnrolmentOut(enrollment_id=e.id, class_id=e.class_id, learner_id=e.user_id)


@router.get(
    "/enrollments/{enrollment_id}/class",
    response_model=ClassOut,
    responses=problem_responses(*SCOPE_ERRORS, cx.EnrollmentNotFound),
)
def enrollment_class(
    enrollment_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> ClassOut:
    """The class of an enrolment: for the learner themself, their institution and regulators."""
    enrollment = courses.get_enrollment_for(session, principal, enrollment_id)
    return _out(session, classes.my_class(session, enrollment))


@router.post(
    "/enrollments/{enrollment_id}/class",
    response_model=ClassMoveOut,
    responses=problem_responses(
        *SCOPE_ERRORS,
        cx.EnrollmentNotFound,
        cx.ClassNotFound,
        cx.CourseNotFound,
        classes.InvalidClassMove,
        classes.SameClass,
        classes.ClassOfAnotherCourse,
        classes.EnrolmentFinished,
        classes.RosterFrozen,
        classes.StudiedInDefaultClass,
        classes.StudiedInFiledClass,
        cx.ClassFull,
        cx.ClassClosed,
    ),
)
def move_to_class(
    enrollment_id: uuid.UUID, body: ClassMoveIn, principal: EnrolmentsWrite, session: SessionDep
) -> ClassMoveOut:
    """转班: move an enrolment of the institution to another class of its course, with the
    reason (staff, or `enrolments:write`); study recorded stays with the enrolment."""
    moved = classes.move_to_class(
        session, principal, enrollment_id, body.class_id, reason=body.reason
    )
    return ClassMoveOut(
        enrollment_id=moved.enrollment.id,
        learner_id=moved.enrollment.user_id,
        from_class_id=moved.from_class.id,
        class_id=moved.klass.id,
    )


# ---------------------------------------------------------------- rosters (batch enrolment)


def _import_out(imp: RosterImport) -> RosterImportOut:
    return RosterImportOut.of(imp, ready=roster.is_ready(imp))


@router.post(
    "/classes/{class_id}/roster-imports",
    status_code=status.HTTP_201_CREATED,
    response_model=RosterImportOut,
    responses=problem_responses(*SCOPE_ERRORS, cx.ClassNotFound, cx.InvalidRoster),
)
def check_roster(
    class_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="The roster: XLSX or CSV, header row first")],
    principal: EnrolmentsWrite,
    session: SessionDep,
) -> RosterImportOut:
    """Check a roster (姓名, 身份证号, 手机号, 人员类别, 工作单位) row by row; nothing is
    enrolled until it is committed. Every problem comes back in words with its row."""
    data = file.file.read(roster.MAX_BYTES + 1)
    imp, _checked = roster.preview(session, principal, class_id, data, file.filename or "")
    return _import_out(imp)


@router.get(
    "/roster-imports/{import_id}",
    response_model=RosterImportOut,
    responses=problem_responses(*SCOPE_ERRORS, cx.RosterImportNotFound),
)
def get_roster_import(
    import_id: uuid.UUID, principal: EnrolmentsWrite, session: SessionDep
) -> RosterImportOut:
    """A checked roster: its counts and every problem."""
    return _import_out(roster.get_import(session, principal, import_id))


@router.post(
    "/roster-imports/{import_id}/commit",
    response_model=RosterCommitOut,
    responses=problem_responses(
        *SCOPE_ERRORS, cx.RosterImportNotFound, cx.RosterNotReady, cx.RosterChanged
    ),
)
def commit_roster(
    import_id: uuid.UUID, principal: EnrolmentsWrite, session: SessionDep
) -> RosterCommitOut:
    """Enrol every row of a checked roster in one transaction (or none); new learners'
    activation codes are in the answer, this once."""
    enrolled = roster.commit(session, principal, import_id)
    return RosterCommitOut(
        import_id=import_id, enrolled=[EnrolledLearnerOut.of(e) for e in enrolled]
    )


@router.post(
    "/classes/{class_id}/learners",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolledLearnerOut,
    responses=problem_responses(
        *SCOPE_ERRORS, cx.ClassNotFound, cx.InvalidRoster, cx.ClassFull, cx.ClassClosed
    ),
)
def enrol_person(
    class_id: uuid.UUID, body: PersonIn, principal: EnrolmentsWrite, session: SessionDep
) -> EnrolledLearnerOut:
    """Enrol one person by name and ID number (an account with an activation code is created
    for someone new), checked like a roster row."""
    e = roster.enrol_person(
        session,
        principal,
        class_id,
        real_name=body.real_name,
        id_number=body.id_number,
        phone=body.phone,
        group=body.group,
        employer=body.employer,
    )
    return EnrolledLearnerOut.of(e)
