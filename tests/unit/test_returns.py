"""P2 rules with an injected clock: the exchange ratio, the quantity left to return, the three
signatures before booking in, the slip due by noon the next day, the refusals after inspection."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures.kernel import deadlines
from procedures.kernel.calendar import noon_next_day
from procedures.kernel.errors import InvalidInput, NotAllowed, WrongState
from procedures.returns import goods, intake, monthly_statistics, review, slips
from procedures.returns.common import missing_signatures
from procedures.returns.goods import Inspection
from procedures.returns.intake import ReturnDraft
from procedures.returns.ratio import RatioCheck
from procedures.returns.rules import SIGNATURE_ORDER, ReturnStatus, Slot
from storage.models import (
    Batch,
    Deadline,
    Organisation,
    Product,
    ReturnRequest,
    Shipment,
    User,
    UserRole,
)
from tests.conftest import SHANGHAI, START

from .helpers import act, customer_of, file, ids, make_user, outbox_rows

# C003 bought 60 of lot GL2026B12 for 2700.00 on 2026-09-03 (45.00 each); its contract allows
# exchanges up to 5 % of its purchases within 90 days: 135.00, three units.


async def request(
    services: Services,
    quantity: int,
    *,
    reason: str = "unsalable",
    organisation: str = "C003",
    product: str = "P-2002",
    lot: str = "GL2026B12",
) -> ReturnRequest:
    organisation_id, _, batch_id = await ids(services, organisation, product, lot)
    customer = await customer_of(services, organisation)
    draft = ReturnDraft(
        organisation_id, reason, lines=[{"batch_id": batch_id, "quantity": quantity}]
    )
    async with services.unit_of_work() as uow:
        filed = await intake.file_return(
            uow, await uow.session.get(User, customer.id), draft, timezone=SHANGHAI
        )
    return filed.request


async def finance_review(services: Services, return_id: int) -> None:
    """Finance agrees with an exchange's figures, before after-sales signs (4.2.3)."""
    async with services.session_factory() as session:
        finance = await session.scalar(
            select(User).join(User.roles).where(UserRole.role == "finance").limit(1)
        )
    finance = finance or await make_user(services, "finance")
    await act(services, review.finance_agrees, finance, return_id)


async def stored(services: Services, return_id: int) -> ReturnRequest:
    async with services.session_factory() as session:
        return await session.get(ReturnRequest, return_id)


def test_the_ratio_is_inside_up_to_and_at_the_limit_and_outside_over_it() -> None:
    def check(exchanged: str) -> RatioCheck:
        return RatioCheck(Decimal(exchanged), Decimal("2700.00"), Decimal("0.05"), 90)

    assert check("90.00").inside and check("90.00").refusal is None
    assert check("135.00").inside  # exactly at the limit
    assert not check("135.01").inside and check("180.00").refusal == "over_limit"
    assert check("180.00").as_params()["ratio"] == "6.67%"
    assert RatioCheck(Decimal(1), Decimal(0), Decimal("0.05"), 90).refusal == "no_purchases"
    assert RatioCheck(Decimal(1), Decimal(100), None, None).refusal == "no_limit"


async def test_an_exchange_inside_the_limit_waits_for_after_sales_with_the_figures(
    services: Services, samples: None
) -> None:
    await make_user(services, "after_sales")
    await make_user(services, "finance")
    filed = await request(services, 2)
    assert filed.status == ReturnStatus.AWAITING_AFTER_SALES
    assert (filed.exchanged_amount, filed.purchased_amount, filed.ratio_inside) == (
        Decimal("90.00"),
        Decimal("2700.00"),
        True,
    )
    assert (filed.total_quantity, filed.total_amount) == (2, Decimal("90.00"))
    (finance_notice,) = await outbox_rows(services, text_key="return.finance_to_review")
    assert finance_notice.params["ratio"] == "3.33%" and finance_notice.params["limit"] == "5.00%"
    await finance_review(services, filed.id)
    (review_notice,) = await outbox_rows(services, text_key="return.ratio_inside")
    assert review_notice.params["ratio"] == "3.33%" and review_notice.params["limit"] == "5.00%"


