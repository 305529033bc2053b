"""Face-frame uploads (a liveness burst) as the API and the phone hand-off receive them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import File, Form, Request, UploadFile

from app.attendance.exceptions import ImageTooLarge
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
