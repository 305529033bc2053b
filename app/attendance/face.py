"""Face engine: decode an uploaded frame, check its quality, measure the face and embed it.

Pure computation, no database and no HTTP. The service layer calls it through :class:`FacePool`
(``app.attendance.pool``) so the CPU-bound work never runs on the event loop.

The recogniser is dlib's ResNet face model (128-d embeddings), the same model and alignment the
``face_recognition`` library uses; we call dlib directly because ``face_recognition_models``'s
``__init__`` imports ``pkg_resources``, which setuptools 81 removed. The model files are located
with ``importlib.util.find_spec`` (which does not execute the package's ``__init__``).

Conventions used by every value here:

* images are ``numpy`` arrays, RGB, ``uint8``, shape ``(height, width, 3)``;
* boxes and landmarks are in pixel coordinates of the decoded (EXIF-upright) image;
* "left"/"right" of the *learner* is the learner's own side: on an unmirrored camera frame the
  learner's left eye is on the image's right.

Kept whole: the engine's steps (decode, quality gate, landmarks, pose, embedding) share these
conventions and the loaded models, and the face workers import one module (issue 11 allows it).
"""

from __future__ import annotations

import importlib.util
import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import cv2
import dlib
import numpy as np
import numpy.typing as npt
import simplejpeg
from PIL import ExifTags, Image, UnidentifiedImageError

from app.attendance.exceptions import (
    FaceRejected,
    FaceTooSmall,
    ImageTooLarge,
    MultipleFaces,
    NoFace,
    NotAnImage,
    TooBlurry,
    TooDark,
)

RGBImage = npt.NDArray[np.uint8]
Embedding = npt.NDArray[np.float32]

#: Name and version recorded with every decision (the regulator must know which model decided).
MODEL_NAME = "dlib_face_recognition_resnet_model_v1"
MODEL_VERSION = "dlib-" + str(getattr(dlib, "__version__", "unknown"))
EMBEDDING_SIZE = 128

#: SHA-256 of the dlib ResNet file (``face_recognition_models`` 0.3.0): recorded with dlib
#: templates and decisions like the SFace file's hash (migration 0010 backfills it).
DLIB_RESNET_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"

#: How a model's comparison score reads: ``euclidean`` distance (lower = closer; dlib) or
#: ``cosine`` similarity (higher = closer; SFace).
Metric = Literal["euclidean", "cosine"]


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """Which model made an embedding: recorded with every template and every decision.

    Two embeddings are comparable only when ``engine``, ``name`` and ``sha256`` (the recogniser
    file's hash) agree; ``version`` names the runtime (dlib / OpenCV) and does not change the
    embedding space, so upgrading the runtime does not force a re-enrolment.
    """

    engine: str
    name: str
    version: str
    sha256: str
    metric: Metric

    def same_space(self, engine: str, name: str, sha256: str | None) -> bool:
        """Can an embedding recorded as (engine, name, sha256) be compared with this model's?"""
        return (engine, name, sha256) == (self.engine, self.name, self.sha256)


DLIB_IDENTITY = ModelIdentity(
    engine="dlib",
    name=MODEL_NAME,
    version=MODEL_VERSION,
    sha256=DLIB_RESNET_SHA256,
    metric="euclidean",
)

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# The HOG detector scans an 80x80 window: faces much smaller than that at detection scale are
# missed unless the image is upsampled (which costs ~4x).
_HOG_MIN_FACE_PX = 80

# Size of the aligned face chip dlib feeds the ResNet (150 px, 25 % padding). We measure blur
# and brightness on the same chip, so those measures do not depend on the frame's resolution.
_CHIP_SIZE = 150
_CHIP_PADDING = 0.25
_SIGNATURE_PX = 32

# 68-point landmark indices (iBUG 300-W numbering).
_RIGHT_EYE = slice(36, 42)  # learner's right eye: image left on an unmirrored frame
_LEFT_EYE = slice(42, 48)
_NOSE_TIP = 30
_RIGHT_EYE_OUTER = 36
_LEFT_EYE_OUTER = 45


def model_dir() -> Path:
    """Folder holding the dlib model files shipped by ``face_recognition_models``.

    ``find_spec`` of a top-level package reads its location without executing ``__init__`` (which
    imports ``pkg_resources``); a test guards that this stays true.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed (it ships the model files)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


# --------------------------------------------------------------------------------------------
# Parameters (thresholds are data, not code: the service builds these from settings)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds checked *before* any pixel is decoded."""

    max_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 16_000_000
    #: Long side of the working copy every frame is decoded to (JPEG: at a reduced DCT scale,
    #: nearly free; PNG: reduced right after inflating), so a 16 MP frame costs the analysis no
    #: more than a 4 MP one. Faces stay far above the minimum size at that scale. ``None``
    #: keeps the full size.
    max_decode_side: int | None = 2048