async def test_an_exchange_over_the_limit_is_refused_with_the_figures(
    services: Services, samples: None
) -> None:
    customer = await customer_of(services, "C003")
    await make_user(services, "after_sales")
    filed = await request(services, 4)
    assert filed.status == ReturnStatus.REFUSED and filed.refusal == "over_limit"
    told = await outbox_rows(services, text_key="return.refused_to_customer")
    assert customer.id in {m.user_id for m in told}  # and the filer, a contact too
    to_customer = told[0]
    assert to_customer.params["refusal"]["params"]["ratio"] == "6.67%"
    (to_staff,) = await outbox_rows(services, text_key="return.ratio_outside")
    assert "rt:leader" in to_staff.buttons[0][0]["data"]


async def test_goods_shipped_before_the_time_limit_are_refused_whatever_the_ratio(
    services: Services, samples: None
) -> None:
    """4.2.3: the exchange must be within the contract's ratio *and* its time limit (限期).
    C003's syringes of lot L20260301 were shipped on 2026-04-11, 229 days before: outside its
    90 days, though one box keeps the ratio at 0.67 %. The leader may still allow it."""
    customer = await customer_of(services, "C003")
    after_sales = await make_user(services, "after_sales")
    filed = await request(services, 1, product="P-1001", lot="L20260301")
    assert filed.status == ReturnStatus.REFUSED and filed.refusal == "past_time_limit"
    (told,) = [
        m
        for m in await outbox_rows(services, text_key="return.refused_to_customer")
        if m.user_id == customer.id
    ]
    assert told.params["refusal"] == {
        "$text": "return.refusal.past_time_limit",
        "params": {
            "exchanged": {"$text": "common.money", "params": {"amount": "18.00"}},
            "purchased": {"$text": "common.money", "params": {"amount": "2700.00"}},
            "ratio": "0.67%",
            "limit": "5.00%",
            "window_days": "90",
        },
    }
    leader = await make_user(services, "company_leader")
    await act(services, review.forward_to_leader, after_sales, filed.id)
    (special,) = await outbox_rows(services, text_key="return.special_case")
    assert special.user_id == leader.id
    # the lot shipped within the window is still inside
    assert (await request(services, 1)).ratio_inside


async def test_several_requests_in_a_window_add_up(services: Services, samples: None) -> None:
    first = await request(services, 2)  # 90.00
    second = await request(services, 1)  # 135.00 with the first: at the limit
    third = await request(services, 1)  # 180.00: over
    assert first.ratio_inside and second.ratio_inside
    assert second.exchanged_amount == Decimal("135.00")
    assert third.status == ReturnStatus.REFUSED and third.exchanged_amount == Decimal("180.00")
    # a refused request takes nothing up: the next small one is inside again... at the limit
    assert (await request(services, 1)).status == ReturnStatus.REFUSED


