"""Why a face check did not pass, in stable codes, one category each, and in words.

An attendance event's ``reason_code`` says which of four things went wrong — the learner, the
staff reviewing the event and the regulator must be able to tell them apart:

* ``match`` — the face is not (or not clearly) the enrolled learner's;
* ``liveness`` — one continuous live stream, but the revealed actions were not done in time;
* ``quality`` — too few frames with one usable face (dark, blurred, too small, none, several);
* ``continuity`` — the frames are not one live camera's: replayed, repeated, out of order,
  another person mid-stream, jumps, a still picture (replay attacks land here).

``event.liveness["reason"]`` holds the detailed code (e.g. ``action_before_reveal``), which has
its own words below. Codes never change meaning; new ones may be added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from app.attendance.face import Metric, decide_score
from app.attendance.models import AttendanceEvent

Category = Literal["match", "liveness", "quality", "continuity", "review"]


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    category: Category
    zh: str
    en: str

    def words(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


_ALL: tuple[Reason, ...] = (
    # -- an event's reason_code
    Reason(
        "face_mismatch",
        "match",
        "人脸与采集时的不一致。",
        "The face does not match the enrolled one.",
    ),
    Reason(
        "uncertain_match",
        "match",
        "比对结果不确定，已提交人工审核。",
        "The match was uncertain; sent to staff review.",
    ),
    Reason(
        "face_matches_other_learner",
        "match",
        "该人脸与其他学员账号相符，已提交人工审核。",
        "The face matches another learner's account; sent to staff review.",
    ),
    Reason(
        "liveness_failed",
        "liveness",
        "活体检测未通过：没有在提示后及时完成要求的动作。",
        "Liveness check failed: the requested action was not done in time after the prompt.",
    ),
    Reason(
        "stream_discontinuous",
        "continuity",
        "画面不连续（重复、乱序、换人或翻拍），疑似非实时拍摄。",
        "The frames were not continuous (repeated, out of order, another person or re-filmed).",
    ),
    Reason(
        "frame_replayed",
        "continuity",
        "提交了以前用过的画面（重放）。",
        "Frames that had been used before were sent again (replay).",
    ),
    Reason("no_face", "quality", "画面中没有检测到人脸。", "No face was found."),
    Reason("multiple_faces", "quality", "画面中有多张人脸。", "More than one face was in view."),
    Reason("face_too_small", "quality", "人脸太小（离摄像头太远）。", "The face was too small."),
    Reason("too_blurry", "quality", "画面太模糊。", "The picture was too blurry."),
    Reason("too_dark", "quality", "画面太暗。", "The picture was too dark."),
    Reason("too_few_frames", "quality", "可用的画面太少。", "Too few usable frames."),
    Reason("not_an_image", "quality", "上传的不是有效图片。", "Not a valid picture."),
    # -- details in event.liveness["reason"]
    Reason(
        "action_not_seen",
        "liveness",
        "提示后没有检测到要求的动作。",
        "The requested action was not seen after the prompt.",
    ),
    Reason(
        "action_before_reveal",
        "liveness",
        "动作在提示出现之前就已开始。",
        "The action started before it was asked for.",
    ),
    Reason(
        "wrong_action",
        "liveness",
        "做了与提示不同的动作（例如转向了另一侧）。",
        "A different action was done (e.g. turned the other way).",
    ),
    Reason(
        "pose_not_held",
        "liveness",
        "提示出现前头部没有保持不动。",
        "The head was not held still before the prompt.",
    ),
    Reason(
        "stream_too_short",
        "liveness",
        "画面在所有提示完成前就中断了。",
        "The frames stopped before every prompt was answered.",
    ),
    Reason("action_out_of_order", "liveness", "动作顺序不对。", "The actions were out of order."),
    Reason(
        "too_few_faces", "quality", "可用的人脸画面太少。", "Too few frames showed a usable face."
    ),
    Reason(
        "frame_out_of_order",
        "continuity",
        "画面顺序错乱。",
        "Frames arrived out of order.",
    ),
    Reason(
        "frame_repeated", "continuity", "同一画面被重复发送。", "The same frame was sent twice."
    ),
    Reason(
        "frame_rate",
        "continuity",
        "画面速率异常（太慢、停顿或太快）。",
        "The frame rate was implausible (too slow, stalled or too fast).",
    ),
    Reason(
        "different_person",
        "continuity",
        "验证过程中画面里换了人。",
        "Another person appeared during the check.",
    ),
    Reason(
        "implausible_motion",
        "continuity",
        "人脸位置跳变，不像连续拍摄。",
        "The face jumped about, unlike a continuous recording.",
    ),
    Reason(
        "frames_identical",
        "continuity",
        "画面静止不变（疑似照片）。",
        "The frames did not change (a still picture).",
    ),
)

REASONS: Final[dict[str, Reason]] = {r.code: r for r in _ALL}


def category(code: str | None) -> Category | None:
    """The category of a reason code (``None`` for no code or an unknown one)."""
    r = REASONS.get(code or "")
    return r.category if r else None


def words(code: str | None, lang: str = "zh") -> str | None:
    """The reason in words, in ``lang`` (``zh`` or ``en``)."""
    r = REASONS.get(code or "")
    return r.words(lang) if r else None


def all_words(lang: str) -> dict[str, str]:
    """Every code's words in one language (the pages' scripts get these)."""
    return {code: r.words(lang) for code, r in REASONS.items()}


# ---------------------------------------------------------------- the face behind a failure


def _band(event: AttendanceEvent) -> str | None:
    """The accept/review/reject band of the event's median frame score, by the thresholds and
    metric the event recorded (None when no face was compared)."""
    if event.median_distance is None:
        return None
    metric: Metric = "euclidean" if event.match_metric == "euclidean" else "cosine"
    return decide_score(
        float(event.median_distance),
        float(event.accept_threshold),
        float(event.reject_threshold),
        metric,
    )


def clear_match(event: AttendanceEvent) -> bool:
    """Did the face in the check match the learner's template clearly — the median frame's
    score in the accept band of the thresholds and metric the event recorded?

    Read from the stored event alone, so the answer is the same whenever it is asked (a
    roll-call decided later, a replay of the ledger)."""
    return _band(event) == "passed"


def clear_mismatch(event: AttendanceEvent) -> bool:
    """The face in the check was clearly not the learner's (median frame in the reject band)."""
    return _band(event) == "failed"


def live_but_matched(event: AttendanceEvent) -> bool:
    """A check that failed on liveness alone while the face matched clearly: a roll-call that
    ends on it goes to staff review rather than the learner losing time outright (issue 14)."""
    return (
        event.outcome.value == "failed"
        and category(event.reason_code) == "liveness"
        and clear_match(event)
    )


__all__ = [
    "REASONS",
    "Category",
    "Reason",
    "all_words",
    "category",
    "clear_match",
    "clear_mismatch",
    "live_but_matched",
    "words",
]
