"""The default engine (YuNet + SFace) on real photos: identity decisions on East-Asian faces,
every quality code, the landmarks liveness reads, and the model files' hash check."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.attendance import exceptions as exc
from app.attendance.engines import make_engine
from app.attendance.face import (
    EngineConfig,
    FaceEngine,
    RGBImage,
    decide_score,
    fused_score,
    similarity_matrix,
)
from app.attendance.sface import (
    MODEL_DIR,
    MODEL_FILES,
    SFACE_FILE,
    SFACE_IDENTITY,
    YUNET_FILE,
    ModelFileError,
    SFaceEngine,
    sha256_file,
    verify_model_files,
)
from app.config import Settings

Loader = Callable[[str], RGBImage]
ACCEPT, REJECT = Settings().face_thresholds("sface")


@pytest.fixture(scope="module")
def sface() -> SFaceEngine:
    e = SFaceEngine()
    e.warm_up()
    return e


def _images(faces_dir: Path, rel: str, n: int) -> list[Path]:
    return sorted((faces_dir / rel).iterdir())[:n]


def _embeddings(engine: SFaceEngine, paths: list[Path], load: Loader) -> np.ndarray:
    out = []
    for p in paths:
        m = engine.measure(load(str(p)))
        assert m.analysis is not None, p
        out.append(m.analysis.embedding)
    return np.stack(out)


# -- identity ------------------------------------------------------------------------------


def test_engine_interface_and_identity(sface: SFaceEngine) -> None:
    assert isinstance(sface, FaceEngine)
    assert make_engine(EngineConfig()).identity == SFACE_IDENTITY  # the default
    assert make_engine(EngineConfig(engine="dlib")).identity.engine == "dlib"
    assert SFACE_IDENTITY.metric == "cosine"
    assert SFACE_IDENTITY.sha256 == MODEL_FILES[SFACE_FILE]
    assert ACCEPT > REJECT  # cosine: larger is closer


def test_same_person_accepted(sface: SFaceEngine, faces_dir: Path, load: Loader) -> None:
    """Templates of 5 frames vs 5 other frames of the same person: the service's fused score
    passes, on East-Asian webcam crops (antispoof/live, webcam_cn) and on press photos."""
    for rel in ("antispoof/live/0001", "antispoof/live/0005", "webcam_cn/webcam_man"):
        embs = _embeddings(sface, _images(faces_dir, rel, 10), load)
        assert np.allclose(np.linalg.norm(embs, axis=1), 1.0, atol=1e-5)
        score = fused_score(embs[5:], embs[:5], "cosine")
        assert decide_score(score, ACCEPT, REJECT, "cosine") == "passed", (rel, score)


def test_different_east_asian_people_rejected(
    sface: SFaceEngine, faces_dir: Path, load: Loader
) -> None:
    """Every ordered pair of the 8 antispoof/live subjects (East-Asian webcam crops): the burst
    of one against the template of another is never accepted; the closest single pair stays
    below the accept threshold too. (dlib accepted its closest pair here: distance 0.383.)"""
    people = sorted(p.name for p in (faces_dir / "antispoof/live").iterdir() if p.is_dir())
    embs = {
        p: _embeddings(sface, _images(faces_dir, f"antispoof/live/{p}", 8), load) for p in people
    }
    decisions = []
    for a in people:
        for b in people:
            if a == b:
                continue
            assert similarity_matrix(embs[a], embs[b]).max() < ACCEPT, (a, b)
            score = fused_score(embs[a][4:], embs[b][:4], "cosine")
            decisions.append(decide_score(score, ACCEPT, REJECT, "cosine"))
    assert "passed" not in decisions
    assert decisions.count("failed") >= len(decisions) - 2, decisions


def test_asian_celeb_impostors_not_accepted(
    sface: SFaceEngine, faces_dir: Path, load: Loader
) -> None:
    """Press photos of different East-Asian public figures: no cross pair reaches accept."""
    people = ["cn_101", "cn_102", "cn_103", "jp_30000", "jp_30002", "cnS_1"]
    embs = {p: _embeddings(sface, _images(faces_dir, f"asian_celeb/{p}", 3), load) for p in people}
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            assert similarity_matrix(embs[a], embs[b]).max() < ACCEPT, (a, b)


# -- landmarks and quality: same measures as the dlib engine --------------------------------


def test_analysis_fields_and_yaw(
    sface: SFaceEngine, load: Loader, video_frames: list[RGBImage]
) -> None:
    a = sface.analyse(load("face_recognition/obama/obama.jpg"))
    assert a.faces_found == 1 and a.box.width >= 80 and a.box.detection is not None
    assert a.landmarks.shape == (68, 2) and a.embedding.shape == (128,)
    assert 0.15 < a.ear < 0.45 and abs(a.yaw) < 0.1
    turned = sface.analyse(video_frames[36])  # the speaker turned to her right
    flipped = sface.analyse(np.ascontiguousarray(video_frames[36][:, ::-1]))
    assert turned.yaw > 0.2 and flipped.yaw < -0.2


def test_no_face(sface: SFaceEngine, load: Loader) -> None:
    img = load("face_recognition/obama/obama-1080p.jpg")
    with pytest.raises(exc.NoFace):
        sface.analyse(np.ascontiguousarray(img[:, :220]))
    with pytest.raises(exc.NoFace):
        sface.analyse(np.full((480, 640, 3), 128, np.uint8))


def test_multiple_faces(sface: SFaceEngine, load: Loader) -> None:
    with pytest.raises(exc.MultipleFaces) as info:
        sface.analyse(load("face_recognition/_multi_face/obama_and_biden.jpg"))
    assert info.value.extra["faces_found"] >= 2


def test_face_too_small(sface: SFaceEngine, load: Loader) -> None:
    img = load("face_recognition/obama/obama.jpg")
    small = cv2.resize(img, (img.shape[1] // 4, img.shape[0] // 4), interpolation=cv2.INTER_AREA)
    with pytest.raises(exc.FaceTooSmall) as info:
        sface.analyse(small)
    assert info.value.extra["face_px"] < 80


def test_too_blurry(sface: SFaceEngine, load: Loader) -> None:
    img = load("face_recognition/obama/obama.jpg")
    with pytest.raises(exc.TooBlurry):
        sface.analyse(cv2.GaussianBlur(img, (0, 0), 6))


def test_too_dark(sface: SFaceEngine, load: Loader) -> None:
    img = load("face_recognition/obama/obama.jpg")
    with pytest.raises(exc.TooDark):
        sface.analyse((img.astype(np.float32) * 0.15).astype(np.uint8))


def test_bad_bytes(sface: SFaceEngine) -> None:
    with pytest.raises(exc.NotAnImage):
        sface.analyse_bytes(b"GIF89a not a frame")
    with pytest.raises(exc.NotAnImage):
        sface.analyse_bytes(b"")


# -- model files -----------------------------------------------------------------------------


def test_vendored_files_match_their_hashes() -> None:
    paths = verify_model_files()
    assert set(paths) == {YUNET_FILE, SFACE_FILE}
    for name, path in paths.items():
        assert sha256_file(path) == MODEL_FILES[name]
    # The human-readable list beside them says the same.
    sums = (MODEL_DIR / "SHA256SUMS.txt").read_text().split()
    from app.attendance.pad import PAD_FILES  # the PAD models are listed there too

    assert dict(zip(sums[1::2], sums[::2], strict=True)) == {**MODEL_FILES, **PAD_FILES}


def test_tampered_model_file_is_refused(tmp_path: Path, load: Loader) -> None:
    """A copy with one byte changed (or a missing file) is never loaded: the engine refuses to
    start, and so does the application's start-up check."""
    for name in MODEL_FILES:
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    data = bytearray((tmp_path / SFACE_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / SFACE_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256"):
        verify_model_files(tmp_path)
    engine = SFaceEngine(EngineConfig(model_dir=str(tmp_path)))
    with pytest.raises(ModelFileError):
        engine.analyse(load("face_recognition/obama/obama.jpg"))
    (tmp_path / YUNET_FILE).unlink()
    with pytest.raises(ModelFileError, match="missing"):
        verify_model_files(tmp_path)


def test_app_start_refuses_a_tampered_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.attendance import engine as face_engine
    from app.attendance import sface

    for name in MODEL_FILES:
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    (tmp_path / YUNET_FILE).write_bytes((tmp_path / YUNET_FILE).read_bytes()[:-1])
    monkeypatch.setattr(sface, "MODEL_DIR", tmp_path)
    with pytest.raises(ModelFileError):
        face_engine.start()