@dataclass(frozen=True, slots=True)
class QualityThresholds:
    """Quality gate. Defaults are the values measured on ../shared/faces (see the report)."""

    #: Minimum face width (detector box) in decoded pixels.
    min_face_px: int = 80
    #: Minimum ``1e4 * var(Laplacian) / mean_luma**2`` on the 150 px aligned face chip.
    #: Measured: sharp LFW crops >= 9.4 (5th percentile 15.6), webcam crops >= 59, photos >= 55;
    #: the same faces Gaussian-blurred with sigma = 1 % of the image side: LFW 95th percentile
    #: 7.5, photos 5.7. Darkening does not change it (exposure cancels).
    min_sharpness: float = 8.0
    #: Minimum mean luma (0..255) of the central part of the aligned face chip. Measured: dim
    #: webcam crops in antispoof/live >= 43, LFW >= 78; frames darkened to 25 % give 17-36.
    min_brightness: float = 35.0


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything a :class:`DlibFaceEngine` needs; picklable so pool workers can build one."""

    limits: DecodeLimits = field(default_factory=DecodeLimits)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    #: Which engine :func:`app.attendance.engines.make_engine` builds: ``sface`` (YuNet detector
    #: + SFace embedding, the default) or ``dlib`` (HOG + dlib ResNet, the first engine).
    engine: Literal["sface", "dlib"] = "sface"
    #: Folder of the vendored ONNX files (``None``: ``app/attendance/model_files``). Their
    #: SHA-256 is checked against the values in code before they are loaded.
    model_dir: str | None = None
    #: YuNet: minimum detection score, and the long side of the copy it scans (a 640 px frame
    #: is scanned as is; faces down to ~20 px are found, far below the quality gate's minimum).
    yunet_score_threshold: float = 0.9
    yunet_long_side: int = 640
    #: Long side of the downscaled copy the HOG detector scans. 400 px finds faces down to ~80 px
    #: in a 640x480 frame without upsampling; larger costs time quadratically.
    detect_long_side: int = 400
    #: ResNet jitters per embedding. 1 = as face_recognition's default; 10 is ~10x slower.
    num_jitters: int = 1
    #: Evidence crop: long side in px and JPEG quality.
    crop_px: int = 160
    crop_jpeg_quality: int = 80
    #: Score every analysed frame with the presentation-attack models (``sface`` only).
    pad: bool = True


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A face rectangle, pixel coordinates, ``right``/``bottom`` exclusive."""

    left: int
    top: int
    right: int
    bottom: int
    #: The detector's own row when it has one (YuNet: x, y, w, h, 5 landmarks, score), which
    #: ``FaceRecognizerSF.alignCrop`` needs; ``None`` for dlib's HOG boxes.
    detection: tuple[float, ...] | None = None

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.left, self.top, self.right, self.bottom)


@dataclass(frozen=True, slots=True)
class FaceQuality:
    """Quality measures of the face, compared against :class:`QualityThresholds`."""

    face_px: int
    sharpness: float
    brightness: float


@dataclass(frozen=True, slots=True, eq=False)
class FaceAnalysis:
    """Everything measured on one frame with exactly one acceptable face.

    ``ear_*`` is the eye aspect ratio (Soukupová & Čech 2016): ~0.25–0.35 open, < ~0.15 closed.
    ``yaw`` is the nose tip's signed offset from the midpoint of the outer eye corners, along the
    eye line, divided by the distance between those corners: 0 facing the camera, **negative when
    the learner turns to their own left**, positive to their right, about ±0.15 at 20–25°
    (it is a ratio, not an angle; it assumes an unmirrored frame).
    """

    box: FaceBox
    embedding: Embedding
    quality: FaceQuality
    landmarks: npt.NDArray[np.float32]  # (68, 2) x, y
    ear_left: float
    ear_right: float
    yaw: float
    #: Grey 32x32 thumbnail of the aligned face chip: lets liveness spot replayed/jittered stills.
    signature: npt.NDArray[np.uint8]
    #: Evidence crop, JPEG bytes, long side <= EngineConfig.crop_px.
    crop_jpeg: bytes
    image_size: tuple[int, int]  # (width, height)
    faces_found: int = 1
    #: Presentation-attack signal: probability that the face is a live person
    #: (:mod:`app.attendance.pad`); ``None`` when not measured (dlib engine, ``pad`` off).
    pad_score: float | None = None

    @property
    def ear(self) -> float:
        """Mean eye aspect ratio of both eyes."""
        return (self.ear_left + self.ear_right) / 2.0

    @property
    def centre_and_width(self) -> tuple[float, float, float]:
        """The face box's centre (x, y) and width, in pixels (streamed liveness: motion)."""
        b = self.box
        return ((b.left + b.right) / 2.0, (b.top + b.bottom) / 2.0, float(b.width))


