"""Formula injection in exports (issue 12, item 6): the one helper, and the audit CSV that must
stay byte-exact (it is verified) and so must never need it."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from app.accounts import service as accounts
from app.audit import service as audit
from app.audit.export import iter_export_bytes
from app.audit.service import Actor
from app.db import transaction
from app.spreadsheet import FORMULA_TRIGGERS, append_xlsx_row, csv_cell, csv_writer

HOSTILE = ['=HYPERLINK("http://x","点此核验")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", " =1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_cells_that_would_start_a_formula_get_a_quote(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["张三", "4-03-02-01", "1000.00", "", "a=b", 12, -5, 1.5, None])
def test_other_cells_are_left_alone(value: Any) -> None:
    assert csv_cell(value) == value  # negative numbers stay numbers


def test_csv_writer_and_xlsx_rows() -> None:
    buf = io.StringIO()
    csv_writer(buf).writerows([HOSTILE, [1, -2, "ok"]])
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert all(cell.startswith("'") for cell in rows[0])
    assert rows[1] == ["1", "-2", "ok"]

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    append_xlsx_row(ws, [*HOSTILE, 7, None])
    data = io.BytesIO()
    wb.save(data)
    back = load_workbook(io.BytesIO(data.getvalue())).active
    assert back is not None
    cells = next(back.iter_rows())
    # Kept as text, exactly (XML stores a carriage return as a line feed), never a formula.
    assert [c.value for c in cells[: len(HOSTILE)]] == [v.replace("\r", "\n") for v in HOSTILE]
    assert all(c.data_type == "s" for c in cells[: len(HOSTILE)])
    assert cells[len(HOSTILE)].value == 7 and cells[len(HOSTILE)].data_type == "n"


def test_the_audit_csv_never_starts_a_cell_with_a_formula(engine: Any) -> None:
    """Hostile names reach audit payloads; the payload cell is canonical JSON (``{…}``)."""
    with transaction(engine) as s:
        inst = accounts.create_institution(s, code="AUD", name=HOSTILE[0], actor=Actor.system())
        accounts.register_learner(
            s,
            username="hostile",
            password="Correct-Horse-Battery-9",
            real_name="@SUM(1+1)",
            id_number="11010519491231002X",
            institution_id=inst.id,
        )
    with transaction(engine, reading=True) as s:
        chains = [audit.PLATFORM_CHAIN, audit.chain_for(inst.id)]
        body = b"".join(b for c in chains for b in iter_export_bytes(s, c, fmt="csv"))
    text = body.decode("utf-8")
    assert "HYPERLINK" in text
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS), cell
