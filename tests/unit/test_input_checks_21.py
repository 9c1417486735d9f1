"""Bad numbers and checks in the wrong place: amounts bounded, invisible text empty, forged
report buttons and out-of-range ids refused, a cause checked at its own step, and codes typed
full-width and quantities in the product's own unit read alike at every intake."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.services import Services
from procedures import reporting as report_approvals
from procedures.complaints.actions import ApproveQuarterly
from procedures.kernel.actions import CallbackAction, InvalidAction
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, WrongState
from procedures.kernel.quantities import check_amount, check_quantity
from procedures.kernel.text_input import MAX_TEXT, lookup_key, record_number
from procedures.masterdata import queries as masterdata_queries
from procedures.returns import goods, intake
from procedures.returns import queries as return_queries
from procedures.returns.intake import ReturnDraft
from procedures.returns.queries import ReturnRequest
from storage.models import User
from tests.conftest import SHANGHAI

from .helpers import act, ids, make_user
from .test_returns import request

INVISIBLE = " \u200b\u2060\ufeff\u200b "


# --- amounts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        *("1e999999999", "1E+999999999", "-1e999999999", "1e-999999999", "NaN", "Infinity"),
        *("0", "0.001", "1000000000000", "9" * 60, "", INVISIBLE, "12美元", "$12"),
    ],
)
def test_a_credit_that_is_no_amount_of_money_is_refused_not_an_error(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        goods.check_credit(typed, Decimal("999999999999.99"))
    assert refused.value.text_key == "return.bad_credit"


def test_a_credit_is_read_as_people_type_it_with_two_places() -> None:
    assert goods.check_credit("１３６．５", Decimal(200)) == Decimal("136.50")
    assert goods.check_credit(" 1,360.00 ", Decimal(2000)) == Decimal("1360.00")
    assert check_amount("999999999999.99", invalid="return.bad_credit") == Decimal(
        "999999999999.99"
    )
    with pytest.raises(InvalidInput) as over:
        goods.check_credit("200.01", Decimal(200))
    assert over.value.text_key == "return.credit_over_amount"


# --- the quarterly report's approval ----------------------------------------------------------


def test_an_invisible_conclusion_is_no_conclusion() -> None:
    for typed in (INVISIBLE, "\u200b", "\u3000\u200d"):
        with pytest.raises(InvalidInput) as refused:
            report_approvals.check_conclusion(typed)
        assert refused.value.text_key == "report.bad_conclusion"
        assert refused.value.params == {"limit": report_approvals.MAX_CONCLUSION}
    assert report_approvals.check_conclusion(" 已覆核\u200b ") == "已覆核\u200b"


async def test_a_quarter_not_yet_over_cannot_be_approved_and_the_real_approval_stays_open(
    services: Services, clock: ManualClock
) -> None:
    head = await make_user(services, "quality_head")
    clock.set(dt.datetime(2026, 12, 31, 23, 59, tzinfo=SHANGHAI))
    with pytest.raises(WrongState) as refused:
        await act(
            services,
            report_approvals.approve_quarterly_report,
            head,
            2026,
            4,
            "早",
            timezone=SHANGHAI,
        )
    assert refused.value.text_key == "report.quarter_not_over"
    assert refused.value.params == {"year": 2026, "quarter": 4}

    clock.set(dt.datetime(2027, 1, 1, 0, 0, tzinfo=SHANGHAI))
    approval = await act(
        services,
        report_approvals.approve_quarterly_report,
        head,
        2026,
        4,
        "結論",
        timezone=SHANGHAI,
    )
    assert approval.period == "2026-Q4"


async def test_a_year_no_report_has_is_refused_as_a_stale_button(services: Services) -> None:
    head = await make_user(services, "quality_head")
    for year in (99999, 1999, 0):
        with pytest.raises(InvalidInput) as refused:
            await act(
                services,
                report_approvals.approve_quarterly_report,
                head,
                year,
                1,
                "結論",
                timezone=SHANGHAI,
            )
        assert refused.value.text_key == "error.stale_button"


# --- button ids -------------------------------------------------------------------------------


def test_an_id_beyond_any_record_in_a_button_is_a_stale_button() -> None:
    with pytest.raises(InvalidAction) as forged:
        ApproveQuarterly.unpack("rp:ok:" + "1" * 21 + ":1")
    assert forged.value.text_key == "error.stale_button"
    assert ApproveQuarterly.unpack("rp:ok:2026:4") == ApproveQuarterly(year=2026, quarter=4)
    take = CallbackAction.registry["TakeComplaint"]
    assert take.unpack(f"{take.prefix}:{2**31 - 1}") is not None
    for too_large in (2**31, 10**55):
        with pytest.raises(InvalidAction):
            take.unpack(f"{take.prefix}:{too_large}")
        with pytest.raises(InvalidAction):
            take(complaint_id=too_large).pack()  # type: ignore[call-arg]


# --- the inspection's cause at its own step ---------------------------------------------------


def test_the_cause_of_a_company_fault_is_checked_on_its_own() -> None:
    with pytest.raises(InvalidInput) as too_long:
        goods.check_inspection_notes("因" * (MAX_TEXT + 1))
    assert too_long.value.text_key == "error.text_too_long"
    with pytest.raises(InvalidInput) as empty:
        goods.check_inspection_notes(INVISIBLE)
    assert empty.value.text_key == "return.empty_notes"
    assert goods.check_inspection_notes(" 密封圈老化 ") == "密封圈老化"


# --- codes and units --------------------------------------------------------------------------


def test_codes_are_read_alike_however_they_are_typed() -> None:
    assert lookup_key(" ＢＰ２０２６Ａ０７\u3000") == lookup_key("BP2026A07") == "bp2026a07"
    assert lookup_key("ｐ－２００１") == lookup_key("P-2001")
    assert record_number(" ｒｔ－２０２６－０００１２ ") == "RT-2026-00012"


@pytest.mark.parametrize("typed", ["2", "２", "2台", "２台", "2 台", " 2台 "])
def test_a_quantity_is_a_number_followed_by_the_products_unit_or_by_nothing(typed: str) -> None:
    assert check_quantity(typed, "台") == 2


@pytest.mark.parametrize("typed", ["2盒", "2箱", "台2", "2台台"])
def test_a_quantity_in_another_unit_is_refused_naming_the_products(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_quantity(typed, "台")
    assert refused.value.text_key in ("complaint.wrong_unit", "complaint.bad_quantity")
    if refused.value.text_key == "complaint.wrong_unit":
        assert refused.value.params == {"unit": "台"}


async def test_a_return_line_takes_a_lot_typed_full_width_and_its_quantity_in_the_products_unit(
    services: Services, samples: None
) -> None:
    organisation_id, product_id, batch_id = await ids(services, "C001", "P-2001", "BP2026A07")
    draft = ReturnDraft(organisation_id, "quality")
    async with services.session_factory() as session:
        product, batch = await intake.typed_goods(session, organisation_id, "ＢＰ２０２６Ａ０７")
        assert product is None and batch is not None and batch.id == batch_id
        _, by_product = await intake.typed_goods(
            session, organisation_id, " ｂｐ２０２６ａ０７ ", product_id=product_id
        )
        assert by_product is not None and by_product.id == batch_id
        shipped, _ = await intake.typed_goods(session, organisation_id, "Ｐ－２００１")
        assert shipped is not None and shipped.id == product_id
        assert await intake.check_line(session, draft, batch_id, "2台") == 2
        assert await intake.check_line(session, draft, batch_id, "３ 台") == 3
        with pytest.raises(InvalidInput) as wrong_unit:
            await intake.check_line(session, draft, batch_id, "2盒")
        assert wrong_unit.value.params == {"unit": "台"}


async def test_complaint_and_consumer_lookups_take_full_width_codes(
    services: Services, samples: None
) -> None:
    organisation_id, product_id, batch_id = await ids(services, "C001", "P-2001", "BP2026A07")
    async with services.session_factory() as session:
        shipped = await masterdata_queries.find_shipped_product(
            session, organisation_id, "Ｐ－２００１"
        )
        assert shipped.id == product_id
        lot = await masterdata_queries.find_shipped_batch(
            session, organisation_id, product_id, "ＢＰ２０２６Ａ０７"
        )
        assert lot.id == batch_id
        found = await masterdata_queries.find_product(session, "ｐ－２００１ ")
        assert found is not None and found.id == product_id
        any_lot = await masterdata_queries.find_batch(session, product_id, "ｂｐ２０２６ａ０７")
        assert any_lot is not None and any_lot.id == batch_id


async def test_a_return_is_found_by_its_number_typed_full_width(
    services: Services, samples: None
) -> None:
    filed = await request(services, 1, reason="quality")
    typed = filed.number.lower().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    staff = await make_user(services, "after_sales")
    async with services.session_factory() as session:
        viewer = await session.get(User, staff.id)
        found = await return_queries.return_for_viewer(session, viewer, f" {typed} ")
    assert isinstance(found, ReturnRequest) and found.id == filed.id
