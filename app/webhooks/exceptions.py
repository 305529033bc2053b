"""Errors the webhooks service raises; codes are part of the REST contract."""

from __future__ import annotations

from app.errors import Conflict, DomainError, ValidationFailed


class SubscriptionNotFound(DomainError):
    code = "webhook_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该 Webhook 订阅。"
    message_en = "Webhook subscription not found."


class InvalidWebhookUrl(ValidationFailed):
    code = "invalid_webhook_url"
    message_zh = "Webhook 地址无效：需要 https:// 开头的完整地址，且不能包含用户名或密码。"
    message_en = "The webhook URL is not valid: an absolute https:// URL without credentials."


class WebhookUrlRefused(ValidationFailed):
    code = "webhook_url_refused"
    message_zh = "该 Webhook 地址指向内网、本机或无法解析的主机，不允许使用。"
    message_en = (
        "The webhook URL resolves to a private, loopback or link-local address, or does not "
        "resolve at all."
    )


class UnknownEventType(ValidationFailed):
    code = "unknown_event_type"
    message_zh = "订阅的事件类型不存在。"
    message_en = "Unknown webhook event type."


class TooManySubscriptions(ValidationFailed):
    code = "too_many_webhooks"
    message_zh = "本机构的 Webhook 订阅数量已达上限。"
    message_en = "The institution has reached the maximum number of webhook subscriptions."


class SubscriptionDisabled(Conflict):
    code = "webhook_disabled"
    message_zh = "该 Webhook 订阅已停用，请先启用。"
    message_en = "The webhook subscription is disabled; enable it first."
