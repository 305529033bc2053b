"""CSV and XLSX output that a spreadsheet program cannot execute (formula injection).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula: a learner whose "real name" is
``=HYPERLINK("http://evil","点此核验")`` would put a live link (or worse, a DDE call) into the
regulator's claims sheet. Every export goes through this module:

- CSV: such a cell is prefixed with a single quote (OWASP "CSV Injection" guidance), so the
  program shows it as text. Numbers written as numbers are left alone.
- XLSX: every text cell is written with the string type (never a formula) and the quote-prefix
  style, so it stays text even when someone edits the cell; its text is kept exactly.

The audit CSV (app/audit/export.py) is the one export that does not pass through here: its cells
must stay byte-exact because they are hashed and verified, and none can start a formula — they
are system-made (type, chain, seq, time, actor, action, subject, hex hashes, a JWS) or the
payload's canonical JSON, which starts with ``{``. tests/test_spreadsheet.py holds it to that.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

#: First characters a spreadsheet program takes as the start of a formula (the ASCII ones of
#: OWASP's list and their full-width forms, which some programs fold when importing).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")

Cell = str | int | float | None


def csv_cell(value: Any) -> Any:
    """The value as a CSV cell: text that would start a formula gets a leading ``'``."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_row(row: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in row]


class SafeCsvWriter:
    """``csv.writer`` whose every text cell goes through :func:`csv_cell`."""

    def __init__(self, buf: io.StringIO, **kwargs: Any) -> None:
        self._writer = csv.writer(buf, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(csv_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._writer.writerows(csv_row(r) for r in rows)


def csv_writer(buf: io.StringIO, *, lineterminator: str = "\r\n") -> SafeCsvWriter:
    return SafeCsvWriter(buf, lineterminator=lineterminator)


def append_xlsx_row(ws: Worksheet, row: Sequence[Cell]) -> None:
    """Append ``row`` to ``ws``: text cells as strings (data type ``s``), never formulas."""
    ws.append(list(row))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
            if cell.value.lstrip(" ").startswith(FORMULA_TRIGGERS):
                cell.quotePrefix = True
