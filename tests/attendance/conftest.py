"""Fixtures for the face layer: the real engine on the real photos in ../shared/faces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.attendance.face import DlibFaceEngine, FaceAnalysis, RGBImage, load_image_file

REPO_ROOT = Path(__file__).resolve().parents[2]
FACES = REPO_ROOT.parent / "shared" / "faces"
VIDEO = FACES / "videos" / "talking_head_1.mp4"


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not FACES.is_dir():
        pytest.skip(f"face data not found at {FACES}")
    return FACES


@pytest.fixture(scope="session")
def face_engine() -> DlibFaceEngine:
    e = DlibFaceEngine()
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def load(faces_dir: Path) -> Callable[[str], RGBImage]:
    def _load(rel: str) -> RGBImage:
        return load_image_file(faces_dir / rel)

    return _load


@pytest.fixture(scope="session")
def video_frames(faces_dir: Path) -> list[RGBImage]:
    """All 200 frames of talking_head_1.mp4 (RGB), decoded once."""
    cap = cv2.VideoCapture(str(VIDEO))
    frames: list[RGBImage] = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
    cap.release()
    assert len(frames) >= 190
    return frames


@pytest.fixture(scope="session")
def video_analyses(
    video_frames: list[RGBImage], face_engine: DlibFaceEngine
) -> Callable[[int, int, int], list[FaceAnalysis]]:
    """Analyse frames [start:stop:step] of the clip, caching per frame (embeddings cost ~0.1 s)."""
    cache: dict[int, FaceAnalysis] = {}

    def get(start: int, stop: int, step: int = 1) -> list[FaceAnalysis]:
        out = []
        for i in range(start, stop, step):
            if i not in cache:
                cache[i] = face_engine.analyse(video_frames[i])
            out.append(cache[i])
        return out

    return get
