"""Domain errors of the face pipeline.

Every rejection a learner can meet while sending face frames has its own stable ``code`` (the API
contract in API.md lists them) and a message in words the learner can act on.

Exception tree::

    DomainError (app.errors)
     └── FaceRejected                 any refusal of a submitted frame or burst
          ├── NotAnImage              422 not_an_image
          ├── ImageTooLarge           413 image_too_large
          ├── NoFace                  422 no_face
          ├── MultipleFaces           422 multiple_faces
          ├── FaceTooSmall            422 face_too_small
          ├── TooBlurry               422 too_blurry
          ├── TooDark                 422 too_dark
          ├── LivenessFailed          422 liveness_failed
          ├── TooManyFrames           422 too_many_frames
          ├── TooFewFrames            422 too_few_frames
          ├── BurstTooLarge           413 burst_too_large
          └── FrameBudgetExceeded     429 frame_budget_exceeded
    DomainError
     └── FaceEngineUnavailable        503 face_engine_unavailable (the face workers, not the frames)

The errors travel between processes (the face work runs in a process pool), so they must pickle:
``BaseException.__reduce__`` rebuilds them from ``args`` (the detail string, which is what
``DomainError.__init__`` takes first) and then restores ``__dict__`` (``detail`` and ``extra``).
Keep that true when adding fields: store them in ``extra``, not in new ``__init__`` parameters.
"""

from __future__ import annotations

from app.errors import DomainError


class FaceRejected(DomainError):
    """Base of every refusal of face frames; catch this to handle all of them."""

    code = "face_rejected"
    status = 422
    title = "Face frame refused"
    message_zh = "人脸照片未通过检查，请重试。"
    message_en = "The face photo was not accepted. Please try again."


class NotAnImage(FaceRejected):
    code = "not_an_image"
    title = "Not an image"
    message_zh = "上传的文件不是有效的 JPEG 或 PNG 图片，请重新拍摄。"
    message_en = "The file is not a valid JPEG or PNG picture. Please take the photo again."


class ImageTooLarge(FaceRejected):
    code = "image_too_large"
    status = 413
    title = "Image too large"
    message_zh = "图片太大，请使用较低的分辨率重新拍摄。"
    message_en = "The picture is too large. Please take it again at a lower resolution."


class NoFace(FaceRejected):
    code = "no_face"
    title = "No face found"
    message_zh = "没有检测到人脸，请正对摄像头并保证光线充足。"
    message_en = "No face was found. Face the camera and make sure there is enough light."


class MultipleFaces(FaceRejected):
    code = "multiple_faces"
    title = "More than one face"
    message_zh = "画面中有多张人脸，请确保只有您本人在镜头前。"
    message_en = (
        "More than one face is in the picture. Make sure only you are in front of the camera."
    )


class FaceTooSmall(FaceRejected):
    code = "face_too_small"
    title = "Face too small"
    message_zh = "人脸太小，请靠近摄像头一些。"
    message_en = "Your face is too small in the picture. Move closer to the camera."


class TooBlurry(FaceRejected):
    code = "too_blurry"
    title = "Picture too blurry"
    message_zh = "画面太模糊，请保持不动并擦拭摄像头后重试。"
    message_en = "The picture is too blurry. Hold still, clean the camera lens and try again."


class TooDark(FaceRejected):
    code = "too_dark"
    title = "Picture too dark"
    message_zh = "画面太暗，请到光线充足的地方或打开灯光后重试。"
    message_en = "The picture is too dark. Move to a brighter place or turn on a light."


class LivenessFailed(FaceRejected):
    code = "liveness_failed"
    title = "Liveness check failed"
    message_zh = "未能确认是真人操作，请按提示完成眨眼或转头动作后重试。"
    message_en = (
        "We could not confirm a live person. Follow the prompts to blink or turn your head, "
        "then try again."
    )


class TooManyFrames(FaceRejected):
    code = "too_many_frames"
    title = "Too many frames"
    message_zh = "提交的照片数量过多，请重新开始验证。"
    message_en = "Too many pictures were sent. Please start the check again."


class TooFewFrames(FaceRejected):
    code = "too_few_frames"
    title = "Too few frames"
    message_zh = "提交的照片数量不足，请重新开始验证并保持面对摄像头。"
    message_en = "Too few pictures were sent. Start the check again and keep facing the camera."


class BurstTooLarge(FaceRejected):
    """The frames of one submission declare more pixels in total than one check may decode."""

    code = "burst_too_large"
    status = 413
    title = "Pictures too large in total"
    message_zh = "这次提交的照片总尺寸太大，请使用较低的分辨率重新拍摄。"
    message_en = (
        "The pictures of this check are too large in total. Take them at a lower resolution."
    )


class FrameBudgetExceeded(FaceRejected):
    """The learner's frames of the last minute declared more pixels than a learner may send."""

    code = "frame_budget_exceeded"
    status = 429
    title = "Too many pictures"
    message_zh = "一分钟内提交的照片太多，请稍后再试。"
    message_en = "Too many pictures were sent in the last minute. Please wait and try again."


