"""Real face frames from ../shared/faces for API tests, encoded as the browser would send them."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
VIDEO = FACES / "videos" / "talking_head_1.mp4"

# Bursts of talking_head_1.mp4 (25 fps) around its natural blinks: eye-aspect-ratio ~0.34 open,
# dipping to 0.12-0.20 and recovering within the burst.
BLINK_BURSTS = {
    "a": list(range(18, 44, 2)),
    "b": list(range(104, 128, 2)),
    "c": list(range(164, 192, 2)),
    # The same blinks through the other frames: distinct bytes, so never a replay of the above.
    "a2": list(range(19, 45, 2)),
    "b2": list(range(105, 129, 2)),
    "c2": list(range(165, 193, 2)),
}


@functools.cache
def video_frames() -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(VIDEO))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)  # BGR, as OpenCV encodes it
    cap.release()
    if not frames:
        raise FileNotFoundError(f"no frames read from {VIDEO}: is ../shared/faces beside the repo?")
    return frames


def jpeg(frame_bgr: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(buf)


def blink_burst(name: str) -> list[bytes]:
    frames = video_frames()
    return [jpeg(frames[i]) for i in BLINK_BURSTS[name]]


def photo(rel: str) -> bytes:
    return (FACES / rel).read_bytes()


def lfw_person(name: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted((FACES / "lfw" / name).iterdir())]
