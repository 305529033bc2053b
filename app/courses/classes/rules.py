"""Classes: the limits and the checks on a class's fields, and what its audit entries record."""

from __future__ import annotations

import secrets
import uuid
from datetime import date

from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.courses.exceptions import InvalidClass
from app.courses.models import ClassStatus, CourseClass
from app.validation import normalise_identifier

# ---------------------------------------------------------------- limits

CODE_CHARS = 32
NAME_CHARS = 200
EMPLOYER_CHARS = 200
CAPACITY = (1, 10_000)
#: The longest a class may run (planned days, first to last inclusive).
MAX_DAYS = 3 * 366
DEFAULT_CODE = "default"
DEFAULT_NAME = "默认班（自主报名）"

ENROLLABLE = (ClassStatus.planned, ClassStatus.open)
#: Class invite codes (app/courses/invites.py): eight characters without look-alikes.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_LENGTH = 8


def new_invite_code(session: Session) -> str:
    """A fresh invite code no class has (31^8 ≈ 8.5e11: a clash is retried, not expected)."""
    while True:
        code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
        taken = session.exec(
            select(col(CourseClass.id)).where(col(CourseClass.invite_code) == code)
        ).first()
        if taken is None:
            return code


# ---------------------------------------------------------------- validation


def _code(value: str) -> str:
    code = normalise_identifier(value)
    if not code or len(code) > CODE_CHARS or code.lower() == DEFAULT_CODE:
        raise InvalidClass(
            f"code must be 1-{CODE_CHARS} characters (and not {DEFAULT_CODE!r}).", field="code"
        )
    return code


def _dates(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise InvalidClass("ends_on must not be before starts_on.", field="ends_on")
    if (ends_on - starts_on).days + 1 > MAX_DAYS:
        raise InvalidClass(f"A class runs at most {MAX_DAYS} days.", field="ends_on")


def _capacity(capacity: int) -> int:
    low, high = CAPACITY
    if isinstance(capacity, bool) or not low <= capacity <= high:
        raise InvalidClass(f"capacity must be between {low} and {high}.", field="capacity")
    return capacity


def _head_teacher(session: Session, institution_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or user.role is not Role.staff or user.institution_id != institution_id:
        raise InvalidClass(
            "head_teacher_id must be a staff member of the course's institution.",
            field="head_teacher_id",
        )
    return user


def _class_payload(k: CourseClass) -> dict[str, object]:
    return {
        "course": str(k.course_id),
        "code": k.code,
        "name": k.name,
        "starts_on": k.starts_on.isoformat(),
        "ends_on": k.ends_on.isoformat() if k.ends_on else None,
        "capacity": k.capacity,
        "head_teacher": str(k.head_teacher_id) if k.head_teacher_id else None,
        "status": k.status.value,
    }
