"""P2's slip chain (4.2.5, 4.2.7-4.2.9): the station's arrival notice and the transport order,
the booking-in slip, the marketing statistician's tally and the marketing clerk's return slip;
each step on time, in its owner's monthly record."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.documents import document_context
from bot.services import Services
from procedures import personal_records
from procedures.kernel import roles
from procedures.kernel.calendar import month_bounds
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound, WrongState
from procedures.returns import goods, queries, review, slips
from procedures.returns.common import open_step
from procedures.returns.goods import Inspection
from procedures.returns.rules import RETURN_SLIP, ReturnStatus
from reports.documents import render
from storage.models import Deadline, ReturnRequest, User
from tests.conftest import SHANGHAI
from tests.printing import read_pdf

from .helpers import act, make_user, outbox_rows
from .test_returns import Staff, finance_review, request, stored


async def deadline_of(services: Services, kind: str) -> Deadline:
    async with services.session_factory() as session:
        found = await session.scalar(select(Deadline).where(Deadline.kind == kind))
    assert found is not None, kind
    return found


async def approved(services: Services, staff: Staff, quantity: int = 2) -> ReturnRequest:
    filed = await request(services, quantity)
    await finance_review(services, filed.id)
    await act(services, review.sign_return, staff.after_sales, filed.id)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    await act(services, review.countersign_return, staff.head, filed.id)
    return filed


async def booked_in(services: Services, staff: Staff) -> ReturnRequest:
    filed = await approved(services, staff)
    await act(services, goods.issue_transport_order, staff.head, filed.id, "貨運北站")
    await act(services, goods.confirm_pick_up, staff.driver, filed.id)
    await act(services, goods.confirm_delivery, staff.driver, filed.id)
    await act(services, goods.record_inspection, staff.qc, filed.id, Inspection("undamaged"))
    await act(services, goods.book_in, staff.warehouse, filed.id, timezone=SHANGHAI)
    return filed


async def test_the_station_notice_gives_the_head_a_day_for_the_transport_order(
    services: Services, samples: None, clock: ManualClock
) -> None:
    """4.2.5: after-sales records the freight station's notice; the after-sales head is asked
    to issue the order in time (a day), and issuing it meets the deadline, as the head's."""
    staff = await Staff(services).make()
    filed = await approved(services, staff)
    noticed_at = clock.now()
    await act(services, goods.record_station_notice, staff.after_sales, filed.id)
    deadline = await deadline_of(services, "return_transport_order")
    assert (deadline.responsible_role, deadline.due_at) == (
        "after_sales_head",
        noticed_at + dt.timedelta(days=1),
    )
    (asked,) = await outbox_rows(services, text_key="return.goods_at_station")
    assert asked.user_id == staff.head.id
    assert [b["data"] for b in asked.buttons[0]] == [f"rt:order:{filed.id}"]
    assert asked.params["noted_by"] == staff.after_sales.full_name
    with pytest.raises(WrongState, match="notice_already_recorded"):
        await act(services, goods.record_station_notice, staff.head, filed.id)
    # only the head issues it, and the station is named
    with pytest.raises(NotAllowed):
        await act(services, goods.issue_transport_order, staff.after_sales, filed.id, "北站")
    with pytest.raises(InvalidInput):
        await act(services, goods.issue_transport_order, staff.head, filed.id, "  ")
    assert (await stored(services, filed.id)).status == ReturnStatus.APPROVED

    clock.advance(dt.timedelta(hours=30))  # late: the record says so
    await act(services, goods.issue_transport_order, staff.head, filed.id, "廣州貨運北站")
    met = await deadline_of(services, "return_transport_order")
    assert (met.met_by_id, met.met_late) == (staff.head.id, True)


