"""Classes: the two ways a class code is refused to a learner already enrolled in its course
(``app/courses/invites.py``, :func:`~app.courses.classes.moves.move_from_default_class`), and
the ways staff moving a learner to another class are refused
(:func:`~app.courses.classes.moves.move_to_class`).

The first two keep ``already_enrolled`` (409, with the enrolment's id), the API's answer to a
repeat since it was first published; their words say which case it is.
"""

from __future__ import annotations

from app.courses.exceptions import AlreadyEnrolled
from app.errors import Conflict, ValidationFailed


class AlreadyInClass(AlreadyEnrolled):
    """Already in the very class the code names (a second tap of the form, the code typed
    again): said so; the /my page shows it as done, not as an error."""

    message_zh = "您已在这个班级中，无需再次报名。"
    message_en = "You are already in this class."


class InAnotherClass(AlreadyEnrolled):
    """In another class of the course that a code does not move them out of: a scheduled class,
    or the default class once anything is recorded there. Moving is the institution's."""

    message_zh = (
        "您已在本课程的另一个班级报名或学习，班级邀请码不能为您换班。"
        "如需转到这个班级，请联系您的培训机构。"
    )
    message_en = (
        "You are enrolled in another class of this course; a class code cannot move you. "
        "Ask your institution if you need to change class."
    )


# ---------------------------------------------------------------- a move refused to staff
# (转班, :func:`~app.courses.classes.moves.move_to_class`): said to the institution's clerk.


class InvalidClassMove(ValidationFailed):
    """The move's form: the reason is required (trimmed, at most ``REASON_CHARS``)."""

    code = "invalid_class_move"
    message_zh = "请填写转班原因（必填，不超过 200 字）。"
    message_en = "Give the reason for the change of class (required, at most 200 characters)."


class SameClass(Conflict):
    code = "class_move_same_class"
    title = "Already in this class"
    message_zh = "该学员已在这个班级中，无需转班。"
    message_en = "The learner is already in this class."


class ClassOfAnotherCourse(Conflict):
    code = "class_move_other_course"
    title = "Class of another course"
    message_zh = "只能转到同一课程的其他班级；目标班级属于另一门课程。"
    message_en = "A learner can only move to another class of the same course."


class EnrolmentFinished(Conflict):
    """Completed (and so, possibly, certified): the completion and any certificate were
    decided in the class she is in; they stay with it."""

    code = "class_move_completed"
    title = "Training completed"
    message_zh = "该学员已完成本课程培训（结业或已发证），培训记录属于原班级，不能转班。"
    message_en = (
        "The learner has completed this course (and may hold its certificate); the record "
        "stays with the current class and the learner cannot change class."
    )


class RosterFrozen(Conflict):
    """The class she is in, or the one named, has ended (结业): its roster is frozen and was
    reported to the regional system (``class.completed``); its completion is filed from it."""

    code = "class_move_roster_frozen"
    title = "Roster frozen"
    message_zh = "原班级或目标班级已结业，花名册已冻结并上报，不能转入或转出。"
    message_en = (
        "The learner's class or the class named has ended (结业): its roster is frozen and "
        "reported, nobody moves in or out."
    )


class StudiedInDefaultClass(Conflict):
    """Study recorded in the default class (self-study outside any scheduled class) must not
    become a scheduled class's training."""

    code = "class_move_default_studied"
    title = "Study recorded in the default class"
    message_zh = (
        "该学员已在默认班（自主报名）中学习，这些学习不属于任何开班的班级，"
        "不能带入其他班级，因此不能转班。"
    )
    message_en = (
        "The learner has studied in the default (self-enrolment) class; that study belongs to "
        "no scheduled class and cannot be moved into one."
    )


class StudiedInFiledClass(Conflict):
    """Study recorded, and the class she is in or the one named was filed with the regulator
    (开班备案): the subsidy counts training in the filed class, so moving it would make it
    count in the other one."""

    code = "class_move_filed_studied"
    title = "Study recorded and a class filed"
    message_zh = (
        "该学员已有学习记录，且原班级或目标班级已向人社部门开班备案："
        "转班会把已记录的学习算作另一个班级的培训，与备案不符，不能转班。"
    )
    message_en = (
        "The learner has study recorded and the learner's class or the class named was filed "
        "with the regulator (开班备案): the move would count that study as the other class's "
        "training, which the filing does not say."
    )
