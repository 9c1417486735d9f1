"""The after-sales head's monthly duties on consumer complaints (P2 4.3.4, 4.4): the month's
summary asks for the improvement proposals (改善辦法和方案) by a deadline; they are kept and shown
with the next month's summary; the head passes the summary on to the business head."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.documents import document_context
from bot.services import Services
from core.services import load_policies
from procedures.consumer_complaints import monthly
from procedures.consumer_complaints.policy import ConsumerComplaintPolicy
from procedures.consumer_complaints.rules import MonthlyReviewDeadline
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound, WrongState
from reports.documents import render
from storage.models import ConsumerMonthlyReview, Deadline, User
from tests.conftest import SHANGHAI

from .helpers import act, make_user, outbox_rows

DECEMBER_1 = dt.datetime(2026, 12, 1, 8, tzinfo=SHANGHAI)
JANUARY_1 = dt.datetime(2027, 1, 1, 8, tzinfo=SHANGHAI)
PROPOSALS = "Print the cuff's care instructions on the box; train the shops on fitting it."


@pytest.fixture
async def people(services: Services, samples: None) -> dict[str, User]:
    return {
        "after_sales_head": await make_user(services, "after_sales_head", name="Ai Head"),
        "business_head": await make_user(services, "business_head", name="Bai Business"),
        "after_sales": await make_user(services, "after_sales", name="An After-sales"),
        "company_leader": await make_user(services, "company_leader", name="Lu Leader"),
    }


async def send_summary(services: Services) -> int:
    async with services.unit_of_work() as uow:
        queued = await monthly.queue_monthly_summary(uow, timezone=SHANGHAI)
        await uow.commit()
    return queued


async def review_deadlines(services: Services) -> dict[str, Deadline]:
    async with services.session_factory() as session:
        rows = await session.scalars(
            select(Deadline).where(Deadline.subject_type == monthly.SUBJECT)
        )
        return {row.kind: row for row in rows}


async def sweep(services: Services) -> None:
    async with services.unit_of_work() as uow:
        await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
        await uow.commit()


async def test_the_summary_asks_the_after_sales_head_for_proposals_within_a_week(
    services: Services, people: dict[str, User], clock: ManualClock
) -> None:
    clock.set(DECEMBER_1)
    assert await send_summary(services) == 1
    assert await send_summary(services) == 0  # once a month
    (row,) = await outbox_rows(services, text_key="consumer.summary_ready")
    assert row.user_id == people["after_sales_head"].id
    assert row.attachment == {"kind": "consumer_complaint_monthly", "params": {"period": "2026-11"}}
    assert [[b["data"] for b in line] for line in row.buttons] == [
        ["cc:prop:2026-11"],
        ["cc:fwd:2026-11"],
    ]
    assert row.params["earlier"] == {
        "$text": "consumer.summary_no_earlier_proposals",
        "params": {"period": "2026-10"},
    }
    found = await review_deadlines(services)
    proposals = found[MonthlyReviewDeadline.PROPOSALS]
    forwarded = found[MonthlyReviewDeadline.FORWARDED]
    assert proposals.responsible_role == forwarded.responsible_role == "after_sales_head"
    assert proposals.due_at == DECEMBER_1 + dt.timedelta(days=7)
    assert forwarded.due_at == DECEMBER_1 + dt.timedelta(days=3)
    async with services.session_factory() as session:
        reviews = list(await session.scalars(select(ConsumerMonthlyReview)))
    assert [(r.period, r.proposals) for r in reviews] == [("2026-11", None)]


def test_the_windows_are_a_week_and_three_days_unless_configured() -> None:
    defaults = load_policies({}).of(ConsumerComplaintPolicy)
    assert defaults.proposals_within == dt.timedelta(days=7)
    assert defaults.forward_within == dt.timedelta(days=3)
    configured = load_policies(
        {"CONSUMER_PROPOSALS_DAYS": "10", "CONSUMER_SUMMARY_FORWARD_DAYS": "1"}
    ).of(ConsumerComplaintPolicy)
    assert configured.proposals_within == dt.timedelta(days=10)
    assert configured.forward_within == dt.timedelta(days=1)


async def test_the_proposals_are_kept_once_and_shown_with_the_next_months_summary(
    services: Services, people: dict[str, User], clock: ManualClock
) -> None:
    head = people["after_sales_head"]
    clock.set(DECEMBER_1)
    await send_summary(services)
    clock.advance(dt.timedelta(days=2))
    await act(services, monthly.record_proposals, head, "2026-11", f"  {PROPOSALS}  ")
    with pytest.raises(WrongState) as again:
        await act(services, monthly.record_proposals, head, "2026-11", "something else")
    assert again.value.text_key == "consumer.proposals_already"
    assert again.value.params["head"] == "Ai Head"
    async with services.session_factory() as session:
        review = await session.scalar(select(ConsumerMonthlyReview))
    assert (review.proposals, review.proposed_by_id) == (PROPOSALS, head.id)
    assert review.proposed_at == DECEMBER_1 + dt.timedelta(days=2)
    proposals = (await review_deadlines(services))[MonthlyReviewDeadline.PROPOSALS]
    assert proposals.met_at is not None and not proposals.met_late

    # November's own summary (asked for again) holds its proposals
    async with services.session_factory() as session:
        document = await render(
            session,
            {"kind": "consumer_complaint_monthly", "params": {"period": "2026-11"}},
            document_context(services, "en"),
        )
    rows = list(load_workbook(io.BytesIO(document.content))["Summary"].iter_rows(values_only=True))
    assert ("2026-11", PROPOSALS, "Ai Head", "2026-12-03 08:00", None, None) in rows

    # December's summary quotes November's proposals, in the message and in the workbook
    clock.set(JANUARY_1)
    await send_summary(services)
    (row,) = [
        r
        for r in await outbox_rows(services, text_key="consumer.summary_ready")
        if r.params["period"] == "2026-12"
    ]
    assert row.params["earlier"] == {
        "$text": "consumer.summary_earlier_proposals",
        "params": {"period": "2026-11", "head": "Ai Head", "proposals": PROPOSALS},
    }
    async with services.session_factory() as session:
        document = await render(session, row.attachment, document_context(services, "en"))
    rows = list(load_workbook(io.BytesIO(document.content))["Summary"].iter_rows(values_only=True))
    assert "Month of the proposals" in rows[-3]
    assert rows[-2][:3] == ("2026-11", PROPOSALS, "Ai Head")
    assert rows[-1][:2] == ("2026-12", "none recorded")


async def test_the_business_head_gets_the_summary_from_the_head_naming_who_sent_it(
    services: Services, people: dict[str, User], clock: ManualClock
) -> None:
    head = people["after_sales_head"]
    clock.set(DECEMBER_1)
    await send_summary(services)
    assert not [
        r
        for r in await outbox_rows(services, user_id=people["business_head"].id)
        if r.text_key.startswith("consumer.")
    ]
    await act(services, monthly.forward_summary, head, "2026-11")
    (sent,) = await outbox_rows(services, text_key="consumer.summary_forwarded")
    assert sent.user_id == people["business_head"].id
    assert sent.params == {"period": "2026-11", "head": "Ai Head"}
    assert sent.attachment == {
        "kind": "consumer_complaint_monthly",
        "params": {"period": "2026-11"},
    }
    with pytest.raises(WrongState) as twice:
        await act(services, monthly.forward_summary, head, "2026-11")
    assert twice.value.text_key == "consumer.summary_already_forwarded"
    assert len(await outbox_rows(services, text_key="consumer.summary_forwarded")) == 1
    forwarded = (await review_deadlines(services))[MonthlyReviewDeadline.FORWARDED]
    assert forwarded.met_at == DECEMBER_1 and forwarded.met_by_id == head.id

    # proposals written after the hand-over follow it to the business head
    await act(services, monthly.record_proposals, head, "2026-11", PROPOSALS)
    (follow,) = await outbox_rows(services, text_key="consumer.proposals_for_business")
    assert follow.user_id == people["business_head"].id
    assert follow.params["proposals"] == PROPOSALS


async def test_only_the_after_sales_head_writes_proposals_or_passes_the_summary_on(
    services: Services, people: dict[str, User], clock: ManualClock
) -> None:
    clock.set(DECEMBER_1)
    await send_summary(services)
    for who in ("business_head", "after_sales", "company_leader"):
        with pytest.raises(NotAllowed):
            await act(services, monthly.record_proposals, people[who], "2026-11", PROPOSALS)
        with pytest.raises(NotAllowed):
            await act(services, monthly.forward_summary, people[who], "2026-11")
    with pytest.raises(InvalidInput):
        await act(services, monthly.record_proposals, people["after_sales_head"], "2026-11", " ")
    async with services.session_factory() as session:
        review = await session.scalar(select(ConsumerMonthlyReview))
    assert (review.proposals, review.forwarded_at) == (None, None)
    assert not await outbox_rows(services, text_key="consumer.summary_forwarded")


async def test_a_month_never_summed_up_cannot_be_answered(
    services: Services, people: dict[str, User], clock: ManualClock
) -> None:
    with pytest.raises(NotFound) as missing:
        await act(services, monthly.forward_summary, people["after_sales_head"], "2026-05")
    assert missing.value.text_key == "consumer.review_not_found"


async def test_proposals_not_written_in_time_alert_the_head_and_the_company_leader(
    services: Services, people: dict[str, User], clock: ManualClock
) -> None:
    clock.set(DECEMBER_1)
    await send_summary(services)
    clock.set(DECEMBER_1 + dt.timedelta(days=3, minutes=1))
    await sweep(services)
    late_hand_over = await outbox_rows(services, text_key="deadline.overdue")
    assert {r.user_id for r in late_hand_over} == {
        people["after_sales_head"].id,
        people["company_leader"].id,
        people["business_head"].id,  # waiting for the month's information
    }
    assert {r.params["kind"]["$text"] for r in late_hand_over} == {
        "deadline.kind.consumer_summary_forwarded"
    }
    clock.set(DECEMBER_1 + dt.timedelta(days=7, minutes=1))
    await sweep(services)
    late_proposals = [
        r
        for r in await outbox_rows(services, text_key="deadline.overdue")
        if r.params["kind"]["$text"] == "deadline.kind.consumer_improvement_proposals"
    ]
    assert {r.user_id for r in late_proposals} == {
        people["after_sales_head"].id,
        people["company_leader"].id,
    }
    assert {r.params["subject"] for r in late_proposals} == {"2026-11"}
    # written late, the proposals are kept and the deadline shows it was late
    await act(services, monthly.record_proposals, people["after_sales_head"], "2026-11", PROPOSALS)
    proposals = (await review_deadlines(services))[MonthlyReviewDeadline.PROPOSALS]
    assert proposals.met_late
