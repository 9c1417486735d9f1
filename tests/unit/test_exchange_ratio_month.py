"""The exchange-ratio report of a month shows that month's exchanges: an exchange asked for on
2026-12-06 counts under 2026-12, not under 2026-11; and the month still running can be chosen,
its figures as they stand today."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from bot.documents import document_context
from bot.services import Services
from procedures.kernel.calendar import recent_periods
from procedures.kernel.clock import ManualClock
from procedures.returns import monthly_statistics
from procedures.returns.rules import ReturnStatus
from reports.registry import REPORTS
from storage.models import Batch, Organisation, Shipment
from tests.conftest import SHANGHAI

from .test_returns import request

DECEMBER_6 = dt.datetime(2026, 12, 6, 10, 0, tzinfo=SHANGHAI)


async def _ship_in_november(services: Services) -> None:
    """C003 is shipped 60 more of GL2026B12 on 2026-11-20, so its window still holds purchases
    in December (its September shipment leaves the 90-day window on 2026-12-03)."""
    async with services.session_factory() as session:
        organisation = await session.scalar(select(Organisation).where(Organisation.code == "C003"))
        batch = await session.scalar(select(Batch).where(Batch.lot_number == "GL2026B12"))
        session.add(
            Shipment(
                reference="SO-2026-1120-C003",
                organisation_id=organisation.id,
                batch_id=batch.id,
                quantity=60,
                amount=Decimal("2700.00"),
                shipped_on=dt.date(2026, 11, 20),
            )
        )
        await session.commit()


def _c003(statistics):  # type: ignore[no-untyped-def]
    return next(o for o in statistics.organisations if o.code == "C003")


async def test_an_exchange_of_december_counts_under_december_not_november(
    services: Services, samples: None, clock: ManualClock
) -> None:
    await _ship_in_november(services)
    november = await request(services, 2)  # 90.00 on 2026-11-26
    clock.set(DECEMBER_6)
    december = await request(services, 1)  # 45.00 on 2026-12-06
    assert {november.status, december.status} == {ReturnStatus.AWAITING_AFTER_SALES}

    async with services.session_factory() as session:
        in_november = await monthly_statistics(session, "2026-11", SHANGHAI)
        in_december = await monthly_statistics(session, "2026-12", SHANGHAI, now=clock.now())
    # at November's end only November's exchange had been asked for
    assert _c003(in_november).exchanged == Decimal("90.00")
    assert _c003(in_november).purchased == Decimal("5400.00")
    # December so far: both exchanges within the 90 days before today, and the purchases of
    # those 90 days (the September shipment has left the window)
    assert _c003(in_december).exchanged == Decimal("135.00")
    assert _c003(in_december).purchased == Decimal("2700.00")
    assert _c003(in_december).ratio == Decimal("0.05")


def test_the_month_still_running_is_offered_first_when_asked_for() -> None:
    assert recent_periods("month", DECEMBER_6, SHANGHAI, 3) == ["2026-11", "2026-10", "2026-09"]
    assert recent_periods("month", DECEMBER_6, SHANGHAI, 3, running=True) == [
        "2026-12",
        "2026-11",
        "2026-10",
    ]


def test_reports_of_a_month_that_make_sense_while_it_runs_say_so() -> None:
    assert REPORTS["exchange_ratio"].running
    assert REPORTS["consumer_complaint_monthly"].running
    assert not REPORTS["deadline_on_time"].running


async def test_the_exchange_ratio_report_of_the_running_month_is_titled_so_far(
    services: Services, samples: None, clock: ManualClock
) -> None:
    await _ship_in_november(services)
    clock.set(DECEMBER_6)
    await request(services, 1)
    context = document_context(services, "en")
    async with services.session_factory() as session:
        files = await REPORTS["exchange_ratio"].render(session, "2026-12", context)
        past = await REPORTS["exchange_ratio"].render(session, "2026-11", context)
    sheet = load_workbook(io.BytesIO(files.workbook.content)).active
    assert (
        sheet["A1"].value == "售後服務部 · Returns and exchanges, 2026-12 (so far, to 2026-12-06)"
    )
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True) if row[0]}
    c003 = next(row for name, row in rows.items() if str(name).startswith("C003"))
    assert c003[4] == 45.0  # exchanged within the window as it stands today
    assert load_workbook(io.BytesIO(past.workbook.content)).active["A1"].value == (
        "售後服務部 · Returns and exchanges, 2026-11"
    )