class FaceEngineUnavailable(DomainError):
    """The face workers could not analyse the frames (a worker died twice, or the app is stopping).

    Nothing was stored and the challenge is still valid: the client retries after ``Retry-After``.
    """

    code = "face_engine_unavailable"
    status = 503
    title = "Face check temporarily unavailable"
    message_zh = "人脸核验服务暂时不可用，请稍后重试。"
    message_en = "Face checks are briefly unavailable. Please try again in a few seconds."


#: Every face error, for ``problem_responses(*FACE_ERRORS)`` on endpoints that take frames.
FACE_ERRORS: tuple[type[FaceRejected], ...] = (
    NotAnImage,
    ImageTooLarge,
    NoFace,
    MultipleFaces,
    FaceTooSmall,
    TooBlurry,
    TooDark,
    LivenessFailed,
    TooManyFrames,
    TooFewFrames,
)


# ---------------------------------------------------------------- verification and enrolment


class ConsentRequired(DomainError):
    code = "consent_required"
    status = 403
    title = "Biometric consent required"
    message_zh = "使用人脸验证前，请先阅读并同意人脸信息处理说明。"
    message_en = "Please read and accept the biometric consent first."


class ConsentRenewalRequired(ConsentRequired):
    """Consent was given to an earlier version of the text (see app/accounts/consent.py)."""

    code = "consent_renewal_required"
    title = "Biometric consent must be renewed"
    message_zh = (
        "人脸信息处理说明已更新，请重新阅读并同意后再进行人脸验证。您的学时和记录不受影响。"
    )
    message_en = (
        "The biometric consent text has changed. Please read and accept it again before your "
        "next face check; your hours and records are unaffected."
    )


class ChallengeNotFound(DomainError):
    code = "challenge_not_found"
    status = 404
    title = "Challenge not found"
    message_zh = "验证已失效，请重新开始。"
    message_en = "This check is not valid any more. Please start again."


class ChallengeExpired(FaceRejected):
    code = "challenge_expired"
    title = "Challenge expired"
    message_zh = "验证已超时，请重新开始。"
    message_en = "The check timed out. Please start again."


class ChallengeUsed(FaceRejected):
    code = "challenge_used"
    title = "Challenge already used"
    message_zh = "该验证已使用过，请重新开始。"
    message_en = "This check was already used. Please start again."


class FrameReplayed(FaceRejected):
    code = "frame_replayed"
    title = "Frame replayed"
    message_zh = "检测到重复提交的照片，请使用摄像头实时拍摄。"
    message_en = "A picture was sent before. Use the camera live."


class FaceMatchesOtherLearner(DomainError):
    code = "face_matches_other_learner"
    status = 409
    title = "Face matches another learner"
    message_zh = "该人脸与其他学员账号相符，已提交培训机构人工审核。"
    message_en = "This face matches another learner's account; staff will review it."


class FaceReenrolUnconfirmed(DomainError):
    """A re-enrolment after a model switch whose face the learner's previous template (checked
    with the previous model) does not confirm: the new template is held for staff review."""

    code = "face_reenrol_unconfirmed"
    status = 409
    title = "Re-enrolled face not confirmed"
    message_zh = "新采集的人脸无法自动确认与您原有的人脸记录为同一人，已提交培训机构人工审核。"
    message_en = (
        "Your new face enrolment could not be matched to your previous one automatically; "
        "staff will review it."
    )


class FaceNotEnrolled(DomainError):
    code = "face_not_enrolled"
    status = 409
    title = "Face not enrolled"
    message_zh = "请先完成人脸采集。"
    message_en = "Enrol your face first."


class FaceReenrolRequired(DomainError):
    """The learner's template was made by another face model than the one now configured:
    embeddings of two models cannot be compared. Nothing was recorded or consumed and no
    failure counted: the learner re-enrols (``POST /me/face/enrol`` with a liveness challenge),
    keeps every credited minute, and repeats the check."""

    code = "face_reenrol_required"
    status = 409
    title = "Face re-enrolment required"
    message_zh = "人脸识别模型已升级，请重新采集人脸（含活体检测）后再验证。已获得的学时不受影响。"
    message_en = (
        "The face recognition model was upgraded: enrol your face again (with the liveness "
        "check), then repeat this check. Your credited study time is kept."
    )


class FaceMismatch(DomainError):
    code = "face_mismatch"
    status = 403
    title = "Face does not match"
    message_zh = "人脸比对未通过，请本人正对摄像头重试。"
    message_en = "The face does not match the enrolled learner."


class VerificationLocked(DomainError):
    code = "verification_locked"
    status = 423
    title = "Verification locked"
    message_zh = "人脸验证失败次数过多，请稍后再试。"
    message_en = "Too many failed face checks; try again later."


class EventNotFound(DomainError):
    code = "attendance_event_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该考勤记录。"
    message_en = "Attendance event not found."


