"""Absolute links the app hands out (shown as text or QR codes, opened on another device)."""

from __future__ import annotations

from fastapi import Request

from app.config import get_settings


def phone_url(request: Request, code: str) -> str:
    """The phone link of a face-check hand-off; its last part is the code."""
    base = get_settings().public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/m/{code}"
