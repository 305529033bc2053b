"""Errors the course catalogue, enrolment and quiz services raise; codes are the REST contract.

Exception tree::

    DomainError (app.errors)
     ├── ValidationFailed
     │    ├── InvalidCourse           422 invalid_course
     │    ├── InvalidLesson           422 invalid_lesson
     │    ├── InvalidQuestion         422 invalid_question
     │    ├── InvalidAnswers          422 invalid_answers
     │    └── InvalidClass            422 invalid_class
     ├── CourseNotFound               404 course_not_found
     ├── ClassNotFound                404 class_not_found
     ├── EnrollmentNotFound           404 enrollment_not_found
     ├── AttemptNotFound              404 attempt_not_found
     ├── LessonNotFound               404 lesson_not_found
     ├── QuestionNotFound             404 question_not_found
     └── Conflict
          ├── CourseIncomplete        409 course_incomplete      (nothing to study or quiz)
          ├── AlreadyEnrolled         409 already_enrolled       (carries enrollment_id)
          │    └── AlreadyInClass, InAnotherClass  (app.courses.classes.refusals)
          ├── QuizUnavailable         409 quiz_unavailable       (the question bank is empty)
          ├── CoursePublished         409 course_published       (a published course is frozen)
          ├── AttemptOpen             409 attempt_open           (carries attempt_id)
          ├── AttemptLimitReached     409 attempt_limit_reached
          ├── ClassCodeTaken          409 class_code_taken
          ├── ClassFull               409 class_full
          ├── ClassClosed             409 class_closed           (结业: no more enrolments)
          ├── NoOpenClass             409 no_open_class
          ├── ClassTransitionRefused  409 class_transition_refused
          ├── RollCallNotExcusable    409 rollcall_not_excusable
          └── AttemptClosed           409 attempt_closed         (already submitted)
               └── AttemptTimeUp      409 attempt_closed         (the deadline passed)

    InstitutionUnavailable (app.accounts.exceptions)
     └── ClassCodeUnavailable         422 institution_unavailable (a class code, in its words)
"""

from __future__ import annotations

from app.accounts.exceptions import InstitutionUnavailable
from app.errors import Conflict, DomainError, ValidationFailed


class InvalidCourse(ValidationFailed):
    code = "invalid_course"
    message_zh = "课程设置有误，请检查后重试。"
    message_en = "The course settings are not valid."


class InvalidLesson(ValidationFailed):
    code = "invalid_lesson"
    message_zh = "课时内容有误，请检查后重试。"
    message_en = "The lesson is not valid."


class InvalidQuestion(ValidationFailed):
    code = "invalid_question"
    message_zh = "试题有误：请检查题型、选项和正确答案。"
    message_en = "The question is not valid (kind, options or answer)."


class InvalidAnswers(ValidationFailed):
    code = "invalid_answers"
    message_zh = "提交的答案有误：包含不属于本次试卷的题目或无效的选项。"
    message_en = "The answers name a question not on this paper or an option that does not exist."


class CourseNotFound(DomainError):
    code = "course_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该课程。"
    message_en = "Course not found."


class EnrollmentNotFound(DomainError):
    code = "enrollment_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该报名记录。"
    message_en = "Enrollment not found."


class AttemptNotFound(DomainError):
    code = "attempt_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该考试记录。"
    message_en = "Quiz attempt not found."


class LessonNotFound(DomainError):
    code = "lesson_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该课时。"
    message_en = "Lesson not found in this course."


class QuestionNotFound(DomainError):
    code = "question_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该试题。"
    message_en = "Question not found in this course."


class CoursePublished(Conflict):
    """Adding to, editing, reordering or removing in a published course: learners were
    credited and examined on what it holds, so it stays as it was."""

    code = "course_published"
    title = "Course published"
    message_zh = (
        "课程已发布：课程设置、课时和题库是学员学习和考试的依据，已冻结，不能修改、删除或添加。"
    )
    message_en = (
        "The course is published: its settings, lessons and questions are what learners were "
        "credited and examined on, so they can no longer be changed, removed or added to."
    )


