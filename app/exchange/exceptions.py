"""Errors of the regional data exchange; codes are the REST contract.

Exception tree::

    DomainError (app.errors)
     ├── NotAuthenticated
     │    └── InvalidSignature        401 invalid_signature      (a receipt not signed by the
     │                                                            regional system's secret)
     ├── ValidationFailed
     │    └── InvalidReceipt          422 invalid_receipt
     └── ExchangeNotConfigured        404 exchange_not_configured (no receipts expected here)
"""

from __future__ import annotations

from app.errors import DomainError, NotAuthenticated, ValidationFailed


class InvalidSignature(NotAuthenticated):
    code = "invalid_signature"
    message_zh = "签名校验失败。"
    message_en = "The request is not signed with the regional system's secret."


class InvalidReceipt(ValidationFailed):
    code = "invalid_receipt"
    message_zh = "回执内容有误。"
    message_en = "The receipt is not valid."


class ExchangeNotConfigured(DomainError):
    code = "exchange_not_configured"
    status = 404
    title = "Not found"
    message_zh = "未配置与省级实名制培训系统的数据交换。"
    message_en = "No regional exchange is configured."
