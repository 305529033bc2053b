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
    list[UploadFile], File(description="1..N JPEG/PNG frames of the burst, in capture order")
]
ChallengeField = Annotated[uuid.UUID, Form(description="A fresh challenge from …/challenge")]


def read_frames(frames: list[UploadFile]) -> list[bytes]:
    """Read uploads with a per-frame bound, without trusting the declared size."""
    limit = get_settings().face_max_frame_bytes
    out: list[bytes] = []
    for f in frames:
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