class CourseIncomplete(Conflict):
    code = "course_incomplete"
    title = "Course not ready to publish"
    message_zh = "课程尚不能发布：至少需要一个课时，且题库题目数不少于每次考试的题数。"
    message_en = (
        "The course cannot be published yet: it needs at least one lesson and at least as many "
        "questions as one quiz draws."
    )


class CourseHoursShort(CourseIncomplete):
    """The lessons add up to fewer minutes than the course requires (课程学时与课时时长不符):
    a learner could never meet the course's hours by finishing its lessons (``extra``:
    ``required_minutes``, ``lesson_minutes``, ``minutes_short`` and the ``missing`` lists)."""

    code = "course_hours_short"
    title = "Lessons shorter than the course's hours"
    message_zh = "课程尚不能发布：各课时时长之和少于课程要求的学时。"
    message_en = (
        "The course cannot be published yet: its lessons add up to fewer minutes than the "
        "course requires."
    )


class ClassCodeUnavailable(InstitutionUnavailable):
    """The same ``institution_unavailable`` code (the API's contract), with words for a class
    invite code typed where only a class code goes (``/my``, ``POST /me/enrollments/by-code``):
    no institution code or institution list is involved there."""

    message_zh = (
        "找不到这个班级邀请码，或该班级已停止报名。请核对培训机构发给您的 8 位邀请码后重新填写。"
    )
    message_en = (
        "No class taking learners has this invite code; check the 8-character code your "
        "institution gave you."
    )


class AlreadyEnrolled(Conflict):
    code = "already_enrolled"
    title = "Already enrolled"
    message_zh = "您已报名该课程。"
    message_en = "You are already enrolled in this course."


class QuizUnavailable(Conflict):
    code = "quiz_unavailable"
    title = "Quiz unavailable"
    message_zh = "该课程暂无考试题目，请联系培训机构。"
    message_en = "This course has no quiz questions yet; contact the institution."


class QuizNotOpen(Conflict):
    """The course's rule keeps the quiz closed until the required verified minutes are met
    (``extra``: ``required_minutes``, ``credited_minutes``, ``minutes_short``)."""

    code = "quiz_not_open"
    title = "Quiz not open yet"
    message_zh = "本课程需先完成要求的有效学时，才能参加考试。"
    message_en = "This course's quiz opens once the required verified study time is complete."


class AttemptOpen(Conflict):
    code = "attempt_open"
    title = "Attempt in progress"
    message_zh = "您有一场考试尚未交卷，请先完成该场考试。"
    message_en = "A quiz attempt is still open; finish it first."


class AttemptLimitReached(Conflict):
    code = "attempt_limit_reached"
    title = "No attempts left"
    message_zh = "考试次数已用完。"
    message_en = "All quiz attempts for this course have been used."


class AttemptClosed(Conflict):
    code = "attempt_closed"
    title = "Attempt closed"
    message_zh = "本场考试已结束，不能再提交答案。"
    message_en = "This quiz attempt is closed; answers can no longer be submitted."


class AttemptTimeUp(AttemptClosed):
    """The same ``attempt_closed`` code, with words that say why: the deadline passed."""

    message_zh = "考试时间已到，本次提交的答案未被记录。"
    message_en = "Time ran out for this quiz attempt; the answers were not recorded."


# ---------------------------------------------------------------- study sessions and roll-calls


class SessionNotFound(DomainError):
    code = "session_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该学习记录。"
    message_en = "Study session not found."


class SessionEnded(Conflict):
    code = "session_ended"
    message_zh = "本次学习已结束，请重新签到。"
    message_en = "This study session has ended; check in again."


class SessionActiveElsewhere(Conflict):
    code = "session_active_elsewhere"
    message_zh = "您在其他设备上正在学习。如需在此继续，请选择接管。"
    message_en = "You are studying on another device; choose to take over to continue here."


