"""A roster's columns, limits and words, and the types of checked rows and their problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from app.accounts.models import GROUP_NAMES_ZH, LearnerGroup, User
from app.courses.models import Enrollment

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
