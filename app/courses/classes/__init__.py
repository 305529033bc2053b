"""Classes (班级/期次): a course runs as one or more classes; enrolment is into a class.

A class has a code (期次编号) unique within its course, a name, planned first and last days, a
capacity, a head teacher (班主任, a staff member of the institution) and a roster (its
enrolments). Its life: ``planned`` → :func:`open_class` (开班) → :func:`close_class` (结业).
Planned and open classes take enrolments up to their capacity; a closed class takes none and
its roster is frozen. Later issues file the opening and the closing with the regulator: they
subscribe to :data:`class_opened_hooks` / :data:`class_closed_hooks` (called in the same
transaction, after the audit entry).

Every course has at most one *default* class (:func:`default_class`, created when first needed):
open-ended, unlimited, without head teacher. Self-enrolment in a course that runs no scheduled
class lands there, and so did every enrolment made before classes existed (migration 0019).

Who may do what: staff of the owning institution create, change, open and close classes
(signed in; API keys do not); staff, the institution's API keys with ``courses:read`` and
regulators read classes and rosters; a learner reads the class they are enrolled in.
Enrolling someone else into a class (staff, or a key with ``enrolments:write``) is
:func:`enrol_learner`; a learner's own enrolment is :func:`app.courses.enrolment.enrol`.

Functions take the request's session, ``flush()`` and never commit; every change appends its
audit entry in the same transaction.

The package's modules, by section: :mod:`~app.courses.classes.rules` (limits and field checks),
:mod:`~app.courses.classes.reading` (who sees a class; classes, rosters, head teachers),
:mod:`~app.courses.classes.lifecycle` (schedule, change, open, close; the default class),
:mod:`~app.courses.classes.seats` (seats, enrolment into a class),
:mod:`~app.courses.classes.moves` (转班: a learner out of the default class by a code, staff
moving a learner to another class of the course) and :mod:`~app.courses.classes.refusals`
(a class code refused to the enrolled, a move refused).
Callers import this package: ``from app.courses import classes``.
"""

from app.courses.classes.lifecycle import (
    class_closed_hooks,
    class_opened_hooks,
    close_class,
    create_class,
    default_class,
    open_class,
    update_class,
)
from app.courses.classes.moves import (
    REASON_CHARS,
    MoveChoice,
    Moved,
    class_move_checks,
    move_choice,
    move_from_default_class,
    move_to_class,
)
from app.courses.classes.reading import (
    ClassSummary,
    RosterLine,
    can_see_class,
    classes_of,
    enrollable_classes,
    get_class,
    head_teacher_names,
    list_classes,
    my_class,
    roster,
    summary,
)
from app.courses.classes.refusals import (
    AlreadyInClass,
    ClassOfAnotherCourse,
    EnrolmentFinished,
    InAnotherClass,
    InvalidClassMove,
    RosterFrozen,
    SameClass,
    StudiedInDefaultClass,
    StudiedInFiledClass,
)
from app.courses.classes.rules import (
    CAPACITY,
    CODE_CHARS,
    DEFAULT_CODE,
    DEFAULT_NAME,
    EMPLOYER_CHARS,
    ENROLLABLE,
    MAX_DAYS,
    NAME_CHARS,
)
from app.courses.classes.seats import (
    add_enrollment,
    add_enrollments,
    check_employer,
    claim_seat,
    class_for_self_enrolment,
    enrol_learner,
    enrollment_of,
    learners_to_enrol,
    may_enrol_others,
)

__all__ = [
    "AlreadyInClass",
    "ClassOfAnotherCourse",
    "EnrolmentFinished",
    "InAnotherClass",
    "InvalidClassMove",
    "MoveChoice",
    "Moved",
    "REASON_CHARS",
    "RosterFrozen",
    "SameClass",
    "StudiedInDefaultClass",
    "StudiedInFiledClass",
    "CAPACITY",
    "CODE_CHARS",
    "DEFAULT_CODE",
    "DEFAULT_NAME",
    "EMPLOYER_CHARS",
    "ENROLLABLE",
    "MAX_DAYS",
    "NAME_CHARS",
    "ClassSummary",
    "RosterLine",
    "add_enrollment",
    "add_enrollments",
    "can_see_class",
    "check_employer",
    "claim_seat",
    "class_closed_hooks",
    "class_for_self_enrolment",
    "class_opened_hooks",
    "class_move_checks",
    "classes_of",
    "close_class",
    "create_class",
    "default_class",
    "enrol_learner",
    "enrollable_classes",
    "enrollment_of",
    "get_class",
    "head_teacher_names",
    "learners_to_enrol",
    "list_classes",
    "may_enrol_others",
    "move_from_default_class",
    "move_choice",
    "move_to_class",
    "my_class",
    "open_class",
    "roster",
    "summary",
    "update_class",
]
