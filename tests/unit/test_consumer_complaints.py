"""Consumer complaints (P2, 4.3): filing, after-sales' judgement, the business head's decision on
an unresolved one, the answers' deadlines, and the monthly summary's figures."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.documents import document_context
from bot.services import Services
from procedures.consumer_complaints import handling, intake, monthly
from procedures.consumer_complaints import queries as consumer_queries
from procedures.consumer_complaints.common import ConsumerComplaintDraft
from procedures.consumer_complaints.rules import ConsumerDeadline
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import NotAllowed, WrongState
from reports import consumer_complaints as consumer_reports
from reports.documents import render
from storage.models import ConsumerComplaint, Deadline, Photo, Product, ReturnRequest, User
from tests.conftest import SHANGHAI

from .helpers import act, make_user, outbox_rows


async def product_id(services: Services, code: str = "P-2001") -> int:
    async with services.session_factory() as session:
        return await session.scalar(select(Product.id).where(Product.code == code))


async def file_as_consumer(
    services: Services, consumer: User, product: str = "P-2001", **draft: object
) -> ConsumerComplaint:
    defaults: dict[str, object] = {
        "product_id": await product_id(services, product),
        "description": "The cuff tore on the second day.",
        "contact": "138 0000 0000",
        "photo_file_ids": ["cuff-photo"],
    }
    outcome = await act(
        services,
        intake.file_consumer_complaint,
        consumer,
        ConsumerComplaintDraft(**{**defaults, **draft}),  # type: ignore[arg-type]
    )
    return outcome.complaint


async def deadline_of(services: Services, complaint_id: int, kind: str) -> Deadline:
    async with services.session_factory() as session:
        deadline = await session.scalar(
            select(Deadline).where(
                Deadline.subject_type == "consumer_complaint",
                Deadline.subject_id == complaint_id,
                Deadline.kind == kind,
            )
        )
    assert deadline is not None
    return deadline


async def stored(services: Services, complaint_id: int) -> ConsumerComplaint:
    async with services.session_factory() as session:
        complaint = await session.get(ConsumerComplaint, complaint_id)
    assert complaint is not None
    return complaint


async def sweep(services: Services) -> None:
    async with services.unit_of_work() as uow:
        await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
        await uow.commit()


@pytest.fixture
async def people(services: Services, samples: None) -> dict[str, User]:
    return {
        "consumer": await make_user(services, "consumer", name="Xu Consumer"),
        "after_sales": await make_user(services, "after_sales", name="An After-sales"),
        "after_sales_head": await make_user(services, "after_sales_head", name="Ai Head"),
        "business_head": await make_user(services, "business_head", name="Bai Business"),
        "quality": await make_user(services, "quality", name="Qiu QC"),
        "company_leader": await make_user(services, "company_leader", name="Lu Leader"),
    }


async def test_a_consumer_files_and_after_sales_is_asked_to_judge_within_a_day(
    services: Services, people: dict[str, User]
) -> None:
    complaint = await file_as_consumer(services, people["consumer"])
    assert complaint.number == "CC-2026-00001"
    assert (complaint.status, complaint.channel) == ("open", "chat")
    assert (complaint.consumer_id, complaint.consumer_name) == (
        people["consumer"].id,
        "Xu Consumer",
    )
    first = await deadline_of(services, complaint.id, ConsumerDeadline.FIRST_ANSWER)
    assert first.responsible_role == "after_sales"
    assert first.due_at - first.opened_at == dt.timedelta(hours=24)
    (notice,) = await outbox_rows(services, text_key="consumer.new_for_after_sales")
    assert notice.user_id == people["after_sales"].id
    assert notice.buttons == [
        [{"text_key": "consumer.button.judge", "params": {}, "data": f"cc:judge:{complaint.id}"}]
    ]
    async with services.session_factory() as session:
        photos = list(await session.scalars(select(Photo.telegram_file_id)))
    assert photos == ["cuff-photo"]


async def test_a_complaint_that_does_not_stand_gets_a_polite_answer_recorded_and_sent(
    services: Services, people: dict[str, User]
) -> None:
    complaint = await file_as_consumer(services, people["consumer"])
    outcome = await act(
        services,
        handling.answer_not_standing,
        people["after_sales"],
        complaint.id,
        cause="usage",
        answer="The cuff is washable by hand only; we will gladly show you how.",
    )
    assert outcome.reached_consumer
    after = await stored(services, complaint.id)
    assert (after.status, after.verdict, after.final_verdict, after.cause) == (
        "closed",
        "not_standing",
        "not_standing",
        "usage",
    )
    assert after.answered_by_id == people["after_sales"].id
    (answer,) = await outbox_rows(services, text_key="consumer.answer_not_standing")
    assert answer.user_id == people["consumer"].id
    assert answer.params["answer"].startswith("The cuff is washable")
    first = await deadline_of(services, complaint.id, ConsumerDeadline.FIRST_ANSWER)
    assert first.met_at is not None and first.met_late is False
    assert first.met_by_id == people["after_sales"].id


async def agreed(
    services: Services, people: dict[str, User], remedy: str, answer: str
) -> ConsumerComplaint:
    """A consumer's complaint that after-sales found standing (product quality), with the
    remedy agreed and the answer given."""
    complaint = await file_as_consumer(services, people["consumer"])
    await act(
        services,
        handling.agree_remedy,
        people["after_sales"],
        complaint.id,
        cause="quality",
        remedy=remedy,
        answer=answer,
    )
    return complaint


async def test_a_standing_complaint_is_apologised_for_and_goods_coming_back_go_to_qc(
    services: Services, people: dict[str, User]
) -> None:
    answer = "Please send it to us; a new one goes out the day it arrives."
    complaint = await agreed(services, people, "mail_back", answer)
    after = await stored(services, complaint.id)
    assert (after.status, after.verdict, after.remedy) == ("closed", "standing", "mail_back")
    (answer,) = await outbox_rows(services, text_key="consumer.answer_standing")
    assert answer.params["remedy"] == {
        "$text": "consumer.remedy_line",
        "params": {"remedy": {"$text": "consumer.remedy.mail_back"}},
    }
    told = {m.user_id for m in await outbox_rows(services, text_key="consumer.goods_coming_back")}
    assert told == {people["quality"].id, people["after_sales_head"].id}

    # after-sales has a day to file the return that takes them (company-internal)
    async with services.session_factory() as session:
        filing = await session.scalar(
            select(Deadline).where(Deadline.kind == "consumer_return_filed")
        )
    assert (filing.responsible_role, filing.met_at) == ("after_sales", None)

    # the goods of a quality complaint go the quality way (4.3.3 -> 4.2.6): not as unsalable
    async with services.unit_of_work() as uow:
        with pytest.raises(WrongState) as unsalable:
            await handling.link_return(
                uow.session, complaint.id, "RT-2026-00006", uow.clock.now(), quality_return=False
            )
    assert unsalable.value.text_key == "consumer.return_must_be_quality"
    # the hand-off: the return that takes the goods is named once, meeting the deadline
    async with services.unit_of_work() as uow:
        await handling.link_return(
            uow.session, complaint.id, "RT-2026-00007", uow.clock.now(), quality_return=True
        )
        await uow.commit()
    assert (await stored(services, complaint.id)).return_number == "RT-2026-00007"
    async with services.session_factory() as session:
        assert (await session.get(Deadline, filing.id)).met_at is not None
    async with services.unit_of_work() as uow:
        with pytest.raises(WrongState):
            await handling.link_return(
                uow.session, complaint.id, "RT-2026-00008", uow.clock.now(), quality_return=True
            )


async def test_the_return_after_sales_files_for_the_goods_is_named_on_the_complaint_once(
    services: Services, people: dict[str, User]
) -> None:
    from procedures.returns import intake as returns

    from .helpers import ids

    complaint = await agreed(services, people, "return", "Please bring it to the shop.")
    organisation_id, _, batch_id = await ids(services, "C001", "P-2001", "BP2026A07")
    draft = returns.ReturnDraft(
        organisation_id,
        "quality",
        channel="phone",
        lines=[{"batch_id": batch_id, "quantity": 1}],
        consumer_complaint_id=complaint.id,
    )
    filed = await act(
        services, returns.file_return, people["after_sales"], draft, timezone=SHANGHAI
    )
    assert filed.consumer_complaint == complaint.number
    assert (await stored(services, complaint.id)).return_number == filed.request.number
    # a second return for the same goods is refused whole: no RT number is used up
    with pytest.raises(WrongState) as second:
        await act(services, returns.file_return, people["after_sales"], draft, timezone=SHANGHAI)
    assert second.value.text_key == "consumer.return_already_linked"
    async with services.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(ReturnRequest)) == 1
    # and only after-sales may tie a return to it
    async with services.session_factory() as session:
        consumer = await session.get(User, people["consumer"].id)
        with pytest.raises(NotAllowed):
            await handling.complaint_for_return(session, consumer, complaint.id)


async def test_a_discount_brings_no_goods_back(services: Services, people: dict[str, User]) -> None:
    complaint = await file_as_consumer(services, people["consumer"])
    await act(
        services,
        handling.agree_remedy,
        people["after_sales"],
        complaint.id,
        cause="quality",
        remedy="discount",
        answer="We refund 20 % of the price.",
    )
    assert await outbox_rows(services, text_key="consumer.goods_coming_back") == []
    async with services.unit_of_work() as uow:
        with pytest.raises(WrongState):
            await handling.link_return(
                uow.session, complaint.id, "RT-2026-00001", uow.clock.now(), quality_return=True
            )


async def test_only_after_sales_judge_and_only_once(
    services: Services, people: dict[str, User]
) -> None:
    complaint = await file_as_consumer(services, people["consumer"])
    for who in ("consumer", "business_head", "quality"):
        with pytest.raises(NotAllowed):
            await act(
                services,
                handling.answer_not_standing,
                people[who],
                complaint.id,
                cause="other",
                answer="no",
            )
    await act(
        services,
        handling.answer_not_standing,
        people["after_sales"],
        complaint.id,
        cause="other",
        answer="no",
    )
    with pytest.raises(WrongState):
        await act(
            services,
            handling.agree_remedy,
            people["after_sales_head"],
            complaint.id,
            cause="quality",
            remedy="exchange",
            answer="yes",
        )
    with pytest.raises(WrongState):  # never escalated: nothing for the business head
        await act(
            services,
            handling.decide,
            people["business_head"],
            complaint.id,
            verdict="standing",
            remedy="exchange",
            decision="yes",
        )


async def test_an_unresolved_complaint_is_decided_by_the_business_head_and_answered_by_after_sales(
    services: Services, people: dict[str, User], clock: ManualClock
) -> None:
    complaint = await file_as_consumer(services, people["consumer"])
    clock.advance(dt.timedelta(hours=2))
    escalated = await act(
        services,
        handling.escalate_to_business_head,
        people["after_sales"],
        complaint.id,
        cause="quality",
        note="The consumer wants the full price back after a year of use.",
    )
    assert escalated.decision_due == clock.now() + dt.timedelta(days=3)
    (interim,) = await outbox_rows(services, text_key="consumer.answer_escalated")
    assert interim.user_id == people["consumer"].id
    (to_head,) = await outbox_rows(services, text_key="consumer.escalated_to_business")
    assert to_head.user_id == people["business_head"].id
    assert to_head.buttons[0][0]["data"] == f"cc:decide:{complaint.id}"
    first = await deadline_of(services, complaint.id, ConsumerDeadline.FIRST_ANSWER)
    assert (first.met_late, first.met_by_id) == (False, people["after_sales"].id)

    with pytest.raises(NotAllowed):
        await act(
            services,
            handling.decide,
            people["after_sales"],
            complaint.id,
            verdict="standing",
            remedy="discount",
            decision="half",
        )
    clock.advance(dt.timedelta(days=1))
    decided = await act(
        services,
        handling.decide,
        people["business_head"],
        complaint.id,
        verdict="standing",
        remedy="discount",
        decision="A 30 % refund as a gesture; the cuff's wear is normal after a year.",
    )
    assert decided.answer_due == clock.now() + dt.timedelta(hours=24)
    decision = await deadline_of(services, complaint.id, ConsumerDeadline.DECISION)
    assert (decision.responsible_role, decision.met_late, decision.met_by_id) == (
        "business_head",
        False,
        people["business_head"].id,
    )
    (to_after_sales,) = await outbox_rows(services, text_key="consumer.decided_for_after_sales")
    assert to_after_sales.buttons[0][0]["data"] == f"cc:answer:{complaint.id}"
    assert await outbox_rows(services, text_key="consumer.answer_final") == []

    await act(
        services,
        handling.answer_after_decision,
        people["after_sales"],
        complaint.id,
        "We refund 30 % of the price to your account this week.",
    )
    after = await stored(services, complaint.id)
    assert (after.status, after.verdict, after.decision_verdict, after.final_verdict) == (
        "closed",
        "unresolved",
        "standing",
        "standing",
    )
    (final,) = await outbox_rows(services, text_key="consumer.answer_final")
    assert final.user_id == people["consumer"].id
    final_answer = await deadline_of(services, complaint.id, ConsumerDeadline.FINAL_ANSWER)
    assert final_answer.met_by_id == people["after_sales"].id


async def test_the_first_answer_is_reminded_at_75_percent_and_alerted_to_the_head_after(
    services: Services, people: dict[str, User], clock: ManualClock
) -> None:
    complaint = await file_as_consumer(services, people["consumer"])
    clock.advance(dt.timedelta(hours=17, minutes=59))
    await sweep(services)
    assert await outbox_rows(services, text_key="deadline.reminder") == []
    clock.advance(dt.timedelta(minutes=1))
    await sweep(services)
    (reminder,) = await outbox_rows(services, text_key="deadline.reminder")
    assert reminder.user_id == people["after_sales"].id
    assert reminder.params["kind"] == {"$text": "deadline.kind.consumer_first_answer"}
    clock.advance(dt.timedelta(hours=6, minutes=1))
    await sweep(services)
    await sweep(services)  # twice: the same alert once
    alerted = {m.user_id for m in await outbox_rows(services, text_key="deadline.overdue")}
    assert alerted == {people["after_sales"].id, people["after_sales_head"].id}

    await act(
        services,
        handling.escalate_to_business_head,
        people["after_sales"],
        complaint.id,
        cause="service",
        note="late, and unresolved",
    )
    first = await deadline_of(services, complaint.id, ConsumerDeadline.FIRST_ANSWER)
    assert first.met_late is True
    clock.advance(dt.timedelta(days=3))
    await sweep(services)
    decision_alerts = {
        m.user_id
        for m in await outbox_rows(services, text_key="deadline.overdue")
        if m.params["kind"] == {"$text": "deadline.kind.consumer_decision"}
    }
    assert decision_alerts == {people["business_head"].id, people["company_leader"].id}


async def test_a_call_taken_by_after_sales_is_answered_by_phone(
    services: Services, people: dict[str, User]
) -> None:
    with pytest.raises(NotAllowed):  # a consumer files their own, in the chat
        await act(
            services,
            intake.file_consumer_complaint,
            people["consumer"],
            ConsumerComplaintDraft(
                channel="phone", consumer_name="Ma", contact="1", product_text="x"
            ),
        )
    outcome = await act(
        services,
        intake.file_consumer_complaint,
        people["after_sales"],
        ConsumerComplaintDraft(
            channel="phone",
            consumer_name="Ma Lin",
            contact="139 1111 2222",
            product_text="a blood pressure cuff from a fair",
            description="It shows errors.",
        ),
    )
    complaint = outcome.complaint
    assert (complaint.consumer_id, complaint.product_id, complaint.product_text) == (
        None,
        None,
        "a blood pressure cuff from a fair",
    )
    answered = await act(
        services,
        handling.agree_remedy,
        people["after_sales"],
        complaint.id,
        cause="quality",
        remedy="exchange",
        answer="A new one is on its way.",
    )
    assert answered.reached_consumer is False
    assert await outbox_rows(services, text_key="consumer.answer_standing") == []


async def test_the_monthly_summary_counts_standing_remedies_products_and_causes(
    services: Services, people: dict[str, User], clock: ManualClock
) -> None:
    judge = people["after_sales"]
    standing = await file_as_consumer(services, people["consumer"])
    await act(
        services,
        handling.agree_remedy,
        judge,
        standing.id,
        cause="quality",
        remedy="exchange",
        answer="ok",
    )
    other = await file_as_consumer(services, people["consumer"], product="P-1001")
    await act(services, handling.answer_not_standing, judge, other.id, cause="usage", answer="no")
    escalated = await file_as_consumer(services, people["consumer"])
    await act(
        services, handling.escalate_to_business_head, judge, escalated.id, cause="quality", note="?"
    )
    clock.advance(dt.timedelta(days=2))
    await file_as_consumer(services, people["consumer"])  # still open: late by the month's end
    clock.set(dt.datetime(2026, 12, 1, 8, tzinfo=SHANGHAI))
    await file_as_consumer(services, people["consumer"])  # December's

    start, end = (
        dt.datetime(2026, 11, 1, tzinfo=SHANGHAI),
        dt.datetime(2026, 12, 1, tzinfo=SHANGHAI),
    )
    async with services.session_factory() as session:
        complaints, first_answers = await consumer_queries.complaints_of_month(session, start, end)
    figures = consumer_reports.month_figures(complaints, first_answers)
    assert (figures.total, figures.standing, figures.not_standing, figures.pending) == (4, 1, 1, 2)
    assert figures.standing_rate == 0.5 and figures.escalated == 1
    assert (figures.first_answers_on_time, figures.first_answers) == (3, 3)
    assert figures.remedies == {"exchange": 1}
    assert figures.by_product == {"一次性使用無菌注射器 5ml": (1, 0), "電子血壓計 BP-200": (3, 1)}
    assert figures.by_cause == {"": (1, 0), "quality": (2, 1), "usage": (1, 0)}

    async with services.unit_of_work() as uow:
        queued = await monthly.queue_monthly_summary(uow, timezone=SHANGHAI)
        again = await monthly.queue_monthly_summary(uow, timezone=SHANGHAI)
        await uow.commit()
    assert (queued, again) == (1, 0)
    # the business head gets it from the after-sales head (4.4), not from the scheduler
    rows = await outbox_rows(services, text_key="consumer.summary_ready")
    assert {r.user_id for r in rows} == {people["after_sales_head"].id}
    assert rows[0].attachment == {
        "kind": "consumer_complaint_monthly",
        "params": {"period": "2026-11"},
    }
    async with services.session_factory() as session:
        document = await render(session, rows[0].attachment, document_context(services, "en"))
    assert document.file_name == "consumer-complaints-2026-11.xlsx"
    summary = load_workbook(io.BytesIO(document.content))["Summary"]
    figures_shown = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row[0]}
    assert figures_shown["Standing rate"] == "50%"
    assert figures_shown["First answers in time"] == "3/3"
    assert figures_shown["exchange"] == 1 and figures_shown["product quality"] == 2


async def test_a_consumer_complaint_is_kept_its_facts_and_answer_fixed(
    services: Services, people: dict[str, User]
) -> None:
    from sqlalchemy import delete, update

    from .test_records_kept import refused

    complaint = await file_as_consumer(services, people["consumer"])
    await act(
        services,
        handling.answer_not_standing,
        people["after_sales"],
        complaint.id,
        cause="usage",
        answer="no",
    )
    await refused(services, delete(ConsumerComplaint))
    await refused(services, update(ConsumerComplaint).values(description="nothing happened"))
    await refused(services, update(ConsumerComplaint).values(answer="yes after all"))
    await refused(services, update(ConsumerComplaint).values(verdict="standing"))
    async with services.session_factory() as session:  # what is still empty may be given
        await session.execute(update(ConsumerComplaint).values(return_number="RT-2026-00001"))
        await session.commit()
