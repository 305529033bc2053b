"""Liveness v2: a server-paced, streamed face check.

The client no longer learns the actions up front and no longer uploads a finished burst. A check
is a short live exchange:

1. the client opens a *check session* and streams frames to it one by one (small sequential
   HTTP uploads, see :mod:`app.attendance.checks` for why not a WebSocket);
2. the server stamps each frame's arrival and owns the order (a frame must carry the next
   sequence number; the server's clock, not the client's, times everything);
3. at a random moment after the stream starts the server *reveals* an action — in the response
   to the first frame that arrives after that moment — drawn from :data:`STREAM_ACTIONS`; the
   action must appear in frames that arrive within a short window **after** the reveal (not
   earlier than a human reaction time), and a head turn must not already be under way before
   it; then a second reveal, and so on;
4. when the last window has passed the check is complete and the operation (enrolment,
   check-in, roll-call, quiz gate, partner verification) decides on the whole stream.

This module is the pure part: the reveal schedule and its state machine (:class:`Schedule`) and
the decision over an analysed stream (:func:`evaluate`). It takes the per-frame values the face
engine measured (eye aspect ratio, yaw, embedding, grey signature, face box) and arrival times in
milliseconds, so the same code decides a real check, the replay/responsive trials of
:mod:`app.attendance.stream_eval` and the unit tests.

Why these actions (measured on ``../shared/faces/videos`` with the SFace engine's 68 landmarks,
see ``benchmarks/stream_liveness.py`` and the README): blinks (eye aspect ratio ~0.34 open,
0.12-0.20 closed) and head turns (yaw ratio) are read reliably. *Look up* and *open mouth* are
not offered: the talking-head clip's ordinary speech already moves the pitch ratio by 0.28
(0.47 -> 0.19) and opens the mouth to an aspect ratio of 0.49, and no clip here shows a
deliberate look-up or open mouth to set a threshold that separates the two.

Natural sway: over any 2.5 s of talking_head_1 the yaw moves up to 0.21 (median) from its
preceding 1.5 s, 0.31 at most; the old single threshold 0.12 was crossed by that. A turn now
needs the head to be *held still* before the reveal (pre-reveal yaw range below
``hold_max_yaw_range``), then to move >= ``turn_threshold`` from that held pose, in the
requested direction, for ``turn_min_frames`` frames, after the reveal, without first swinging
the other way — a talking, swaying head fails one of these far more often than it passes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, Protocol

import numpy as np
import numpy.typing as npt

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


class StreamFeatures(Protocol):
    """What the streamed check reads from a frame's analysis (``FaceAnalysis`` provides it)."""

    @property
    def ear(self) -> float: ...

    @property
    def yaw(self) -> float: ...

    @property
    def embedding(self) -> npt.NDArray[np.float32]: ...

    @property
    def signature(self) -> npt.NDArray[np.uint8]: ...

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


# ---------------------------------------------------------------- the schedule


@dataclass(slots=True)
class Reveal:
    """One action of a check: when it was due and when it was actually revealed (ms since the
    first frame; ``None`` until a frame's response carried it)."""

    action: str
    #: Delay from the previous window's end (or the first frame, for the first reveal).
    delay_ms: int
    revealed_ms: int | None = None


