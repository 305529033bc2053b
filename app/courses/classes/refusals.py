"""Classes: the two ways a class code is refused to a learner already enrolled in its course
(``app/courses/invites.py``, :func:`~app.courses.classes.seats.move_from_default_class`).

Both keep ``already_enrolled`` (409, with the enrolment's id), the API's answer to a repeat
since it was first published; their words say which case it is.
"""

from __future__ import annotations

from app.courses.exceptions import AlreadyEnrolled


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
