"""Course and study tables, one module a section:

* ``catalogue``: courses, lessons, questions, classes, enrolments and roster imports;
* ``study``: study sessions, heartbeats, roll-calls, credit segments, quiz attempts, daily credit
  and lesson progress (the verified-minutes ledger);
* ``offline``: offline practical sessions, their attendance, station tokens and practical
  assessments.

Every table and enum is re-exported here, so ``from app.courses.models import Course`` is the
import path for all of them (and importing this package registers every table with the
metadata Alembic reads, see app/models.py).
"""

from app.courses.models.catalogue import (
    LEVEL_NAMES_ZH,
    ClassStatus,
    Course,
    CourseClass,
    CourseStatus,
    CreditPolicy,
    Enrollment,
    Lesson,
    LessonKind,
    Level,
    Question,
    QuestionKind,
    QuizOpens,
    RosterImport,
)
from app.courses.models.offline import (
    OfflineAttendance,
    OfflineSession,
    OfflineTokenUse,
    PracticalAssessment,
)
from app.courses.models.study import (
    CreditSegment,
    DailyCredit,
    Heartbeat,
    LearnerDailyCredit,
    LessonProgress,
    QuizAttempt,
    RollCall,
    RollCallAttempt,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)

__all__ = [
    "ClassStatus",
    "Course",
    "CourseClass",
    "CourseStatus",
    "CreditPolicy",
    "CreditSegment",
    "DailyCredit",
    "Enrollment",
    "Heartbeat",
    "LEVEL_NAMES_ZH",
    "LearnerDailyCredit",
    "Lesson",
    "LessonKind",
    "LessonProgress",
    "Level",
    "OfflineAttendance",
    "OfflineSession",
    "OfflineTokenUse",
    "PracticalAssessment",
    "Question",
    "QuestionKind",
    "QuizAttempt",
    "QuizOpens",
    "RollCall",
    "RollCallAttempt",
    "RollCallStatus",
    "RosterImport",
    "SegmentStatus",
    "SessionState",
    "StudySession",
]
