"""Trials of the streamed liveness protocol on recorded clips: the replay attack, a responsive
live user and printed photos. Used by the tests, ``benchmarks/stream_liveness.py`` and
``skilltrace face evaluate`` (:mod:`app.attendance.evaluation`).

Every trial runs the real protocol (:class:`app.attendance.streaming.Schedule` draws the secret
actions and reveal moments, :func:`app.attendance.streaming.evaluate` decides) on frames the real
face engine analysed once per clip (:func:`analyse_clip`), with simulated arrival times:

* **replay** — a recorded video played at its own pace from a random point (looping if it ends)
  while the client uploads what the camera sees at ``capture_fps``; the player ignores every
  reveal. Each upload is a new camera capture, so its bytes are new (an exact re-upload is a
  different, easier attack that the repeat check stops).
* **responsive** — a harness built from real segments of a clip: it idles on a stretch where the
  face is still, and after each reveal (plus a human reaction time) plays a stretch of the clip
  where that action happens: a blink found by the eye aspect ratio, two blinks, a head turn found
  by the yaw (a left turn is a right turn's frames mirrored). That is what a live, cooperating
  learner looks like to the server.
* **print** — the photos of one printed-photo attack (``antispoof/print_attack/<subject>``)
  uploaded in random order, again and again, as the camera would see the photo moved about.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.attendance.exceptions import FaceRejected
from app.attendance.face import FaceAnalysis, RGBImage, load_image_file
from app.attendance.streaming import (
    Schedule,
    StreamFrame,
    StreamParams,
    StreamResult,
    evaluate,
)


@dataclass(frozen=True, slots=True)
class ClipFrame:
    """One analysed frame of a clip: its analysis, or the quality code that refused it."""

    features: FaceAnalysis | None
    rejection: str | None = None


@dataclass(frozen=True)
class Clip:
    """A clip's frames, analysed once, and its frame rate."""

    name: str
    fps: float
    frames: tuple[ClipFrame, ...]
    #: The same frames mirrored left-right, analysed (only where a harness needs them).
    mirrored: dict[int, ClipFrame] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.fps


def _analyse(engine: Any, img: RGBImage) -> ClipFrame:
    try:
        return ClipFrame(engine.analyse(img))
    except FaceRejected as exc:
        return ClipFrame(None, exc.code)


