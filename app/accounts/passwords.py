"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.config import Environment, get_settings

# OWASP Password Storage Cheat Sheet / ASVS 5.0 (V11.4): Argon2id, m=19 MiB, t=2, p=1.
OWASP = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# The test environment only (SKILLTRACE_ENV=test, the suite's): the suite makes and signs in
# thousands of accounts, ~40 ms each at the real cost. Hashes carry their parameters, so each
# verifies the other's; a test hash signed in elsewhere is re-hashed at the real cost.
_TEST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _hasher() -> PasswordHasher:
    return _TEST if get_settings().env is Environment.test else OWASP


MIN_LENGTH = 8
MAX_LENGTH = 128  # ASVS allows >= 64; a bound stops hashing megabytes


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from real leaks.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    chinese_favourites = {
        "woaini", "woaini1314", "5201314", "1314520", "qq123456", "a123456", "aa123456",
        "123456a", "a123456789", "zhang123", "wang1234", "88888888", "66666666", "147258369",
        "123qwe", "1qaz2wsx", "qwe123", "abc123456", "iloveyou", "password1", "12345678a",
    }  # fmt: skip
    return frozenset(FREQUENCY_LISTS["passwords"]) | chinese_favourites


def weakness(password: str, *, username: str = "") -> str | None:
    """Why a password is refused, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    lowered = password.lower()
    if lowered in _common_passwords():
        return "one of the most common passwords"
    if username and lowered == username.lower():
        return "the same as the username"
    if len(set(password)) < 3:
        return "too few different characters"
    return None


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=2)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("skilltrace-timing-equaliser")


def dummy_hash() -> str:
    """A fixed hash at the current cost to verify against when the user does not exist, so
    timing does not reveal it."""
    return _dummy_hash(_hasher())
