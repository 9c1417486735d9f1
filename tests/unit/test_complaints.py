"""P1 rules with an injected clock: deadlines, holds, the fan-out, returns, roles and states."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.services import Services
from core.services import load_policies
from procedures.complaints import handling, intake, queries
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound, WrongState
from procedures.kernel.timeline import events_of
from procedures.masterdata import queries as masterdata_queries
from storage.models import Batch, ReturnRequest, User

from .helpers import act, customer_of, file, ids, make_user, outbox_rows, verify

HOUR = dt.timedelta(hours=1)


async def due_of(services: Services, complaint_id: int) -> dict[str, dt.datetime]:
    async with services.session_factory() as session:
        return {d.kind: d.due_at for d in await queries.deadlines_of(session, complaint_id)}


async def test_a_local_buyer_gets_24_hours_an_out_of_town_buyer_7_days_and_everyone_3_days_for_the_opinion(
    services: Services, samples: None, clock: ManualClock
) -> None:
    local = await file(services, "C001")
    far = await file(services, "C003")
    assert await due_of(services, local.id) == {
        "on_site_verification": clock.now() + 24 * HOUR,
        "disposition_opinion": clock.now() + 72 * HOUR,
    }
    assert await due_of(services, far.id) == {
        "on_site_verification": clock.now() + 7 * 24 * HOUR,
        "disposition_opinion": clock.now() + 72 * HOUR,
        "handling_complete": clock.now() + 7 * 24 * HOUR,
    }
    assert (local.number, far.number) == ("QC-2026-00001", "QC-2026-00002")


async def test_quality_is_reminded_at_75_percent_and_alerted_with_its_head_when_verification_is_late(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality", language="en")
    head = await make_user(services, "quality_head", language="en")
    complaint = await file(services, "C001")

    async def sweep() -> None:
        async with services.unit_of_work() as uow:
            await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
            await uow.commit()

    clock.advance(18 * HOUR)
    await sweep()
    reminders = await outbox_rows(services, text_key="deadline.reminder")
    assert [(r.user_id, r.params["subject"]) for r in reminders] == [(qc.id, complaint.number)]
    assert reminders[0].params["kind"] == {"$text": "deadline.kind.on_site_verification"}
    clock.advance(6 * HOUR)
    await sweep()
    alerts = await outbox_rows(services, text_key="deadline.overdue")
    assert {a.user_id for a in alerts} == {qc.id, head.id}


async def test_the_batch_is_held_while_open_and_a_conforming_hold_lifts_with_its_own_24_hours(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    warehouse = await make_user(services, "warehouse")
    complaint = await file(services)
    async with services.session_factory() as session:
        assert await queries.is_on_hold(session, complaint.product_id, complaint.batch_id)

    await act(services, handling.take_complaint, qc, complaint.id)
    clock.advance(5 * HOUR)
    await verify(services, qc, complaint.id, "conforming")
    confirmed_at = clock.now()
    assert (await due_of(services, complaint.id))["hold_lift"] == confirmed_at + 24 * HOUR
    (lift_notice,) = await outbox_rows(
        services, text_key="complaint.lift_hold", user_id=warehouse.id
    )
    assert lift_notice.buttons[0][0]["data"] == f"wh:lift:{complaint.id}"

    clock.advance(25 * HOUR)  # late, and stays visible as late
    await act(services, handling.lift_hold, warehouse, complaint.id)
    async with services.session_factory() as session:
        assert not await queries.is_on_hold(session, complaint.product_id, complaint.batch_id)
        (lift,) = [
            d for d in await queries.deadlines_of(session, complaint.id) if d.kind == "hold_lift"
        ]
        assert lift.met_late is True


async def test_nonconforming_tells_every_other_buyer_once_and_keeps_the_batch_held(
    services: Services, samples: None
) -> None:
    qc = await make_user(services, "quality")
    c002 = [await customer_of(services, "C002"), await customer_of(services, "C002")]
    c003 = await customer_of(services, "C003")
    complaint = await file(services, "C001", quantity=12)
    await act(services, handling.take_complaint, qc, complaint.id)

    outcome = await verify(services, qc, complaint.id, "nonconforming")

    assert outcome.suspension_sent_to == ("C002", "C003")
    assert outcome.suspension_without_contact == ("C004",)  # shipped another lot, no contact
    notices = await outbox_rows(services, text_key="complaint.suspend_sales")
    assert sorted(n.user_id for n in notices) == sorted([c002[0].id, c002[1].id, c003.id])
    async with services.session_factory() as session:
        assert await queries.is_on_hold(session, complaint.product_id, complaint.batch_id)
    with pytest.raises(WrongState, match="already_verified"):
        await verify(services, qc, complaint.id, "nonconforming")
    assert len(await outbox_rows(services, text_key="complaint.suspend_sales")) == 3


@pytest.mark.parametrize(
    ("expiry", "returned"),
    [(dt.date(2026, 11, 25), False), (dt.date(2026, 11, 26), True), (None, True)],
)
async def test_the_expiry_date_decides_whether_the_buyer_gets_a_return(
    services: Services, samples: None, expiry: dt.date | None, returned: bool
) -> None:
    qc = await make_user(services, "quality")
    complaint = await file(services, "C004", lot="L20250610", quantity=8)
    async with services.unit_of_work() as uow:
        (await uow.session.get(Batch, complaint.batch_id)).expiry_date = expiry
        await uow.commit()
    await act(services, handling.take_complaint, qc, complaint.id)

    outcome = await verify(services, qc, complaint.id, "nonconforming")

    async with services.session_factory() as session:
        request = await session.scalar(
            select(ReturnRequest).where(ReturnRequest.complaint_id == complaint.id)
        )
    if returned:
        assert outcome.return_number == request.number == "RT-2026-00001"
        assert (request.reason, request.lines[0].quantity, str(request.lines[0].amount)) == (
            "quality",
            8,
            "136.00",
        )
    else:
        assert outcome.return_number is None and request is None
        (refusal,) = await outbox_rows(services, text_key="complaint.return_refused_expired")
        assert refusal.params["expiry_date"] == "2026-11-25"


async def test_roles_and_states_are_checked_on_every_step(
    services: Services, samples: None
) -> None:
    qc = await make_user(services, "quality")
    warehouse = await make_user(services, "warehouse")
    complaint = await file(services)
    customer = await customer_of(services, "C001")

    with pytest.raises(NotAllowed):
        await act(services, handling.take_complaint, customer, complaint.id)
    with pytest.raises(WrongState, match="not_taken"):
        await verify(services, qc, complaint.id, "conforming")
    with pytest.raises(WrongState, match="hold_not_liftable"):
        await act(services, handling.lift_hold, warehouse, complaint.id)
    await act(services, handling.take_complaint, qc, complaint.id)
    with pytest.raises(WrongState, match="already_taken"):
        await act(services, handling.take_complaint, qc, complaint.id)
    with pytest.raises(NotFound):
        await act(services, handling.take_complaint, qc, 999_999)
    with pytest.raises(InvalidInput, match="empty_opinion"):
        await act(services, handling.record_disposition, qc, complaint.id, "   ")


async def test_intake_refuses_lots_never_shipped_and_quantities_that_are_not_positive_or_too_large(
    services: Services, samples: None
) -> None:
    organisation_id, product_id, batch_id = await ids(services, "C001", "P-1001", "L20260301")
    async with services.session_factory() as session:
        with pytest.raises(InvalidInput, match="batch_not_shipped"):
            await masterdata_queries.find_shipped_batch(
                session, organisation_id, product_id, "L20250610"
            )
        assert (
            await masterdata_queries.find_shipped_batch(
                session, organisation_id, product_id, "l20260301"
            )
        ).id == batch_id
        for text in ("0", "-3", "two", "3.5"):
            with pytest.raises(InvalidInput, match="bad_quantity"):
                await intake.parse_quantity(session, organisation_id, batch_id, text)
        with pytest.raises(InvalidInput, match="quantity_over_shipped"):
            await intake.parse_quantity(session, organisation_id, batch_id, "201")
        assert await intake.parse_quantity(session, organisation_id, batch_id, " 200 ") == 200
        with pytest.raises(NotFound):
            await masterdata_queries.find_shipped_product(
                session, organisation_id, "P-1002"
            )  # not shipped to C001
        assert (
            await masterdata_queries.find_shipped_product(session, organisation_id, "血壓計")
        ).code == "P-2001"


async def test_an_adverse_event_flag_tells_the_quality_head_with_the_configured_deadline(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    head = await make_user(services, "quality_head")
    complaint = await file(services)
    configured = replace(services, policies=load_policies({"ADVERSE_EVENT_REPORT_DAYS": "15"}))
    await act(configured, handling.flag_adverse_event, qc, complaint.id)
    (notice,) = await outbox_rows(services, text_key="complaint.adverse_event")
    assert notice.user_id == head.id
    assert (await due_of(services, complaint.id))[
        "adverse_event_report"
    ] == clock.now() + dt.timedelta(days=15)
    with pytest.raises(WrongState, match="already_flagged"):
        await act(configured, handling.flag_adverse_event, qc, complaint.id)


async def test_an_adverse_event_is_reported_within_20_days_unless_configured(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    complaint = await file(services)
    await act(services, handling.flag_adverse_event, qc, complaint.id)
    assert (await due_of(services, complaint.id))[
        "adverse_event_report"
    ] == clock.now() + dt.timedelta(days=20)


async def test_a_customer_sees_only_their_own_organisations_complaints(
    services: Services, samples: None
) -> None:
    complaint = await file(services, "C001")
    own, other = await customer_of(services, "C001"), await customer_of(services, "C002")
    warehouse = await make_user(services, "warehouse")
    async with services.session_factory() as session:
        for viewer in (own, warehouse):
            found = await queries.complaint_for_viewer(
                session, await session.get(User, viewer.id), complaint.number.lower()
            )
            assert found.id == complaint.id
        with pytest.raises(NotFound):
            await queries.complaint_for_viewer(
                session, await session.get(User, other.id), complaint.number
            )


def test_an_overlong_opinion_is_refused_with_its_own_message() -> None:
    with pytest.raises(InvalidInput, match="opinion_too_long") as refused:
        handling.check_opinion("x" * 2001)
    assert refused.value.params == {"limit": 2000}
    assert handling.check_opinion(" " + "x" * 2000 + " ") == "x" * 2000


async def test_a_lifted_hold_is_announced_only_once_no_other_complaint_holds_the_lot(
    services: Services, samples: None
) -> None:
    qc = await make_user(services, "quality")
    warehouse = await make_user(services, "warehouse")
    business = await make_user(services, "business_head")
    first, second = await file(services, "C001"), await file(services, "C002")
    assert first.batch_id == second.batch_id
    for complaint in (first, second):
        await act(services, handling.take_complaint, qc, complaint.id)
        await verify(services, qc, complaint.id, "conforming")

    await act(services, handling.lift_hold, warehouse, first.id)
    async with services.session_factory() as session:
        assert await queries.is_on_hold(session, first.product_id, first.batch_id)
        (lifted,) = [
            e for e in await events_of(session, "complaint", first.id) if e.action == "hold_lifted"
        ]
    assert lifted.after["batch_still_held"] is True
    assert await outbox_rows(services, text_key="complaint.hold_lifted", user_id=business.id) == []

    await act(services, handling.lift_hold, warehouse, second.id)
    (notice,) = await outbox_rows(services, text_key="complaint.hold_lifted", user_id=business.id)
    assert notice.params["number"] == second.number