async def test_requests_and_shipments_outside_the_window_do_not_count(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    organisation_id, _, batch_id = await ids(services, "C003", "P-2002", "GL2026B12")
    async with services.unit_of_work() as uow:
        uow.session.add(
            Shipment(
                reference="SO-OLD",
                organisation_id=organisation_id,
                batch_id=batch_id,
                quantity=100,
                amount=Decimal("4500.00"),
                shipped_on=dt.date(2026, 6, 1),
            )
        )
        await uow.commit()
    clock.set(dt.datetime(2026, 7, 1, 9, 0, tzinfo=SHANGHAI))
    early = await request(services, 2)
    # June's lot and April's syringes (5400.00) were bought within 90 days of July
    assert early.purchased_amount == Decimal("9900.00") and early.ratio_inside
    clock.set(START)
    later = await request(services, 3)
    # only September's shipment is within 90 days now, and July's request is not
    assert (later.exchanged_amount, later.purchased_amount) == (
        Decimal("135.00"),
        Decimal("2700.00"),
    )
    assert later.ratio_inside


async def test_a_line_for_more_than_is_left_to_return_is_refused_with_the_figures(
    services: Services, samples: None
) -> None:
    await request(services, 50, reason="quality")
    organisation_id, _, batch_id = await ids(services, "C003", "P-2002", "GL2026B12")
    draft = ReturnDraft(organisation_id, "quality")
    async with services.session_factory() as session:
        with pytest.raises(InvalidInput) as refused:
            await intake.check_line(session, draft, batch_id, "11")
        assert await intake.check_line(session, draft, batch_id, "10") == 10
    assert refused.value.text_key == "return.quantity_over_left"
    assert refused.value.params == {"quantity": 11, "shipped": 60, "returned": 50, "left": 10}


@pytest.mark.parametrize("order", list(itertools.permutations(SIGNATURE_ORDER)))
def test_the_gate_opens_only_with_all_three_signatures_in_any_order(order) -> None:  # type: ignore[no-untyped-def]
    signed: set[str] = set()
    for slot in order:
        assert missing_signatures(signed) == [s for s in SIGNATURE_ORDER if s not in signed]
        signed.add(slot)
    assert missing_signatures(signed) == []


class Staff:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def make(self) -> Staff:
        s = self.services
        self.after_sales = await make_user(s, "after_sales")
        self.head = await make_user(s, "after_sales_head")
        self.business = await make_user(s, "business_head")
        self.leader = await make_user(s, "company_leader")
        self.driver = await make_user(s, "driver")
        self.qc = await make_user(s, "quality")
        self.warehouse = await make_user(s, "warehouse")
        return self

    async def to_the_warehouse(self, return_id: int, *, countersign: bool = True) -> None:
        """The head countersigns where the warehouse still needs it (4.2.7), and the goods come
        back to the warehouse."""
        s = self.services
        request = await stored(s, return_id)
        signed = {signature.slot for signature in request.signatures}
        if countersign and Slot.AFTER_SALES not in signed:
            await act(s, review.countersign_return, self.head, return_id)
        await act(s, goods.issue_transport_order, self.head, return_id, "貨運北站")
        await act(s, goods.confirm_pick_up, self.driver, return_id)
        await act(s, goods.confirm_delivery, self.driver, return_id)


@pytest.mark.parametrize("business_signs_first", [True, False])
async def test_booking_in_names_the_missing_signature_and_changes_nothing(
    services: Services, samples: None, business_signs_first: bool
) -> None:
    staff = await Staff(services).make()
    refused = await request(services, 4)  # over the limit: the leader's special case
    await act(services, review.forward_to_leader, staff.after_sales, refused.id)
    await act(
        services,
        review.decide_special_case,
        staff.leader,
        refused.id,
        "approve",
        timezone=SHANGHAI,
    )
    await staff.to_the_warehouse(refused.id, countersign=False)

    async def book_in_refused(missing: list[Slot]) -> None:
        with pytest.raises(WrongState) as refusal:
            await act(services, goods.book_in, staff.warehouse, refused.id, timezone=SHANGHAI)
        assert refusal.value.text_key == "return.signatures_missing"
        assert refusal.value.params["missing"] == [{"$text": f"return.slot.{m}"} for m in missing]
        assert (await stored(services, refused.id)).booked_in_at is None

    # the leader's special case carries no signature: none was given
    await book_in_refused([Slot.AFTER_SALES, Slot.BUSINESS, Slot.QUALITY])
    await act(services, review.countersign_return, staff.head, refused.id)  # 4.2.7
    await book_in_refused([Slot.BUSINESS, Slot.QUALITY])
    approve = (review.approve_return, staff.business, {"timezone": SHANGHAI})
    inspect = (goods.record_inspection, staff.qc, {})
    steps = [approve, inspect] if business_signs_first else [inspect, approve]
    for number, (step, actor, extra) in enumerate(steps):
        args = (Inspection("undamaged"),) if step is goods.record_inspection else ()
        await act(services, step, actor, refused.id, *args, **extra)
        if number == 0:
            await book_in_refused([Slot.QUALITY] if business_signs_first else [Slot.BUSINESS])
    booked = await act(services, goods.book_in, staff.warehouse, refused.id, timezone=SHANGHAI)
    assert booked.status == ReturnStatus.BOOKED_IN
    assert {s.slot for s in booked.signatures} == set(SIGNATURE_ORDER)


async def test_the_business_head_refuses_an_exchange_with_a_reason_told_and_recorded(
    services: Services, samples: None
) -> None:
    staff = await Staff(services).make()
    customer = await customer_of(services, "C003")
    filed = await request(services, 2)
    await finance_review(services, filed.id)
    await act(services, review.sign_return, staff.after_sales, filed.id)
    (to_approve,) = await outbox_rows(services, text_key="return.unsalable_to_approve")
    assert [b["data"] for b in to_approve.buttons[0]] == [
        f"rt:approve:{filed.id}",
        f"rt:refuse:{filed.id}",
    ]
    # after-sales may not refuse, nor the reason be empty; nothing changes
    with pytest.raises(NotAllowed):
        await act(services, review.refuse_return, staff.after_sales, filed.id, "no")
    with pytest.raises(InvalidInput):
        await act(services, review.refuse_return, staff.business, filed.id, " \x07 ")
    assert (await stored(services, filed.id)).status == ReturnStatus.AWAITING_BUSINESS

    reason = "Seasonal stock 🙂 " + "x" * 300
    refused = await act(services, review.refuse_return, staff.business, filed.id, reason)
    assert refused.status == ReturnStatus.REJECTED
    assert (refused.business_refusal, refused.business_refused_by_id) == (
        reason.strip(),
        staff.business.id,
    )
    told = await outbox_rows(services, text_key="return.business_refused")
    assert customer.id in {m.user_id for m in told}
    assert {m.params["refusal"] for m in told} == {reason.strip()}
    (to_staff,) = await outbox_rows(services, text_key="return.business_refused_staff")
    assert to_staff.user_id == staff.after_sales.id
    # a second press, or Approve on the refused exchange: a clear answer, nothing changes
    for step, args in (
        (review.refuse_return, ("again",)),
        (review.approve_return, ()),
    ):
        extra = {"timezone": SHANGHAI} if step is review.approve_return else {}
        with pytest.raises(WrongState):
            await act(services, step, staff.business, filed.id, *args, **extra)
    after = await stored(services, filed.id)
    assert (after.status, after.business_refusal) == (ReturnStatus.REJECTED, reason.strip())
    assert [s.slot for s in after.signatures] == [Slot.REVIEW]  # after-sales staff's review
    # a refused exchange takes up none of the ratio: the same request is inside again
    assert (await request(services, 3)).ratio_inside


async def test_a_quality_return_is_not_refused_by_the_business_head(
    services: Services, samples: None
) -> None:
    staff = await Staff(services).make()
    filed = await request(services, 2, reason="quality")
    await act(services, review.sign_return, staff.head, filed.id)
    (to_sign,) = await outbox_rows(services, text_key="return.quality_to_business")
    assert [b["data"] for b in to_sign.buttons[0]] == [f"rt:approve:{filed.id}"]
    with pytest.raises(WrongState) as refusal:
        await act(services, review.refuse_return, staff.business, filed.id, "no")
    assert refusal.value.text_key == "return.not_refusable"


async def test_a_driver_needs_a_transport_order_and_delivers_only_after_picking_up(
    services: Services, samples: None
) -> None:
    staff = await Staff(services).make()
    filed = await request(services, 2)
    await finance_review(services, filed.id)
    await act(services, review.sign_return, staff.after_sales, filed.id)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    with pytest.raises(WrongState, match="no_transport_order"):
        await act(services, goods.confirm_pick_up, staff.driver, filed.id)
    await act(services, goods.issue_transport_order, staff.head, filed.id, "貨運北站")
    with pytest.raises(WrongState, match="not_picked_up"):
        await act(services, goods.confirm_delivery, staff.driver, filed.id)
    (order,) = await outbox_rows(services, text_key="return.transport_order")
    assert order.user_id == staff.driver.id


@pytest.mark.parametrize(
    ("booked_local", "due_local"),
    [
        (dt.datetime(2026, 11, 26, 9, 0), dt.datetime(2026, 11, 27, 12, 0)),
        # across midnight: 23:59 and 00:01 local fall on two days, hence two noons
        (dt.datetime(2026, 11, 26, 23, 59), dt.datetime(2026, 11, 27, 12, 0)),
        (dt.datetime(2026, 11, 27, 0, 1), dt.datetime(2026, 11, 28, 12, 0)),
        # month and year ends
        (dt.datetime(2026, 11, 30, 15, 0), dt.datetime(2026, 12, 1, 12, 0)),
        (dt.datetime(2026, 12, 31, 23, 30), dt.datetime(2027, 1, 1, 12, 0)),
        (dt.datetime(2027, 2, 28, 8, 0), dt.datetime(2027, 3, 1, 12, 0)),
    ],
)
def test_the_slip_is_due_at_noon_the_next_local_day(booked_local, due_local) -> None:  # type: ignore[no-untyped-def]
    booked = booked_local.replace(tzinfo=SHANGHAI).astimezone(dt.UTC)
    due = noon_next_day(booked, SHANGHAI)
    assert due == due_local.replace(tzinfo=SHANGHAI)
    assert due.tzinfo == dt.UTC


async def test_the_tally_opens_the_slip_deadline_for_the_marketing_clerk(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    """4.2.9: the slip is due by 12:00 the next local day after the tally, the clerk's."""
    staff = await Staff(services).make()
    statistician = await make_user(services, "marketing_statistician")
    clerk = await make_user(services, "marketing_clerk")
    filed = await request(services, 2)
    await finance_review(services, filed.id)
    await act(services, review.sign_return, staff.after_sales, filed.id)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    await staff.to_the_warehouse(filed.id)
    await act(services, goods.record_inspection, staff.qc, filed.id, Inspection("undamaged"))
    await act(services, goods.book_in, staff.warehouse, filed.id, timezone=SHANGHAI)
    clock.set(dt.datetime(2026, 11, 30, 23, 40, tzinfo=SHANGHAI))  # the month's last evening
    await act(services, slips.tally_return, statistician, filed.id, timezone=SHANGHAI)
    async with services.session_factory() as session:
        deadline = await session.scalar(select(Deadline).where(Deadline.kind == "return_slip"))
    assert deadline.responsible_role == "marketing_clerk"
    assert deadline.due_at == dt.datetime(2026, 12, 1, 12, 0, tzinfo=SHANGHAI)
    await act(services, slips.send_slip, clerk, filed.id, "chat")
    sent = await outbox_rows(services, text_key="return.slip")
    assert sent and {str(s.attachment) for s in sent} == {
        str({"kind": "return_slip", "params": {"id": filed.id}})
    }


async def test_qc_has_two_days_to_inspect_delivered_goods_reminded_then_alerted_with_its_head(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    """4.2.6: QC inspects the goods that came back in time (及時予以評定). The delivery opens the
    deadline (RETURN_INSPECTION_DAYS, 2 by default) and its notice names it; QC is reminded,
    then QC and the quality head are alerted; the inspection meets it."""
    staff = await Staff(services).make()
    head = await make_user(services, "quality_head")
    filed = await request(services, 2)
    await finance_review(services, filed.id)
    await act(services, review.sign_return, staff.after_sales, filed.id)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    await staff.to_the_warehouse(filed.id)
    delivered_at = clock.now()
    async with services.session_factory() as session:
        deadline = await session.scalar(
            select(Deadline).where(Deadline.kind == "return_inspection")
        )
    assert deadline.responsible_role == "quality"
    assert deadline.due_at == delivered_at + dt.timedelta(days=2)
    (notice,) = await outbox_rows(services, text_key="return.inspect")
    assert notice.params["due_at"] == {"$deadline": deadline.due_at.isoformat()}

    async def sweep() -> None:
        async with services.unit_of_work() as uow:
            await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
            await uow.commit()

    clock.advance(dt.timedelta(hours=36))  # three quarters of the window
    await sweep()
    reminders = await outbox_rows(services, text_key="deadline.reminder")
    assert [r.user_id for r in reminders] == [staff.qc.id]
    assert reminders[0].params["kind"] == {"$text": "deadline.kind.return_inspection"}
    clock.advance(dt.timedelta(hours=12))
    await sweep()
    alerts = await outbox_rows(services, text_key="deadline.overdue")
    assert {a.user_id for a in alerts} == {staff.qc.id, head.id}

    await act(services, goods.record_inspection, staff.qc, filed.id, Inspection("undamaged"))
    async with services.session_factory() as session:
        met = await session.get(Deadline, deadline.id)
    assert met.met_at == clock.now()


async def test_an_exchange_sends_out_only_goods_that_may_leave_and_names_why_not(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    """P1 4.5/4.7 against P2 4.2.3: held, expired or nonconforming lots never leave; the
    replacement is like for like and no more than came back; each refusal names why."""
    staff = await Staff(services).make()
    filed = await request(services, 2)  # 2 盒 of P-2002's lot GL2026B12
    await finance_review(services, filed.id)
    await act(services, review.sign_return, staff.after_sales, filed.id)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    await staff.to_the_warehouse(filed.id)
    await act(services, goods.record_inspection, staff.qc, filed.id, Inspection("undamaged"))
    await act(services, goods.book_in, staff.warehouse, filed.id, timezone=SHANGHAI)
    async with services.unit_of_work() as uow:
        product_id = await uow.session.scalar(select(Product.id).where(Product.code == "P-2002"))
        other = await uow.session.scalar(select(Batch.id).where(Batch.lot_number == "BP2026A07"))
        lots = {
            "GL2025Z01": Batch(
                product_id=product_id, lot_number="GL2025Z01", expiry_date=dt.date(2026, 11, 25)
            ),
            "GL2026N01": Batch(
                product_id=product_id, lot_number="GL2026N01", nonconforming_since=START
            ),
            "GL2026C03": Batch(
                product_id=product_id, lot_number="GL2026C03", expiry_date=dt.date(2028, 3, 31)
            ),
        }
        uow.session.add_all(lots.values())
        await uow.commit()
        lot_ids = {number: lot.id for number, lot in lots.items()}

    async def replacements() -> list[str]:
        async with services.session_factory() as session:
            found = await goods.replacement_batches(
                session, product_id, timezone=SHANGHAI, now=clock.now()
            )
        return [lot.lot_number for lot in found]

    async def refused(batch_id: int, quantity: int) -> InvalidInput:
        with pytest.raises(InvalidInput) as refusal:
            await act(
                services,
                goods.record_exchange,
                staff.warehouse,
                filed.id,
                [(batch_id, quantity)],
                timezone=SHANGHAI,
            )
        return refusal.value

    assert await replacements() == ["GL2026B12", "GL2026C03"]
    expired = await refused(lot_ids["GL2025Z01"], 2)
    assert (expired.text_key, expired.params) == (
        "outbound.expired",
        {"lot": "GL2025Z01", "expiry": "2026-11-25"},
    )
    assert (await refused(lot_ids["GL2026N01"], 2)).text_key == "outbound.nonconforming"
    assert (await refused(other, 2)).text_key == "outbound.other_product"
    over = await refused(lot_ids["GL2026C03"], 3)
    assert (over.text_key, over.params) == (
        "outbound.more_than_returned",
        {"quantity": 3, "returned": 2, "unit": "盒"},
    )

    complaint = await file(services, "C003", lot="GL2026B12", product="P-2002", quantity=1)
    held = await refused(lot_ids["GL2026C03"], 2)  # the hold covers every lot of the product
    assert (held.text_key, held.params) == (
        "outbound.held",
        {"lot": "GL2026C03", "complaints": [complaint.number]},
    )
    assert await replacements() == []
    kept = await stored(services, filed.id)
    assert kept.status == ReturnStatus.BOOKED_IN
    assert all(line.replacement_batch_id is None for line in kept.lines)


async def test_every_step_of_an_exchange_has_its_deadline_opened_and_met_in_turn(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    """4.2.2–4.2.7 ask each step in time (及時): review, approval, pick-up, inspection and booking
    in each open a day's deadline for their owner when the step before is done, and are met by
    their own step."""
    staff = await Staff(services).make()

    async def deadlines_now() -> dict[str, tuple[str, bool]]:
        async with services.session_factory() as session:
            rows = await session.scalars(select(Deadline).order_by(Deadline.id))
            return {d.kind: (d.responsible_role, d.met_at is not None) for d in rows}

    filed = await request(services, 2)
    assert await deadlines_now() == {"return_finance_review": ("finance", False)}
    await finance_review(services, filed.id)
    assert (await deadlines_now())["return_review"] == ("after_sales", False)
    await act(services, review.sign_return, staff.after_sales, filed.id)
    assert (await deadlines_now())["return_review"] == ("after_sales", True)
    assert (await deadlines_now())["return_approval"] == ("business_head", False)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    await staff.to_the_warehouse(filed.id)
    await act(services, goods.record_inspection, staff.qc, filed.id, Inspection("undamaged"))
    assert (await deadlines_now())["return_booking_in"] == ("warehouse", False)
    await act(services, goods.book_in, staff.warehouse, filed.id, timezone=SHANGHAI)
    assert {kind: met for kind, (_, met) in (await deadlines_now()).items()} == {
        "return_finance_review": True,
        "return_review": True,
        "return_approval": True,
        "return_transport_order": True,
        "return_pick_up": True,
        "return_inspection": True,
        "return_booking_in": True,
        "return_tally": False,  # the tally's is the next
    }
    async with services.session_factory() as session:
        pick_up = await session.scalar(select(Deadline).where(Deadline.kind == "return_pick_up"))
        review_met_by = await session.scalar(
            select(Deadline.met_by_id).where(Deadline.kind == "return_review")
        )
    assert pick_up.due_at == clock.now() + dt.timedelta(hours=24)
    # each is met by the person whose step it was: their monthly record counts it
    assert (pick_up.met_by_id, review_met_by) == (staff.driver.id, staff.after_sales.id)


async def test_customer_damage_is_refused_with_the_written_explanation_to_the_customer(
    services: Services, samples: None
) -> None:
    staff = await Staff(services).make()
    customer = await customer_of(services, "C003")
    filed = await request(services, 5, reason="quality")
    await act(services, review.sign_return, staff.head, filed.id)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    await staff.to_the_warehouse(filed.id)
    with pytest.raises(InvalidInput):  # an unsalable finding does not fit a quality return
        await act(services, goods.record_inspection, staff.qc, filed.id, Inspection("undamaged"))
    with pytest.raises(InvalidInput):  # nor a refusal without its explanation
        await act(
            services, goods.record_inspection, staff.qc, filed.id, Inspection("customer_damage")
        )
    explanation = "Strips were stored wet: the vials show water damage after delivery."
    rejected = await act(
        services,
        goods.record_inspection,
        staff.qc,
        filed.id,
        Inspection("customer_damage", explanation),
    )
    assert rejected.status == ReturnStatus.REJECTED and rejected.refusal == "customer_damage"
    assert Slot.QUALITY not in {s.slot for s in rejected.signatures}
    told = await outbox_rows(services, text_key="return.refused_after_inspection")
    assert customer.id in {m.user_id for m in told}
    assert {m.params["notes"] for m in told} == {explanation}
    with pytest.raises(WrongState):
        await act(services, goods.book_in, staff.warehouse, filed.id, timezone=SHANGHAI)
    # the refused quantity may be asked for again
    async with services.session_factory() as session:
        organisation_id = await session.scalar(
            select(Organisation.id).where(Organisation.code == "C003")
        )
        assert (
            await intake.returned_quantity(session, organisation_id, filed.lines[0].batch_id) == 0
        )


async def test_the_months_statistics_go_to_business_and_finance_as_a_workbook(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    from bot.documents import document_context
    from reports import documents
    from scheduler import jobs
    from scheduler.services import JobServices

    await make_user(services, "finance", language="en")
    staff = await Staff(services).make()  # with the business head
    booked = await request(services, 2)  # 90.00, inside: booked in during November
    await finance_review(services, booked.id)
    await act(services, review.sign_return, staff.after_sales, booked.id)
    await act(services, review.approve_return, staff.business, booked.id, timezone=SHANGHAI)
    await staff.to_the_warehouse(booked.id)
    await act(services, goods.record_inspection, staff.qc, booked.id, Inspection("undamaged"))
    await act(services, goods.book_in, staff.warehouse, booked.id, timezone=SHANGHAI)
    await request(services, 1)  # inside, filed in November but not booked in: not counted
    await request(services, 4)  # refused: counted apart
    clock.set(dt.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI))
    job_services = JobServices(services.session_factory, services.clock, SHANGHAI)
    assert await jobs.send_monthly_return_statistics(job_services) == 2
    assert await jobs.send_monthly_return_statistics(job_services) == 0  # once a month
    (row, _) = await outbox_rows(services, text_key="return.statistics_ready")
    assert row.attachment == {"kind": "return_statistics", "params": {"period": "2026-11"}}
    async with services.session_factory() as session:
        statistics = await monthly_statistics(session, "2026-11", SHANGHAI)
        rendered = await documents.render(session, row.attachment, document_context(services, "en"))
    assert statistics.by_reason == {"unsalable": (1, 2, Decimal("90.00"))}
    assert statistics.refused == 1
    c003 = next(o for o in statistics.organisations if o.code == "C003")
    # the ratio counts every exchange still standing, booked in or not (90.00 + 45.00)
    assert (c003.returns, c003.quantity) == (1, 2)  # as the by-reason table
    assert (c003.exchanged, c003.purchased, c003.over_limit) == (
        Decimal("135.00"),
        Decimal("2700.00"),
        False,
    )
    sheet = load_workbook(io.BytesIO(rendered.content)).active
    assert (
        sheet["A1"].value == "售後服務部 · Returns and exchanges, 2026-11 (printed on 2026-12-01)"
    )
