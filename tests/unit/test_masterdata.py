"""Master-data import: all or nothing, every bad row named by line, idempotent, CSV and XLSX."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.services import Services
from core.database import SAMPLES_DIR, load_samples_if_empty
from procedures.kernel.errors import InvalidInput
from procedures.masterdata import importing, kinds, table
from storage.models import Batch, Organisation, Product, Shipment, TimelineEvent


async def import_csv(services: Services, kind: str, text: str) -> table.ImportResult:
    rows = table.read_table(f"{kind}.csv", text.encode("utf-8"))
    async with services.unit_of_work() as uow:
        return await importing.import_rows(uow, kind, rows, actor_id=None)


async def count(services: Services, model: type) -> int:
    async with services.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(model))


ORGANISATIONS = """code,name,kind,locality,exchange_ratio_limit,exchange_window_days
C1,甲醫院,customer,local,0.05,90
C2,乙藥房,customer,out_of_town,,
S1,丙廠,supplier,,,
"""


async def test_a_good_file_creates_records_with_a_timeline(services: Services) -> None:
    result = await import_csv(services, "organisations", ORGANISATIONS)
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    async with services.session_factory() as session:
        c1 = await session.scalar(select(Organisation).where(Organisation.code == "C1"))
        assert c1.locality == "local" and c1.exchange_ratio_limit == Decimal("0.0500")
        events = await session.scalar(
            select(func.count())
            .select_from(TimelineEvent)
            .where(TimelineEvent.subject_type == "organisation", TimelineEvent.action == "imported")
        )
        assert events == 3


async def test_importing_the_same_file_again_changes_nothing_and_a_changed_row_updates(
    services: Services,
) -> None:
    await import_csv(services, "organisations", ORGANISATIONS)
    again = await import_csv(services, "organisations", ORGANISATIONS)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    changed = await import_csv(
        services,
        "organisations",
        ORGANISATIONS.replace("C2,乙藥房,customer,out_of_town", "C2,乙藥房,customer,local"),
    )
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 2)
    async with services.session_factory() as session:
        event = await session.scalar(select(TimelineEvent).where(TimelineEvent.action == "updated"))
        assert event.before == {"locality": "out_of_town"} and event.after == {"locality": "local"}


async def test_bad_rows_are_all_reported_by_line_and_nothing_is_imported(
    services: Services,
) -> None:
    await import_csv(services, "organisations", ORGANISATIONS)
    await import_csv(services, "products", "code,name,supplier_code\nP1,注射器,S1\n")
    text = (
        "product_code,lot_number,expiry_date\n"
        "P1,L1,2027-01-31\n"
        "P9,L2,2027-01-31\n"  # unknown product
        "P1,L3,31/01/2027\n"  # not a date
        "\n"  # blank rows are skipped, not errors
        "P1,,2027-01-31\n"  # no lot
        "P1,L1,2028-01-01\n"  # the same batch twice
    )
    with pytest.raises(table.ImportRejected) as rejected:
        await import_csv(services, "batches", text)
    errors = [(e.line, e.params.get("column"), e.text_key) for e in rejected.value.errors]
    assert errors == [
        (3, "product_code", "import.unknown_reference"),
        (4, "expiry_date", "import.not_date"),
        (6, "lot_number", "import.required"),
        (7, None, "import.duplicate_row"),
    ]
    assert await count(services, Batch) == 0


async def test_a_shipment_names_its_batch_by_product_and_lot(services: Services) -> None:
    await load_samples_if_empty(services)
    with pytest.raises(table.ImportRejected) as rejected:
        await import_csv(
            services,
            "shipments",
            "reference,customer_code,product_code,lot_number,quantity,amount,shipped_on\n"
            "SO-9,C001,P-1001,NO-SUCH-LOT,5,10.00,2026-11-01\n"
            "SO-10,S001,P-1001,L20260301,-5,10.00,2026-11-01\n",
        )
    errors = [(e.line, e.params.get("column"), e.text_key) for e in rejected.value.errors]
    assert errors == [
        (2, "lot_number", "import.unknown_batch"),
        (3, "quantity", "import.not_positive"),
        (3, "customer_code", "import.unknown_reference"),  # a supplier is not a customer
    ]


async def test_missing_columns_and_unknown_files_are_refused(services: Services) -> None:
    with pytest.raises(InvalidInput) as missing:
        await import_csv(services, "vendors", "name\n某公司\n")
    assert missing.value.text_key == "import.missing_columns"
    assert missing.value.params == {"columns": [kinds.column_named("code")]}
    with pytest.raises(InvalidInput) as unsupported:
        table.read_table("vendors.pdf", b"%PDF")
    assert unsupported.value.text_key == "import.unsupported_file"
    with pytest.raises(InvalidInput) as not_utf8:
        table.read_table("vendors.csv", "code,name\nV1,維保\n".encode("big5"))
    assert not_utf8.value.text_key == "import.not_utf8"


async def test_xlsx_files_import_like_csv(services: Services) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["code", "name", "contact_phone"])
    sheet.append(["V1", "迅達電梯", 4008201111])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = table.read_table("vendors.xlsx", buffer.getvalue())
    assert rows == [(2, {"code": "V1", "name": "迅達電梯", "contact_phone": "4008201111"})]


async def test_the_shipped_samples_load_into_an_empty_database_once(services: Services) -> None:
    assert await load_samples_if_empty(services) is True
    assert await load_samples_if_empty(services) is False
    assert await count(services, Organisation) == 6
    assert await count(services, Product) == 4
    assert (
        await count(services, Shipment)
        == len((SAMPLES_DIR / "shipments.csv").read_text(encoding="utf-8").strip().splitlines()) - 1
    )


async def test_a_product_gtin_is_checked_kept_as_gtin_14_and_never_shared(
    services: Services,
) -> None:
    await load_samples_if_empty(services)
    async with services.session_factory() as session:
        syringe = await session.scalar(select(Product).where(Product.code == "P-1001"))
        assert syringe.gtin == "06901234000016"  # the samples carry GTINs
    await import_csv(services, "products", "code,name,gtin\nP-3001,體溫計,6901234000061\n")
    async with services.session_factory() as session:
        thermometer = await session.scalar(select(Product).where(Product.code == "P-3001"))
        assert thermometer.gtin == "06901234000061"  # a GTIN-13 padded to the label's 14
    with pytest.raises(table.ImportRejected) as rejected:
        await import_csv(
            services,
            "products",
            "code,name,gtin\n"
            "P-3002,紗布,06901234000069\n"  # wrong check digit
            "P-3003,棉籤,06901234000016\n"  # P-1001's
            "P-3004,膠布,06901234000078\n"
            "P-3005,繃帶,06901234000078\n",  # twice in the file
        )
    errors = [(e.line, e.params.get("column"), e.text_key) for e in rejected.value.errors]
    assert errors == [
        (2, "gtin", "import.not_gtin"),
        (3, "gtin", "import.value_taken"),
        (5, "gtin", "import.duplicate_value"),
    ]
    # re-importing a product with its own GTIN is no conflict
    again = await import_csv(services, "products", "code,name,gtin\nP-3001,體溫計,06901234000061\n")
    assert again.unchanged == 1
