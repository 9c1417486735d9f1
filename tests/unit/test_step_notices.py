"""The notice that starts a step names its deadline: a reminder is never the first word of it.
Each return and vendor step is taken an hour after the one before, so every deadline falls due
at its own time, and the notice that opened it must carry exactly that time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.services import Services
from procedures.kernel.clock import ManualClock
from procedures.kernel.outbox import as_deadline
from procedures.returns import goods, review
from procedures.returns.goods import Inspection
from procedures.vendors import assessments, rectifications
from procedures.vendors import scores as vendor_scores
from storage.models import Deadline, Vendor
from tests.conftest import SHANGHAI

from .helpers import act, make_user, outbox_rows
from .test_patrols import vendor_user
from .test_return_receipt import keyed
from .test_returns import Staff, request

HOUR = dt.timedelta(hours=1)

# the deadline kind, and the notice (its text key) that starts its step
STARTED_BY = {
    "return_receipt": "return.to_receive",
    "return_finance_review": "return.finance_to_review",
    "return_review": "return.ratio_inside",
    "return_approval": "return.unsalable_to_approve",
    "return_transport_order": "return.goods_at_station",
    "return_pick_up": "return.transport_order",
    "return_inspection": "return.inspect",
    "return_booking_in": "return.ready_to_book_in",
    "return_tally": "return.to_tally",
    "rectification": "rectification.verbal",
    "score": "score.request",
    "assessment": "assessment.opened",
}
# a quality return's review is the after-sales head's, and its approval says so
QUALITY_STARTED_BY = {
    "return_review": "return.quality_to_sign",
    "return_approval": "return.quality_to_business",
}


async def open_deadlines(services: Services) -> list[Deadline]:
    async with services.session_factory() as session:
        return list(await session.scalars(select(Deadline).order_by(Deadline.id)))


async def assert_notices_name_their_deadlines(
    services: Services, started_by: dict[str, str], kinds: set[str]
) -> None:
    found = {deadline.kind: deadline for deadline in await open_deadlines(services)}
    assert kinds <= set(found), kinds - set(found)
    for kind in kinds:
        deadline = found[kind]
        notices = await outbox_rows(services, text_key=started_by[kind])
        assert notices, f"{kind}: no {started_by[kind]}"
        for notice in notices:
            assert notice.params.get("due_at") == as_deadline(deadline.due_at), (
                f"{kind}: {started_by[kind]} says {notice.params.get('due_at')!r}, "
                f"due {deadline.due_at}"
            )
        shown = services.texts.get("zh-Hant", notices[0].text_key, **notices[0].params)
        assert "{" not in shown and "前前" not in shown, shown


async def test_every_step_of_an_exchange_names_its_deadline_from_its_first_notice(
    services: Services, samples: None, clock: ManualClock
) -> None:
    staff = await Staff(services).make()
    finance = await make_user(services, "finance")
    statistician = await make_user(services, "marketing_statistician")
    filed = await keyed(services, staff.after_sales)  # faxed: after-sales confirms receipt
    for step, actor, args in [
        (review.confirm_receipt, staff.head, ()),
        (review.finance_agrees, finance, ()),
        (review.sign_return, staff.after_sales, ()),
        (review.approve_return, staff.business, ()),
        (review.countersign_return, staff.head, ()),
        (goods.record_station_notice, staff.after_sales, ()),
        (goods.issue_transport_order, staff.head, ("廣州貨運北站",)),
        (goods.confirm_pick_up, staff.driver, ()),
        (goods.confirm_delivery, staff.driver, ()),
        (goods.record_inspection, staff.qc, (Inspection("undamaged"),)),
        (goods.book_in, staff.warehouse, ()),
    ]:
        clock.advance(HOUR)
        kwargs = {"timezone": SHANGHAI} if step in (review.approve_return, goods.book_in) else {}
        await act(services, step, actor, filed.id, *args, **kwargs)
    assert statistician.id in {row.user_id for row in await outbox_rows(services)}
    await assert_notices_name_their_deadlines(
        services, STARTED_BY, {kind for kind in STARTED_BY if kind.startswith("return_")}
    )


async def test_a_quality_returns_review_and_approval_name_their_deadlines(
    services: Services, samples: None, clock: ManualClock
) -> None:
    staff = await Staff(services).make()
    filed = await request(services, 2, reason="quality")
    clock.advance(HOUR)
    await act(services, review.sign_return, staff.head, filed.id)
    await assert_notices_name_their_deadlines(
        services, QUALITY_STARTED_BY, {"return_review", "return_approval"}
    )


async def test_the_vendors_steps_name_their_deadlines(
    services: Services, samples: None, clock: ManualClock
) -> None:
    manager = await make_user(services, "equipment_manager")
    await make_user(services, "equipment_engineer")
    await vendor_user(services, "V001")
    async with services.session_factory() as session:
        v001 = await session.scalar(select(Vendor.id).where(Vendor.code == "V001"))
    await act(
        services, rectifications.raise_rectification, manager, v001, "門機", clock.now() + 50 * HOUR
    )
    clock.advance(HOUR)
    async with services.unit_of_work() as uow:
        await vendor_scores.request_monthly_scores(uow, timezone=SHANGHAI)
        await uow.commit()
    clock.advance(HOUR)
    await act(services, assessments.open_assessment, manager, 2026, 2, SHANGHAI)
    await assert_notices_name_their_deadlines(
        services, STARTED_BY, {"rectification", "score", "assessment"}
    )