class NothingToReview(DomainError):
    code = "not_reviewable"
    status = 409
    title = "Not reviewable"
    message_zh = "该记录无需审核或已审核。"
    message_en = "This event is not waiting for review."


class EvidencePurged(DomainError):
    code = "evidence_purged"
    status = 410
    title = "Evidence purged"
    message_zh = "该凭证已超过保存期限并被删除，仅保留其哈希值。"
    message_en = "The evidence crop was purged after the retention period; its hash remains."


# ---------------------------------------------------------------- streamed checks


class StreamDiscontinuous(FaceRejected):
    """A streamed check whose frames are not one live camera's: repeated or out-of-order
    frames, a wrong frame rate, another person mid-stream, jumps, a still picture."""

    code = "stream_discontinuous"
    title = "Frames not from one live camera"
    message_zh = "视频画面不连续（疑似重复、乱序或翻拍的画面），请本人在摄像头前实时完成验证。"
    message_en = (
        "The camera frames were not continuous (repeated, out of order or re-filmed). "
        "Do the check live in front of your camera."
    )


class FrameOutOfOrder(FaceRejected):
    code = "frame_out_of_order"
    status = 409
    title = "Frame out of order"
    message_zh = "画面顺序错误，本次验证已作废，请重新开始。"
    message_en = "A frame arrived out of order; this check is void. Please start again."


class FrameTimesInvalid(FaceRejected):
    code = "invalid_frame_times"
    title = "Frame capture times invalid"
    message_zh = "画面的拍摄时间有误，请刷新页面后重新开始验证。"
    message_en = "The pictures' capture times are wrong. Reload the page and start the check again."


class FrameRepeated(FaceRejected):
    code = "frame_repeated"
    status = 409
    title = "Frame repeated"
    message_zh = "同一画面被重复发送，本次验证已作废，请重新开始。"
    message_en = "The same frame was sent twice; this check is void. Please start again."


class NotAStreamedCheck(DomainError):
    code = "not_a_streamed_check"
    status = 409
    title = "Not a streamed check"
    message_zh = "这个验证需要一次性提交照片，不能逐帧上传。"
    message_en = "This challenge takes one burst of frames, not a stream."


class FramesNotExpected(FaceRejected):
    code = "frames_not_expected"
    title = "Frames not expected"
    message_zh = "这次验证的画面已经逐帧上传，提交时请不要再附带照片。"
    message_en = "This check's frames were streamed already; submit it without frames."


class CheckIncomplete(DomainError):
    code = "check_incomplete"
    status = 409
    title = "Check not finished"
    message_zh = "验证尚未完成，请按提示继续完成动作。"
    message_en = "The check is not finished yet. Keep following the prompts."


#: Errors of every endpoint that takes a challenge and frames.
FRAME_SUBMISSION_ERRORS: tuple[type[DomainError], ...] = (
    *FACE_ERRORS,
    ConsentRequired,
    ConsentRenewalRequired,
    ChallengeNotFound,
    ChallengeExpired,
    ChallengeUsed,
    FrameReplayed,
    BurstTooLarge,
    FrameBudgetExceeded,
    FaceEngineUnavailable,
    StreamDiscontinuous,
    FramesNotExpected,
    CheckIncomplete,
)

#: Errors of a frame streamed to a check session.
STREAM_FRAME_ERRORS: tuple[type[DomainError], ...] = (
    NotAnImage,
    ImageTooLarge,
    ConsentRequired,
    ConsentRenewalRequired,
    ChallengeNotFound,
    ChallengeExpired,
    ChallengeUsed,
    FrameReplayed,
    FrameOutOfOrder,
    FrameRepeated,
    FrameTimesInvalid,
    NotAStreamedCheck,
    TooManyFrames,
    BurstTooLarge,
    FrameBudgetExceeded,
)


# ---------------------------------------------------------------- phone hand-off


class HandoffNotFound(DomainError):
    code = "handoff_not_found"
    status = 404
    title = "Hand-off not found"
    message_zh = "链接无效：找不到这次手机验证。请在电脑上重新生成二维码。"
    message_en = "This link is not valid. Create a new QR code on the computer."


class HandoffExpired(DomainError):
    code = "handoff_expired"
    status = 410
    title = "Hand-off expired"
    message_zh = "这个手机验证链接已过期。请在电脑上重新生成二维码。"
    message_en = "This phone link has expired. Create a new QR code on the computer."


class HandoffUsed(DomainError):
    """Raised with ``passed`` (whether the check done through the link passed) where the
    hand-off is known: a phone whose answer was lost and that tries again learns its check
    passed, not only that the link is spent."""

    code = "handoff_used"
    status = 409
    title = "Hand-off already used"
    message_zh = "这个手机验证链接已经用过了，请回到电脑继续。"
    message_en = "This phone link has already been used. Go back to the computer."


class InvalidHandoff(DomainError):
    code = "invalid_handoff"
    status = 422
    title = "Invalid hand-off"
    message_zh = "无法为这项验证生成手机链接，请刷新页面后重试。"
    message_en = "A phone link cannot be made for this check. Reload the page and try again."
