"""Presentation-attack detection (PAD): MiniFASNet, one more signal, never the only gate.

The models are the Apache-2.0 weights of minivision-ai/Silent-Face-Anti-Spoofing, as ONNX
(``2.7_80x80_MiniFASNetV2.onnx`` and ``4_0_0_80x80_MiniFASNetV1SE.onnx``, vendored in
``model_files/`` with their licence, provenance and SHA-256, checked before they are loaded like
the face models'). Each sees an 80x80 BGR patch (float 0..255, no mean or scale) cut around the
face with the *context* it was trained on: the detector's box scaled x2.7 (V2) and x4.0 (V1SE)
about its centre, shrunk only as far as the frame requires and shifted back inside it — the
original repository's ``CropImage._get_new_box`` recipe, reproduced in :func:`context_box`. The
two models' softmax outputs are averaged (the original ``test.py`` sums them) and class 1 is
"real": :func:`frame_score` is that probability. The box is YuNet's own box (the original
detector is a Caffe model OpenCV 5 cannot read), so this needs the ``sface`` engine.

What the measurement supports (``skilltrace face evaluate``; ``README.md`` "Presentation
attacks"): on full camera frames of a live person the score is high (talking_head_1: every
frame >= 0.97), but on the tight NUAA-style crops of ``antispoof`` the models lose the context
they rely on and live faces of some people score low. A burst's score is the median of its
frames; a burst below :data:`DEFAULT_REVIEW_BELOW` sends an otherwise passed check to staff
review (reason ``presentation_attack_suspected``). It never fails a check on its own and never
passes one: liveness and the matcher decide that.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from app.attendance.face import FaceAnalysis
from app.attendance.models import AttendanceEvent
from app.attendance.sface import MODEL_DIR, ModelFileError, sha256_file

PAD_V2_FILE = "2.7_80x80_MiniFASNetV2.onnx"
PAD_V1SE_FILE = "4_0_0_80x80_MiniFASNetV1SE.onnx"

#: The files and their SHA-256 (values from ../shared/models/README.md; the authority, like
#: ``sface.MODEL_FILES``), with the context scale each model was trained with.
PAD_FILES: dict[str, str] = {
    PAD_V2_FILE: "7886c41bcbcc1be00cf8700eddbd8cbd4b1ad138e69010790de2a57a3b01d7e5",
    PAD_V1SE_FILE: "e67aedf72df3e1912dbf6baa5f7406b8b30c3cb43234170a70dd9d143fea358e",
}
PAD_SCALES: dict[str, float] = {PAD_V2_FILE: 2.7, PAD_V1SE_FILE: 4.0}
PAD_INPUT = 80
#: Index of the "real" class in the models' 3-way output.
REAL_CLASS = 1

#: Recorded with every score: which models produced it (name and both files' hash prefixes).
PAD_MODEL = "minifasnet_v2@2.7+v1se@4.0:" + "+".join(
    PAD_FILES[f][:12] for f in (PAD_V2_FILE, PAD_V1SE_FILE)
)

#: A burst whose median "real" probability is below this goes to review instead of passing.
#: Measured on antispoof (tight crops, 5-frame bursts, median): APCER 0.5 % / BPCER 4 % at 0.05
#: (the live errors are two people whose crops score low throughout); on full frames live
#: scores sit far above it. See README "Presentation attacks".
DEFAULT_REVIEW_BELOW = 0.05

REVIEW_REASON = "presentation_attack_suspected"

FloatArray = npt.NDArray[np.float64]


def verify_pad_files(folder: Path | None = None) -> dict[str, Path]:
    """Check both PAD files' SHA-256; return their paths or raise :class:`ModelFileError`."""
    folder = folder or MODEL_DIR
    out: dict[str, Path] = {}
    for name, expected in PAD_FILES.items():
        path = folder / name
        if not path.is_file():
            raise ModelFileError(f"PAD model file missing: {path}")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelFileError(
                f"PAD model file {path} has SHA-256 {actual}, expected {expected}: "
                "refusing to load it (restore the file from the repository)"
            )
        out[name] = path
    return out


