"""Enrolment by institutions and employers: a roster (XLSX or CSV) into a class, or one person.

Columns (the header row names them, in Chinese or English, any order): 姓名 ``real_name``,
身份证号 ``id_number``, 手机号 ``phone`` (optional), 人员类别 ``group`` (optional), 工作单位
``employer`` (optional). Every row is checked (:func:`validate`), and every problem is reported in
words with its row and column — nothing is enrolled while one remains:

- the real name and the employer: text a person can read, never a spreadsheet formula (a cell
  starting with ``=``, ``+``, ``-``, ``@`` or holding a formula is refused, so nothing imported can
  run later in someone's spreadsheet);
- the ID number: GB 11643 (format, birth date, check character); an ID number Excel turned into a
  number (its last digits lost) is named as such;
- duplicates in the file (the later row names the first) and in the database: a learner of the
  institution already enrolled in the course, or an ID number registered elsewhere (someone else's
  account is never taken over by a roster);
- the class: not ended, and enough seats for every row.

:func:`preview` stores the checked rows (encrypted: they hold ID numbers) as a
:class:`~app.courses.models.RosterImport` that staff look at; :func:`commit` enrols them all in
one transaction or none (it checks the database again first): new learners get an account
without password or consent and an activation code (:mod:`app.accounts.activation`), known
learners of the institution are enrolled as they are; each learner gets their audit entries.
:func:`enrol_person` is the same for one person typed into a form.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook
from sqlmodel import Session, col, select

from app import clock
from app.accounts import activation, idcard
from app.accounts.models import LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.courses import classes
from app.courses.exceptions import (
    ClassNotFound,
    InvalidRoster,
    RosterChanged,
    RosterImportNotFound,
    RosterNotReady,
)
from app.courses.models import ClassStatus, Course, CourseClass, Enrollment, RosterImport
from app.crypto import blind_index, decrypt, encrypt
from app.errors import Forbidden
from app.spreadsheet import FORMULA_TRIGGERS
from app.validation import normalise_phone, text_problem

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5_000
NAME_CHARS = 64
#: How long a checked roster waits for its commit.
PREVIEW_TTL = timedelta(hours=24)
FIELDS = ("real_name", "id_number", "phone", "group", "employer")
REQUIRED = ("real_name", "id_number")
HEADERS: dict[str, str] = {
    **dict.fromkeys(("姓名", "学员姓名", "name", "real_name", "real name"), "real_name"),
    **dict.fromkeys(
        ("身份证号", "身份证号码", "公民身份号码", "证件号码", "id_number", "id number"),
        "id_number",
    ),
    **dict.fromkeys(("手机号", "手机", "手机号码", "联系电话", "phone", "mobile"), "phone"),
    **dict.fromkeys(("人员类别", "类别", "group", "target group"), "group"),
    **dict.fromkeys(("工作单位", "单位", "所在单位", "employer", "company"), "employer"),
}
FIELD_NAMES_ZH = {
    "real_name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号",
    "group": "人员类别",
    "employer": "工作单位",
    "": "文件",
}
GROUP_NAMES_ZH: dict[LearnerGroup, str] = {
    LearnerGroup.enterprise_employee: "企业职工",
    LearnerGroup.migrant_worker: "农民工",
    LearnerGroup.school_leaver: "两后生",
    LearnerGroup.unemployed: "失业人员",
    LearnerGroup.ex_serviceman: "退役军人",
    LearnerGroup.employment_difficulty: "就业困难人员",
    LearnerGroup.college_graduate: "高校毕业生",
    LearnerGroup.poverty_labourer: "脱贫劳动力",
    LearnerGroup.other: "其他",
}
_GROUPS = {
    **{g.value: g for g in LearnerGroup},
    **{name: g for g, name in GROUP_NAMES_ZH.items()},
    "就业困难人员（含残疾人）": LearnerGroup.employment_difficulty,
}
_ID_REASONS = {
    "format": ("应为 18 位：17 位数字加 1 位数字或 X", "must be 17 digits and a digit or X"),
    "birth_date": ("其中的出生日期不存在", "holds a birth date that does not exist"),
    "check_digit": (
        "校验码不对（最后一位与前 17 位不符），请核对是否录错",
        "has a wrong check character (the last one does not match the first 17)",
    ),
}


@dataclass(frozen=True)
class RowError:
    """One problem: the row as the spreadsheet numbers it (1 is the header; 0: the whole
    file), the column, a stable code and words."""

    row: int
    field: str
    code: str
    message_zh: str
    message_en: str


@dataclass
class RosterRow:
    row: int
    real_name: str
    id_number: str  # normalised
    phone: str | None = None
    group: str | None = None
    employer: str | None = None
    #: A learner of the institution who already has an account (enrolled as they are).
    existing_user_id: str | None = None


@dataclass
class Checked:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def new_accounts(self) -> int:
        return sum(1 for r in self.rows if r.existing_user_id is None)


@dataclass(frozen=True)
class Enrolled:
    """A learner enrolled by a roster: the activation code only for a new account (shown once)."""

    row: int
    learner: User
    enrollment: Enrollment
    activation_code: str | None


# ---------------------------------------------------------------- reading a file


def _is_formula(value: str) -> bool:
    return value.lstrip(" ").startswith(FORMULA_TRIGGERS)


def read_table(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cells) of an XLSX workbook's first sheet or a CSV file (UTF-8 with or
    without BOM, else GB 18030 as Chinese Excel saves it), told apart by their bytes, not their
    names. XLSX formula cells come as their formula text (``=…``), which the checks refuse."""
    if len(data) > MAX_BYTES:
        raise InvalidRoster(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", reason="too_large"
        )
    if data[:4] == b"PK\x03\x04":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
            sheet = book.worksheets[0]
            for n, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield n, list(values)
            book.close()
        except (zipfile.BadZipFile, KeyError, ValueError, IndexError, OSError):
            raise InvalidRoster(
                "The file is not a readable XLSX workbook.", reason="unreadable"
            ) from None
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise InvalidRoster(
                "The file is neither an XLSX workbook nor a CSV text file.", reason="unreadable"
            ) from None
    if "\x00" in text:
        raise InvalidRoster("The file is not a CSV text file.", reason="unreadable")
    for n, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        yield n, list(cells)