def read_video(path: str | Path) -> tuple[float, list[RGBImage]]:
    """All frames of a video file (RGB) and its frame rate."""
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 25.0)
    images: list[RGBImage] = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        images.append(np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
    cap.release()
    if not images:
        raise FileNotFoundError(f"no frames could be read from {path}")
    return fps, images


def analyse_clip(
    engine: Any, path: str | Path, *, mirror_turns: StreamParams | None = None
) -> Clip:
    """Analyse every frame of a video with ``engine``; with ``mirror_turns``, also the frames of
    its head turns (by those parameters' threshold) mirrored, for a harness's other direction."""
    fps, images = read_video(path)
    clip = Clip(Path(path).stem, fps, tuple(_analyse(engine, img) for img in images))
    if mirror_turns is None:
        return clip
    mirror = turn_frames(clip, mirror_turns)
    mirrored = {i: _analyse(engine, np.ascontiguousarray(images[i][:, ::-1])) for i in mirror}
    return Clip(clip.name, fps, clip.frames, mirrored)


def analyse_photos(engine: Any, paths: Sequence[str | Path]) -> list[ClipFrame]:
    """Analyse still photos (a printed-photo attack's frames)."""
    out = []
    for p in paths:
        try:
            out.append(_analyse(engine, load_image_file(p)))
        except FaceRejected as exc:
            out.append(ClipFrame(None, exc.code))
    return out


# ---------------------------------------------------------------- running one stream


@dataclass(frozen=True)
class Trial:
    """One simulated check: its secret actions and the protocol's decision."""

    kind: str
    actions: tuple[str, ...]
    result: StreamResult

    @property
    def passed(self) -> bool:
        return self.result.passed


#: What a simulated client shows at an arrival time, given the reveals it has seen so far
#: (action, revealed at ms).
Source = Callable[[int, list[tuple[str, int]]], ClipFrame]


def run_stream(
    source: Source,
    rng: random.Random,
    params: StreamParams,
    *,
    capture_fps: float = 12.0,
    jitter_ms: float = 15.0,
    schedule: Schedule | None = None,
    kind: str = "trial",
) -> Trial:
    """Feed frames from ``source`` at ``capture_fps`` (with arrival jitter) through a fresh
    schedule until its last window closed, then decide."""
    plan = schedule or Schedule.draw(params, rng)
    seen: list[tuple[str, int]] = []
    frames: list[StreamFrame] = []
    period = 1000.0 / capture_fps
    t_last = -1
    k = 0
    limit = 60_000
    while True:
        t = max(t_last + 1, round(k * period + rng.uniform(-jitter_ms, jitter_ms)))
        if k == 0:
            t = 0
        shown = source(t, seen)
        rev = plan.on_frame(t)
        plan.last_seq = k
        frames.append(StreamFrame(k, t, f"{kind}:{k}", shown.features, shown.rejection))
        if rev is not None:
            seen.append((rev.action, t))
        t_last = t
        k += 1
        if plan.complete(t) or t > limit:
            break
    return Trial(kind, tuple(plan.actions), evaluate(frames, plan, params))


def replay_source(clip: Clip, rng: random.Random) -> Source:
    """A recorded clip played from a random point at its own pace, looping, deaf to reveals."""
    offset = rng.uniform(0.0, clip.duration_s)

    def show(t_ms: int, _seen: list[tuple[str, int]]) -> ClipFrame:
        i = int((offset + t_ms / 1000.0) * clip.fps) % len(clip.frames)
        return clip.frames[i]

    return show


def replay_trial(clip: Clip, rng: random.Random, params: StreamParams) -> Trial:
    return run_stream(replay_source(clip, rng), rng, params, kind=f"replay:{clip.name}")


def print_source(photos: Sequence[ClipFrame], rng: random.Random) -> Source:
    """Printed-photo frames in random order (a fresh shuffle each round)."""
    order: list[ClipFrame] = []

    def show(_t_ms: int, _seen: list[tuple[str, int]]) -> ClipFrame:
        if not order:
            order.extend(rng.sample(list(photos), len(photos)))
        return order.pop()

    return show


def print_trial(photos: Sequence[ClipFrame], rng: random.Random, params: StreamParams) -> Trial:
    return run_stream(print_source(photos, rng), rng, params, kind="print")


# ---------------------------------------------------------------- a responsive harness


@dataclass(frozen=True)
class Harness:
    """Segments of one clip: an idle stretch and, per action, stretches where it happens
    (indices into the clip; ``mirrored`` segments index :attr:`Clip.mirrored`)."""

    clip: Clip
    idle: tuple[int, ...]
    segments: dict[str, list[tuple[tuple[int, ...], bool]]]

    def frame(self, index: int, mirrored: bool) -> ClipFrame:
        return self.clip.mirrored[index] if mirrored else self.clip.frames[index]


def _ears_yaws(clip: Clip) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    ear = np.array([f.features.ear if f.features else np.nan for f in clip.frames])
    yaw = np.array([f.features.yaw if f.features else np.nan for f in clip.frames])
    return ear, yaw


def find_blinks(clip: Clip, params: StreamParams) -> list[tuple[int, int]]:
    """(first, last) index of each open -> closed -> open stretch of the clip, by EAR."""
    ear, yaw = _ears_yaws(clip)
    base = float(np.nanpercentile(ear, params.ear_baseline_percentile))
    open_level = base * params.blink_open_ratio
    closed = min(base * params.blink_close_ratio, base - params.blink_min_drop)
    out: list[tuple[int, int]] = []
    i, n = 0, len(ear)
    while i < n:
        if ear[i] <= closed:
            a = i
            while a > 0 and not ear[a] >= open_level:
                a -= 1
            b = i
            while b < n - 1 and not ear[b] >= open_level:
                b += 1
            still = (
                np.nanmax(yaw[a : b + 1]) - np.nanmin(yaw[a : b + 1]) < params.hold_max_yaw_range
            )
            # A clean blink: short (<= 0.6 s, eyes open on both ends) with the head held.
            if ear[a] >= open_level and ear[b] >= open_level and b - a <= 0.6 * clip.fps and still:
                out.append((max(0, a - 2), min(n - 1, b + 2)))
            i = b + 1
        else:
            i += 1
    return out


def find_turns(clip: Clip, params: StreamParams, sign: float) -> list[tuple[int, int]]:
    """(held, peak) index pairs where the yaw moves by more than the turn threshold (plus a
    margin) in direction ``sign`` within 1.2 s from a held pose."""
    _, yaw = _ears_yaws(clip)
    reach = int(1.2 * clip.fps)
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(yaw) - 1:
        if np.isnan(yaw[i]):
            i += 1
            continue
        ahead = sign * (yaw[i : i + reach] - yaw[i])
        if np.nanmax(ahead) >= params.turn_threshold + 0.05:
            peak = i + int(np.nanargmax(ahead))
            start = i
            while start < peak and sign * (yaw[start + 1] - yaw[i]) < 0.03:
                start += 1
            out.append((start, min(peak + int(0.3 * clip.fps), len(yaw) - 1)))
            i = peak + reach
        else:
            i += 1
    return out


def find_idle(clip: Clip, params: StreamParams, min_s: float = 0.8) -> tuple[int, ...]:
    """The longest stretch with a usable face, open eyes and a held yaw."""
    ear, yaw = _ears_yaws(clip)
    base = float(np.nanpercentile(ear, params.ear_baseline_percentile))
    ok = ~np.isnan(ear) & (ear >= base * params.blink_open_ratio)
    best: tuple[int, int] = (0, 0)
    i = 0
    while i < len(ear):
        j = i
        while (
            j < len(ear)
            and ok[j]
            and np.nanmax(yaw[i : j + 1]) - np.nanmin(yaw[i : j + 1])
            < (params.hold_max_yaw_range / 2)
        ):
            j += 1
        if j - i > best[1] - best[0]:
            best = (i, j)
        i = max(j, i + 1)
    if (best[1] - best[0]) / clip.fps < min_s:
        raise ValueError(f"{clip.name}: no still stretch of {min_s} s to idle on")
    return tuple(range(*best))


def turn_frames(clip: Clip, params: StreamParams) -> list[int]:
    """Indices of the clip's head-turn stretches (either way): mirrored, a right turn is a left
    turn and the other way round."""
    return sorted(
        {
            i
            for sign in (1.0, -1.0)
            for a, b in find_turns(clip, params, sign)
            for i in range(a, b + 1)
        }
    )


def build_harness(clip: Clip, params: StreamParams) -> Harness:
    """Idle stretch and action segments found in ``clip`` (``clip.mirrored`` must hold the
    frames of :func:`turn_frames` for left turns)."""
    blinks = [(tuple(range(a, b + 1)), False) for a, b in find_blinks(clip, params)]
    right = [(tuple(range(a, b + 1)), False) for a, b in find_turns(clip, params, 1.0)]
    left = [(tuple(range(a, b + 1)), False) for a, b in find_turns(clip, params, -1.0)]
    # Two blinks: any two clean blinks one after the other (the same one twice if it is alone).
    twice = [(a[0] + b[0], False) for a in blinks for b in blinks]
    segments = {"blink": blinks, "blink_twice": twice, "turn_left": left, "turn_right": right}
    missing = [a for a, s in segments.items() if not s]
    if missing:
        raise ValueError(f"{clip.name}: no segment shows {missing}")
    return Harness(clip, find_idle(clip, params), segments)


def responsive_source(
    harness: Harness, rng: random.Random, reaction_s: tuple[float, float]
) -> Source:
    """A cooperating learner: idles (ping-pong over the still stretch), and after each reveal
    and a reaction time plays a segment where the revealed action happens, at the clip's pace."""
    clip, idle = harness.clip, harness.idle
    plan: dict[int, tuple[int, tuple[int, ...], bool]] = {}

    def show(t_ms: int, seen: list[tuple[str, int]]) -> ClipFrame:
        for action, at in seen:
            if at not in plan:
                seg, mirrored = rng.choice(harness.segments[action])
                plan[at] = (at + round(1000 * rng.uniform(*reaction_s)), seg, mirrored)
        for start, seg, mirrored in plan.values():
            k = int((t_ms - start) / 1000.0 * clip.fps)
            if 0 <= k < len(seg):
                return harness.frame(seg[k], mirrored)
        k = int(t_ms / 1000.0 * clip.fps) % (2 * len(idle) - 2)
        return clip.frames[idle[k if k < len(idle) else 2 * len(idle) - 2 - k]]

    return show


def responsive_trial(
    harness: Harness,
    rng: random.Random,
    params: StreamParams,
    reaction_s: tuple[float, float] = (0.4, 0.9),
) -> Trial:
    return run_stream(
        responsive_source(harness, rng, reaction_s),
        rng,
        params,
        kind=f"responsive:{harness.clip.name}",
    )


# ---------------------------------------------------------------- many trials


@dataclass(frozen=True)
class TrialSummary:
    kind: str
    trials: int
    passed: int
    #: How many trials failed with each reason code.
    reasons: dict[str, int]
    #: Pass rate per action drawn (trials with that action among its reveals).
    by_action: dict[str, tuple[int, int]]

    @property
    def pass_rate(self) -> float:
        return self.passed / self.trials if self.trials else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "trials": self.trials,
            "passed": self.passed,
            "pass_rate": round(self.pass_rate, 4),
            "reasons": dict(sorted(self.reasons.items())),
            "by_action": {
                a: {"passed": p, "trials": n} for a, (p, n) in sorted(self.by_action.items())
            },
        }