def context_box(
    frame_w: int, frame_h: int, box: tuple[float, float, float, float], scale: float
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom), inclusive, of ``box`` = (x, y, w, h) scaled by ``scale``
    about its centre; the scale is reduced only as far as the frame requires and the box shifted
    back inside the frame (Silent-Face-Anti-Spoofing ``CropImage._get_new_box``)."""
    x, y, bw, bh = box
    bw, bh = max(bw, 1.0), max(bh, 1.0)
    scale = min((frame_h - 1) / bh, (frame_w - 1) / bw, scale)
    new_w, new_h = bw * scale, bh * scale
    cx, cy = x + bw / 2, y + bh / 2
    left, top = cx - new_w / 2, cy - new_h / 2
    right, bottom = cx + new_w / 2, cy + new_h / 2
    if left < 0:
        right -= left
        left = 0
    if top < 0:
        bottom -= top
        top = 0
    if right > frame_w - 1:
        left -= right - frame_w + 1
        right = frame_w - 1
    if bottom > frame_h - 1:
        top -= bottom - frame_h + 1
        bottom = frame_h - 1
    return int(max(left, 0)), int(max(top, 0)), int(right), int(bottom)


@dataclass(slots=True)
class _Nets:
    nets: list[tuple[Any, float]]
    lock: threading.Lock


@cache
def _nets(folder: Path) -> _Nets:
    """Both networks for ``folder``, verified and loaded once per process."""
    paths = verify_pad_files(folder)
    nets = [(cv2.dnn.readNetFromONNX(str(paths[n])), PAD_SCALES[n]) for n in PAD_FILES]
    return _Nets(nets, threading.Lock())


def _softmax(v: FloatArray) -> FloatArray:
    e = np.exp(v - v.max())
    out: FloatArray = e / e.sum()
    return out


def frame_score(
    img_rgb: npt.NDArray[np.uint8],
    box: tuple[float, float, float, float],
    folder: Path | None = None,
) -> float:
    """Probability that the face in ``box`` = (x, y, w, h) of the full RGB frame is a live
    person (mean of both models' softmax "real" class)."""
    nets = _nets((folder or MODEL_DIR).resolve())
    h, w = img_rgb.shape[:2]
    blobs = []
    for _, scale in nets.nets:
        left, top, right, bottom = context_box(w, h, box, scale)
        region = img_rgb[top : bottom + 1, left : right + 1, ::-1]  # BGR, as the models learnt
        patch: Any = cv2.resize(region, (PAD_INPUT, PAD_INPUT))
        blobs.append(np.ascontiguousarray(patch.transpose(2, 0, 1)[None], np.float32))
    real = 0.0
    with nets.lock:
        for (net, _), blob in zip(nets.nets, blobs, strict=True):
            net.setInput(blob)
            logits = np.asarray(net.forward(), np.float64).ravel()
            real += float(_softmax(logits)[REAL_CLASS])
    return real / len(nets.nets)


def detection_box(detection: Sequence[float]) -> tuple[float, float, float, float]:
    """(x, y, w, h) of a YuNet row (its first four values)."""
    return float(detection[0]), float(detection[1]), float(detection[2]), float(detection[3])


@dataclass(frozen=True, slots=True)
class PadAssessment:
    """The PAD signal of one burst: the median frame score (``None`` when no frame had one,
    e.g. the dlib engine) and whether it sends the check to review."""

    score: float | None
    model: str | None
    review: bool


def assess(frame_scores: Sequence[float | None], review_below: float) -> PadAssessment:
    """Median of the frames' scores; ``review`` when it is below ``review_below``."""
    scores = [s for s in frame_scores if s is not None]
    if not scores:
        return PadAssessment(None, None, False)
    median = float(statistics.median(scores))
    return PadAssessment(median, PAD_MODEL, median < review_below)


def assess_burst(good: Sequence[FaceAnalysis], review_below: float) -> PadAssessment:
    """:func:`assess` of a burst's analysed frames."""
    return assess([a.pad_score for a in good], review_below)


def record(event: AttendanceEvent, assessment: PadAssessment) -> None:
    """Write the burst's PAD score and model onto its attendance event (and audit entry)."""
    event.pad_score = None if assessment.score is None else f"{assessment.score:.4f}"
    event.pad_model = assessment.model


__all__ = [
    "assess_burst",
    "record",
    "DEFAULT_REVIEW_BELOW",
    "PAD_FILES",
    "PAD_MODEL",
    "REVIEW_REASON",
    "ModelFileError",
    "PadAssessment",
    "assess",
    "context_box",
    "detection_box",
    "frame_score",
    "verify_pad_files",
]
