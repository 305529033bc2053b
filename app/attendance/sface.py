"""The second face engine: YuNet detector + SFace embeddings (OpenCV Zoo), the default.

Why: on East-Asian webcam faces (the product's users) dlib's ResNet leaves no margin between the
closest impostor and the worst genuine pair, while SFace separates them (pooled over 15 subjects:
FNMR at FMR 1e-3 0.14 % vs 11.1 %; ``../shared/models/README.md``), and costs less per frame.
Both models run in OpenCV's DNN module (``cv2.FaceDetectorYN`` / ``cv2.FaceRecognizerSF``), so
there is no new dependency.

The ONNX files are vendored in ``app/attendance/model_files`` with their licences and provenance
(``PROVENANCE.md``). Their SHA-256 is checked against :data:`MODEL_FILES` before OpenCV reads
them: a changed or truncated file stops the engine (:class:`ModelFileError`) instead of silently
producing embeddings no template can be compared with. Nothing is ever downloaded.

What stays from dlib: the 68-point landmark model, for the eye aspect ratio and the yaw the
liveness check reads, and the 150 px aligned chip the quality gate and the replay signature are
measured on — both placed on a box derived from YuNet's five landmarks with the geometry of
dlib's HOG boxes (fitted on LFW, antispoof/live and deepface faces), so the quality and liveness
thresholds measured with dlib keep their meaning. dlib's *embedding* is not computed: fusing it
with SFace's score did not help in the measurement above.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import cv2
import dlib
import numpy as np

from app.attendance.face import (
    DlibFaceEngine,
    Embedding,
    EngineConfig,
    FaceAnalysis,
    FaceBox,
    ModelIdentity,
    RGBImage,
    _models,
)

MODEL_DIR = Path(__file__).resolve().parent / "model_files"

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq_cv5.onnx"

#: The only files the engine loads, with their SHA-256 (the authority; ``SHA256SUMS.txt`` beside
#: them is for people). Values from ../shared/models/README.md, equal to OpenCV Zoo's LFS pointers.
MODEL_FILES: dict[str, str] = {
    YUNET_FILE: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    SFACE_FILE: "487a139eb85ccd5ff30aef7d0add7f12d2bb7abb90c5f08a7f481b452a660e00",
}

SFACE_MODEL_NAME = "sface_2021dec_int8bq_cv5"
SFACE_IDENTITY = ModelIdentity(
    engine="sface",
    name=SFACE_MODEL_NAME,
    version=f"opencv-{cv2.__version__}+yunet_2023mar_int8bq",
    sha256=MODEL_FILES[SFACE_FILE],
    metric="cosine",
)

# dlib-HOG-like square box from YuNet's landmarks (least squares over 122 faces where both
# detectors found exactly one face): width = 1.22 * eye-to-mouth + 1.11 * eye-to-eye distance
# (residual 9.6 % of the width); centre = midpoint of the eye and mouth centres, shifted by
# (+0.009, +0.018) widths.
_BOX_EYE_MOUTH = 1.22
_BOX_EYE_EYE = 1.11
_BOX_DX = 0.009
_BOX_DY = 0.018


class ModelFileError(RuntimeError):
    """A vendored model file is missing or is not the file the code was calibrated with."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_model_files(folder: Path | None = None) -> dict[str, Path]:
    """Check every model file's SHA-256; return their paths or raise :class:`ModelFileError`."""
    folder = folder or MODEL_DIR
    out: dict[str, Path] = {}
    for name, expected in MODEL_FILES.items():
        path = folder / name
        if not path.is_file():
            raise ModelFileError(f"face model file missing: {path}")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelFileError(
                f"face model file {path} has SHA-256 {actual}, expected {expected}: "
                "refusing to load it (restore the file from the repository)"
            )
        out[name] = path
    return out


@dataclass(slots=True)
class _OpenCVModels:
    detector: Any
    recogniser: Any
    lock: threading.Lock


_LOADED: dict[str, _OpenCVModels] = {}
_LOAD_LOCK = threading.Lock()


def _opencv_models(folder: Path, score_threshold: float) -> _OpenCVModels:
    """YuNet and SFace for ``folder``, verified and loaded once per process.

    OpenCV's DNN objects are not safe to call from two threads at once (the detector keeps its
    input size as state): calls go through ``lock``. Pool workers are single-threaded anyway.
    """
    key = f"{folder.resolve()}|{score_threshold}"
    with _LOAD_LOCK:
        if key not in _LOADED:
            paths = verify_model_files(folder)
            detector = cv2.FaceDetectorYN.create(
                str(paths[YUNET_FILE]), "", (320, 320), score_threshold, 0.3, 5000
            )
            recogniser = cv2.FaceRecognizerSF.create(str(paths[SFACE_FILE]), "")
            _LOADED[key] = _OpenCVModels(detector, recogniser, threading.Lock())
        return _LOADED[key]


