"""Course rules, one import away: re-exports the modules that hold them, so callers keep writing
``courses.get_course(...)``.

- :mod:`app.courses.policy`: limits, :class:`CoursePolicy`, who may read or write a course;
- :mod:`app.courses.authoring`: create, change and publish a course;
- :mod:`app.courses.content`: lessons and the question bank;
- :mod:`app.courses.enrolment`: enrolment and who may see one;
- :mod:`app.courses.catalogue`: the public catalogue and the staff's course lists.

Functions take the request's session, ``flush()`` and never commit; each write appends its
audit entry in the same transaction.
"""

from __future__ import annotations

from app.courses.authoring import CourseChanges, create_course, publish_course, update_course
from app.courses.catalogue import (
    CourseSummary,
    course_filter_titles,
    course_learners,
    get_own_course,
    list_catalogue,
    list_course_enrollments,
    list_institution_courses,
    own_course_titles,
    search_enrollments,
    supervised_course,
    supervised_course_titles,
)
from app.courses.content import (
    add_lesson,
    add_question,
    list_lessons,
    list_questions,
    move_lesson,
    remove_lesson,
    remove_question,
    update_lesson,
    update_question,
)
from app.courses.enrolment import (
    can_see_enrollment,
    course_of,
    enrol,
    get_enrollment_for,
    list_my_enrollments,
)
from app.courses.policy import (
    DAILY_CAP_MINUTES,
    DESCRIPTION_CHARS,
    HEARTBEAT_INTERVAL_S,
    JUDGE_OPTIONS,
    LESSON_BODY_CHARS,
    LESSON_MINUTES,
    OCCUPATION_CODE_CHARS,
    OCCUPATION_NAME_CHARS,
    OFFLINE_REQUIRED_MINUTES,
    OPTION_CHARS,
    OPTIONS,
    PERCENT,
    QUIZ_MAX_ATTEMPTS,
    QUIZ_QUESTION_COUNT,
    QUIZ_TIME_LIMIT_S,
    REQUIRED_MINUTES,
    RESPONSE_WINDOW_S,
    ROLLCALL_INTERVAL_S,
    STEM_CHARS,
    SUBSIDY_FEN,
    TITLE_CHARS,
    CoursePolicy,
    can_read_course,
    get_course,
    may_author,
)

__all__ = [
    "may_author",
    "OFFLINE_REQUIRED_MINUTES",
    "REQUIRED_MINUTES",
    "PERCENT",
    "SUBSIDY_FEN",
    "ROLLCALL_INTERVAL_S",
    "RESPONSE_WINDOW_S",
    "DAILY_CAP_MINUTES",
    "HEARTBEAT_INTERVAL_S",
    "QUIZ_QUESTION_COUNT",
    "QUIZ_TIME_LIMIT_S",
    "QUIZ_MAX_ATTEMPTS",
    "LESSON_MINUTES",
    "OPTIONS",
    "OPTION_CHARS",
    "STEM_CHARS",
    "LESSON_BODY_CHARS",
    "TITLE_CHARS",
    "OCCUPATION_CODE_CHARS",
    "OCCUPATION_NAME_CHARS",
    "DESCRIPTION_CHARS",
    "JUDGE_OPTIONS",
    "CoursePolicy",
    "can_read_course",
    "get_course",
    "create_course",
    "publish_course",
    "CourseChanges",
    "update_course",
    "add_lesson",
    "list_lessons",
    "add_question",
    "list_questions",
    "update_lesson",
    "move_lesson",
    "remove_lesson",
    "update_question",
    "remove_question",
    "enrol",
    "list_my_enrollments",
    "can_see_enrollment",
    "get_enrollment_for",
    "course_of",
    "list_catalogue",
    "CourseSummary",
    "list_institution_courses",
    "list_course_enrollments",
    "search_enrollments",
    "own_course_titles",
    "supervised_course",
    "course_filter_titles",
    "course_learners",
    "supervised_course_titles",
    "get_own_course",
]
