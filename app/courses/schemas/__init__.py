"""Request and response bodies of the course, enrolment, quiz and study-session API, one module
a section:

* ``courses``: a course and its roll-call, credit and quiz policies; editing a draft (PATCH);
* ``content``: lessons and questions (and editing them in a draft), lesson progress;
* ``enrolment``: enrolments, quiz attempts, answers and results;
* ``study``: check-in, heartbeats, roll-calls and their exceptions, progress, the ledger check.

Bounds are the service's (app/courses/service.py), declared here too so partners see them in
OpenAPI. Nothing a learner receives carries a question's answer. Every model is re-exported
here: ``from app.courses.schemas import CourseIn`` is the import path.
"""

import uuid

from pydantic import BaseModel

from app.courses.schemas.content import (
    LessonIn,
    LessonOut,
    LessonProgressOut,
    LessonUpdateIn,
    QuestionIn,
    QuestionOut,
    QuestionUpdateIn,
)
from app.courses.schemas.courses import (
    CourseIn,
    CourseOut,
    CoursePage,
    CourseUpdateIn,
    QuizPolicyIn,
    QuizPolicyOut,
    QuizPolicyPatch,
    RollcallPolicyIn,
    RollcallPolicyOut,
    RollcallPolicyPatch,
)
from app.courses.schemas.enrolment import (
    EnrollmentOut,
    QuizAttemptOut,
    QuizQuestionOut,
    QuizResultOut,
    QuizSubmitIn,
)
from app.courses.schemas.study import (
    CheckInOut,
    HeartbeatIn,
    HeartbeatOut,
    LedgerOut,
    LessonTimeOut,
    ProgressOut,
    RollCallAnswerOut,
    RollCallAttemptOut,
    RollCallExceptionIn,
    RollCallExceptionOut,
    RollCallOffer,
    RollCallOut,
    SessionOut,
)


# Defined here rather than in ``enrolment``: it shares its name with the face enrolment's answer,
# so its OpenAPI component is named after its module (``app__courses__schemas__EnrolOut``), and
# moving it would rename it in the published contract. (No docstring: it would become the
# schema's description.)
class EnrolOut(BaseModel):
    enrollment_id: uuid.UUID
    class_id: uuid.UUID


__all__ = [
    "CheckInOut",
    "CourseIn",
    "CourseOut",
    "CoursePage",
    "CourseUpdateIn",
    "EnrolOut",
    "EnrollmentOut",
    "HeartbeatIn",
    "HeartbeatOut",
    "LessonTimeOut",
    "LedgerOut",
    "LessonIn",
    "LessonOut",
    "LessonProgressOut",
    "LessonUpdateIn",
    "ProgressOut",
    "QuestionIn",
    "QuestionOut",
    "QuestionUpdateIn",
    "QuizAttemptOut",
    "QuizPolicyIn",
    "QuizPolicyOut",
    "QuizPolicyPatch",
    "QuizQuestionOut",
    "QuizResultOut",
    "QuizSubmitIn",
    "RollCallAnswerOut",
    "RollCallAttemptOut",
    "RollCallExceptionIn",
    "RollCallExceptionOut",
    "RollCallOffer",
    "RollCallOut",
    "RollcallPolicyIn",
    "RollcallPolicyOut",
    "RollcallPolicyPatch",
    "SessionOut",
]
