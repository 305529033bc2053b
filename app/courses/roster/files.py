"""Reading a roster file (XLSX or CSV) into rows of raw cells, formulas refused."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import Any

from openpyxl import load_workbook

from app.courses.exceptions import (
    InvalidRoster,
)
from app.courses.roster.fields import FIELD_NAMES_ZH, HEADERS, MAX_BYTES, MAX_ROWS, REQUIRED
from app.spreadsheet import FORMULA_TRIGGERS

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
