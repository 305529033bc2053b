"""Templates store their frames' centroid: on one learner's webcam frames over several days
(webcam_cn), a single later frame is refused against the centroid of a capture session far less
often than against single frames, and different people stay apart."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from app.attendance.calibration import calibration_engine_config
from app.attendance.face import FaceAnalysis, load_image_file
from app.attendance.recording import frame_quality
from app.attendance.sface import SFaceEngine
from app.attendance.templates import TEMPLATE_EMBEDDINGS, template_rows
from app.config import Settings

ACCEPT, REJECT = Settings().face_thresholds("sface")


@pytest.fixture(scope="module")
def sessions(faces_dir: Path) -> dict[str, list[FaceAnalysis]]:
    """webcam_cn's frames analysed, by capture session (the file name before ``_img_face``)."""
    engine = SFaceEngine(calibration_engine_config())
    out: dict[str, list[FaceAnalysis]] = defaultdict(list)
    for p in sorted((faces_dir / "webcam_cn" / "webcam_man").iterdir()):
        m = engine.measure(load_image_file(p))
        assert m.analysis is not None, p
        out[p.name.split("_img_face")[0]].append(m.analysis)
    return out


def test_rows_are_spread_frames_then_the_best_frames_centroid(
    sessions: dict[str, list[FaceAnalysis]],
) -> None:
    good = sessions["person_1"]
    rows = template_rows(good, "cosine")
    assert rows.shape == (TEMPLATE_EMBEDDINGS + 1, 128)
    best = sorted(good, key=frame_quality)[-TEMPLATE_EMBEDDINGS:]
    mean = np.mean([a.embedding for a in best], axis=0)
    assert np.allclose(rows[-1], mean / np.linalg.norm(mean), atol=1e-6)
    assert np.allclose(rows[0], good[0].embedding) and np.allclose(rows[4], good[-1].embedding)
    euclid = template_rows(good, "euclidean")  # dlib: the plain mean
    assert np.allclose(euclid[-1], mean, atol=1e-6)


def test_centroid_refuses_far_fewer_later_frames(sessions: dict[str, list[FaceAnalysis]]) -> None:
    """Every session with >= 5 frames as the enrolment burst, every frame of every other session
    as a single probe: refused (cosine < reject) against the centroid vs against single frames
    of the same 5 (every pair)."""
    centroid_refused = centroid_n = pair_refused = pair_n = 0
    for name, frames in sessions.items():
        if len(frames) < TEMPLATE_EMBEDDINGS:
            continue
        rows = template_rows(frames, "cosine")
        probes = np.stack([a.embedding for s, fs in sessions.items() if s != name for a in fs])
        centroid = probes @ rows[-1]
        pairs = probes @ rows[:-1].T
        centroid_refused += int(np.count_nonzero(centroid < REJECT))
        centroid_n += centroid.size
        pair_refused += int(np.count_nonzero(pairs < REJECT))
        pair_n += pairs.size
    assert centroid_n > 1000 and pair_n > 5000
    assert pair_refused > 0  # single frames across sessions: some are refused
    assert centroid_refused / centroid_n < pair_refused / pair_n / 4, (
        centroid_refused,
        pair_refused,
    )


def test_centroid_keeps_other_people_apart(
    sessions: dict[str, list[FaceAnalysis]], faces_dir: Path
) -> None:
    """The centroid of this learner's session against other East-Asian people's webcam frames
    (antispoof/live): none reaches the accept threshold."""
    engine = SFaceEngine(calibration_engine_config())
    others = []
    for person in sorted((faces_dir / "antispoof" / "live").iterdir()):
        for p in sorted(person.iterdir())[:5]:
            m = engine.measure(load_image_file(p))
            assert m.analysis is not None
            others.append(m.analysis.embedding)
    for frames in sessions.values():
        if len(frames) >= TEMPLATE_EMBEDDINGS:
            assert float(np.max(np.stack(others) @ template_rows(frames, "cosine")[-1])) < ACCEPT