@dataclass(frozen=True, slots=True, eq=False)
class FaceMeasurement:
    """Non-raising result of :meth:`DlibFaceEngine.measure`, for calibration and operator tools.

    ``analysis`` describes the largest face (``None`` if no face was found); ``rejection`` is the
    error :meth:`DlibFaceEngine.analyse` would have raised with the same thresholds, or ``None``.
    """

    faces_found: int
    boxes: tuple[FaceBox, ...]
    analysis: FaceAnalysis | None
    rejection: FaceRejected | None

    @property
    def ok(self) -> bool:
        return self.rejection is None


# --------------------------------------------------------------------------------------------
# Interface
# --------------------------------------------------------------------------------------------


@runtime_checkable
class FaceEngine(Protocol):
    """What the attendance service needs from a face engine.

    The real one is :class:`DlibFaceEngine`; rule and timing tests may use a stand-in, but every
    behaviour that depends on faces is tested with the real engine.
    """

    model_name: str
    model_version: str
    identity: ModelIdentity

    def decode(self, data: bytes) -> RGBImage:
        """Decode an uploaded JPEG/PNG to an upright RGB array or raise :class:`FaceRejected`."""
        ...

    def analyse(self, img: RGBImage) -> FaceAnalysis:
        """Measure the single face in ``img`` or raise the quality error that applies."""
        ...

    def analyse_bytes(self, data: bytes) -> FaceAnalysis:
        """``analyse(decode(data))``."""
        ...

    def measure(self, img: RGBImage) -> FaceMeasurement:
        """Like ``analyse`` but never raises for quality (calibration and operator tools)."""
        ...

    def warm_up(self) -> None:
        """Load (and check) the model files now rather than on the first frame."""
        ...


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


_EXIF_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: Pillow modes of 16-bit (or wider) greyscale PNGs: values 0..65535, not 0..255.
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What an upload declares about itself, read without decoding a pixel."""

    format: str  # "JPEG" or "PNG"
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _open(data: bytes, limits: DecodeLimits) -> Image.Image:
    """Open an upload lazily (header only) after every check that needs no pixel."""
    if not data:
        raise NotAnImage("Empty upload.")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"The upload is {len(data)} bytes; at most {limits.max_bytes} are accepted.",
            max_bytes=limits.max_bytes,
        )
    # Sniff the signature ourselves so Pillow never tries its other ~40 parsers on hostile input.
    if not (data.startswith(_JPEG_MAGIC) or data.startswith(_PNG_MAGIC)):
        raise NotAnImage("Only JPEG and PNG pictures are accepted.")
    try:
        im = Image.open(io.BytesIO(data))  # lazy: reads the header only
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge("The picture has too many pixels.") from exc
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        raise NotAnImage("The picture could not be read.") from exc
    try:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise NotAnImage("The picture has no pixels.")
        if width * height > limits.max_pixels:
            raise ImageTooLarge(
                f"The picture is {width}x{height}; at most {limits.max_pixels} pixels.",
                max_pixels=limits.max_pixels,
            )
        if im.format not in ("JPEG", "PNG", "MPO"):
            raise NotAnImage("Only JPEG and PNG pictures are accepted.")
        try:
            n_frames = int(getattr(im, "n_frames", 1))
        except (*_DECODE_ERRORS,) as exc:
            raise NotAnImage("The picture could not be read.") from exc
        if n_frames > 1 or getattr(im, "is_animated", False):
            raise NotAnImage("Animated or multi-frame pictures are not accepted.")
    except BaseException:
        im.close()
        raise
    return im


def read_header(data: bytes, limits: DecodeLimits | None = None) -> ImageHeader:
    """Check an upload as :func:`decode_image` does before decoding, and say what it declares.

    Cheap (no pixel is decoded), so the web process can bound the pixels of a whole burst before
    any frame reaches a face worker. Raises :class:`NotAnImage` or :class:`ImageTooLarge`.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with _open(data, limits or DecodeLimits()) as im:
            fmt = "PNG" if im.format == "PNG" else "JPEG"
            return ImageHeader(format=fmt, width=im.size[0], height=im.size[1])


