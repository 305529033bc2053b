"""Fake-camera files for Chromium (``--use-file-for-fake-video-capture``), made at test time.

Chromium plays an MJPEG file at 30 frames/s and loops it. Two things matter for face checks:

* liveness needs a blink inside every window (2.2 s after a reveal), so the file repeats one
  stretch of talking_head_1.mp4 around a natural blink, the eyes held closed for 400 ms (a
  blink every 1.1 s, seen however unevenly a busy machine captures it, down to 4 frames/s);
* the server refuses any frame whose bytes it has seen before (replay check), and the page
  re-encodes what the camera shows, so a looped file would send byte-identical frames again.
  Each written frame carries a tiny unique code in one corner, and the file is long enough not
  to loop during a test.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.face_data import FACES, video_frames

#: The blink the fake learner does when asked: talking_head_1.mp4 (25 fps) with the head still,
#: its eyes open
#: (clip frames 164-169, eye aspect ratio 0.30-0.38), closed (170-173, 0.14-0.17) and open again
#: (174-188, 0.24-0.36). Measured with the app's engine on these 400 px frames.
BLINK_OPEN, BLINK_CLOSED, BLINK_REOPEN = range(164, 170), range(170, 174), range(174, 189)
#: How many written frames each closed-eye frame is held for: 4 clip frames x 3 = 400 ms at
#: 30 frames/s, a deliberate blink (natural ones last 100-400 ms). The clip's own blinks close
#: the eyes for 70-130 ms: a page capturing 6 frames a second (a busy CI machine) missed one in
#: 12 (a simulation of the detector on the measured ratios), and a roll-call's second attempt
#: has one chance. Held, a blink every 1.1 s is seen at 4 frames a second and up.
CLOSED_HOLD = 3
FPS = 30  # Chromium's playback rate for MJPEG files


def _mark(frame: np.ndarray, n: int) -> np.ndarray:
    """Write ``n`` as 16 black/white 4x4-pixel cells in the bottom-left corner."""
    out = frame.copy()
    h = out.shape[0]
    for bit in range(16):
        v = 255 if (n >> bit) & 1 else 0
        x = bit * 4
        out[h - 4 : h, x : x + 4] = v
    return out


def _write_mjpeg(
    path: Path, frames: list[np.ndarray], quality: int = 80, first_mark: int = 0
) -> Path:
    with path.open("wb") as f:
        for i, frame in enumerate(frames, start=first_mark):
            ok, buf = cv2.imencode(".jpg", _mark(frame, i), [cv2.IMWRITE_JPEG_QUALITY, quality])
            assert ok
            f.write(buf.tobytes())
    return path


def blinking_learner(path: Path, seconds: int = 240, size: int = 400, first_mark: int = 0) -> Path:
    """The learner of talking_head_1.mp4 blinking deliberately about once a second (see
    :data:`CLOSED_HOLD`), never looping.

    Chromium plays the file from its start each time a page opens the camera: a second camera
    (another browser) that must not repeat the first one's frames takes a ``first_mark`` past
    the first file's last frame (marks are 16 bits)."""
    clip = video_frames()
    order = [
        *BLINK_OPEN,
        *(i for i in BLINK_CLOSED for _ in range(CLOSED_HOLD)),
        *BLINK_REOPEN,
    ]
    cycle = [cv2.resize(clip[i], (size, size), interpolation=cv2.INTER_AREA) for i in order]
    n = seconds * FPS
    assert first_mark + n < 1 << 16, "the corner code holds 16 bits"
    return _write_mjpeg(path, [cycle[i % len(cycle)] for i in range(n)], first_mark=first_mark)


def still_of(path: Path, photo: Path, seconds: int = 60) -> Path:
    """A still photo held in front of the camera (someone else's, for the mismatch test)."""
    img = cv2.imread(str(photo))
    assert img is not None, photo
    img = cv2.resize(img, (400, 400), interpolation=cv2.INTER_CUBIC)
    return _write_mjpeg(path, [img] * (seconds * FPS))


def lfw_photo(name: str) -> Path:
    return sorted((FACES / "lfw" / name).iterdir())[0]
