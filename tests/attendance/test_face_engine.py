"""The real face engine on real photos: decoding limits, quality codes, embeddings, the pool."""

from __future__ import annotations

import asyncio
import io
import pickle
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.attendance import exceptions as exc
from app.attendance.face import (
    DecodeLimits,
    DlibFaceEngine,
    FaceAnalysis,
    FaceEngine,
    RGBImage,
    decide,
    decode_image,
    distance,
    encode_jpeg,
    fused_distance,
)
from app.attendance.pool import FacePool, split_results

REPO_ROOT = Path(__file__).resolve().parents[2]
Loader = Callable[[str], RGBImage]


# -- import hygiene -------------------------------------------------------------------------


def test_import_does_not_touch_pkg_resources() -> None:
    """face_recognition_models' __init__ imports pkg_resources (gone in setuptools >= 81)."""
    code = (
        "import sys\n"
        "import app.attendance.face as f\n"
        "f.DlibFaceEngine().warm_up()\n"
        "assert 'pkg_resources' not in sys.modules, 'pkg_resources imported'\n"
        "assert 'face_recognition_models' not in sys.modules, 'models __init__ executed'\n"
        "assert 'face_recognition' not in sys.modules\n"
    )
    r = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr


def test_engine_satisfies_interface(face_engine: DlibFaceEngine) -> None:
    assert isinstance(face_engine, FaceEngine)


# -- recognition ----------------------------------------------------------------------------


def test_same_person_close_different_people_far(face_engine: DlibFaceEngine, load: Loader) -> None:
    def emb(rel: str) -> np.ndarray:
        # LFW crops can show a second, partial face at the border: embed the largest face.
        analysis = face_engine.measure(load(rel)).analysis
        assert analysis is not None
        return analysis.embedding

    brody = [emb(f"lfw/Adrien_Brody/Adrien_Brody_{i:04d}.jpg") for i in (1, 2, 3)]
    agassi = [emb(f"lfw/Andre_Agassi/Andre_Agassi_{i:04d}.jpg") for i in (1, 2, 3)]
    obama = emb("face_recognition/obama/obama.jpg")
    obama2 = emb("face_recognition/obama/obama2.jpg")
    biden = emb("face_recognition/biden/biden.jpg")
    assert brody[0].shape == (128,) and brody[0].dtype == np.float32
    genuine = [
        distance(brody[0], brody[1]),
        distance(agassi[0], agassi[2]),
        distance(obama, obama2),
    ]
    impostor = [distance(a, b) for a in brody for b in agassi] + [distance(obama, biden)]
    assert max(genuine) < 0.5, genuine
    assert min(impostor) > 0.6, impostor
    assert decide(distance(obama, obama2), 0.4, 0.55) == "passed"
    assert decide(distance(obama, biden), 0.4, 0.55) == "failed"
    assert fused_distance(brody[1:], brody[:1]) < fused_distance(agassi, brody[:1])


def test_fusion_and_decision_helpers() -> None:
    a = np.zeros(128, np.float32)
    b = np.full(128, 0.05, np.float32)
    assert distance(a, b) == pytest.approx(0.05 * np.sqrt(128), rel=1e-6)
    probes, templates = np.stack([a, b]), np.stack([a, b, b])
    # Float sums: BLAS may order them differently under load (a CI run gave 3.06e-08).
    assert fused_distance(probes, templates, "min") == pytest.approx(0.0, abs=1e-6)
    assert fused_distance(probes, templates, "mean_k_best", k=3) == pytest.approx(0.0, abs=1e-6)
    assert fused_distance(probes, templates, "mean") > 0
    assert decide(0.5, 0.4, 0.55) == "review"
    with pytest.raises(ValueError):
        decide(0.5, 0.6, 0.5)


def test_analysis_fields(face_engine: DlibFaceEngine, load: Loader) -> None:
    a = face_engine.analyse(load("face_recognition/obama/obama.jpg"))
    assert a.faces_found == 1 and a.box.width >= 80
    assert a.landmarks.shape == (68, 2)
    assert 0.15 < a.ear < 0.45
    assert abs(a.yaw) < 0.1
    crop = Image.open(io.BytesIO(a.crop_jpeg))
    assert crop.format == "JPEG" and max(crop.size) <= 160