async def test_the_transport_order_names_station_customer_goods_and_issuer_for_the_driver(
    services: Services, samples: None, clock: ManualClock
) -> None:
    """4.2.5 / issue 9: the order is a document; the driver gets it as text and to print."""
    staff = await Staff(services).make()
    filed = await approved(services, staff)
    await act(services, goods.issue_transport_order, staff.head, filed.id, "廣州貨運北站")
    (order,) = await outbox_rows(services, text_key="return.transport_order")
    assert order.user_id == staff.driver.id
    texts = services.texts
    assert texts.get("en", order.text_key, **order.params) == (
        f"Transport order (退貨運輸單) {filed.number}\n"
        "Freight station: 廣州貨運北站\n"
        "Customer: 華南醫藥貿易公司\n"
        "Goods: 血糖試紙 GL-50, lot GL2026B12: 2 盒\n"
        f"Issued by {staff.head.full_name}, 2026-11-26 09:00.\n"
        "Collect the goods at the station against this order by 09:00 on 27 November."
    )
    rendered = texts.get("zh-Hant", order.text_key, **order.params)
    assert "貨運站：廣州貨運北站" in rendered and "血糖試紙 GL-50，批號GL2026B12，2盒" in rendered
    assert rendered.endswith("請於11月27日09:00前憑此單到貨運站提貨。")
    (printable,) = await outbox_rows(services, text_key="return.transport_order_document")
    assert printable.attachment == {"kind": "transport_order", "params": {"id": filed.id}}
    async with services.session_factory() as session:
        document = await render(session, printable.attachment, document_context(services, "en"))
    # the driver's copy is the same order, read again from the record after pick-up
    await act(services, goods.confirm_pick_up, staff.driver, filed.id)
    async with services.session_factory() as session:
        again = await queries.transport_order(session, filed.id)
    assert again == order.params
    assert document.file_name == f"Transport order (退貨運輸單)-{filed.number}.pdf"
    printed = read_pdf(document.content).text
    assert "Freight station 廣州貨運北站" in printed
    assert f"Issued by (after-sales head) {staff.head.full_name} 2026-11-26 09:00" in printed
    assert "P-2002 血糖試紙 GL-50 GL2026B12 2 盒" in printed


async def test_booking_in_issues_the_booking_in_slip_with_its_signatures_and_asks_for_the_tally(
    services: Services, samples: None, clock: ManualClock
) -> None:
    """4.2.7-4.2.8: the booking-in slip (lines, unit prices and amounts in 元, total, the three
    signatures with names and times, the warehouse head) goes to the warehouse and the
    statistician, who has a day to tally."""
    staff = await Staff(services).make()
    statistician = await make_user(services, "marketing_statistician", name="Tong Tally")
    filed = await booked_in(services, staff)
    slips_out = await outbox_rows(services, text_key="return.booking_in_slip")
    assert {m.user_id for m in slips_out} == {staff.warehouse.id, statistician.id}
    assert {str(m.attachment) for m in slips_out} == {
        str({"kind": "return_booking_in", "params": {"id": filed.id}})
    }
    (to_tally,) = await outbox_rows(services, text_key="return.to_tally")
    assert (to_tally.user_id, to_tally.buttons[0][0]["data"]) == (
        statistician.id,
        f"rt:tally:{filed.id}",
    )
    tally = await deadline_of(services, "return_tally")
    assert (tally.responsible_role, tally.due_at) == (
        "marketing_statistician",
        clock.now() + dt.timedelta(days=1),
    )
    async with services.session_factory() as session:
        document = await render(session, slips_out[0].attachment, document_context(services, "en"))
    printed = read_pdf(document.content).text
    assert "P-2002 血糖試紙 GL-50 GL2026B12 2 盒 45.00 90.00" in printed
    assert "Total 2 盒 90.00" in printed
    assert f"the after-sales head {staff.head.full_name} 2026-11-26 09:00" in printed
    assert f"the business head {staff.business.full_name} 2026-11-26 09:00" in printed
    assert f"QC {staff.qc.full_name} 2026-11-26 09:00" in printed
    assert f"Booked in by the warehouse head {staff.warehouse.full_name}" in printed


