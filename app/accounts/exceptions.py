"""Errors the accounts service raises; codes are part of the REST contract."""

from __future__ import annotations

from app.errors import Conflict, DomainError, Forbidden, NotAuthenticated, ValidationFailed


class InvalidIdNumberError(ValidationFailed):
    code = "invalid_id_number"
    message_zh = "身份证号码无效，请检查号码、出生日期和最后一位校验码。"
    message_en = "The ID number is not valid (format, birth date or check digit)."


class UsernameTaken(Conflict):
    code = "username_taken"
    message_zh = "该用户名已被使用。"
    message_en = "This username is already taken."


class IdNumberRegistered(Conflict):
    code = "id_number_registered"
    message_zh = "该身份证号码已注册，请直接登录或联系培训机构。"
    message_en = "An account with this ID number already exists."


class WeakPassword(ValidationFailed):
    code = "weak_password"
    message_zh = "密码太弱：至少 8 位，且不能是常见密码。"
    message_en = "The password is too weak."


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    title = "Invalid credentials"
    message_zh = "用户名或密码错误。"
    message_en = "Wrong username or password."
    keep_changes = True  # the failure count must be stored


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429
    title = "Too many attempts"
    message_zh = "登录失败次数过多，请稍后再试。"
    message_en = "Too many failed attempts; try again later."
    keep_changes = True


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    message_zh = "登录已过期，请重新登录。"
    message_en = "The token is invalid or has expired."


class InsufficientRole(Forbidden):
    code = "forbidden"


class MissingScope(Forbidden):
    code = "insufficient_scope"
    message_zh = "该 API 密钥没有执行此操作的权限。"
    message_en = "The API key lacks the scope for this operation."


class InstitutionNotFound(DomainError):
    code = "institution_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该培训机构。"
    message_en = "Institution not found."


class InstitutionCodeTaken(Conflict):
    code = "institution_code_taken"
    message_zh = "该机构代码已存在。"
    message_en = "An institution with this code already exists."


class UserNotFound(DomainError):
    code = "user_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该用户。"
    message_en = "User not found."


class ApiKeyNotFound(DomainError):
    code = "api_key_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该 API 密钥。"
    message_en = "API key not found."


class InvalidInput(ValidationFailed):
    code = "invalid_input"
