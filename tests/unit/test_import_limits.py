"""Imports are bounded: a huge file is refused early and named, codes match without case."""

from __future__ import annotations

import io
import tracemalloc

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.services import Services
from procedures.kernel.errors import InvalidInput
from procedures.masterdata import table
from storage.models import Organisation

from .test_masterdata import ORGANISATIONS, import_csv


def test_a_workbook_over_the_row_limit_is_refused_without_reading_it_whole() -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["code", "name", "kind"])
    for number in range(table.MAX_ROWS + 5_000):
        sheet.append([f"C{number}", f"Buyer {number}", "customer"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(InvalidInput) as refused:
        table.read_table("organisations.xlsx", buffer.getvalue())
    assert refused.value.text_key == "import.too_many_rows"
    assert refused.value.params == {"limit": table.MAX_ROWS}


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed() -> None:
    content = b"code,name,kind\n" + b"x" * table.MAX_FILE_BYTES
    tracemalloc.start()
    with pytest.raises(InvalidInput) as refused:
        table.read_table("organisations.csv", content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refused.value.text_key == "import.too_large"
    assert peak < 1024 * 1024  # nothing was decoded or split


@pytest.mark.parametrize("size", [table.MAX_FIELD_CHARS + 1, 131_073])
def test_a_csv_field_over_the_limit_names_its_line(size: int) -> None:
    content = b'code,name,kind\nC1,"' + b"y" * size + b'",customer\n'
    with pytest.raises(InvalidInput) as refused:
        table.read_table("organisations.csv", content)
    assert refused.value.text_key == "import.field_too_long"
    assert refused.value.params["line"] == 2


def test_control_characters_in_a_file_are_dropped_and_a_formula_stays_text() -> None:
    rows = table.read_table("organisations.csv", b"code,name,kind\nC9,\x0bBad\x00 name,customer\n")
    assert rows == [(2, {"code": "C9", "name": "Bad name", "kind": "customer"})]


async def test_codes_are_compared_without_case(services: Services) -> None:
    await import_csv(services, "organisations", ORGANISATIONS)
    result = await import_csv(
        services, "organisations", "code,name,kind\nc1,甲醫院（新名）,customer\n"
    )
    assert (result.created, result.updated) == (0, 1)
    async with services.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Organisation)) == 3
    duplicate = "code,name,kind\nC7,a,customer\nc7,b,customer\n"
    with pytest.raises(table.ImportRejected) as rejected:
        await import_csv(services, "organisations", duplicate)
    assert [e.text_key for e in rejected.value.errors] == ["import.duplicate_row"]