async def test_the_tally_and_the_slip_are_each_done_by_their_own_role_and_person(
    services: Services, samples: None, clock: ManualClock
) -> None:
    staff = await Staff(services).make()
    filed = await booked_in(services, staff)
    statistician = await make_user(services, "marketing_statistician")
    clerk = await make_user(services, "marketing_clerk")
    both = await make_user(services, "marketing_statistician", "marketing_clerk")
    warehouse_statistician = await make_user(services, "warehouse", "marketing_statistician")
    with pytest.raises(NotAllowed):
        await act(services, slips.tally_return, staff.warehouse, filed.id, timezone=SHANGHAI)
    with pytest.raises(WrongState, match="not_tallied"):
        await act(services, slips.send_slip, clerk, filed.id, "chat")
    # one person, one seat: who booked in does not tally it, who tallied does not send it
    async with services.unit_of_work() as uow:
        kept = await uow.session.get(ReturnRequest, filed.id)
        assert kept is not None
        kept_booked_by = kept.booked_in_by_id
    assert kept_booked_by == staff.warehouse.id
    second = await booked_in_by(services, staff, warehouse_statistician)
    with pytest.raises(WrongState, match="same_person"):
        await act(
            services, slips.tally_return, warehouse_statistician, second.id, timezone=SHANGHAI
        )
    tallied = await act(services, slips.tally_return, both, filed.id, timezone=SHANGHAI)
    assert (tallied.tallied_quantity, str(tallied.tallied_amount)) == (2, "90.00")
    with pytest.raises(WrongState, match="already_tallied"):
        await act(services, slips.tally_return, statistician, filed.id, timezone=SHANGHAI)
    with pytest.raises(WrongState, match="same_person"):
        await act(services, slips.send_slip, both, filed.id, "chat")
    # the customer has a chat contact: the bot sends the slip there, not a fax
    with pytest.raises(WrongState, match="slip_in_chat"):
        await act(services, slips.send_slip, clerk, filed.id, "fax")
    sent = await act(services, slips.send_slip, clerk, filed.id, "chat")
    assert (sent.slip_channel, sent.slip_sent_by_id) == ("chat", clerk.id)
    with pytest.raises(WrongState, match="slip_already_sent"):
        await act(services, slips.send_slip, clerk, filed.id, "chat")
    slip_deadline = await deadline_of(services, "return_slip")
    assert (slip_deadline.met_by_id, slip_deadline.met_late) == (clerk.id, False)


async def booked_in_by(services: Services, staff: Staff, warehouse: User) -> ReturnRequest:
    filed = await approved(services, staff, quantity=1)
    await act(services, goods.issue_transport_order, staff.head, filed.id, "貨運北站")
    await act(services, goods.confirm_pick_up, staff.driver, filed.id)
    await act(services, goods.confirm_delivery, staff.driver, filed.id)
    await act(services, goods.record_inspection, staff.qc, filed.id, Inspection("undamaged"))
    await act(services, goods.book_in, warehouse, filed.id, timezone=SHANGHAI)
    return filed


async def test_a_customer_without_a_chat_gets_the_slip_by_fax_recorded_and_archived(
    services: Services, samples: None, clock: ManualClock
) -> None:
    """4.2.9: no chat contact: the clerk is told to fax or e-mail it, records how, and the
    slip stays findable on the record; the customer's view shows it only once sent."""
    staff = await Staff(services).make()
    filed = await booked_in(services, staff)
    statistician = await make_user(services, "marketing_statistician")
    clerk = await make_user(services, "marketing_clerk")
    async with services.unit_of_work() as uow:  # the customer's contact leaves the chat
        for customer in await uow.session.scalars(
            select(User).where(User.organisation_id.isnot(None))
        ):
            customer.active = False
        await uow.commit()
    await act(services, slips.tally_return, statistician, filed.id, timezone=SHANGHAI)
    (to_send,) = await outbox_rows(services, text_key="return.slip_to_send_outside")
    assert [b["data"] for b in to_send.buttons[0]] == [
        f"rt:slipby:{filed.id}:fax",
        f"rt:slipby:{filed.id}:email",
    ]
    (to_review,) = await outbox_rows(services, text_key="return.slip_to_review")
    assert to_review.attachment == {"kind": "return_slip", "params": {"id": filed.id}}
    with pytest.raises(WrongState, match="no_customer_chat"):
        await act(services, slips.send_slip, clerk, filed.id, "chat")
    await act(services, slips.send_slip, clerk, filed.id, "fax")
    kept = await stored(services, filed.id)
    assert (kept.slip_channel, kept.slip_sent_by_id) == ("fax", clerk.id)
    assert await outbox_rows(services, text_key="return.slip") == []
    async with services.session_factory() as session:
        found = await queries.document_for_viewer(
            session, await session.get(User, clerk.id), filed.id, "return_slip"
        )
        assert found.id == filed.id
        assert queries.documents_issued(found, staff=True) == [
            "transport_order",
            "return_booking_in",
            "return_slip",
        ]
        with pytest.raises(NotFound):
            await queries.document_for_viewer(
                session, await session.get(User, clerk.id), filed.id, "nothing"
            )


