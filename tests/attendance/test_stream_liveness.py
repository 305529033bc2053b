"""The streamed, server-paced liveness protocol with the real SFace engine on real clips.

The frames are analysed once per clip (the real engine); the trials then run the real schedule
and decision with simulated arrival times (see app/attendance/stream_eval.py).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from app.attendance import stream_eval as se
from app.attendance.engines import make_engine
from app.attendance.face import DlibFaceEngine, EngineConfig
from app.attendance.streaming import (
    Reveal,
    Schedule,
    StreamFrame,
    StreamParams,
    evaluate,
)

P = StreamParams()


@pytest.fixture(scope="module")
def sface() -> DlibFaceEngine:
    e = make_engine(EngineConfig())
    e.warm_up()
    return e


@pytest.fixture(scope="module")
def talking_head(faces_dir: Path, sface: DlibFaceEngine) -> se.Clip:
    return se.analyse_clip(sface, faces_dir / "videos" / "talking_head_1.mp4")


@pytest.fixture(scope="module")
def harness(talking_head: se.Clip) -> se.Harness:
    return se.build_harness(talking_head, P)


def _fixed(actions: list[str], delays: list[int]) -> Schedule:
    return Schedule([Reveal(a, d) for a, d in zip(actions, delays, strict=True)], 2500)


def test_responsive_harness_passes(harness: se.Harness) -> None:
    summary = se.run_trials(lambda r: se.responsive_trial(harness, r, P), 120, seed=7)
    assert summary.pass_rate >= 0.95, summary.to_dict()
    # Every action was drawn and answered.
    assert set(summary.by_action) == {"blink", "blink_twice", "turn_left", "turn_right"}


@pytest.mark.parametrize("clip_name", ["talking_head_1", "hamilton_clip"])
def test_replayed_clip_fails(
    clip_name: str, faces_dir: Path, sface: DlibFaceEngine, talking_head: se.Clip
) -> None:
    clip = (
        talking_head
        if clip_name == "talking_head_1"
        else se.analyse_clip(sface, faces_dir / "videos" / f"{clip_name}.mp4")
    )
    summary = se.run_trials(lambda r: se.replay_trial(clip, r, P), 300, seed=11)
    assert summary.pass_rate <= 0.02, summary.to_dict()


def test_printed_photos_in_any_order_fail(faces_dir: Path, sface: DlibFaceEngine) -> None:
    root = faces_dir / "antispoof" / "print_attack"
    subjects = sorted(d for d in root.iterdir() if d.is_dir())
    assert subjects
    for d in subjects:
        photos = se.analyse_photos(sface, sorted(d.iterdir()))
        summary = se.run_trials(lambda r, ph=photos: se.print_trial(ph, r, P), 25, seed=3)
        assert summary.passed == 0, (d.name, summary.to_dict())
        # In the order they were taken (no jumps between shuffled photos): liveness alone.
        in_order = se.run_stream(
            lambda t, _s, ph=photos: ph[(t // 83) % len(ph)], random.Random(1), P
        )
        assert not in_order.passed, (d.name, in_order.result.reason)


def _play(
    harness: se.Harness,
    script: Callable[[int, list[tuple[str, int]]], se.ClipFrame],
    schedule: Schedule,
) -> se.Trial:
    return se.run_stream(script, random.Random(5), P, schedule=schedule, jitter_ms=0)


def test_action_shown_before_its_reveal_is_refused(harness: se.Harness) -> None:
    clip, idle = harness.clip, harness.idle
    turn, _ = harness.segments["turn_right"][0]

    def idle_frame(t: int) -> se.ClipFrame:
        return clip.frames[idle[int(t / 1000 * clip.fps) % len(idle)]]

    def early(t: int, seen: list[tuple[str, int]]) -> se.ClipFrame:
        # Turns right (reaching the threshold ~1.8 s) *before* the reveal at 2 s, then idles.
        k = int((t - 800) / 1000 * clip.fps)
        return clip.frames[turn[k]] if 0 <= k < len(turn) else idle_frame(t)

    trial = _play(harness, early, _fixed(["turn_right", "blink", "blink"], [2000, 1200, 1200]))
    assert not trial.passed
    assert trial.result.reveals[0].reason in ("action_before_reveal", "pose_not_held")

    # The same turn after the reveal (and a reaction time) passes that reveal.
    def on_time(t: int, seen: list[tuple[str, int]]) -> se.ClipFrame:
        k = int((t - 2500) / 1000 * clip.fps)
        return clip.frames[turn[k]] if 0 <= k < len(turn) else idle_frame(t)

    trial = _play(harness, on_time, _fixed(["turn_right", "blink", "blink"], [2000, 1200, 1200]))
    assert trial.result.reveals[0].passed, trial.result.reveals[0]

    # A blink before its reveal does not count for it.
    blink, _ = harness.segments["blink"][0]

    def blink_early(t: int, seen: list[tuple[str, int]]) -> se.ClipFrame:
        k = int((t - 1400) / 1000 * clip.fps)
        return clip.frames[blink[k]] if 0 <= k < len(blink) else idle_frame(t)

    trial = _play(harness, blink_early, _fixed(["blink", "turn_left", "turn_right"], [2000] * 3))
    assert trial.result.reveals[0].reason == "action_not_seen"


def _responsive_frames(harness: se.Harness) -> tuple[list[StreamFrame], Schedule]:
    """A stream that passes, and its schedule, to tamper with."""
    rng = random.Random(21)
    plan = _fixed(["blink", "turn_left", "blink_twice"], [1500, 1200, 1200])
    source = se.responsive_source(harness, rng, (0.5, 0.6))
    seen: list[tuple[str, int]] = []
    frames: list[StreamFrame] = []
    t, k = 0, 0
    while not plan.complete(t - 83):
        shown = source(t, seen)
        rev = plan.on_frame(t)
        if rev is not None:
            seen.append((rev.action, t))
        frames.append(StreamFrame(k, t, f"f{k}", shown.features, shown.rejection))
        t, k = t + 83, k + 1
    assert evaluate(frames, plan, P).passed, evaluate(frames, plan, P)
    return frames, plan


def test_out_of_order_and_repeated_frames_are_refused(harness: se.Harness) -> None:
    frames, plan = _responsive_frames(harness)
    swapped = list(frames)
    swapped[10], swapped[11] = swapped[11], swapped[10]
    assert evaluate(swapped, plan, P).reason == "frame_out_of_order"
    repeated = list(frames)
    repeated[12] = dataclasses.replace(repeated[12], sha256=repeated[11].sha256)
    r = evaluate(repeated, plan, P)
    assert (r.reason, r.category) == ("frame_repeated", "continuity")
    slow = frames[::4]
    slow = [dataclasses.replace(f, seq=i) for i, f in enumerate(slow)]
    assert evaluate(slow, plan, P).reason == "frame_rate"
    # The stream must cover the last window.
    assert evaluate(frames[:-20], plan, P).reason == "stream_too_short"


def test_schedule_reveals_once_per_frame_and_in_order() -> None:
    plan = Schedule.draw(P, random.Random(3))
    assert len(plan.actions) == P.reveals
    assert set(plan.actions) <= {"blink", "blink_twice", "turn_left", "turn_right"}
    got = [(t, r.action) for t in range(0, 20_000, 80) if (r := plan.on_frame(t)) is not None]
    assert [a for _, a in got] == plan.actions
    first, *rest = [t for t, _ in got]
    lo, hi = P.first_reveal_s
    assert lo * 1000 <= first <= hi * 1000 + 80
    for prev, nxt in zip([first, *rest], rest, strict=False):
        assert nxt - prev >= plan.window_ms + P.gap_s[0] * 1000
    assert Schedule.from_json(plan.to_json()).to_json() == plan.to_json()
