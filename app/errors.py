"""Domain errors and their one translation to HTTP (RFC 9457 problem+json).

Every domain package raises subclasses of :class:`DomainError` from its ``exceptions.py``. Each
carries a stable snake_case ``code`` partners can switch on, an HTTP status, and a message a
learner understands (Simplified Chinese and English). ``keep_changes`` marks errors whose
side effects must still be committed (a recorded failed login, a recorded missed roll-call).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request refused"
    message_zh: ClassVar[str] = "请求无法完成。"
    message_en: ClassVar[str] = "The request could not be completed."
    #: Commit the work flushed before the error was raised (e.g. a recorded failure).
    keep_changes: ClassVar[bool] = False

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.message_en
        self.extra = extra
        #: Per instance: a service may decide that this particular refusal keeps its record.
        self.commit = self.keep_changes
        super().__init__(self.detail)

    def keeping_changes(self, **extra: Any) -> DomainError:
        """Mark this error so the transaction commits what was recorded before it."""
        self.commit = True
        self.extra.update(extra)
        return self

    def to_problem(self, lang: str = "en") -> dict[str, Any]:
        message = self.message_zh if lang.startswith("zh") else self.detail
        body: dict[str, Any] = {
            "type": f"https://skilltrace.cn/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": message,
            "code": self.code,
            "message_zh": self.message_zh,
        }
        body.update(self.extra)
        return body


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该记录。"
    message_en = "Not found."


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = "Forbidden"
    message_zh = "您没有权限执行此操作。"
    message_en = "You are not allowed to do this."


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401
    title = "Not authenticated"
    message_zh = "请先登录。"
    message_en = "Sign in first."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"
    message_zh = "该操作与现有数据冲突。"
    message_en = "This conflicts with existing data."


class InternalError(DomainError):
    """Never raised on purpose: the body of the 500 any unexpected failure becomes."""

    code = "internal_error"
    status = 500
    title = "Internal error"
    message_zh = "服务器内部错误，请稍后重试；如仍失败，请把请求编号告知平台。"
    message_en = "Something went wrong on our side; the request ID helps us find it."


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 422
    title = "Invalid request"
    message_zh = "提交的内容有误，请检查后重试。"
    message_en = "The request is not valid."


def problem_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entry documenting every error ``code`` an endpoint may return."""
    by_status: dict[int, list[type[DomainError]]] = {}
    for err in errors:
        by_status.setdefault(err.status, []).append(err)
    out: dict[int | str, dict[str, Any]] = {}
    for status, errs in sorted(by_status.items()):
        codes = sorted({e.code for e in errs})
        out[status] = {
            "description": "; ".join(f"`{e.code}`: {e.message_en}" for e in errs),
            "content": {
                "application/problem+json": {
                    "schema": {
                        "type": "object",
                        "required": ["type", "title", "status", "detail", "code"],
                        "properties": {
                            "type": {"type": "string"},
                            "title": {"type": "string"},
                            "status": {"type": "integer"},
                            "detail": {"type": "string"},
                            "code": {"type": "string", "enum": codes},
                            "message_zh": {"type": "string"},
                        },
                    }
                }
            },
        }
    return out


class ServiceNotReady(DomainError):
    """``/readyz``: this node cannot serve yet (or any more); the balancer should skip it."""

    code = "not_ready"
    status = 503
    title = "Not ready"
    message_zh = "服务暂时不可用，请稍后重试。"
    message_en = "This server is not ready to serve requests."


class DatabaseUnavailable(ServiceNotReady):
    code = "database_unavailable"
    title = "Database unavailable"
    message_en = "The database cannot be reached."


class MigrationsPending(ServiceNotReady):
    code = "migrations_pending"
    title = "Migrations pending"
    message_en = "The database schema is not at this version's migration head."
