"""Face-frame uploads (a liveness burst) as the API and the phone hand-off receive them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import File, Form, Request, UploadFile
from pydantic import Field

from app.attendance.checks import MAX_UPLOAD_FRAMES
from app.attendance.exceptions import ImageTooLarge, TooManyFrames
from app.attendance.service import ClientInfo
from app.config import get_settings
from app.http.cookies import client_info

FramesField = Annotated[
    list[UploadFile] | None,
    File(
        description="A burst challenge: its 1..N JPEG/PNG frames, in capture order. A streamed "
        "check (mode streamed): none — its frames were streamed to …/checks/{id}/frames"
    ),
]
ChallengeField = Annotated[
    uuid.UUID, Form(description="A challenge or streamed check from …/challenge or …/checks")
]
SeqField = Annotated[
    int, Form(ge=0, le=100_000, description="The frame's sequence number: 0, 1, 2, … in order")
]
FrameField = Annotated[UploadFile, File(description="One JPEG/PNG camera frame (≤ 640 px)")]
StreamFramesField = Annotated[
    list[UploadFile],
    File(
        description="1 to 8 JPEG/PNG camera frames (≤ 640 px each) in capture order, the first "
        "numbered ``seq``: what the camera took since the previous upload was sent"
    ),
]
CapturedField = Annotated[
    list[Annotated[int, Field(ge=0, le=86_400_000)]] | None,
    Form(
        description="Each frame's capture time in ms on the client's own clock, increasing and "
        "after the previous upload's (required with more than one frame; only the differences "
        "are used, bounded by the server's arrival times)"
    ),
]


def read_upload(frames: list[UploadFile]) -> list[bytes]:
    """One upload of a streamed check: at most MAX_UPLOAD_FRAMES frames, each bounded."""
    if len(frames) > MAX_UPLOAD_FRAMES:
        raise TooManyFrames(f"Send 1 to {MAX_UPLOAD_FRAMES} frames per upload.")
    return read_frames(frames)


def read_frame(frame: UploadFile) -> bytes:
    """One streamed frame, read with the per-frame bound."""
    return read_frames([frame])[0]


def read_frames(frames: list[UploadFile] | None) -> list[bytes]:
    """Read uploads with a per-frame bound, without trusting the declared size."""
    limit = get_settings().face_max_frame_bytes
    out: list[bytes] = []
    for f in frames or []:
        if f.size is not None and f.size > limit:
            raise ImageTooLarge()
        data = f.file.read(limit + 1)
        if len(data) > limit:
            raise ImageTooLarge()
        out.append(data)
    return out


def client_of(request: Request) -> ClientInfo:
    ip, ua = client_info(request)
    return ClientInfo(ip=ip, user_agent=ua)
