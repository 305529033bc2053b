"""Checking a roster's rows: each cell, duplicates, the database and the class's seats."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.accounts import idcard
from app.accounts.models import GROUP_NAMES_ZH, Role, User
from app.courses import classes
from app.courses.models import ClassStatus, CourseClass, Enrollment
from app.courses.roster.fields import (
    _GROUPS,
    _ID_REASONS,
    FIELD_NAMES_ZH,
    NAME_CHARS,
    Checked,
    RosterRow,
    RowError,
)
from app.courses.roster.files import _is_formula
from app.crypto import blind_index
from app.validation import normalise_phone, text_problem

# ---------------------------------------------------------------- checking rows


def _err(row: int, fld: str, code: str, zh: str, en: str) -> RowError:
    return RowError(
        row, fld, code, f"第 {row} 行 {FIELD_NAMES_ZH[fld]}：{zh}", f"row {row}, {fld}: {en}"
    )


def _text_cell(
    raw: Any, row: int, fld: str, max_chars: int, errors: list[RowError], *, required: bool
) -> str | None:
    value = "" if raw is None else str(raw).strip()
    if not value:
        if required:
            errors.append(_err(row, fld, "required", "不能为空", "is required"))
        return None
    if _is_formula(value):
        errors.append(
            _err(
                row,
                fld,
                "formula",
                "以 = + - @ 开头，会被表格软件当作公式执行，已拒绝；请改为纯文字",
                "starts like a spreadsheet formula (= + - @); refused",
            )
        )
        return None
    if len(value) > max_chars:
        errors.append(
            _err(
                row,
                fld,
                "too_long",
                f"不能超过 {max_chars} 个字",
                f"is over {max_chars} characters",
            )
        )
        return None
    if text_problem(value, multiline=False):
        errors.append(
            _err(
                row,
                fld,
                "invalid_text",
                "含有不可见字符或控制字符，请重新输入",
                "holds invisible or control characters",
            )
        )
        return None
    return value


def _check_row(raw: dict[str, Any], errors: list[RowError]) -> RosterRow | None:
    n = int(raw["row"])
    before = len(errors)
    name = _text_cell(raw.get("real_name"), n, "real_name", NAME_CHARS, errors, required=True)
    id_raw = raw.get("id_number")
    id_value: str | None = None
    if isinstance(id_raw, int | float) and not isinstance(id_raw, bool):
        errors.append(
            _err(
                n,
                "id_number",
                "number_cell",
                "被表格软件存成了数字（末几位可能已丢失），请把该列设为“文本”后重新填写",
                "was stored as a number by the spreadsheet (its last digits may be lost)",
            )
        )
    elif id_raw is None or not str(id_raw).strip():
        errors.append(_err(n, "id_number", "required", "不能为空", "is required"))
    elif _is_formula(str(id_raw)):
        errors.append(
            _err(n, "id_number", "formula", "是公式，已拒绝", "is a spreadsheet formula; refused")
        )
    else:
        try:
            id_value = idcard.parse(str(id_raw), today=clock.now().date()).value
        except idcard.InvalidIdNumber as exc:
            zh, en = _ID_REASONS.get(exc.reason, ("格式不正确", "is not valid"))
            errors.append(_err(n, "id_number", f"id_{exc.reason}", zh, en))
    phone: str | None = None
    phone_raw = raw.get("phone")
    if phone_raw is not None and str(phone_raw).strip():
        text = str(int(phone_raw)) if isinstance(phone_raw, int | float) else str(phone_raw)
        phone = normalise_phone(text)
        if phone is None or _is_formula(text.strip()) and not text.strip().startswith("+"):
            errors.append(
                _err(n, "phone", "invalid_phone", "不是有效的电话号码", "is not a phone number")
            )
            phone = None
    group: str | None = None
    group_raw = raw.get("group")
    if group_raw is not None and str(group_raw).strip():
        g = _GROUPS.get(str(group_raw).strip())
        if g is None:
            errors.append(
                _err(
                    n,
                    "group",
                    "unknown_group",
                    "应为以下之一：" + "、".join(GROUP_NAMES_ZH.values()),
                    "must be one of the target groups",
                )
            )
        else:
            group = g.value
    employer = _text_cell(
        raw.get("employer"), n, "employer", classes.EMPLOYER_CHARS, errors, required=False
    )
    if len(errors) > before or name is None or id_value is None:
        return None
    return RosterRow(n, name, id_value, phone, group, employer)


def _check_database(
    session: Session, klass: CourseClass, rows: list[RosterRow], errors: list[RowError]
) -> list[RosterRow]:
    """Rows whose person may be enrolled now: new, or a learner of the institution not yet in
    the course. Two queries whatever the roster's size."""
    indexes = {blind_index("id_number", r.id_number): r for r in rows}
    known = {
        u.id_number_index: u
        for u in session.exec(select(User).where(col(User.id_number_index).in_(list(indexes))))
    }
    enrolled = set(
        session.exec(
            select(col(Enrollment.user_id)).where(
                col(Enrollment.course_id) == klass.course_id,
                col(Enrollment.user_id).in_([u.id for u in known.values()]),
            )
        )
    )
    ok: list[RosterRow] = []
    for index, r in indexes.items():
        user = known.get(index)
        if user is None:
            r.existing_user_id = None
            ok.append(r)
        elif user.role is not Role.learner or user.institution_id != klass.institution_id:
            errors.append(
                _err(
                    r.row,
                    "id_number",
                    "registered_elsewhere",
                    "已在平台注册，但不是本机构的学员：请学员本人登录报名，或联系平台",
                    "is registered, but not as a learner of this institution",
                )
            )
        elif user.id in enrolled:
            errors.append(
                _err(
                    r.row,
                    "id_number",
                    "already_enrolled",
                    "该学员已报名本课程",
                    "this learner is already enrolled in the course",
                )
            )
        else:
            r.existing_user_id = str(user.id)
            ok.append(r)
    return sorted(ok, key=lambda r: r.row)


def _check_class(session: Session, klass: CourseClass, wanted: int, errors: list[RowError]) -> None:
    if klass.status is ClassStatus.closed:
        errors.append(_err(0, "", "class_closed", "班级已结业，不能再报名", "the class has ended"))
        return
    if klass.capacity is not None:
        left = klass.capacity - classes.summary(session, klass).enrolled
        if wanted > left:
            errors.append(
                _err(
                    0,
                    "",
                    "capacity",
                    f"名册有 {wanted} 人，班级只剩 {max(left, 0)} 个名额",
                    f"{wanted} learners but only {max(left, 0)} seats left",
                )
            )


def validate(session: Session, klass: CourseClass, raw_rows: list[dict[str, Any]]) -> Checked:
    """Every row checked, every problem kept (nothing stops at the first)."""
    errors: list[RowError] = []
    rows: list[RosterRow] = []
    first_row: dict[str, int] = {}
    for raw in raw_rows:
        row = _check_row(raw, errors)
        if row is None:
            continue
        if row.id_number in first_row:
            errors.append(
                _err(
                    row.row,
                    "id_number",
                    "duplicate_in_file",
                    f"与第 {first_row[row.id_number]} 行重复",
                    f"repeats row {first_row[row.id_number]}",
                )
            )
            continue
        first_row[row.id_number] = row.row
        rows.append(row)
    rows = _check_database(session, klass, rows, errors)
    _check_class(session, klass, len(raw_rows), errors)
    return Checked(rows=rows, errors=sorted(errors, key=lambda e: (e.row, e.field)))