@dataclass(slots=True)
class Schedule:
    """The server's secret plan for a check and how far it got. JSON-serialisable
    (:meth:`to_json`/:meth:`from_json`), so a check session can live in the database."""

    reveals: list[Reveal]
    window_ms: int
    started: bool = False
    last_seq: int = -1
    last_ms: int = -1
    #: A refused frame voids the stream (``frame_out_of_order``, ``frame_repeated``, ...).
    broken: str | None = None

    @classmethod
    def draw(cls, params: StreamParams, rng: secrets.SystemRandom | Any | None = None) -> Schedule:
        """Random actions (distinct while ``params.actions`` lasts) and random reveal moments,
        from a CSPRNG by default."""
        r = rng or secrets.SystemRandom()
        actions: list[str] = []
        pool = list(params.actions)
        for _ in range(params.reveals):
            choice = r.choice(pool)
            actions.append(choice)
            pool.remove(choice)
            if not pool:
                pool = list(params.actions)
        reveals = []
        for i, a in enumerate(actions):
            lo, hi = params.first_reveal_s if i == 0 else params.gap_s
            reveals.append(Reveal(a, round(1000 * r.uniform(lo, hi))))
        return cls(reveals=reveals, window_ms=round(1000 * params.window_s))

    @property
    def actions(self) -> list[str]:
        return [r.action for r in self.reveals]

    def due_ms(self, index: int) -> int | None:
        """When reveal ``index`` is due (ms since the first frame), once the one before it was
        revealed; ``None`` while it cannot be known yet."""
        if index == 0:
            return self.reveals[0].delay_ms
        prev = self.reveals[index - 1].revealed_ms
        if prev is None:
            return None
        return prev + self.window_ms + self.reveals[index].delay_ms

    def end_ms(self) -> int | None:
        """When the last window closes (known once the last reveal is out)."""
        last = self.reveals[-1].revealed_ms
        return None if last is None else last + self.window_ms

    def on_frame(self, t_ms: int) -> Reveal | None:
        """Advance the plan with a frame that arrived at ``t_ms``; returns the reveal this
        frame's response carries when it is the moment to reveal one (at most one per frame)."""
        self.started = True
        self.last_ms = t_ms
        for i, rev in enumerate(self.reveals):
            if rev.revealed_ms is not None:
                continue
            due = self.due_ms(i)
            if due is not None and t_ms >= due:
                rev.revealed_ms = t_ms
                return rev
            return None
        return None

    def current(self, t_ms: int) -> Reveal | None:
        """The revealed action whose window is open at ``t_ms``."""
        for rev in self.reveals:
            if (
                rev.revealed_ms is not None
                and rev.revealed_ms <= t_ms < rev.revealed_ms + self.window_ms
            ):
                return rev
        return None

    def complete(self, t_ms: int) -> bool:
        """Has the last window closed by ``t_ms``?"""
        end = self.end_ms()
        return end is not None and t_ms >= end

    def to_json(self) -> dict[str, Any]:
        return {
            "reveals": [asdict(r) for r in self.reveals],
            "window_ms": self.window_ms,
            "started": self.started,
            "last_seq": self.last_seq,
            "last_ms": self.last_ms,
            "broken": self.broken,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        return cls(
            reveals=[Reveal(**r) for r in data["reveals"]],
            window_ms=int(data["window_ms"]),
            started=bool(data.get("started", False)),
            last_seq=int(data.get("last_seq", -1)),
            last_ms=int(data.get("last_ms", -1)),
            broken=data.get("broken"),
        )


# ---------------------------------------------------------------- the decision


@dataclass(frozen=True, slots=True)
class RevealResult:
    action: str
    revealed_ms: int | None
    passed: bool
    reason: str | None = None
    #: Arrival (ms) of the frame that completed the action.
    at_ms: int | None = None
    #: The measured extreme in the window: min EAR (blinks), max yaw change (turns).
    value: float | None = None


@dataclass(frozen=True, slots=True)
class StreamResult:
    """Outcome of :func:`evaluate`. ``reason`` is the first failing reason code, ``category``
    one of ``continuity``, ``quality``, ``liveness`` (``None`` when passed)."""

    passed: bool
    reason: str | None
    category: str | None
    reveals: tuple[RevealResult, ...]
    frames: int
    usable_frames: int
    duration_ms: int
    fps: float
    max_identity_distance: float = 0.0
    max_speed: float = 0.0
    motion: float = 0.0
    quality_code: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("fps", "max_identity_distance", "max_speed", "motion"):
            d[key] = round(float(d[key]), 4)
        for r in d["reveals"]:
            if r.get("value") is not None:
                r["value"] = round(float(r["value"]), 4)
        return d


def _fail(reason: str, category: str, **kw: Any) -> tuple[str, str, dict[str, Any]]:
    return reason, category, kw


def evaluate(
    frames: Sequence[StreamFrame], schedule: Schedule, params: StreamParams | None = None
) -> StreamResult:
    """Did this stream come from one live person who answered every reveal in its window?

    Checked in this order, the first failure deciding the reason: order and repeats, frame
    rate and coverage of every window, usable faces, one person, plausible motion, not a still,
    then each reveal's action.
    """
    p = params or StreamParams()
    n = len(frames)
    ts = np.array([f.t_ms for f in frames], dtype=np.int64)
    duration = int(ts[-1] - ts[0]) if n else 0
    fps = (n - 1) / (duration / 1000.0) if n > 1 and duration > 0 else 0.0
    usable = [f for f in frames if f.features is not None]
    base: dict[str, Any] = {
        "frames": n,
        "usable_frames": len(usable),
        "duration_ms": duration,
        "fps": fps,
    }

    def result(
        reason: str | None,
        category: str | None,
        *,
        reveals: Sequence[RevealResult] = (),
        **extra: Any,
    ) -> StreamResult:
        return StreamResult(
            passed=reason is None,
            reason=reason,
            category=category,
            reveals=tuple(reveals)
            or tuple(
                RevealResult(r.action, r.revealed_ms, False, reason) for r in schedule.reveals
            ),
            **base,
            **extra,
        )

    # -- order, repeats, rate, coverage
    if schedule.broken:
        return result(schedule.broken, "continuity")
    seqs = [f.seq for f in frames]
    if any(b != a + 1 for a, b in zip(seqs, seqs[1:], strict=False)) or bool(
        np.any(np.diff(ts) < 0)
    ):
        return result(REASON_OUT_OF_ORDER, "continuity")
    if len({f.sha256 for f in frames}) != n:
        return result(REASON_REPEATED, "continuity")
    end = schedule.end_ms()
    if end is None or n < 2 or ts[-1] < end:
        return result(REASON_TOO_SHORT, "liveness")
    gaps = np.diff(ts) / 1000.0
    if fps < p.min_fps or float(gaps.max()) > p.max_gap_s or _max_in_second(ts) > p.max_fps:
        return result(REASON_FRAME_RATE, "continuity")

    # -- faces
    if not usable or (n - len(usable)) / n > p.max_faceless_share:
        return result(REASON_TOO_FEW_FACES, "quality", quality_code=_dominant(frames))
    for rev in schedule.reveals:
        lo = rev.revealed_ms if rev.revealed_ms is not None else 0  # known: end_ms() is
        hi = lo + schedule.window_ms
        if sum(1 for f in usable if lo <= f.t_ms <= hi) < p.min_window_frames:
            return result(REASON_TOO_FEW_FACES, "quality", quality_code=_dominant(frames))

    feats = [f.features for f in usable if f.features is not None]
    ut = np.array([f.t_ms for f in usable], dtype=np.int64)
    emb = np.stack([np.asarray(a.embedding, np.float64) for a in feats])
    identity = float(np.linalg.norm(emb - np.median(emb, axis=0), axis=1).max())
    step = float(np.linalg.norm(np.diff(emb, axis=0), axis=1).max()) if len(emb) > 1 else 0.0
    cw = np.array([a.centre_and_width for a in feats], dtype=np.float64)
    speed, scale = _motion(cw, ut)
    sig = np.stack([np.asarray(a.signature, np.float64) for a in feats])
    still = float(np.abs(sig - sig[0]).mean(axis=(1, 2)).max())
    measured: dict[str, Any] = {
        "max_identity_distance": identity,
        "max_speed": speed,
        "motion": still,
    }
    base["details"] = {"max_identity_step": round(step, 4)}
    if identity > p.same_person_max_distance or step > p.same_person_max_step:
        return result(REASON_DIFFERENT_PERSON, "continuity", **measured)
    if speed > p.max_speed_widths_per_s or scale > p.max_scale_step:
        return result(REASON_IMPLAUSIBLE_MOTION, "continuity", **measured)
    if still < p.static_max_motion:
        return result(REASON_FRAMES_IDENTICAL, "continuity", **measured)

    # -- the reveals
    ear = np.array([a.ear for a in feats], dtype=np.float64)
    yaw = np.array([a.yaw for a in feats], dtype=np.float64)
    baseline = float(np.percentile(ear, p.ear_baseline_percentile))
    results = [
        _check_reveal(rev, schedule.window_ms, ut, ear, yaw, baseline, p)
        for rev in schedule.reveals
    ]
    failed = next((r for r in results if not r.passed), None)
    base["details"]["ear_baseline"] = round(baseline, 4)
    return result(
        failed.reason if failed else None,
        "liveness" if failed else None,
        reveals=results,
        **measured,
    )


def _max_in_second(ts: npt.NDArray[np.int64]) -> int:
    """Most frames arriving within any 1-second span."""
    right = np.searchsorted(ts, ts + 1000, side="left")
    return int((right - np.arange(len(ts))).max())


def _motion(cw: npt.NDArray[np.float64], ts: npt.NDArray[np.int64]) -> tuple[float, float]:
    """Fastest centre movement (face widths per second) and largest width ratio between
    consecutive usable frames."""
    if len(cw) < 2:
        return 0.0, 1.0
    dt = np.maximum(np.diff(ts) / 1000.0, 1e-3)
    width = np.maximum(cw[:-1, 2], 1.0)
    speed = np.linalg.norm(np.diff(cw[:, :2], axis=0), axis=1) / width / dt
    ratio = np.maximum(cw[1:, 2], 1.0) / width
    return float(speed.max()), float(np.maximum(ratio, 1.0 / ratio).max())


def _dominant(frames: Sequence[StreamFrame]) -> str | None:
    codes = [f.rejection for f in frames if f.rejection]
    return max(set(codes), key=codes.count) if codes else None


def _check_reveal(
    rev: Reveal,
    window_ms: int,
    ts: npt.NDArray[np.int64],
    ear: npt.NDArray[np.float64],
    yaw: npt.NDArray[np.float64],
    baseline: float,
    p: StreamParams,
) -> RevealResult:
    if rev.revealed_ms is None:  # never revealed: the stream ended before it
        return RevealResult(rev.action, None, False, REASON_TOO_SHORT)
    start = rev.revealed_ms + round(1000 * p.reaction_s)
    end = rev.revealed_ms + window_ms
    inside = np.flatnonzero((ts >= start) & (ts <= end))
    if rev.action in ("blink", "blink_twice"):
        need = 2 if rev.action == "blink_twice" else 1
        found: list[int] = []
        i = int(inside[0]) if inside.size else len(ts)
        while len(found) < need:
            hit = _find_blink(ear, ts, i, end, baseline, p)
            if hit is None:
                break
            found.append(hit)
            i = hit
        value = float(ear[inside].min()) if inside.size else None
        if len(found) < need:
            return RevealResult(rev.action, rev.revealed_ms, False, REASON_NOT_SEEN, None, value)
        return RevealResult(rev.action, rev.revealed_ms, True, None, int(ts[found[-1]]), value)

    sign = -1.0 if rev.action == "turn_left" else 1.0
    before = np.flatnonzero(
        (ts >= rev.revealed_ms - round(1000 * p.hold_s)) & (ts < rev.revealed_ms)
    )
    if before.size == 0:
        return RevealResult(rev.action, rev.revealed_ms, False, REASON_NOT_HELD)
    held = yaw[before]
    if float(held.max() - held.min()) > p.hold_max_yaw_range:
        # Already turning (or swaying like a talking head) when the action was revealed.
        moved = sign * (held - held[0])
        why = (
            REASON_BEFORE_REVEAL if float(moved.max()) >= p.hold_max_yaw_range else REASON_NOT_HELD
        )
        return RevealResult(rev.action, rev.revealed_ms, False, why)
    ref = float(np.median(held))
    window = np.flatnonzero((ts > rev.revealed_ms) & (ts <= end))
    delta = sign * (yaw[window] - ref)
    value = float(delta.max()) if delta.size else None
    run = 0
    for k, idx in enumerate(window):
        if ts[idx] < start:
            continue
        if delta[k] <= -p.wrong_way_threshold:
            return RevealResult(
                rev.action, rev.revealed_ms, False, REASON_WRONG_ACTION, None, value
            )
        run = run + 1 if delta[k] >= p.turn_threshold else 0
        if run >= p.turn_min_frames:
            return RevealResult(rev.action, rev.revealed_ms, True, None, int(ts[idx]), value)
    if delta.size and bool(np.any(delta[ts[window] < start] >= p.turn_threshold)):
        return RevealResult(rev.action, rev.revealed_ms, False, REASON_BEFORE_REVEAL, None, value)
    return RevealResult(rev.action, rev.revealed_ms, False, REASON_NOT_SEEN, None, value)


def _find_blink(
    ear: npt.NDArray[np.float64],
    ts: npt.NDArray[np.int64],
    start: int,
    end_ms: int,
    baseline: float,
    p: StreamParams,
) -> int | None:
    """Index of the re-opened frame of the first open -> closed -> open sequence from index
    ``start`` that re-opens by ``end_ms``."""
    open_level = baseline * p.blink_open_ratio
    closed_level = min(baseline * p.blink_close_ratio, baseline - p.blink_min_drop)
    state = "wait_open"
    for i in range(start, len(ear)):
        if ts[i] > end_ms:
            return None
        e = ear[i]
        if state == "wait_open" and e >= open_level:
            state = "open"
        elif state == "open" and e <= closed_level:
            state = "closed"
        elif state == "closed" and e >= open_level:
            return i
    return None


__all__ = [
    "CONTINUITY_REASONS",
    "STREAM_ACTIONS",
    "Reveal",
    "RevealResult",
    "Schedule",
    "StreamAction",
    "StreamFeatures",
    "StreamFrame",
    "StreamParams",
    "StreamResult",
    "evaluate",
]