def summarise(kind: str, trials: Sequence[Trial]) -> TrialSummary:
    reasons: dict[str, int] = {}
    by_action: dict[str, tuple[int, int]] = {}
    for t in trials:
        if not t.passed and t.result.reason:
            reasons[t.result.reason] = reasons.get(t.result.reason, 0) + 1
        for a in set(t.actions):
            p, n = by_action.get(a, (0, 0))
            by_action[a] = (p + int(t.passed), n + 1)
    return TrialSummary(kind, len(trials), sum(t.passed for t in trials), reasons, by_action)


def run_trials(
    make: Callable[[random.Random], Trial], n: int, seed: int | None = None, kind: str = "trials"
) -> TrialSummary:
    """``n`` trials of ``make`` (e.g. ``lambda r: replay_trial(clip, r, params)``), each with
    its own random generator derived from ``seed`` (``None``: from the OS)."""
    # Simulation only (reproducible trials): the product's schedules use a CSPRNG.
    master = random.Random(seed)  # noqa: S311
    return summarise(kind, [make(random.Random(master.getrandbits(64))) for _ in range(n)])  # noqa: S311


__all__ = [
    "Clip",
    "ClipFrame",
    "Harness",
    "Trial",
    "TrialSummary",
    "analyse_clip",
    "analyse_photos",
    "build_harness",
    "find_blinks",
    "find_idle",
    "find_turns",
    "print_trial",
    "read_video",
    "replay_trial",
    "responsive_trial",
    "run_stream",
    "run_trials",
    "summarise",
    "turn_frames",
]
