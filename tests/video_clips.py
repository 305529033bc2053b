"""Lesson videos for tests, made at test time from ../shared/faces/videos with OpenCV (nothing
of the shared data is copied into the repository)."""

from __future__ import annotations

from pathlib import Path

import cv2

from tests.face_data import VIDEO


def webm_clip(target: Path, *, seconds: float = 20, fps: int = 10, width: int = 320) -> Path:
    """A WebM (VP8) clip of ``seconds`` from the talking-head video (looped if it is shorter),
    ``width`` pixels wide, ``fps`` frames a second; what a browser's ``<video>`` plays."""
    cap = cv2.VideoCapture(str(VIDEO))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        frames.append(cv2.resize(frame, (width, round(h * width / w) // 2 * 2)))
    cap.release()
    if not frames:
        raise FileNotFoundError(f"no frames read from {VIDEO}: is ../shared/faces beside the repo?")
    size = (frames[0].shape[1], frames[0].shape[0])
    out = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"VP80"), fps, size)
    if not out.isOpened():
        raise RuntimeError("OpenCV cannot write WebM (VP8) here")
    step = max(1, round(25 / fps))  # the source runs at 25 fps
    for n in range(int(seconds * fps)):
        out.write(frames[(n * step) % len(frames)])
    out.release()
    return target


def source_mp4() -> Path:
    """The shared talking-head MP4 itself: MPEG-4 Part 2 video, not H.264."""
    return VIDEO
