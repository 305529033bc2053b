"""Liveness v1 on real footage: talking_head_1.mp4 passes, stills and printed photos fail.

Frames used (25 fps): blinks at ~23-27, ~31-34, ~112-114 and ~170-173; the speaker turns to her
right at ~32-36 (yaw up to +0.29) and to her left at ~165-175 (yaw down to -0.22).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.attendance import liveness
from app.attendance.exceptions import LivenessFailed
from app.attendance.face import DlibFaceEngine, FaceAnalysis, RGBImage, encode_jpeg

Clip = Callable[..., list[FaceAnalysis]]


def test_blink_burst_passes(video_analyses: Clip) -> None:
    frames = video_analyses(104, 122)  # 18 frames, 0.7 s, one blink
    r = liveness.check(["blink"], frames)
    assert r.passed, r
    assert r.actions[0].value is not None and r.actions[0].value < 0.2
    assert liveness.require(["blink"], frames).passed


def test_blink_at_10fps_passes(video_analyses: Clip) -> None:
    r = liveness.check(["blink"], video_analyses(100, 130, 2))  # ~12.5 frames/s
    assert r.passed, r


def test_no_blink_fails(video_analyses: Clip) -> None:
    r = liveness.check(["blink"], video_analyses(55, 75))  # talking, eyes open
    assert not r.passed and r.reason == liveness.REASON_NOT_SEEN


def test_turn_right_and_order(video_analyses: Clip) -> None:
    frames = video_analyses(16, 46, 2)
    assert liveness.check(["turn_right"], frames).passed
    r = liveness.check(["turn_left"], frames)
    assert not r.passed and r.actions[0].reason == liveness.REASON_NOT_SEEN
    both = video_analyses(22, 44, 2)  # blink (23-27) then the turn (32-36)
    assert liveness.check(["blink", "turn_right"], both).passed
    wrong = liveness.check(["turn_right", "blink"], video_analyses(30, 44))
    assert not wrong.passed


def test_turn_left(video_analyses: Clip) -> None:
    frames = video_analyses(140, 185, 3)
    r = liveness.check(["turn_left"], frames)
    assert r.passed, r
    assert not liveness.check(["turn_right"], frames).passed


def test_flipped_turn_reverses_direction(
    video_frames: list[RGBImage], face_engine: DlibFaceEngine
) -> None:
    """A horizontal flip swaps the learner's left and right."""
    flipped = [face_engine.analyse(np.ascontiguousarray(f[:, ::-1])) for f in video_frames[20:44:3]]
    assert liveness.check(["turn_left"], flipped).passed
    assert not liveness.check(["turn_right"], flipped).passed


def test_still_photo_repeated_fails(
    face_engine: DlibFaceEngine, video_frames: list[RGBImage]
) -> None:
    data = encode_jpeg(video_frames[60])
    frames = [face_engine.analyse_bytes(data) for _ in range(4)] * 3
    r = liveness.check(["blink"], frames)
    assert not r.passed and r.reason == liveness.REASON_FRAMES_IDENTICAL
    with pytest.raises(LivenessFailed) as info:
        liveness.require(["blink"], frames)
    assert info.value.extra["reason"] == liveness.REASON_FRAMES_IDENTICAL


def _jitter(img: RGBImage, rng: np.random.Generator) -> RGBImage:
    h, w = img.shape[:2]
    s = 1 + rng.uniform(-0.02, 0.02)
    m = np.float32([[s, 0, rng.uniform(-3, 3)], [0, s, rng.uniform(-3, 3)]])
    out = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    noisy = np.clip(out + rng.normal(0, 3, out.shape), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(noisy)


@pytest.mark.parametrize(
    "source",
    ["video", "face_recognition/obama/obama.jpg", "lfw/Adrien_Brody/Adrien_Brody_0001.jpg"],
)
def test_jittered_still_fails(
    source: str,
    face_engine: DlibFaceEngine,
    video_frames: list[RGBImage],
    load: Callable[[str], RGBImage],
) -> None:
    rng = np.random.default_rng(zlib.crc32(source.encode()))
    still = video_frames[60] if source == "video" else load(source)
    frames = []
    for _ in range(10):
        m = face_engine.measure(face_engine.decode(encode_jpeg(_jitter(still, rng), 85)))
        assert m.analysis is not None
        frames.append(m.analysis)
    for actions in (["blink"], ["turn_left"], ["turn_right"], ["blink", "turn_left"]):
        r = liveness.check(actions, frames)
        assert not r.passed, (actions, r)


def _print_attack(faces_dir: Path, face_engine: DlibFaceEngine, subject: str) -> list[FaceAnalysis]:
    out = []
    for p in sorted((faces_dir / "antispoof" / "print_attack" / subject).glob("*.jpg")):
        m = face_engine.measure(face_engine.decode(p.read_bytes()))
        if m.analysis is not None:
            out.append(m.analysis)
    assert len(out) >= 10
    return out


@pytest.mark.parametrize("subject", ["0001", "0004"])
def test_printed_photo_fails_blink(
    faces_dir: Path, face_engine: DlibFaceEngine, subject: str
) -> None:
    r = liveness.check(["blink"], _print_attack(faces_dir, face_engine, subject))
    assert not r.passed, r


@pytest.mark.slow
def test_every_printed_photo_subject_fails(faces_dir: Path, face_engine: DlibFaceEngine) -> None:
    subjects = sorted(p.name for p in (faces_dir / "antispoof" / "print_attack").iterdir())
    for subject in subjects:
        frames = _print_attack(faces_dir, face_engine, subject)
        for actions in (["blink"], ["blink", "turn_left"], ["turn_right", "blink"]):
            assert not liveness.check(actions, frames).passed, (subject, actions)


def test_different_person_mid_burst_fails(
    video_analyses: Clip, face_engine: DlibFaceEngine, load: Callable[[str], RGBImage]
) -> None:
    frames = video_analyses(104, 122)
    other = face_engine.analyse(load("face_recognition/obama/obama.jpg"))
    mixed = frames[:9] + [other] + frames[9:]
    r = liveness.check(["blink"], mixed)
    assert not r.passed and r.reason == liveness.REASON_DIFFERENT_PERSON


def test_too_few_frames_and_unknown_action(video_analyses: Clip) -> None:
    r = liveness.check(["blink"], video_analyses(104, 106))
    assert not r.passed and r.reason == liveness.REASON_TOO_FEW_FRAMES
    with pytest.raises(ValueError):
        liveness.check(["smile"], video_analyses(104, 110))
    assert r.to_dict()["reason"] == liveness.REASON_TOO_FEW_FRAMES