class RollCallNotFound(DomainError):
    code = "rollcall_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该点名。"
    message_en = "Roll-call not found."


class RollCallExpired(DomainError):
    code = "rollcall_expired"
    status = 410
    title = "Roll-call expired"
    message_zh = "点名已超时，本次记为缺勤。请重新签到后继续学习。"
    message_en = "The roll-call deadline has passed; it was recorded as missed."


class RollCallNotExcusable(Conflict):
    code = "rollcall_not_excusable"
    message_zh = (
        "只有未通过或超时的点名可以例外处理，且每次点名只能处理一次；"
        "已由人工审核决定的点名不能再例外处理。"
    )
    message_en = (
        "Only a failed or missed roll-call can be excused, once; a roll-call staff already "
        "decided in review cannot."
    )


class RollCallNotPending(Conflict):
    code = "rollcall_answered"
    message_zh = "该点名已经回答过了。"
    message_en = "This roll-call was already answered."


# ---------------------------------------------------------------- classes (班级/期次)


class ClassNotFound(DomainError):
    code = "class_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该班级。"
    message_en = "Class not found."


class InvalidClass(ValidationFailed):
    code = "invalid_class"
    message_zh = "班级设置有误：请检查期次编号、班级名称、开班和结业日期、人数上限和班主任。"
    message_en = (
        "The class is not valid (code, name, start and end dates, capacity or head teacher)."
    )


class ClassCodeTaken(Conflict):
    code = "class_code_taken"
    message_zh = "该课程已有相同期次编号的班级。"
    message_en = "The course already has a class with this code."


class ClassFull(Conflict):
    code = "class_full"
    title = "Class full"
    message_zh = "该班级人数已满。"
    message_en = "The class is full."


class ClassClosed(Conflict):
    code = "class_closed"
    title = "Class closed"
    message_zh = "该班级已结业，不能再报名或变更。"
    message_en = "The class has ended (结业); it takes no more enrolments or changes."


class NoOpenClass(Conflict):
    code = "no_open_class"
    title = "No class open for enrolment"
    message_zh = "该课程目前没有可报名的班级（已满或已结业），请联系培训机构。"
    message_en = "No class of this course takes enrolments now (full or ended)."


class ClassTransitionRefused(Conflict):
    code = "class_transition_refused"
    title = "Class state"
    message_zh = "班级当前状态不允许此操作（只有计划中的班级可以开班，只有已开班的班级可以结业）。"
    message_en = "Only a planned class can be opened, and only an open class can be closed."


# ---------------------------------------------------------------- hosted lesson videos


class InvalidVideo(ValidationFailed):
    """The upload is not a video the platform serves (its bytes decide, not its name)."""

    code = "invalid_video"
    message_zh = "无法使用该视频：请上传 H.264 编码的 MP4 或 WebM（VP8/VP9）格式的视频。"
    message_en = "This video cannot be used: upload an MP4 (H.264) or WebM (VP8/VP9) file."


class VideoTooLarge(DomainError):
    code = "video_too_large"
    status = 413
    title = "Video too large"
    message_zh = "视频文件太大，请压缩后重新上传。"
    message_en = "The video file is too large. Compress it and upload it again."


class VideoTooLong(ValidationFailed):
    code = "video_too_long"
    message_zh = "视频时间太长，请拆分成几个课时上传。"
    message_en = "The video is too long. Split it into several lessons."


class VideoNotFound(DomainError):
    code = "video_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该课时的视频。"
    message_en = "This lesson has no video you can watch."


# ---------------------------------------------------------------- rosters (batch enrolment)


class InvalidRoster(ValidationFailed):
    code = "invalid_roster"
    message_zh = (
        "名册无法读取或内容有误：请使用 XLSX 或 CSV 文件，"
        "首行为列名（姓名、身份证号，可选手机号、人员类别、工作单位）。"
    )
    message_en = (
        "The roster cannot be read or is not valid: an XLSX or CSV file whose first row names "
        "the columns (姓名, 身份证号; optionally 手机号, 人员类别, 工作单位)."
    )


