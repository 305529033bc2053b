"""Errors of the Idempotency-Key handling; codes are part of the REST contract."""

from __future__ import annotations

from app.errors import Conflict, DomainError, ValidationFailed


class InvalidIdempotencyKey(DomainError):
    code = "invalid_idempotency_key"
    status = 400
    title = "Invalid Idempotency-Key"
    message_zh = "Idempotency-Key 请求头无效：应为 1 到 255 个可见 ASCII 字符。"
    message_en = "The Idempotency-Key header must be 1 to 255 visible ASCII characters."


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused"
    message_zh = "该 Idempotency-Key 已用于另一个请求（方法、路径或内容不同），请换一个新的键。"
    message_en = (
        "This Idempotency-Key was already used for a different request "
        "(method, path or body); use a new key."
    )


class IdempotencyRequestInProgress(Conflict):
    code = "idempotency_request_in_progress"
    title = "Request in progress"
    message_zh = "使用该 Idempotency-Key 的请求仍在处理中，请稍后重试。"
    message_en = "A request with this Idempotency-Key is still being processed; retry shortly."


class IdempotencyResponseTooLarge(Conflict):
    code = "idempotency_response_too_large"
    title = "Response not stored"
    message_zh = "该请求已经执行，但其响应太大，无法重放；请查询结果而不是重试。"
    message_en = (
        "The request with this Idempotency-Key was executed, but its response was too large "
        "to store for replay; look the result up instead of retrying."
    )