def decode_image(data: bytes, limits: DecodeLimits | None = None) -> RGBImage:
    """Decode an uploaded frame to an upright RGB ``uint8`` array of bounded size.

    Refuses, before decoding any pixel: more than ``max_bytes`` (:class:`ImageTooLarge`); anything
    whose signature is not JPEG or PNG, animated or multi-frame files (GIF, APNG, MPO with several
    frames) (:class:`NotAnImage`); a header declaring more than ``max_pixels``
    (:class:`ImageTooLarge`). Truncated or corrupt data raises :class:`NotAnImage`. EXIF
    orientation is applied.

    The result is a *working copy* whose long side is at most ``max_decode_side``: a JPEG is
    decoded straight at a reduced DCT scale (1/8..7/8, nearly free) and area-resized the rest of
    the way; a PNG (which can only be inflated whole) is reduced right after inflating, before
    any colour conversion. 16-bit samples are scaled to 8 bits (a 16-bit greyscale PNG would
    otherwise clip to white).

    JPEGs are decoded with ``simplejpeg`` in strict mode: libjpeg-turbo's "corrupt data" warnings
    (a premature end of the entropy-coded data, a bad Huffman code) raise instead of returning
    an image whose missing part is silently filled with grey — Pillow and ``cv2.imdecode`` both
    accept such files. Pillow reads the header (size, frames, EXIF) and decodes PNGs.
    """
    limits = limits or DecodeLimits()
    with warnings.catch_warnings():
        # Pillow warns (DecompressionBombWarning) above ~89 MP and raises above ~179 MP; our own
        # pixel limit is far lower and checked first, and with pytest's filterwarnings=error a
        # warning would otherwise become an unexpected exception.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with _open(data, limits) as im:
            try:
                if im.format == "PNG":
                    arr = _decode_png(im, limits.max_decode_side)
                else:
                    arr = _decode_jpeg(data, im, limits.max_decode_side)
            except Image.DecompressionBombError as exc:  # pragma: no cover - header checked
                raise ImageTooLarge("The picture has too many pixels.") from exc
            except _DECODE_ERRORS as exc:
                raise NotAnImage("The picture is damaged or incomplete.") from exc
    # dlib and OpenCV want a contiguous, writable array.
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _decode_jpeg(data: bytes, im: Image.Image, side: int | None) -> RGBImage:
    if im.mode not in ("RGB", "L"):  # CMYK/YCCK: print files, never a camera frame
        raise NotAnImage("Only colour or greyscale JPEG photos are accepted.")
    width, height = im.size
    scale: dict[str, int] = {}
    if side and max(width, height) > side:
        f = side / max(width, height)
        # The smallest DCT scale that still covers the working size; the rest is an area resize.
        scale = {"min_width": math.ceil(width * f), "min_height": math.ceil(height * f)}
    try:
        arr = simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True, **scale)
    except ValueError as exc:
        raise NotAnImage("The picture is damaged or incomplete.") from exc
    return _upright(_fit(np.asarray(arr, dtype=np.uint8), side), _exif_orientation(im))


def _decode_png(im: Image.Image, side: int | None) -> RGBImage:
    im.load()  # raises OSError on truncated data (LOAD_TRUNCATED_IMAGES is off)
    orientation = _exif_orientation(im)  # a PNG's eXIf chunk may follow the pixels
    if im.mode in _WIDE_GREY_MODES:
        # Keep the top 8 of 16 bits, as Pillow itself does for 16-bit colour PNGs (converting
        # "I;16" to "L" would clip every value above 255 to white).
        img = Image.fromarray((np.clip(np.asarray(im), 0, 65535) >> 8).astype(np.uint8), "L")
    else:
        # Drop alpha first: Pillow reduces RGBA/LA through a premultiplied full-size copy.
        img = im.convert("L" if im.mode in ("L", "LA", "1") else "RGB")
    im.im = None  # type: ignore[assignment]  # let the full-size decode go now
    factor = math.ceil(max(img.size) / side) if side else 1
    if factor >= 2:
        img = img.reduce(factor)  # box average by an integer factor: fast, <= side
    return _upright(_fit(np.asarray(img.convert("RGB"), dtype=np.uint8), side), orientation)


