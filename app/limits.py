"""Request body size limit, enforced while the body streams in (before it is spooled)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` mid-stream; an HTTPException so body parsers re-raise it as is."""

    def __init__(self) -> None:
        super().__init__(413, "The upload is too large.")


class BodySizeLimitMiddleware:
    """Refuse bodies above ``max_bytes`` with 413 ``image_too_large`` problem+json.

    Checks ``Content-Length`` up front and counts streamed bytes (chunked uploads) as they come.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: (path pattern, limit): the few routes that take larger uploads (lesson videos).
        self.larger = [(re.compile(pattern), limit) for pattern, limit in larger]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.larger:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes

    async def _reject(self, send: Send, max_bytes: int) -> None:
        body = json.dumps(
            {
                "type": "https://skilltrace.cn/problems/image_too_large",
                "title": "Request too large",
                "status": 413,
                "detail": f"The upload is larger than {max_bytes // (1024 * 1024)} MB.",
                "code": "image_too_large",
                "message_zh": "上传的内容太大，请使用较低的分辨率重新拍摄。",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope["path"]) if self.larger else self.max_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._reject(send, max_bytes)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send, max_bytes)
