"""The decision over an analysed stream (:func:`evaluate`): continuity (order, rate, one person,
plausible motion), then each revealed action in its window after its reveal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from app.attendance.streaming.params import (
    REASON_BEFORE_REVEAL,
    REASON_DIFFERENT_PERSON,
    REASON_FRAME_RATE,
    REASON_FRAMES_IDENTICAL,
    REASON_IMPLAUSIBLE_MOTION,
    REASON_NOT_HELD,
    REASON_NOT_SEEN,
    REASON_OUT_OF_ORDER,
    REASON_REPEATED,
    REASON_TOO_FEW_FACES,
    REASON_TOO_SHORT,
    REASON_WRONG_ACTION,
    StreamFrame,
    StreamParams,
)
from app.attendance.streaming.schedule import Reveal, Schedule

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
