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
          └── TooFewFrames            422 too_few_frames

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
    message_en = "More than one face is in the picture. Make sure only you are in front of the camera."


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