class RosterImportNotFound(DomainError):
    code = "roster_import_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该名册导入记录。"
    message_en = "Roster import not found."


class RosterNotReady(Conflict):
    code = "roster_not_ready"
    message_zh = "该名册不能提交：仍有错误、已经提交过，或检查已超过 24 小时。请修改后重新上传。"
    message_en = (
        "This roster cannot be committed: it has errors, was committed already, or was checked "
        "more than 24 hours ago. Upload it again."
    )


class RosterChanged(Conflict):
    code = "roster_changed"
    message_zh = (
        "检查之后数据已有变化（如学员已报名、名额已满），名册未导入。请查看错误后重新上传。"
    )
    message_en = (
        "Something changed since the roster was checked (a learner enrolled, seats ran out); "
        "nothing was enrolled. See the errors and upload it again."
    )


# ---------------------------------------------------------------- offline sessions (线下实训)


class OfflineSessionNotFound(DomainError):
    code = "offline_session_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该线下实训场次。"
    message_en = "Offline session not found."


class InvalidOfflineSession(ValidationFailed):
    code = "invalid_offline_session"
    message_zh = "线下实训场次设置有误：请检查名称、地点、开始和结束时间、人数上限和指导教师。"
    message_en = (
        "The offline session is not valid (title, site, start and end time, capacity or "
        "instructor)."
    )


class OfflineSessionFull(Conflict):
    code = "offline_session_full"
    title = "Offline session full"
    message_zh = "本场线下实训签到人数已满。"
    message_en = "This offline session is full: every seat has checked in."


class OfflineSessionClosed(Conflict):
    code = "offline_session_closed"
    title = "Offline session not open"
    message_zh = "本场线下实训现在不能签到或签退（未到签到时间、已结束或已取消）。"
    message_en = (
        "This offline session takes no check-in or check-out now (not started yet, over, or "
        "cancelled)."
    )


class OfflineTokenInvalid(ValidationFailed):
    code = "offline_token_invalid"
    message_zh = "二维码无效：请学员在手机上打开本场实训的签到二维码。"
    message_en = (
        "This QR code is not valid here: the learner opens this session's QR on their phone."
    )


class OfflineTokenExpired(ValidationFailed):
    code = "offline_token_expired"
    message_zh = "二维码已过期：请学员刷新手机上的二维码后重新出示。"
    message_en = (
        "This QR code has expired: the learner refreshes it on their phone and shows it again."
    )


class OfflineTokenUsed(Conflict):
    code = "offline_token_used"
    title = "QR code already used"
    message_zh = "该二维码已经扫过：请学员出示手机上新的二维码。"
    message_en = "This QR code was scanned already: the learner shows the new one on their phone."


class OfflineNotOnRoster(DomainError):
    code = "offline_not_on_roster"
    status = 403
    title = "Not on this session's roster"
    message_zh = "该学员不在本场线下实训的班级名单中（或属于其他培训机构），不能在此签到。"
    message_en = (
        "This learner is not on the roster of this offline session's class (or belongs to "
        "another institution) and cannot check in here."
    )


class OfflineAlreadyDone(Conflict):
    code = "offline_already_checked_out"
    title = "Already checked out"
    message_zh = "该学员本场已签到并签退，无需再次扫码。"
    message_en = "This learner has checked in and out of this session already."


class OfflineNotCheckedIn(Conflict):
    code = "offline_not_checked_in"
    title = "Not checked in"
    message_zh = "该学员本场没有签到记录，不能评定实操考核。"
    message_en = "This learner did not check in at this session; there is nothing to assess."


class OfflineQrNotFound(ValidationFailed):
    code = "offline_qr_not_found"
    message_zh = "画面中没有识别到签到二维码：请把学员手机上的二维码对准摄像头，保持稳定。"
    message_en = (
        "No check-in QR code was found in the picture: hold the learner's phone steady in front "
        "of the camera."
    )