def _fit(arr: RGBImage, side: int | None) -> RGBImage:
    """Area-resize so the long side is at most ``side``."""
    h, w = arr.shape[:2]
    if not side or max(h, w) <= side:
        return arr
    f = side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return np.asarray(cv2.resize(arr, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _exif_orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception as exc:  # noqa: BLE001 - hostile EXIF may raise anything; refuse the file
        raise NotAnImage("The picture's metadata is damaged.") from exc
    return value if isinstance(value, int) and value in _EXIF_TRANSPOSE else 1


def _upright(arr: RGBImage, orientation: int) -> RGBImage:
    method = _EXIF_TRANSPOSE.get(orientation)
    if method is None:
        return arr
    return np.asarray(Image.fromarray(arr).transpose(method), dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Geometry helpers (pure functions, used by liveness tests too)
# --------------------------------------------------------------------------------------------


def eye_aspect_ratio(eye: npt.NDArray[np.floating[Any]]) -> float:
    """EAR of one eye from its six 68-point landmarks (p1..p6, in iBUG order)."""
    p = eye.astype(np.float64)
    vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    horizontal = np.linalg.norm(p[0] - p[3])
    if horizontal <= 1e-6:
        return 0.0
    return float(vertical / (2.0 * horizontal))


def yaw_ratio(landmarks: npt.NDArray[np.floating[Any]]) -> float:
    """Signed head-yaw estimate from 68 landmarks; negative = turned to the learner's left.

    The nose tip is projected onto the line through the two outer eye corners (so head roll does
    not leak into it) and its offset from their midpoint is divided by their distance. Turning to
    one's left moves the nose tip toward the image's right on an unmirrored frame, hence the sign
    flip. A horizontally flipped image gives the opposite sign.
    """
    pts = landmarks.astype(np.float64)
    a = pts[_RIGHT_EYE_OUTER]  # image-left outer corner
    b = pts[_LEFT_EYE_OUTER]
    axis = b - a
    span = float(np.linalg.norm(axis))
    if span <= 1e-6:
        return 0.0
    offset = float(np.dot(pts[_NOSE_TIP] - (a + b) / 2.0, axis / span))
    return -offset / span


def distance(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Euclidean distance between two embeddings (the metric the dlib model was trained for)."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def distance_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """All Euclidean distances between rows of ``a`` (n, 128) and ``b`` (m, 128) -> (n, m)."""
    x = np.atleast_2d(np.asarray(a, np.float64))
    y = np.atleast_2d(np.asarray(b, np.float64))
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    out: npt.NDArray[np.float64] = np.sqrt(np.clip(sq, 0.0, None))
    return out


FusionStrategy = Literal["min", "mean", "mean_k_best", "centroid"]


def fused_distance(
    probes: Sequence[npt.ArrayLike] | npt.ArrayLike,
    templates: Sequence[npt.ArrayLike] | npt.ArrayLike,
    strategy: FusionStrategy = "mean_k_best",
    k: int = 3,
) -> float:
    """One distance between a burst of probe frames and a learner's enrolment templates.

    * ``min``: closest pair (most lenient, raises false matches with many frames/templates);
    * ``mean``: mean of all probe-template distances;
    * ``mean_k_best``: mean of the ``k`` smallest distances (tolerates a few poor frames while
      not letting one lucky frame decide);
    * ``centroid``: distance between the mean probe embedding and the mean template embedding.
    """
    p = np.atleast_2d(np.asarray(probes, np.float64))
    t = np.atleast_2d(np.asarray(templates, np.float64))
    if p.shape[0] == 0 or t.shape[0] == 0:
        raise ValueError("fused_distance needs at least one probe and one template")
    if strategy == "centroid":
        return distance(p.mean(0), t.mean(0))
    d = distance_matrix(p, t).ravel()
    if strategy == "min":
        return float(d.min())
    if strategy == "mean":
        return float(d.mean())
    if strategy == "mean_k_best":
        kk = max(1, min(k, d.size))
        return float(np.partition(d, kk - 1)[:kk].mean())
    raise ValueError(f"unknown fusion strategy {strategy!r}")


Decision = Literal["passed", "review", "failed"]


def l2_normalise(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Rows scaled to unit length (SFace embeddings are compared by cosine)."""
    a = np.atleast_2d(np.asarray(x, np.float64))
    n = np.linalg.norm(a, axis=1, keepdims=True)
    out: npt.NDArray[np.float64] = a / np.maximum(n, 1e-12)
    return out


def similarity_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Cosine similarities between rows of ``a`` (n, d) and ``b`` (m, d) -> (n, m)."""
    out: npt.NDArray[np.float64] = l2_normalise(a) @ l2_normalise(b).T
    return out


def score_matrix(a: npt.ArrayLike, b: npt.ArrayLike, metric: Metric) -> npt.NDArray[np.float64]:
    """Distances (``euclidean``) or similarities (``cosine``) between all rows."""
    return distance_matrix(a, b) if metric == "euclidean" else similarity_matrix(a, b)


def closer(metric: Metric) -> int:
    """+1 when a larger score means closer (cosine), -1 when smaller does (euclidean)."""
    return 1 if metric == "cosine" else -1


def fused_score(
    probes: Sequence[npt.ArrayLike] | npt.ArrayLike,
    templates: Sequence[npt.ArrayLike] | npt.ArrayLike,
    metric: Metric,
    strategy: FusionStrategy = "mean_k_best",
    k: int = 3,
) -> float:
    """:func:`fused_distance` for either metric: the ``k`` *closest* pairs are the smallest
    distances or the largest similarities."""
    if metric == "euclidean":
        return fused_distance(probes, templates, strategy, k)
    p = np.atleast_2d(np.asarray(probes, np.float64))
    t = np.atleast_2d(np.asarray(templates, np.float64))
    if p.shape[0] == 0 or t.shape[0] == 0:
        raise ValueError("fused_score needs at least one probe and one template")
    if strategy == "centroid":
        return float(similarity_matrix(p.mean(0), t.mean(0))[0, 0])
    s = similarity_matrix(p, t).ravel()
    if strategy == "min":  # the closest pair
        return float(s.max())
    if strategy == "mean":
        return float(s.mean())
    if strategy == "mean_k_best":
        kk = max(1, min(k, s.size))
        return float(-np.partition(-s, kk - 1)[:kk].mean())
    raise ValueError(f"unknown fusion strategy {strategy!r}")


def decide_score(score: float, accept: float, reject: float, metric: Metric) -> Decision:
    """:func:`decide` for either metric. Cosine: ``>= accept`` passed, ``< reject`` failed."""
    if metric == "euclidean":
        return decide(score, accept, reject)
    if accept < reject:
        raise ValueError("the cosine accept threshold must not be below the reject threshold")
    if score >= accept:
        return "passed"
    if score < reject:
        return "failed"
    return "review"


def matches(score: float, threshold: float, metric: Metric) -> bool:
    """Is ``score`` at least as close as ``threshold``?"""
    return score <= threshold if metric == "euclidean" else score >= threshold


def decide(dist: float, accept: float, reject: float) -> Decision:
    """Map a distance to a decision: ``<= accept`` passed, ``> reject`` failed, else review."""
    if accept > reject:
        raise ValueError("accept threshold must not exceed the reject threshold")
    if dist <= accept:
        return "passed"
    if dist > reject:
        return "failed"
    return "review"


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------


class _Models:
    """The three dlib models, loaded once per process (~100 MB, ~0.5 s)."""

    def __init__(self, folder: Path) -> None:
        self.detector = dlib.get_frontal_face_detector()
        self.shape68 = dlib.shape_predictor(str(folder / "shape_predictor_68_face_landmarks.dat"))
        self.shape5 = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self.recogniser = dlib.face_recognition_model_v1(
            str(folder / "dlib_face_recognition_resnet_model_v1.dat")
        )


_MODELS: _Models | None = None


def _models() -> _Models:
    global _MODELS
    if _MODELS is None:
        _MODELS = _Models(model_dir())
    return _MODELS


class DlibFaceEngine:
    """The real face engine: HOG detector, 68/5-point landmarks, dlib ResNet embeddings.

    Models are loaded lazily, once per process, and shared by every engine in that process. The
    service runs one engine per pool worker process (:class:`app.attendance.pool.FacePool`).
    """

    model_name: str = MODEL_NAME
    model_version: str = MODEL_VERSION
    identity: ModelIdentity = DLIB_IDENTITY

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig(engine="dlib")

    @cached_property
    def _m(self) -> _Models:
        return _models()

    def warm_up(self) -> None:
        """Load the models now (pool initialiser) instead of on the first frame."""
        _ = self._m

    # -- decoding ---------------------------------------------------------------------------

    def decode(self, data: bytes) -> RGBImage:
        """See :func:`decode_image`; uses this engine's :class:`DecodeLimits`."""
        return decode_image(data, self.config.limits)

    # -- detection --------------------------------------------------------------------------

    def detect(self, img: RGBImage) -> list[FaceBox]:
        """Face boxes in ``img`` coordinates, largest first.

        HOG runs on a copy whose long side is ``detect_long_side`` (cost is ~quadratic in size).
        Only when nothing is found *and* a face of the minimum size could have been too small for
        the 80 px HOG window at that scale do we try again with one 2x upsample.
        """
        h, w = img.shape[:2]
        scale = min(1.0, self.config.detect_long_side / max(h, w))
        if scale < 1.0:
            small = cv2.resize(
                img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        else:
            small = img
        # Greyscale is what HOG uses anyway; converting first saves dlib doing it per pyramid level.
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        rects = self._m.detector(grey, 0)
        if len(rects) == 0 and self.config.quality.min_face_px * scale < _HOG_MIN_FACE_PX * 1.1:
            rects = self._m.detector(grey, 1)
        boxes = []
        for r in rects:
            box = FaceBox(
                left=max(0, round(r.left() / scale)),
                top=max(0, round(r.top() / scale)),
                right=min(w, round((r.right() + 1) / scale)),
                bottom=min(h, round((r.bottom() + 1) / scale)),
            )
            if box.width > 0 and box.height > 0:
                boxes.append(box)
        boxes.sort(key=lambda b: b.width * b.height, reverse=True)
        return boxes

    # -- analysis ---------------------------------------------------------------------------

    def analyse(self, img: RGBImage) -> FaceAnalysis:
        """Quality-gate ``img`` and measure its single face.

        Raises, in this order: :class:`NoFace`, :class:`MultipleFaces`, :class:`FaceTooSmall`,
        :class:`TooDark`, :class:`TooBlurry`. Size is checked before the (expensive) embedding.
        """
        boxes = self.detect(img)
        self._check_count_and_size(boxes)
        analysis = self._describe(img, boxes[0], len(boxes))
        rejection = self._quality_rejection(analysis.quality)
        if rejection is not None:
            raise rejection
        return analysis

    def analyse_bytes(self, data: bytes) -> FaceAnalysis:
        """Decode and analyse one uploaded frame."""
        return self.analyse(self.decode(data))

    def measure(self, img: RGBImage) -> FaceMeasurement:
        """Like :meth:`analyse` but never raises for quality: describes the largest face and says
        which rejection would apply. For calibration, operator tools and threshold tuning."""
        boxes = self.detect(img)
        if not boxes:
            return FaceMeasurement(0, (), None, NoFace())
        analysis = self._describe(img, boxes[0], len(boxes))
        rejection: FaceRejected | None
        try:
            self._check_count_and_size(boxes)
            rejection = self._quality_rejection(analysis.quality)
        except FaceRejected as exc:
            rejection = exc
        return FaceMeasurement(len(boxes), tuple(boxes), analysis, rejection)

    def _check_count_and_size(self, boxes: list[FaceBox]) -> None:
        if not boxes:
            raise NoFace()
        if len(boxes) > 1:
            raise MultipleFaces(faces_found=len(boxes))
        q = self.config.quality
        if boxes[0].width < q.min_face_px:
            raise FaceTooSmall(face_px=boxes[0].width, min_face_px=q.min_face_px)

    def _quality_rejection(self, quality: FaceQuality) -> FaceRejected | None:
        q = self.config.quality
        # Darkness first: a dark frame is also low-contrast, i.e. "blurry"; tell the learner
        # the cause they can fix.
        if quality.brightness < q.min_brightness:
            return TooDark(brightness=round(quality.brightness, 1), min_brightness=q.min_brightness)
        if quality.sharpness < q.min_sharpness:
            return TooBlurry(sharpness=round(quality.sharpness, 1), min_sharpness=q.min_sharpness)
        return None

    def _describe(self, img: RGBImage, box: FaceBox, faces_found: int) -> FaceAnalysis:
        rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
        # Landmarks and the chip use the full-resolution image: their cost does not depend on it.
        shape68 = self._shape68(img, rect)
        landmarks = np.array([[p.x, p.y] for p in shape68.parts()], dtype=np.float32)
        chip, embedding = self._chip_and_embedding(img, box, rect, shape68)

        grey_chip = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
        # Central 60 % of the chip = the face itself, without the padding background.
        c0, c1 = int(_CHIP_SIZE * 0.2), int(_CHIP_SIZE * 0.8)
        core = grey_chip[c0:c1, c0:c1]
        # Laplacian variance (high-frequency energy) divided by the squared mean luma: exposure
        # cancels out (a dim but sharp face is judged by brightness, not called blurry), and the
        # chip has a fixed size, so the value does not depend on the frame's resolution.
        lap_var = float(cv2.Laplacian(core, cv2.CV_64F).var())
        mean = float(core.mean())
        sharpness = 1e4 * lap_var / (mean * mean + 1.0)
        brightness = mean
        signature = cv2.resize(
            grey_chip, (_SIGNATURE_PX, _SIGNATURE_PX), interpolation=cv2.INTER_AREA
        )

        return FaceAnalysis(
            box=box,
            embedding=embedding,
            quality=FaceQuality(face_px=box.width, sharpness=sharpness, brightness=brightness),
            landmarks=landmarks,
            ear_left=eye_aspect_ratio(landmarks[_LEFT_EYE]),
            ear_right=eye_aspect_ratio(landmarks[_RIGHT_EYE]),
            yaw=yaw_ratio(landmarks),
            signature=np.ascontiguousarray(signature, dtype=np.uint8),
            crop_jpeg=self._evidence_crop(img, box),
            image_size=(img.shape[1], img.shape[0]),
            faces_found=faces_found,
        )

    def _shape68(self, img: RGBImage, rect: Any) -> Any:
        return self._m.shape68(img, rect)

    def _chip_and_embedding(
        self, img: RGBImage, box: FaceBox, rect: Any, shape68: Any
    ) -> tuple[RGBImage, Embedding]:
        """The 150 px aligned chip (quality, signature) and the face's embedding."""
        m = self._m
        # Embedding aligned with the 5-point model, as face_recognition does by default, so our
        # distances are comparable with the library's published figures.
        shape5 = m.shape5(img, rect)
        chip = np.asarray(dlib.get_face_chip(img, shape5, _CHIP_SIZE, _CHIP_PADDING), np.uint8)
        # Same chip the ResNet would cut internally: embed it directly (bit-identical result).
        desc = m.recogniser.compute_face_descriptor(chip, self.config.num_jitters)
        return chip, np.asarray(desc, dtype=np.float32)

    def _evidence_crop(self, img: RGBImage, box: FaceBox) -> bytes:
        h, w = img.shape[:2]
        margin = int(0.25 * max(box.width, box.height))
        x0, y0 = max(0, box.left - margin), max(0, box.top - margin)
        x1, y1 = min(w, box.right + margin), min(h, box.bottom + margin)
        crop: npt.NDArray[Any] = img[y0:y1, x0:x1]
        long_side = max(crop.shape[:2])
        if long_side > self.config.crop_px:
            f = self.config.crop_px / long_side
            size = (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(
            ".jpg",
            cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, self.config.crop_jpeg_quality],
        )
        if not ok:  # pragma: no cover - encoding a valid array does not fail
            raise RuntimeError("could not encode the evidence crop")
        return bytes(buf.tobytes())


def encode_jpeg(img: RGBImage, quality: int = 90) -> bytes:
    """Encode an RGB array as JPEG bytes (tests, benchmarks and tools build frames with it)."""
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:  # pragma: no cover
        raise RuntimeError("could not encode JPEG")
    return bytes(buf.tobytes())


def load_image_file(path: str | Path, limits: DecodeLimits | None = None) -> RGBImage:
    """Read and decode an image file with the same rules as uploads (EXIF applied)."""
    generous = limits or DecodeLimits(max_bytes=64 * 1024 * 1024, max_pixels=64_000_000)
    return decode_image(Path(path).read_bytes(), generous)


@dataclass(frozen=True, slots=True, eq=False)
class FileSample:
    """Embedding of the largest face in an image file, for calibration (lenient: a quality
    rejection is recorded in ``rejection`` but the face is still embedded)."""

    path: str
    embedding: Embedding | None
    rejection: str | None
    faces_found: int


def measure_file(engine: FaceEngine, path: str | Path) -> FileSample:
    """Decode ``path`` and embed its largest face, never raising for the image's content."""
    try:
        img = load_image_file(path)
    except FaceRejected as exc:
        return FileSample(str(path), None, exc.code, 0)
    m = engine.measure(img)
    emb = m.analysis.embedding if m.analysis is not None else None
    return FileSample(str(path), emb, m.rejection.code if m.rejection else None, m.faces_found)


__all__ = [
    "DLIB_IDENTITY",
    "DLIB_RESNET_SHA256",
    "Metric",
    "ModelIdentity",
    "closer",
    "decide_score",
    "fused_score",
    "l2_normalise",
    "matches",
    "score_matrix",
    "similarity_matrix",
    "FileSample",
    "measure_file",
    "EMBEDDING_SIZE",
    "MODEL_NAME",
    "MODEL_VERSION",
    "DecodeLimits",
    "Decision",
    "DlibFaceEngine",
    "EngineConfig",
    "FaceAnalysis",
    "FaceBox",
    "FaceEngine",
    "FaceMeasurement",
    "FaceQuality",
    "FusionStrategy",
    "QualityThresholds",
    "decide",
    "decode_image",
    "ImageHeader",
    "read_header",
    "distance",
    "distance_matrix",
    "encode_jpeg",
    "eye_aspect_ratio",
    "fused_distance",
    "load_image_file",
    "model_dir",
    "yaw_ratio",
]