def test_yaw_sign_reverses_on_flip(
    face_engine: DlibFaceEngine, video_frames: list[RGBImage]
) -> None:
    """Frame 36 of talking_head_1: the speaker has turned to her right (nose toward image left)."""
    turned = face_engine.analyse(video_frames[36])
    flipped = face_engine.analyse(np.ascontiguousarray(video_frames[36][:, ::-1]))
    assert turned.yaw > 0.2
    assert flipped.yaw < -0.2
    assert turned.yaw == pytest.approx(-flipped.yaw, abs=0.05)


def test_exif_orientation_applied(face_engine: DlibFaceEngine, load: Loader) -> None:
    upright = load("face_recognition/obama/obama.jpg")
    # Store the pixels rotated 90 deg clockwise with EXIF orientation 8 ("rotate 90 CW to view"
    # inverse): a viewer that honours EXIF shows it upright again.
    rotated = Image.fromarray(np.ascontiguousarray(np.rot90(upright, k=-1)))
    exif = Image.Exif()
    exif[0x0112] = 8
    buf = io.BytesIO()
    rotated.save(buf, "JPEG", exif=exif.tobytes(), quality=92)
    img = face_engine.decode(buf.getvalue())
    assert img.shape[:2] == upright.shape[:2]
    assert face_engine.analyse(img).faces_found == 1


# -- quality gate: every code from a real image ----------------------------------------------


def test_no_face(face_engine: DlibFaceEngine, load: Loader) -> None:
    img = load("face_recognition/obama/obama-1080p.jpg")  # 800x450, face in the middle
    background = np.ascontiguousarray(img[:, :220])  # the left strip: stage, no face
    with pytest.raises(exc.NoFace):
        face_engine.analyse(background)
    with pytest.raises(exc.NoFace):
        face_engine.analyse(np.full((480, 640, 3), 128, np.uint8))


def test_multiple_faces(face_engine: DlibFaceEngine, load: Loader) -> None:
    with pytest.raises(exc.MultipleFaces) as info:
        face_engine.analyse(load("face_recognition/_multi_face/obama_and_biden.jpg"))
    assert info.value.extra["faces_found"] >= 2