async def test_the_chains_steps_count_in_each_persons_monthly_record(
    services: Services, samples: None, clock: ManualClock
) -> None:
    """P2 五: the transport order is in the after-sales head's record (read by the company
    leader), the tally and the slip in the marketing staff's (read by the business head)."""
    staff = await Staff(services).make()
    statistician = await make_user(services, "marketing_statistician", name="Tong Tally")
    clerk = await make_user(services, "marketing_clerk", name="Wen Clerk")
    filed = await booked_in(services, staff)
    await act(services, slips.tally_return, statistician, filed.id, timezone=SHANGHAI)
    clock.advance(dt.timedelta(days=2))  # past the noon after the tally
    await act(services, slips.send_slip, clerk, filed.id, "chat")
    start, end = month_bounds("2026-11", SHANGHAI)
    async with services.session_factory() as session:
        business = await personal_records.steps_of_month(
            session, start, end, personal_records.roles_read_by("business_head")
        )
        leader = await personal_records.steps_of_month(
            session, start, end, personal_records.roles_read_by("company_leader")
        )
    chain = {(s.person, s.kind, s.outcome) for s in business}
    assert ("Tong Tally", "return_tally", "on_time") in chain
    assert ("Wen Clerk", "return_slip", "late") in chain
    assert (staff.head.full_name, "return_transport_order", "on_time") in {
        (s.person, s.kind, s.outcome) for s in leader
    }


def test_the_business_head_and_an_admin_invite_the_marketing_staff() -> None:
    """The marketing statistician and clerk are of the business department (經營部營銷人員):
    its head invites them, and reads their monthly record."""
    for role in (roles.MARKETING_STATISTICIAN, roles.MARKETING_CLERK):
        assert roles.head_of(role) == roles.BUSINESS_HEAD
        assert role in roles.invitable_roles(frozenset({roles.BUSINESS_HEAD}))
        assert role in roles.invitable_roles(frozenset({roles.ADMIN}))
        assert role not in roles.invitable_roles(frozenset({roles.AFTER_SALES_HEAD}))


async def test_the_marketing_staff_find_their_step_waiting_with_its_buttons(
    services: Services, samples: None, clock: ManualClock
) -> None:
    """/returns: the statistician finds the booked-in return with *Tallied*, then the clerk
    with the ways to send the slip; the warehouse no longer sends it."""
    staff = await Staff(services).make()
    statistician = await make_user(services, "marketing_statistician")
    filed = await booked_in(services, staff)

    async def waiting(*role_names: str) -> list[list[str]]:
        async with services.session_factory() as session:
            found = await queries.waiting_for(session, frozenset(role_names))
            return [
                [b["data"] for row in queries.buttons_for(r, frozenset(role_names)) for b in row]
                for r in found
            ]

    assert await waiting("marketing_statistician") == [[f"rt:tally:{filed.id}"]]
    assert await waiting("marketing_clerk") == []
    assert f"rt:slipby:{filed.id}:chat" not in str(await waiting("warehouse"))
    await act(services, slips.tally_return, statistician, filed.id, timezone=SHANGHAI)
    assert await waiting("marketing_statistician") == []
    assert await waiting("marketing_clerk") == [
        [f"rt:slipby:{filed.id}:{channel}" for channel in ("chat", "fax", "email")]
    ]


async def test_a_return_booked_in_before_the_tally_step_keeps_its_one_slip_deadline(
    services: Services, samples: None, clock: ManualClock
) -> None:
    """A slip already due from an earlier booking in (the migration hands it to the clerk) is
    the one the clerk meets: the tally opens no second one."""
    staff = await Staff(services).make()
    statistician = await make_user(services, "marketing_statistician")
    clerk = await make_user(services, "marketing_clerk")
    filed = await booked_in(services, staff)
    legacy_due = dt.datetime(2026, 11, 27, 12, 0, tzinfo=SHANGHAI)
    async with services.unit_of_work() as uow:
        kept = await uow.session.get(ReturnRequest, filed.id)
        assert kept is not None
        open_step(uow.session, kept, RETURN_SLIP, uow.clock.now(), due=legacy_due)
        await uow.commit()
    clock.advance(dt.timedelta(hours=2))
    await act(services, slips.tally_return, statistician, filed.id, timezone=SHANGHAI)
    await act(services, slips.send_slip, clerk, filed.id, "chat")
    async with services.session_factory() as session:
        found = list(await session.scalars(select(Deadline).where(Deadline.kind == "return_slip")))
    assert [(d.due_at, d.met_by_id) for d in found] == [(legacy_due, clerk.id)]