def _columns(header: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        name = HEADERS.get(str(cell or "").strip().lower()) or HEADERS.get(str(cell or "").strip())
        if name and name not in found:
            found[name] = i
    missing = [FIELD_NAMES_ZH[f] for f in REQUIRED if f not in found]
    if missing:
        raise InvalidRoster(
            "The header row must name the columns 姓名 and 身份证号 (and optionally 手机号, "
            "人员类别, 工作单位).",
            reason="header",
            missing=missing,
        )
    return found


def parse(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The data rows as {field: raw cell, "row": n} and the number of rows (blank ones
    skipped); refuses files without the needed header or with too many rows."""
    rows = read_table(data)
    header = next(rows, None)
    if header is None:
        raise InvalidRoster("The file is empty.", reason="empty")
    columns = _columns(header[1])
    out: list[dict[str, Any]] = []
    for n, cells in rows:
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        if len(out) >= MAX_ROWS:
            raise InvalidRoster(f"A roster holds at most {MAX_ROWS} rows.", reason="too_many_rows")
        out.append(
            {"row": n, **{f: (cells[i] if i < len(cells) else None) for f, i in columns.items()}}
        )
    if not out:
        raise InvalidRoster("The file has a header but no learners.", reason="empty")
    return out, len(out)


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


# ---------------------------------------------------------------- preview and commit


def _class_for_enrolment(
    session: Session, principal: Principal, class_id: uuid.UUID
) -> tuple[CourseClass, Course]:
    if not classes.may_enrol_others(principal):
        raise Forbidden("Only staff of the institution or its keys with enrolments:write.")
    klass = session.get(CourseClass, class_id)
    if klass is None or klass.institution_id != principal.institution_id:
        raise ClassNotFound()
    course = session.get(Course, klass.course_id)
    if course is None:  # pragma: no cover - a foreign key guarantees it
        raise ClassNotFound()
    return klass, course


def preview(
    session: Session, principal: Principal, class_id: uuid.UUID, data: bytes, filename: str
) -> tuple[RosterImport, Checked]:
    """Check a roster file and keep it for review; nothing is enrolled yet. A file that cannot
    be read at all is refused (422 ``invalid_roster``); problems in rows are the preview's."""
    klass, _course = _class_for_enrolment(session, principal, class_id)
    raw_rows, total = parse(data)
    checked = validate(session, klass, raw_rows)
    imp = RosterImport(
        institution_id=klass.institution_id,
        class_id=klass.id,
        created_by=str(principal.actor)[:64],
        created_at=clock.now(),
        filename=(filename or "roster")[-200:],
        total_rows=total,
        valid_rows=len(checked.rows),
        errors=[asdict(e) for e in checked.errors],
        rows_enc=encrypt("roster", json.dumps([asdict(r) for r in checked.rows]).encode()),
    )
    session.add(imp)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="roster.checked",
        subject=f"roster_import:{imp.id}",
        payload={
            "class": str(klass.id),
            "rows": total,
            "valid": len(checked.rows),
            "errors": len(checked.errors),
        },
        institution_id=klass.institution_id,
    )
    return imp, checked


def get_import(session: Session, principal: Principal, import_id: uuid.UUID) -> RosterImport:
    """A roster import of the caller's institution (staff, keys with ``enrolments:write``)."""
    imp = session.get(RosterImport, import_id)
    if (
        imp is None
        or not classes.may_enrol_others(principal)
        or imp.institution_id != principal.institution_id
    ):
        raise RosterImportNotFound()
    return imp


def is_ready(imp: RosterImport) -> bool:
    """Whether :func:`commit` would take it: no errors, not committed, checked within a day."""
    return (
        not imp.errors and imp.committed_at is None and clock.now() - imp.created_at <= PREVIEW_TTL
    )


def stored_rows(imp: RosterImport) -> list[RosterRow]:
    return [RosterRow(**r) for r in json.loads(decrypt("roster", imp.rows_enc))]


def _enrol_rows(
    session: Session,
    principal: Principal,
    klass: CourseClass,
    course: Course,
    rows: list[RosterRow],
    via: str,
    *,
    seats_claimed: bool,
) -> list[Enrolled]:
    out: list[Enrolled] = []
    for r in rows:
        code: str | None = None
        if r.existing_user_id is None:
            learner = activation.create_pending_learner(
                session,
                real_name=r.real_name,
                id_number=idcard.parse(r.id_number, today=clock.now().date()),
                phone=r.phone,
                group=LearnerGroup(r.group) if r.group else None,
                institution_id=klass.institution_id,
                actor=principal.actor,
                via=via,
            )
            code = activation.issue_code(session, learner, actor=principal.actor, audited=False)
        else:
            found = session.get(User, uuid.UUID(r.existing_user_id))
            if found is None:  # pragma: no cover - checked in the same transaction
                raise RosterChanged()
            learner = found
        enrollment = classes.add_enrollment(
            session,
            klass=klass,
            course=course,
            learner=learner,
            actor=principal.actor,
            employer=r.employer,
            via=via,
            seat_claimed=seats_claimed,
        )
        out.append(Enrolled(r.row, learner, enrollment, code))
    return out


def commit(session: Session, principal: Principal, import_id: uuid.UUID) -> list[Enrolled]:
    """Enrol every row of a checked roster in one transaction, or none.

    Refused with 409 ``roster_not_ready`` if the preview had errors, was already committed or
    is older than a day; with 409 ``roster_changed`` (the import keeps the new errors) if the
    database changed since the preview so that a row no longer fits."""
    get_import(session, principal, import_id)  # who may, before any lock is taken
    imp = session.get(RosterImport, import_id, with_for_update=True, populate_existing=True)
    if imp is None:  # pragma: no cover - just read
        raise RosterImportNotFound()
    if not is_ready(imp):
        raise RosterNotReady()
    klass, course = _class_for_enrolment(session, principal, imp.class_id)
    session.refresh(klass, with_for_update=True)
    rows = stored_rows(imp)
    errors: list[RowError] = []
    again = _check_database(session, klass, rows, errors)
    _check_class(session, klass, len(rows), errors)
    if errors or len(again) != len(rows):
        imp.errors = [asdict(e) for e in errors]
        session.add(imp)
        session.flush()
        raise RosterChanged(errors=len(errors)).keeping_changes()
    # The class row is locked and its seats were counted for the whole roster just above.
    enrolled = _enrol_rows(session, principal, klass, course, again, "roster", seats_claimed=True)
    imp.committed_at = clock.now()
    imp.committed_by = str(principal.actor)[:64]
    imp.enrolled = len(enrolled)
    session.add(imp)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="roster.committed",
        subject=f"roster_import:{imp.id}",
        payload={
            "class": str(klass.id),
            "enrolled": len(enrolled),
            "new_accounts": sum(1 for e in enrolled if e.activation_code),
        },
        institution_id=klass.institution_id,
    )
    return enrolled


def enrol_person(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    *,
    real_name: str,
    id_number: str,
    phone: str | None = None,
    group: str | None = None,
    employer: str | None = None,
) -> Enrolled:
    """One person into a class by the same rules as a roster row (422 ``invalid_roster`` with
    the problems in words); a new learner gets an activation code."""
    klass, course = _class_for_enrolment(session, principal, class_id)
    raw = {
        "row": 2,
        "real_name": real_name,
        "id_number": id_number,
        "phone": phone,
        "group": group,
        "employer": employer,
    }
    checked = validate(session, klass, [raw])
    if checked.errors:
        raise InvalidRoster(
            "; ".join(e.message_en for e in checked.errors),
            reason="row",
            errors=[
                {"field": e.field, "code": e.code, "message_zh": e.message_zh.split("：", 1)[-1]}
                for e in checked.errors
            ],
        )
    return _enrol_rows(
        session, principal, klass, course, checked.rows, "staff", seats_claimed=False
    )[0]
