"""Hostile and unusual frames: image bombs, truncated data, 16-bit samples (issue 12, 9-10)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from app.attendance import exceptions as exc
from app.attendance.face import (
    DecodeLimits,
    DlibFaceEngine,
    FaceAnalysis,
    RGBImage,
    decode_image,
    encode_jpeg,
)
from tests.hostile_images import (
    big_jpeg,
    jpeg_with_false_size,
    png16_grey,
    png_bomb,
    truncated_jpeg,
)


def _declared_pixels(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as im:
        return int(im.size[0] * im.size[1])


def test_16bit_grey_png_is_scaled_not_clipped_white() -> None:
    ramp = np.tile(np.arange(256, dtype=np.uint8), (64, 1))  # 0..255 across
    img = decode_image(png16_grey(ramp))
    assert img.dtype == np.uint8 and img.shape == (64, 256, 3)
    assert np.abs(img[..., 0].astype(int) - ramp).max() <= 1
    assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()


def test_real_face_in_a_16bit_grey_png_is_found(
    face_engine: DlibFaceEngine, video_frames: list[RGBImage]
) -> None:
    grey = cv2.cvtColor(video_frames[30], cv2.COLOR_RGB2GRAY)
    result = face_engine.analyse_bytes(png16_grey(grey))  # was no_face: decoded all white
    assert isinstance(result, FaceAnalysis)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(truncated_jpeg, id="4000x4000 header, 50 KB of data, then EOI"),
        pytest.param(lambda: big_jpeg(4000, 4000)[: 50 * 1024], id="4000x4000 cut at 50 KB"),
        pytest.param(
            lambda: jpeg_with_false_size(big_jpeg(400, 400)), id="400x400 data, 4000x4000 header"
        ),
    ],
)
def test_truncated_or_corrupt_jpeg_is_not_an_image(make: object) -> None:
    data = make()  # type: ignore[operator]
    assert _declared_pixels(data) == 16_000_000  # the header alone looks fine
    with pytest.raises(exc.NotAnImage):
        decode_image(data)  # was: a grey picture (then no_face, stored as an event)


def test_png_bomb_decodes_to_the_bounded_working_size() -> None:
    bomb = png_bomb(4000, 4000)
    assert len(bomb) < 200_000 and _declared_pixels(bomb) == 16_000_000
    img = decode_image(bomb)
    assert img.dtype == np.uint8 and max(img.shape[:2]) <= DecodeLimits().max_decode_side
    small = decode_image(bomb, DecodeLimits(max_decode_side=500))
    assert small.shape == (500, 500, 3)


def test_large_jpeg_decodes_to_the_working_size_keeping_its_shape() -> None:
    img = decode_image(big_jpeg(4000, 3000))
    assert img.shape == (1536, 2048, 3)
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    Image.fromarray(np.zeros((300, 400, 3), np.uint8)).save(rotated, "JPEG", exif=exif)
    assert decode_image(rotated.getvalue(), DecodeLimits(max_decode_side=200)).shape == (
        200,
        150,
        3,
    )


def test_working_size_keeps_faces_analysable(
    face_engine: DlibFaceEngine, video_frames: list[RGBImage]
) -> None:
    # A frame upscaled past the working size is decoded back down and its face still found.
    frame = video_frames[30]
    big = cv2.resize(frame, (frame.shape[1] * 5, frame.shape[0] * 5))
    result = face_engine.analyse_bytes(encode_jpeg(big))
    assert isinstance(result, FaceAnalysis)
    assert max(result.image_size) <= DecodeLimits().max_decode_side


def test_header_checks_need_no_pixels() -> None:
    from app.attendance.face import read_header

    assert read_header(png_bomb(4000, 4000)).pixels == 16_000_000
    with pytest.raises(exc.ImageTooLarge):
        read_header(png_bomb(4001, 4000))  # over 16 MP: refused from the header alone
    with pytest.raises(exc.NotAnImage):
        read_header(b"GIF89a" + b"\x00" * 100)
    cmyk = io.BytesIO()
    Image.new("CMYK", (64, 64)).save(cmyk, "JPEG")
    with pytest.raises(exc.NotAnImage):
        decode_image(cmyk.getvalue())
