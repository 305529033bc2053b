"""The middleware stack, outermost last: idempotency keys, the request body limit (a larger one
for lesson videos), request ids and metrics."""

from __future__ import annotations

from fastapi import FastAPI

from app.config import Settings
from app.idempotency.middleware import IdempotencyMiddleware
from app.limits import BodySizeLimitMiddleware
from app.logging import RequestIdMiddleware
from app.metrics import MetricsMiddleware

#: The routes that take a lesson video upload (a larger body limit than everything else).
VIDEO_UPLOADS = (
    r"/api/v1/courses/[0-9a-fA-F-]{36}/lessons/video",
    r"/staff/courses/[0-9a-fA-F-]{36}/lessons/video",
)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(IdempotencyMiddleware)  # innermost: inside the body size limit
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        # Lesson videos: their own limit (plus room for the form around the file).
        larger=[(pattern, settings.video_max_bytes + 1024 * 1024) for pattern in VIDEO_UPLOADS],
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(MetricsMiddleware)  # outermost: times everything, the 413s included
