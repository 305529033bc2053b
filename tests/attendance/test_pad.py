"""Presentation-attack detection (MiniFASNet): the vendored files' hashes, the original crop
recipe, and the scores on real frames — full camera frames of a live person score high,
printed photos of a person score low; the engine records the score per frame."""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Callable
from pathlib import Path

import pytest

from app.attendance import pad
from app.attendance.face import DlibFaceEngine, EngineConfig, RGBImage
from app.attendance.sface import MODEL_DIR, ModelFileError, SFaceEngine, sha256_file

Loader = Callable[[str], RGBImage]


@pytest.fixture(scope="module")
def sface() -> SFaceEngine:
    e = SFaceEngine()
    e.warm_up()
    return e


def test_vendored_files_are_the_checked_ones() -> None:
    assert set(pad.PAD_FILES) == {pad.PAD_V2_FILE, pad.PAD_V1SE_FILE}
    sums = (MODEL_DIR / "SHA256SUMS.txt").read_text().split()
    for name, digest in pad.PAD_FILES.items():
        assert sha256_file(MODEL_DIR / name) == digest
        assert sums[sums.index(name) - 1] == digest
    assert (MODEL_DIR / "LICENSE-MiniFASNet").read_text().lstrip().startswith("Apache License")
    assert pad.verify_pad_files() == {n: MODEL_DIR / n for n in pad.PAD_FILES}


def test_changed_or_missing_file_refused(tmp_path: Path) -> None:
    for name in pad.PAD_FILES:
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    victim = tmp_path / pad.PAD_V1SE_FILE
    data = bytearray(victim.read_bytes())
    data[-100] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256"):
        pad.verify_pad_files(tmp_path)
    victim.unlink()
    with pytest.raises(ModelFileError, match="missing"):
        pad.verify_pad_files(tmp_path)
    # The engine refuses to start on such a folder (warm_up checks the PAD files too).
    for name in ("face_detection_yunet_2023mar_int8bq.onnx",):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    shutil.copy(
        MODEL_DIR / "face_recognition_sface_2021dec_int8bq_cv5.onnx",
        tmp_path / "face_recognition_sface_2021dec_int8bq_cv5.onnx",
    )
    with pytest.raises(ModelFileError, match="missing"):
        SFaceEngine(EngineConfig(model_dir=str(tmp_path))).warm_up()


def test_context_box_follows_the_original_recipe() -> None:
    # Inside the frame: the box scaled about its centre.
    assert pad.context_box(640, 480, (300, 200, 100, 100), 2.7) == (215, 115, 485, 385)
    # At the corner: shifted back inside, size kept.
    assert pad.context_box(640, 480, (0, 0, 100, 100), 4.0) == (0, 0, 400, 400)
    # Far right/bottom edge: shifted left/up.
    assert pad.context_box(640, 480, (560, 400, 60, 60), 2.7) == (477, 317, 639, 479)
    # A frame too small for the scale: the scale shrinks to what fits (199 / 100).
    assert pad.context_box(200, 200, (50, 50, 100, 100), 4.0) == (0, 0, 199, 199)


def test_live_full_frames_score_high(
    sface: SFaceEngine, video_frames: list[RGBImage], faces_dir: Path
) -> None:
    """Full camera frames of a live person (talking_head_1): every frame far above the review
    threshold, and analyse() records the score on the analysis."""
    scores = [sface.analyse(video_frames[i]).pad_score for i in range(0, 200, 25)]
    assert all(s is not None and s > 0.9 for s in scores), scores


def test_printed_photos_score_low(sface: SFaceEngine, faces_dir: Path, load: Loader) -> None:
    """Printed photos held to the camera (antispoof/print_attack): a 5-frame burst's median is
    below the review threshold for the subjects measured."""
    for subject in ("0003", "0007"):
        paths = sorted((faces_dir / "antispoof" / "print_attack" / subject).iterdir())[:5]
        scores = []
        for p in paths:
            img = load(str(p.relative_to(faces_dir)))
            box = sface.detect(img)[0]
            assert box.detection is not None
            scores.append(pad.frame_score(img, pad.detection_box(box.detection)))
        assessed = pad.assess(scores, pad.DEFAULT_REVIEW_BELOW)
        assert assessed.score == statistics.median(scores)
        assert assessed.review, (subject, scores)
        assert assessed.model == pad.PAD_MODEL


def test_dlib_engine_and_switched_off_have_no_score(video_frames: list[RGBImage]) -> None:
    assert DlibFaceEngine().analyse(video_frames[0]).pad_score is None
    assert SFaceEngine(EngineConfig(pad=False)).analyse(video_frames[0]).pad_score is None


def test_assess() -> None:
    assert pad.assess([None, None], 0.05) == pad.PadAssessment(None, None, False)
    low = pad.assess([0.01, 0.9, 0.02, None], 0.05)
    assert low.score == pytest.approx(0.02) and low.review
    high = pad.assess([0.99, 0.5, 0.03], 0.05)
    assert high.score == pytest.approx(0.5) and not high.review