def test_face_too_small(face_engine: DlibFaceEngine, load: Loader) -> None:
    img = load("face_recognition/obama/obama.jpg")
    small = cv2.resize(img, (img.shape[1] // 4, img.shape[0] // 4), interpolation=cv2.INTER_AREA)
    with pytest.raises(exc.FaceTooSmall) as info:
        face_engine.analyse(small)
    assert info.value.extra["face_px"] < 80


def test_too_blurry(face_engine: DlibFaceEngine, load: Loader) -> None:
    img = load("face_recognition/obama/obama.jpg")
    blurred = cv2.GaussianBlur(img, (0, 0), 6)
    with pytest.raises(exc.TooBlurry):
        face_engine.analyse(blurred)


def test_too_dark(face_engine: DlibFaceEngine, load: Loader) -> None:
    img = load("face_recognition/obama/obama.jpg")
    dark = (img.astype(np.float32) * 0.15).astype(np.uint8)
    with pytest.raises(exc.TooDark):
        face_engine.analyse(dark)


def test_measure_does_not_raise(face_engine: DlibFaceEngine, load: Loader) -> None:
    m = face_engine.measure(load("face_recognition/_multi_face/obama_and_biden.jpg"))
    assert m.faces_found >= 2 and m.analysis is not None
    assert isinstance(m.rejection, exc.MultipleFaces)
    assert face_engine.measure(np.zeros((100, 100, 3), np.uint8)).rejection is not None


# -- bad inputs: each the right error, never another exception -------------------------------


def _png(width: int, height: int, frames: int = 1) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height`` (CRCs fixed); ``frames`` > 1 adds an
    APNG acTL chunk. The pixel data is tiny: the decoder must refuse before inflating it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr)
    if frames > 1:
        body += chunk(b"acTL", struct.pack(">II", frames, 0))
    body += chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _jpeg_bytes(load: Loader) -> bytes:
    return encode_jpeg(load("face_recognition/obama/obama.jpg"))


def test_bad_inputs(face_engine: DlibFaceEngine, load: Loader) -> None:
    jpeg = _jpeg_bytes(load)
    gif = io.BytesIO()
    frames = [Image.new("RGB", (64, 64), c) for c in ("red", "blue", "green")]
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    apng = io.BytesIO()
    frames[0].save(apng, "PNG", save_all=True, append_images=frames[1:], duration=100)
    cases: list[tuple[bytes, type[exc.FaceRejected]]] = [
        (b"", exc.NotAnImage),
        (jpeg[: len(jpeg) // 2], exc.NotAnImage),  # truncated JPEG
        (jpeg[:200], exc.NotAnImage),  # header only
        (_png(100_000, 100_000), exc.ImageTooLarge),  # bomb: 10 G pixels declared
        (_png(12_000, 12_000), exc.ImageTooLarge),  # over Pillow's warning limit, under its error
        (_png(5000, 4000), exc.ImageTooLarge),  # 20 MP > our 16 MP
        (b"\xff\xd8\xff" + b"\x00" * (50 * 1024 * 1024), exc.ImageTooLarge),  # 50 MB
        (b"this is a text file named photo.jpg\n" * 10, exc.NotAnImage),
        (gif.getvalue(), exc.NotAnImage),
        (apng.getvalue(), exc.NotAnImage),
        (_png(64, 64, frames=3), exc.NotAnImage),
        (_png(64, 64), exc.NotAnImage),  # declared 64x64 but the pixel data is short
        (b"\x89PNG\r\n\x1a\n" + b"garbage", exc.NotAnImage),
    ]
    for data, expected in cases:
        with pytest.raises(expected):
            face_engine.analyse_bytes(data)


def test_image_too_large_is_413() -> None:
    assert exc.ImageTooLarge.status == 413
    assert all(e.status == 422 for e in exc.FACE_ERRORS if e is not exc.ImageTooLarge)
    codes = {e.code for e in exc.FACE_ERRORS}
    assert {
        "not_an_image",
        "image_too_large",
        "no_face",
        "multiple_faces",
        "face_too_small",
        "too_blurry",
        "too_dark",
        "liveness_failed",
    } <= codes
    for e in exc.FACE_ERRORS:
        assert e.message_zh and e.message_en and e.title


def test_byte_limit_is_a_parameter(load: Loader) -> None:
    data = _jpeg_bytes(load)
    with pytest.raises(exc.ImageTooLarge):
        decode_image(data, DecodeLimits(max_bytes=len(data) - 1))
    with pytest.raises(exc.ImageTooLarge):
        decode_image(data, DecodeLimits(max_pixels=1000))
    assert decode_image(data).dtype == np.uint8


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b""]))
def test_fuzzed_bytes_only_raise_face_errors(payload: bytes, magic: bytes) -> None:
    try:
        img = decode_image(magic + payload)
    except exc.FaceRejected:
        return
    assert img.ndim == 3 and img.shape[2] == 3


def test_corrupted_real_jpeg_only_raises_face_errors(load: Loader) -> None:
    jpeg = bytearray(_jpeg_bytes(load))
    rng = np.random.default_rng(1)
    for _ in range(20):
        broken = bytearray(jpeg)
        for pos in rng.integers(2, len(broken), 30):
            broken[pos] = int(rng.integers(0, 256))
        try:
            decode_image(bytes(broken))
        except exc.FaceRejected:
            pass


# -- errors cross process boundaries -----------------------------------------------------------


def test_errors_pickle_round_trip() -> None:
    for cls in exc.FACE_ERRORS:
        err = cls("detail text", faces_found=2)
        back = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
        assert type(back) is cls
        assert back.detail == "detail text" and back.extra == {"faces_found": 2}
        assert back.to_problem()["code"] == cls.code


@pytest.mark.slow
def test_pool_sync_and_async(load: Loader) -> None:
    good = _jpeg_bytes(load)
    with FacePool(workers=1) as pool:
        results = pool.analyse_frames_sync([good, b"not an image", b""])
        assert isinstance(results[0], FaceAnalysis)
        assert isinstance(results[1], exc.NotAnImage)
        assert isinstance(results[2], exc.NotAnImage)
        ok, bad = split_results(results)
        assert len(ok) == 1 and [i for i, _ in bad] == [1, 2]
        async_results = asyncio.run(pool.analyse_frames([good]))
        assert isinstance(async_results[0], FaceAnalysis)
        assert distance(async_results[0].embedding, ok[0].embedding) < 1e-6
        multi = encode_jpeg(load("face_recognition/_multi_face/obama_and_biden.jpg"))
        r = pool.analyse_frames_sync([multi])[0]
        assert isinstance(r, exc.MultipleFaces) and r.extra["faces_found"] >= 2
