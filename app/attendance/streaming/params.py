"""The streamed check's vocabulary: the actions, the stable reason codes, a frame's measured
values (:class:`StreamFrame`) and the protocol's timing and thresholds (:class:`StreamParams`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol

from app.attendance.liveness import FrameFeatures

StreamAction = Literal["blink", "blink_twice", "turn_left", "turn_right"]
STREAM_ACTIONS: Final[tuple[StreamAction, ...]] = (
    "blink",
    "blink_twice",
    "turn_left",
    "turn_right",
)

# ---------------------------------------------------------------- reason codes (stable)

#: Continuity / replay: the stream itself is not a live camera's.
REASON_OUT_OF_ORDER = "frame_out_of_order"
REASON_REPEATED = "frame_repeated"
REASON_FRAME_RATE = "frame_rate"
REASON_DIFFERENT_PERSON = "different_person"
REASON_IMPLAUSIBLE_MOTION = "implausible_motion"
REASON_FRAMES_IDENTICAL = "frames_identical"
#: Liveness: the stream is continuous but the revealed action was not answered.
REASON_TOO_SHORT = "stream_too_short"
REASON_NOT_SEEN = "action_not_seen"
REASON_BEFORE_REVEAL = "action_before_reveal"
REASON_WRONG_ACTION = "wrong_action"
REASON_NOT_HELD = "pose_not_held"
#: Quality: too few frames with a usable face (the dominant quality code is reported too).
REASON_TOO_FEW_FACES = "too_few_faces"

CONTINUITY_REASONS: Final[frozenset[str]] = frozenset(
    {
        REASON_OUT_OF_ORDER,
        REASON_REPEATED,
        REASON_FRAME_RATE,
        REASON_DIFFERENT_PERSON,
        REASON_IMPLAUSIBLE_MOTION,
        REASON_FRAMES_IDENTICAL,
    }
)


class StreamFeatures(FrameFeatures, Protocol):
    """What the streamed check reads from a frame's analysis (``FaceAnalysis`` provides it):
    what the burst check reads (:class:`~app.attendance.liveness.FrameFeatures`) and the face's
    place in the frame."""

    @property
    def centre_and_width(self) -> tuple[float, float, float]: ...


@dataclass(frozen=True, slots=True)
class StreamFrame:
    """One received frame: the server's sequence number and arrival time (ms since the stream's
    first frame), its SHA-256, and its analysis (``None``: no usable face, ``rejection`` says
    why)."""

    seq: int
    t_ms: int
    sha256: str
    features: StreamFeatures | None
    rejection: str | None = None


@dataclass(frozen=True, slots=True)
class StreamParams:
    """The protocol's timing and thresholds (defaults measured, see the module docstring)."""

    #: Reveals per check: independent random windows multiply a replay's luck (measured:
    #: talking_head_1 replayed passes 2.2-2.8 % of trials with two, 0.2 % with three).
    reveals: int = 3
    #: What the reveals are drawn from (distinct while they last).
    actions: tuple[str, ...] = STREAM_ACTIONS
    #: The first reveal is due this long after the first frame (uniform, server's random).
    first_reveal_s: tuple[float, float] = (1.2, 2.4)
    #: Pause between one window's end and the next reveal (uniform).
    gap_s: tuple[float, float] = (1.0, 1.8)
    #: The action must be completed within this long after its reveal.
    window_s: float = 2.5
    #: Frames arriving sooner than this after the reveal cannot show the answer (human reaction
    #: time plus the prompt's display): an action under way at the reveal does not count.
    reaction_s: float = 0.3
    #: Frame rate bounds over the stream, and the longest silence allowed between two frames.
    min_fps: float = 4.0
    max_fps: float = 20.0
    max_gap_s: float = 1.5
    #: At most this share of frames may lack a usable face, and each window needs this many
    #: usable frames (a blink lasts 100-400 ms: ~10 frames/s are needed to see it).
    max_faceless_share: float = 0.25
    min_window_frames: int = 6
    #: Blink: the closed frame is at most this fraction of the open baseline (the 80th
    #: percentile of the stream's own EAR) and this far below it in absolute terms; open again
    #: at >= ``blink_open_ratio`` of it. Measured as for liveness v1 (natural blinks reach
    #: 0.37-0.49 of the baseline, printed photos 0.69-0.91).
    ear_baseline_percentile: float = 80.0
    blink_close_ratio: float = 0.60
    blink_min_drop: float = 0.06
    blink_open_ratio: float = 0.85
    #: Turn: yaw ratio change from the held pose, for this many consecutive usable frames.
    turn_threshold: float = 0.20
    turn_min_frames: int = 2
    #: Before a turn's reveal the head must be held: yaw range over the last
    #: ``hold_s`` before the reveal at most this (a turn already under way is refused).
    hold_s: float = 1.0
    hold_max_yaw_range: float = 0.12
    #: In a turn's window, a swing the other way of this much before the right one: wrong action.
    wrong_way_threshold: float = 0.15
    #: One person throughout: every embedding within this of the stream's median (Euclidean on
    #: the engine's unit vectors; SFace. A responsive stream of talking_head_1 with turns of
    #: 0.3 reaches 0.83: a turned face's embedding sits farther from the frontal median).
    same_person_max_distance: float = 0.9
    #: ... and no two consecutive usable frames this far apart (a swap of people between two
    #: frames: different people's embeddings sit >= 0.95 apart on the East-Asian sets).
    same_person_max_step: float = 0.8
    #: Plausible motion: the face centre moves at most this many face widths per second between
    #: consecutive frames, and its width changes by at most this factor between them. Measured:
    #: talking_head_1 at most 1.7 widths/s; hamilton_clip (a film, camera cuts) up to 11.
    max_speed_widths_per_s: float = 4.0
    max_scale_step: float = 1.35
    #: A stream whose grey signatures never differ from the first frame's by more than this is
    #: a replayed still (see liveness v1).
    static_max_motion: float = 2.5
