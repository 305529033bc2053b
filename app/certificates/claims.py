"""Quarterly subsidy claim exports: one row per eligible certificate, with totals.

Staff export their own institution's claims; regulators any institution's. The quarter is taken
in Asia/Shanghai time on the date of issue. Decisions are made for the learners' whole
histories (one query), so a row here says exactly what ``GET …/subsidy`` says.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session, col, select

from app import clock
from app.accounts.exceptions import InstitutionNotFound
from app.accounts.models import GROUP_NAMES_ZH, Institution, Role
from app.accounts.principal import Principal
from app.certificates import subsidy
from app.certificates.credential import hours
from app.certificates.exceptions import InvalidClaimPeriod
from app.certificates.models import Certificate
from app.clock import SHANGHAI
from app.courses.models import LEVEL_NAMES_ZH
from app.errors import Forbidden
from app.spreadsheet import append_xlsx_row, csv_writer

#: The media type of :func:`to_xlsx`'s bytes.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


HEADER = [
    "序号 No.",
    "姓名 Name",
    "身份证号 ID (masked)",
    "人员类别 Group",
    "职业编码 Occupation code",
    "职业（工种）Occupation",
    "等级 Level",
    "证书编号 Serial",
    "发证日期 Issued",
    "有效学时 Hours",
    "补贴金额（元）Amount (yuan)",
    "补贴金额（分）Amount (fen)",
    "核定说明 Eligibility",
]
TOTAL_LABEL = "合计 Total"


@dataclass(frozen=True)
class ClaimRow:
    no: int
    name: str
    id_number_masked: str
    group: str
    occupation_code: str
    occupation_name: str
    level: str
    serial: str
    issued: str
    hours: float
    amount_fen: int
    detail: str

    def cells(self) -> list[str | int | float]:
        return [
            self.no,
            self.name,
            self.id_number_masked,
            self.group,
            self.occupation_code,
            self.occupation_name,
            self.level,
            self.serial,
            self.issued,
            self.hours,
            subsidy.yuan(self.amount_fen),
            self.amount_fen,
            self.detail,
        ]


@dataclass(frozen=True)
class ClaimReport:
    institution_code: str
    institution_name: str
    year: int
    quarter: int
    rows: list[ClaimRow]
    generated_at: datetime

    @property
    def total_fen(self) -> int:
        return sum(r.amount_fen for r in self.rows)

    @property
    def total_hours(self) -> float:
        return round(sum(r.hours for r in self.rows), 1)

    def totals(self) -> list[str | int | float]:
        blank: list[str | int | float] = [""] * len(HEADER)
        blank[0] = TOTAL_LABEL
        blank[1] = f"{len(self.rows)} 人次"
        blank[9] = self.total_hours
        blank[10] = subsidy.yuan(self.total_fen)
        blank[11] = self.total_fen
        return blank

    @property
    def filename(self) -> str:
        return f"claims-{self.institution_code}-{self.year}Q{self.quarter}"


def quarter_bounds(year: int, quarter: int) -> tuple[datetime, datetime]:
    if not 2000 <= year <= 2999 or not 1 <= quarter <= 4:
        raise InvalidClaimPeriod()
    start = datetime(year, 3 * (quarter - 1) + 1, 1, tzinfo=SHANGHAI)
    end = (
        datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
        if quarter == 4
        else datetime(year, 3 * quarter + 1, 1, tzinfo=SHANGHAI)
    )
    return start, end


def _target(principal: Principal, institution_id: uuid.UUID | None) -> uuid.UUID:
    if principal.user is None or principal.role not in (Role.staff, Role.admin, Role.regulator):
        raise Forbidden("Claims are exported by the institution's staff and by regulators.")
    target = institution_id or (None if principal.is_regulator else principal.institution_id)
    if target is None:
        raise InstitutionNotFound("Name the institution (institution_id).")
    if not principal.can_see_institution(target):
        raise Forbidden("You can only export your own institution's claims.")
    return target


def build(
    session: Session,
    principal: Principal,
    *,
    year: int,
    quarter: int,
    institution_id: uuid.UUID | None = None,
) -> ClaimReport:
    start, end = quarter_bounds(year, quarter)
    target = _target(principal, institution_id)
    inst = session.get(Institution, target)
    if inst is None:
        raise InstitutionNotFound()
    certs = session.exec(
        select(Certificate)
        .where(
            col(Certificate.institution_id) == target,
            col(Certificate.issued_at) >= start,
            col(Certificate.issued_at) < end,
        )
        .order_by(col(Certificate.issued_at), col(Certificate.serial))
    ).all()
    decisions = subsidy.for_learners(session, [c.user_id for c in certs])
    rows: list[ClaimRow] = []
    for cert in certs:
        decision = decisions[cert.id]
        if not decision.eligible:
            continue
        rows.append(
            ClaimRow(
                no=len(rows) + 1,
                name=cert.learner_name,
                id_number_masked=cert.id_number_masked,
                group=GROUP_NAMES_ZH[cert.learner_group] if cert.learner_group else "",
                occupation_code=cert.occupation_code,
                occupation_name=cert.occupation_name,
                level=LEVEL_NAMES_ZH[cert.level],
                serial=cert.serial,
                issued=cert.issued_at.astimezone(SHANGHAI).date().isoformat(),
                hours=hours(cert.credited_minutes),
                amount_fen=decision.amount_fen,
                detail="；".join(f"{r.rule}: {r.detail_zh}" for r in decision.rules),
            )
        )
    return ClaimReport(
        institution_code=inst.code,
        institution_name=inst.name,
        year=year,
        quarter=quarter,
        rows=rows,
        generated_at=clock.now(),
    )


def to_csv(report: ClaimReport) -> bytes:
    """UTF-8 with a BOM (so spreadsheet programs read the Chinese), header, rows, totals."""
    buf = io.StringIO()
    writer = csv_writer(buf)  # cells that would start a formula are neutralised
    writer.writerow(HEADER)
    for row in report.rows:
        writer.writerow(row.cells())
    writer.writerow(report.totals())
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: ClaimReport) -> bytes:
    """The same table as the CSV on the first sheet; the period and source on the second."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # noqa: S101 - a new workbook always has its first sheet
    ws.title = "补贴申领 Claims"
    append_xlsx_row(ws, HEADER)  # text as strings, never formulas (a name like "=HYPERLINK(…)")
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in report.rows:
        append_xlsx_row(ws, row.cells())
    append_xlsx_row(ws, report.totals())
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    widths = (8, 10, 22, 12, 14, 16, 16, 22, 12, 10, 14, 14, 60)
    for letter, width in zip("ABCDEFGHIJKLM", widths, strict=True):
        ws.column_dimensions[letter].width = width
    info = wb.create_sheet("说明 About")
    for pair in (
        ("培训机构 Institution", f"{report.institution_name}（{report.institution_code}）"),
        (
            "期间 Period",
            f"{report.year} 年第 {report.quarter} 季度 / {report.year}Q{report.quarter}",
        ),
        ("人次 Certificates", len(report.rows)),
        ("补贴合计（元）Total (yuan)", subsidy.yuan(report.total_fen)),
        ("生成时间 Generated (UTC)", report.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ):
        append_xlsx_row(info, list(pair))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
