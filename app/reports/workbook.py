"""The monthly, quarterly and annual reports (月报/季报/年报) as XLSX, with charts.

Sheet one holds the totals per period (enrolled, trained, qualified, employed, the employment
rate, subsidy, and blended training's offline trainees and minutes, apart from the online) with
a column chart of trained / qualified / employed and a line chart of the employment rate; sheet
two the rows by region, institution, occupation, level and group, as the summary API returns
them. Built with openpyxl; text cells go through app/spreadsheet.py.
"""

from __future__ import annotations

import io
from collections import defaultdict

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from app.certificates.subsidy import yuan
from app.reports.schemas import SummaryCountsOut, SummaryOut
from app.spreadsheet import append_xlsx_row

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TITLES = {"month": "月报 Monthly", "quarter": "季报 Quarterly", "year": "年报 Annual"}
TOTALS_HEADER = [
    "期间 Period",
    "报名 Enrolled",
    "参训 Trained",
    "合格 Qualified",
    "已登记就业情况 Outcomes",
    "实现就业 Employed",
    "就业率 Employment rate",
    "补贴人次 Subsidised",
    "补贴金额（元）Subsidy (yuan)",
    "线下实训人次 Offline trained",
    "线下实训学时（分钟）Offline minutes",
]
ROWS_HEADER = [
    "期间 Period",
    "地区 Region",
    "培训机构 Institution",
    "职业编码 Occupation",
    "职业 Name",
    "等级 Level",
    "人员类别 Group",
    "报名 Enrolled",
    "参训 Trained",
    "合格 Qualified",
    "实现就业 Employed",
    "补贴金额（分）Subsidy (fen)",
    "线下实训人次 Offline trained",
    "线下实训学时（分钟）Offline minutes",
]


def per_period(summary: SummaryOut) -> dict[str, SummaryCountsOut]:
    """The rows summed per period (the totals of each month, quarter or year)."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    fields = list(SummaryCountsOut.model_fields)
    for row in summary.rows:
        for f in fields:
            sums[row.period][f] += getattr(row, f)
    return {p: SummaryCountsOut(**sums[p]) for p in sorted(sums)}


def to_xlsx(summary: SummaryOut, *, scope_name: str) -> bytes:
    wb = Workbook()
    ws: Worksheet = wb.create_sheet(TITLES[summary.period].split()[0], 0)
    wb.remove(wb.worksheets[1])  # the empty sheet a new workbook starts with
    append_xlsx_row(ws, [f"{TITLES[summary.period]} · {scope_name}"])
    ws["A1"].font = Font(bold=True, size=14)
    append_xlsx_row(ws, TOTALS_HEADER)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    periods = per_period(summary)
    for period, c in periods.items():
        append_xlsx_row(
            ws,
            [
                period,
                c.enrolled,
                c.trained,
                c.qualified,
                c.outcomes_recorded,
                c.employed,
                c.employment_rate if c.employment_rate is not None else "",
                c.subsidy_eligible,
                yuan(c.subsidy_amount_fen),
                c.offline_trained,
                c.offline_minutes,
            ],
        )
    t = summary.totals
    append_xlsx_row(
        ws,
        [
            "合计 Total",
            t.enrolled,
            t.trained,
            t.qualified,
            t.outcomes_recorded,
            t.employed,
            t.employment_rate if t.employment_rate is not None else "",
            t.subsidy_eligible,
            yuan(t.subsidy_amount_fen),
            t.offline_trained,
            t.offline_minutes,
        ],
    )
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=3, min_col=7, max_col=7):
        for cell in row:
            cell.number_format = "0.0%"
    widths = (14, 12, 12, 12, 14, 14, 14, 12, 16, 14, 18)
    for letter, width in zip("ABCDEFGHIJK", widths, strict=True):
        ws.column_dimensions[letter].width = width
    n = len(periods)
    if n:
        bars = BarChart()
        bars.title = "参训、合格与实现就业 Trained, qualified, employed"
        bars.y_axis.title = "人次"
        data = Reference(ws, min_col=3, max_col=4, min_row=2, max_row=2 + n)
        bars.add_data(data, titles_from_data=True)
        bars.add_data(Reference(ws, min_col=6, min_row=2, max_row=2 + n), titles_from_data=True)
        bars.set_categories(Reference(ws, min_col=1, min_row=3, max_row=2 + n))
        bars.width, bars.height = 22, 9
        ws.add_chart(bars, "M2")
        rate = LineChart()
        rate.title = "就业率 Employment rate"
        rate.add_data(Reference(ws, min_col=7, min_row=2, max_row=2 + n), titles_from_data=True)
        rate.set_categories(Reference(ws, min_col=1, min_row=3, max_row=2 + n))
        rate.y_axis.number_format = "0%"
        rate.width, rate.height = 22, 7
        ws.add_chart(rate, "M22")
    detail = wb.create_sheet("明细 Rows")
    append_xlsx_row(detail, ROWS_HEADER)
    for cell in detail[1]:
        cell.font = Font(bold=True)
    for r in summary.rows:
        append_xlsx_row(
            detail,
            [
                r.period,
                r.region_name or r.region_code,
                r.institution_name,
                r.occupation_code,
                r.occupation_name,
                r.level.value,
                r.learner_group.value if r.learner_group else "",
                r.enrolled,
                r.trained,
                r.qualified,
                r.employed,
                r.subsidy_amount_fen,
                r.offline_trained,
                r.offline_minutes,
            ],
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
