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


class RateLimited(DomainError):
    """Too many attempts of one kind from one client address (app/accounts/throttle.py)."""

    code = "rate_limited"
    status = 429
    title = "Too many requests"
    message_zh = "来自您所在网络的尝试次数过多，请稍后再试。"
    message_en = "Too many attempts from your network; try again later."


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


# ---------------------------------------------------------------- admin console


class AccountLocked(Forbidden):
    """The right password for an account an admin has locked (told only after the password
    matched, so it reveals nothing to a guesser)."""

    code = "account_locked"
    title = "Account locked"
    message_zh = "该账号已被平台管理员锁定，暂时无法登录。如有疑问，请联系平台管理员。"
    message_en = "This account has been locked by a platform administrator; contact them."
    keep_changes = True  # the refused sign-in is audited


class InstitutionSuspended(Forbidden):
    """A staff member of a suspended institution signing in (again after the password)."""

    code = "institution_suspended"
    title = "Institution suspended"
    message_zh = (
        "您所在的培训机构已被平台暂停使用，工作人员暂时无法登录。如有疑问，请联系平台管理员。"
    )
    message_en = (
        "Your training institution has been suspended by the platform; its staff cannot sign in. "
        "Contact the platform administrator."
    )
    keep_changes = True


class ApiKeyInstitutionSuspended(InvalidToken):
    """A partner's API key of a suspended institution: the same 401 ``invalid_token`` as a
    revoked key (no new code in the contract), with the reason in words."""

    message_zh = "该 API 密钥所属的培训机构已被平台暂停使用，密钥暂时无效。"
    message_en = "The institution of this API key is suspended; the key does not work meanwhile."


class ReasonRequired(InvalidInput):
    code = "reason_required"
    message_zh = "请填写原因：它会记入审计日志。"
    message_en = "Give a reason; it is recorded in the audit log."


class CannotLockSelf(Forbidden):
    code = "cannot_lock_self"
    message_zh = "不能锁定自己正在使用的账号。"
    message_en = "You cannot lock your own account."


# ---------------------------------------------------------------- activation codes


class ActivationRefused(DomainError):
    """One answer for every wrong case (unknown ID number, wrong, used or expired code), so the
    form tells a guesser nothing about which it was."""

    code = "activation_refused"
    status = 400
    title = "Activation refused"
    message_zh = (
        "身份证号或激活码不正确，或激活码已使用、已过期。请核对后重试，或联系培训机构重新获取。"
    )
    message_en = (
        "The ID number or activation code is wrong, or the code was used or has expired. "
        "Check them, or ask your institution for a new code."
    )


# ---------------------------------------------------------------- institution of a learner


class InstitutionUnavailable(ValidationFailed):
    """A self-registering learner named an institution code that is unknown or suspended (the
    same answer for both: the list of institutions that take learners is public anyway)."""

    code = "institution_unavailable"
    message_zh = "找不到该培训机构，或该机构暂停招生。请核对机构代码，或从列表中选择。"
    message_en = "No institution taking learners has this code; check it or pick one from the list."


class InstitutionRequired(Conflict):
    """A learner with no institution tried something only an institution can follow up (a face
    enrolment, whose duplicate-face flag is reviewed by the institution's staff)."""

    code = "institution_required"
    message_zh = "请先选择您参加培训的机构，再采集人脸。"
    message_en = "Choose the institution you train with first."


class InstitutionAlreadyChosen(Conflict):
    """A learner who belongs to an institution cannot move to another by themself."""

    code = "institution_already_chosen"
    message_zh = "您已属于一个培训机构；如需更换，请联系该机构。"
    message_en = "You already belong to an institution; ask it to move you."


# ---------------------------------------------------------------- passwords


class ResetCodeInvalid(DomainError):
    """A reset code that is wrong, expired, used or tried too often, or an account that got
    none: one answer for all, so the reset says nothing about who has an account."""

    code = "reset_code_invalid"
    status = 400
    title = "Invalid reset code"
    message_zh = "验证码错误或已失效。请核对，或重新获取验证码。"
    message_en = "The code is wrong or no longer valid; check it or ask for a new one."
    keep_changes = True  # the wrong try is counted


class PasswordChangeRequired(Forbidden):
    """The right password, but one someone else chose (a temporary password from the
    institution): the account must set its own before it signs in."""

    code = "password_change_required"
    message_zh = "这是培训机构为您设置的临时密码，请先设置您自己的新密码。"
    message_en = "This is a temporary password; set your own password first."


class SamePassword(ValidationFailed):
    code = "password_unchanged"
    message_zh = "新密码不能与当前密码相同。"
    message_en = "The new password must differ from the current one."


class ActivationPending(Conflict):
    """Staff reset the password of a learner who has not activated their account yet: such a
    learner gets a new activation code instead."""

    code = "activation_pending"
    message_zh = "该学员尚未激活账号，请为其重新发放激活码。"
    message_en = "This learner has not activated their account; issue a new activation code."


class InvalidEmail(ValidationFailed):
    """An e-mail address that is not one, or is written with look-alike letters (Cyrillic,
    full-width forms that do not fold to plain ASCII …): refused rather than guessed at."""

    code = "invalid_email"
    message_zh = (
        "请填写有效的电子邮箱地址（由英文字母、数字和常用符号组成），例如 zhang.san@qq.com。"
    )
    message_en = "Enter a valid e-mail address in plain letters and digits, e.g. zhang.san@qq.com."


class EmailTaken(Conflict):
    code = "email_taken"
    message_zh = "该电子邮箱已被其他账号使用。"
    message_en = "Another account already uses this e-mail address."


class TooManyCodes(DomainError):
    """An account asked for more codes in an hour than a person needs (a confirmation of an
    e-mail address: the person is signed in, so saying so reveals nothing)."""

    code = "too_many_codes"
    status = 429
    title = "Too many requests"
    message_zh = "这个账号一小时内获取验证码的次数过多，请稍后再试。"
    message_en = "This account asked for too many codes in the last hour; try again later."