class SFaceEngine(DlibFaceEngine):
    """YuNet detection, dlib 68-point landmarks (liveness, quality chip), SFace embeddings.

    Embeddings are unit-length 128-d vectors compared by cosine similarity. Same decoding,
    quality gate, error codes and :class:`FaceAnalysis` as :class:`DlibFaceEngine`.
    """

    model_name: str = SFACE_MODEL_NAME
    model_version: str = SFACE_IDENTITY.version
    identity: ModelIdentity = SFACE_IDENTITY

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config or EngineConfig(engine="sface"))

    @cached_property
    def _cv(self) -> _OpenCVModels:
        return _opencv_models(self._model_folder, self.config.yunet_score_threshold)

    @cached_property
    def _shape68_model(self) -> Any:
        return _models().shape68

    def warm_up(self) -> None:
        _ = self._cv
        _ = self._shape68_model
        if self.config.pad:
            from app.attendance import pad  # late: pad builds on this module

            pad.verify_pad_files(self._model_folder)

    @property
    def _model_folder(self) -> Path:
        return Path(self.config.model_dir) if self.config.model_dir else MODEL_DIR

    def analyse(self, img: RGBImage) -> FaceAnalysis:
        """:meth:`DlibFaceEngine.analyse`, plus the presentation-attack score of the face on the
        full frame (:func:`app.attendance.pad.frame_score`) when ``config.pad``."""
        analysis = super().analyse(img)
        if not self.config.pad or analysis.box.detection is None:
            return analysis
        from app.attendance import pad  # late: pad builds on this module

        box = pad.detection_box(analysis.box.detection)
        score = pad.frame_score(img, box, self._model_folder)
        return dataclasses.replace(analysis, pad_score=score)

    def detect(self, img: RGBImage) -> list[FaceBox]:
        """Faces found by YuNet, as dlib-like square boxes carrying YuNet's row, largest first."""
        h, w = img.shape[:2]
        scale = min(1.0, self.config.yunet_long_side / max(h, w))
        small: Any = img
        if scale < 1.0:
            small = cv2.resize(
                img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        cv = self._cv
        with cv.lock:
            cv.detector.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, rows = cv.detector.detect(bgr)
        boxes: list[FaceBox] = []
        for row in rows if rows is not None else ():
            full = np.asarray(row, np.float64).copy()
            full[:14] /= scale  # box and landmarks back to the decoded image's pixels
            box = _dlib_like_box(full, w, h)
            if box is not None:
                boxes.append(box)
        boxes.sort(key=lambda b: b.width * b.height, reverse=True)
        return boxes

    def _shape68(self, img: RGBImage, rect: Any) -> Any:
        return self._shape68_model(img, rect)

    def _chip_and_embedding(
        self, img: RGBImage, box: FaceBox, rect: Any, shape68: Any
    ) -> tuple[RGBImage, Embedding]:
        if box.detection is None:  # pragma: no cover - SFaceEngine.detect always sets it
            raise ValueError("SFace needs YuNet's landmarks")
        chip: RGBImage = np.asarray(dlib.get_face_chip(img, shape68, 150, 0.25), np.uint8)
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        row = np.asarray(box.detection, np.float32).reshape(1, -1)
        cv = self._cv
        with cv.lock:
            aligned = cv.recogniser.alignCrop(bgr, row)
            feature = np.asarray(cv.recogniser.feature(aligned), np.float32).ravel()
        norm = float(np.linalg.norm(feature))
        return chip, (feature / max(norm, 1e-12)).astype(np.float32)


def _dlib_like_box(row: Any, w: int, h: int) -> FaceBox | None:
    pts = np.asarray(row[4:14], np.float64).reshape(5, 2)  # r-eye, l-eye, nose, r/l mouth
    eyes = (pts[0] + pts[1]) / 2.0
    mouth = (pts[3] + pts[4]) / 2.0
    side = _BOX_EYE_MOUTH * float(np.linalg.norm(eyes - mouth)) + _BOX_EYE_EYE * float(
        np.linalg.norm(pts[0] - pts[1])
    )
    if side <= 1.0:
        return None
    cx, cy = (eyes + mouth) / 2.0 + np.array([_BOX_DX, _BOX_DY]) * side
    left, top = round(cx - side / 2), round(cy - side / 2)
    right, bottom = round(cx + side / 2), round(cy + side / 2)
    box = FaceBox(
        left=max(0, left),
        top=max(0, top),
        right=min(w, right),
        bottom=min(h, bottom),
        detection=tuple(float(v) for v in row[:15]),
    )
    return box if box.width > 0 and box.height > 0 else None


__all__ = [
    "MODEL_DIR",
    "MODEL_FILES",
    "SFACE_IDENTITY",
    "ModelFileError",
    "SFaceEngine",
    "sha256_file",
    "verify_model_files",
]
