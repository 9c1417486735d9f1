"""P2 4.2.1–4.2.3 with an injected clock: a request keyed in by staff keeps its channel and the
time it was received, which starts its clocks; after-sales confirm its receipt (確認簽收) by the
next working day; finance reviews an exchange's figures before after-sales signs, one person
one seat."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures.kernel.errors import InvalidInput, NotAllowed, WrongState
from procedures.kernel.received import parse_received_at
from procedures.kernel.timeline import events_of
from procedures.returns import intake, review
from procedures.returns.common import SUBJECT
from procedures.returns.intake import RECEIVED_TEXTS, ReturnDraft, one_working_day_after
from procedures.returns.rules import ReturnStatus, Slot
from storage.models import Deadline, ReturnRequest, User
from tests.conftest import SHANGHAI, START

from .helpers import act, customer_of, ids, make_user, outbox_rows

# START is Thursday 2026-11-26 09:00 in Shanghai. C003 bought 60 of lot GL2026B12 for 2700.00
# on 2026-09-03; its contract allows exchanges up to 5 % within 90 days.
RECEIVED = dt.datetime(2026, 11, 26, 7, 30, tzinfo=SHANGHAI)  # faxed before office hours


async def keyed(
    services: Services,
    filer: User,
    *,
    channel: str = "fax",
    received: dt.datetime | None = RECEIVED,
    reason: str = "unsalable",
    quantity: int = 2,
) -> ReturnRequest:
    organisation_id, _, batch_id = await ids(services, "C003", "P-2002", "GL2026B12")
    draft = ReturnDraft(
        organisation_id,
        reason,
        channel=channel,
        received_at=received.astimezone(dt.UTC).isoformat() if received else None,
        lines=[{"batch_id": batch_id, "quantity": quantity}],
    )
    filed = await act(services, intake.file_return, filer, draft, timezone=SHANGHAI)
    return filed.request


async def stored(services: Services, return_id: int) -> ReturnRequest:
    async with services.session_factory() as session:
        return await session.get(ReturnRequest, return_id)


async def deadlines(services: Services) -> dict[str, Deadline]:
    async with services.session_factory() as session:
        return {d.kind: d for d in await session.scalars(select(Deadline).order_by(Deadline.id))}


async def timeline(services: Services, return_id: int) -> list[tuple[str, dict]]:
    async with services.session_factory() as session:
        return [(e.action, e.after or {}) for e in await events_of(session, SUBJECT, return_id)]


def test_the_received_time_is_read_as_local_time_and_refused_in_the_future_or_long_ago() -> None:
    now = START.astimezone(dt.UTC)
    assert parse_received_at("2026-11-25 17:45", now, SHANGHAI, RECEIVED_TEXTS) == dt.datetime(
        2026, 11, 25, 9, 45, tzinfo=dt.UTC
    )
    assert parse_received_at(
        " 2026/11/26 08:05 ", now, SHANGHAI, RECEIVED_TEXTS
    ) == RECEIVED.replace(hour=8, minute=5)
    assert parse_received_at("07:30", now, SHANGHAI, RECEIVED_TEXTS) == RECEIVED  # today
    assert (
        parse_received_at("09:00", now, SHANGHAI, RECEIVED_TEXTS) == now
    )  # exactly now is not the future
    with pytest.raises(InvalidInput) as future:
        parse_received_at("2026-11-26 09:01", now, SHANGHAI, RECEIVED_TEXTS)
    assert future.value.text_key == "return.received_in_future"
    assert future.value.params == {"now": {"$time": now.isoformat()}}
    with pytest.raises(InvalidInput) as early:
        parse_received_at("2026-10-26 08:59", now, SHANGHAI, RECEIVED_TEXTS)
    assert (early.value.text_key, early.value.params) == ("return.received_too_early", {"days": 30})
    for typo in ("yesterday", "2026-11-31 10:00", "25:00", "2026-11-25"):
        with pytest.raises(InvalidInput) as bad:
            parse_received_at(typo, now, SHANGHAI, RECEIVED_TEXTS)
        assert bad.value.text_key == "return.bad_received_at", typo


def test_a_receipt_is_due_by_the_same_time_the_next_working_day() -> None:
    def local(day: int, hour: int) -> dt.datetime:
        return dt.datetime(2026, 11, day, hour, 0, tzinfo=SHANGHAI)

    assert one_working_day_after(local(26, 7), SHANGHAI) == local(27, 7)  # Thursday: Friday
    assert one_working_day_after(local(27, 17), SHANGHAI) == local(30, 17)  # Friday: Monday
    assert one_working_day_after(local(28, 10), SHANGHAI) == local(30, 10)  # Saturday: Monday


async def test_a_faxed_request_keeps_its_channel_and_received_time_and_waits_for_its_receipt(
    services: Services, samples: None
) -> None:
    keyer = await make_user(services, "after_sales")
    finance = await make_user(services, "finance")
    filed = await keyed(services, keyer)
    assert (filed.channel, filed.received_at, filed.filed_by_id) == ("fax", RECEIVED, keyer.id)
    assert filed.status == ReturnStatus.AWAITING_AFTER_SALES and filed.ratio_inside
    # the receipt's clock starts when the fax came in, not when it was keyed in
    receipt = (await deadlines(services))["return_receipt"]
    assert (receipt.opened_at, receipt.due_at) == (RECEIVED, RECEIVED + dt.timedelta(days=1))
    assert receipt.responsible_role == "after_sales" and receipt.met_at is None
    assert set(await deadlines(services)) == {"return_receipt"}
    (to_receive, *_) = await outbox_rows(services, text_key="return.to_receive")
    assert to_receive.params["channel"] == {"$text": "return.channel.fax"}
    assert to_receive.params["received_at"] == {"$time": RECEIVED.astimezone(dt.UTC).isoformat()}
    assert [b["data"] for b in to_receive.buttons[0]] == [f"rt:rcpt:{filed.id}"]
    assert ("registered", {"channel": "fax", "received_at": to_receive.params["received_at"]}) in (
        await timeline(services, filed.id)
    )
    # nobody reviews it before it is received: finance is not asked, signing is refused
    assert not await outbox_rows(services, text_key="return.finance_to_review")
    with pytest.raises(WrongState) as early:
        await act(services, review.finance_agrees, finance, filed.id)
    assert early.value.text_key == "return.awaiting_receipt"
    with pytest.raises(WrongState):
        await act(services, review.sign_return, keyer, filed.id)
    assert (await stored(services, filed.id)).finance_review is None


async def test_a_request_keyed_in_without_a_received_time_is_received_when_keyed(
    services: Services, samples: None
) -> None:
    filed = await keyed(services, await make_user(services, "after_sales"), received=None)
    assert filed.received_at == START
    in_the_future = START + dt.timedelta(minutes=1)
    with pytest.raises(InvalidInput):
        await keyed(services, await make_user(services, "after_sales"), received=in_the_future)
    # the consumer-complaint channel is only for the goods of a consumer complaint
    with pytest.raises(InvalidInput):
        await keyed(services, await make_user(services, "after_sales"), channel="consumer")
    # a customer in the chat gives no channel of staff, and staff none of the customer's
    async with services.session_factory() as session:
        assert len(list(await session.scalars(select(ReturnRequest)))) == 1
    with pytest.raises(NotAllowed):
        await keyed(services, await customer_of(services, "C003"))


async def test_another_after_sales_person_confirms_the_receipt_once_and_finance_is_asked(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    keyer = await make_user(services, "after_sales")
    receiver = await make_user(services, "after_sales", name="Shou Receiver")
    await make_user(services, "finance")
    filed = await keyed(services, keyer, channel="in_person")
    # the person who keyed it in stands for the computer room: not for after-sales' receipt
    with pytest.raises(NotAllowed) as own:
        await act(services, review.confirm_receipt, keyer, filed.id)
    assert own.value.text_key == "return.receipt_by_filer"
    with pytest.raises(NotAllowed):
        await act(services, review.confirm_receipt, await make_user(services, "quality"), filed.id)
    assert (await stored(services, filed.id)).receipt_confirmed_at is None

    clock.set(START + dt.timedelta(hours=2))
    received = await act(services, review.confirm_receipt, receiver, filed.id)
    assert (received.receipt_confirmed_by_id, received.receipt_confirmed_at) == (
        receiver.id,
        clock.now(),
    )
    receipt = (await deadlines(services))["return_receipt"]
    assert receipt.met_by_id == receiver.id and not receipt.met_late
    assert ("receipt_confirmed", {}) in await timeline(services, filed.id)
    # its review begins: finance is asked with the figures, a day to answer
    (to_review, *_) = await outbox_rows(services, text_key="return.finance_to_review")
    assert {k: to_review.params[k] for k in ("exchanged", "purchased", "ratio", "limit")} == {
        "exchanged": {"$text": "common.money", "params": {"amount": "90.00"}},
        "purchased": {"$text": "common.money", "params": {"amount": "2700.00"}},
        "ratio": "3.33%",
        "limit": "5.00%",
    }
    assert to_review.params["window_days"] == "90"
    assert to_review.params["channel"] == {"$text": "return.channel.in_person"}
    assert [b["data"] for b in to_review.buttons[0]] == [
        f"rt:finok:{filed.id}",
        f"rt:finno:{filed.id}",
    ]
    finance_due = (await deadlines(services))["return_finance_review"]
    assert finance_due.due_at == clock.now() + dt.timedelta(hours=24)
    # a second tap changes nothing
    with pytest.raises(WrongState) as again:
        await act(services, review.confirm_receipt, receiver, filed.id)
    assert again.value.text_key == "return.already_received"
    assert len(await outbox_rows(services, text_key="return.finance_to_review")) == 1


async def test_a_receipt_after_the_next_working_day_is_late(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    friday_evening = dt.datetime(2026, 11, 20, 17, 0, tzinfo=SHANGHAI)
    filed = await keyed(services, await make_user(services, "after_sales"), received=friday_evening)
    receipt = (await deadlines(services))["return_receipt"]
    assert receipt.due_at == dt.datetime(2026, 11, 23, 17, 0, tzinfo=SHANGHAI)
    await act(services, review.confirm_receipt, await make_user(services, "after_sales"), filed.id)
    assert (await deadlines(services))["return_receipt"].met_late


async def test_a_keyed_quality_request_goes_to_the_after_sales_head_once_received(
    services: Services, samples: None
) -> None:
    await make_user(services, "after_sales_head")
    filed = await keyed(
        services, await make_user(services, "after_sales"), channel="phone", reason="quality"
    )
    assert not await outbox_rows(services, text_key="return.quality_to_sign")
    await act(services, review.confirm_receipt, await make_user(services, "after_sales"), filed.id)
    assert await outbox_rows(services, text_key="return.quality_to_sign")
    assert (await deadlines(services))["return_review"].responsible_role == "after_sales_head"


async def test_a_customers_chat_request_needs_no_separate_receipt(
    services: Services, samples: None
) -> None:
    after_sales = await make_user(services, "after_sales")
    await make_user(services, "finance")
    filed = await keyed(services, await customer_of(services, "C003"), channel="chat")
    assert (filed.channel, filed.received_at) == ("chat", START)
    assert await outbox_rows(services, text_key="return.finance_to_review")
    assert "return_receipt" not in await deadlines(services)
    with pytest.raises(WrongState) as refused:
        await act(services, review.confirm_receipt, after_sales, filed.id)
    assert refused.value.text_key == "return.no_receipt_needed"


async def test_finance_reviews_before_after_sales_signs_and_never_signs_the_review_itself(
    services: Services, samples: None
) -> None:
    both = await make_user(services, "finance", "after_sales", name="Two Hats")
    after_sales = await make_user(services, "after_sales", name="An After-sales")
    filed = await keyed(services, await customer_of(services, "C003"), channel="chat")
    with pytest.raises(WrongState) as early:
        await act(services, review.sign_return, after_sales, filed.id)
    assert early.value.text_key == "return.awaiting_finance"
    with pytest.raises(NotAllowed):  # after-sales is not finance
        await act(services, review.finance_agrees, after_sales, filed.id)

    agreed = await act(services, review.finance_agrees, both, filed.id)
    assert (agreed.finance_review, agreed.finance_reviewed_by_id) == ("agreed", both.id)
    assert ("finance_agreed", {}) in await timeline(services, filed.id)
    to_sign = await outbox_rows(services, text_key="return.ratio_inside")
    assert {m.user_id for m in to_sign} == {after_sales.id, both.id}
    assert to_sign[0].params["finance"] == "Two Hats" and to_sign[0].params["ratio"] == "3.33%"
    with pytest.raises(WrongState):  # reviewed once
        await act(services, review.finance_agrees, both, filed.id)
    # one person, one seat: finance's reviewer does not sign after-sales' review too
    with pytest.raises(NotAllowed) as own:
        await act(services, review.sign_return, both, filed.id)
    assert own.value.text_key == "return.finance_cannot_sign"
    signed = await act(services, review.sign_return, after_sales, filed.id)
    assert signed.status == ReturnStatus.AWAITING_BUSINESS
    assert [(s.slot, s.signed_by_id) for s in signed.signatures] == [(Slot.REVIEW, after_sales.id)]
    met = await deadlines(services)
    assert met["return_finance_review"].met_by_id == both.id
    assert met["return_review"].met_by_id == after_sales.id


async def test_finance_disagreeing_refuses_the_exchange_with_its_reason_and_leaves_the_leader(
    services: Services, samples: None
) -> None:
    customer = await customer_of(services, "C003")
    after_sales = await make_user(services, "after_sales")
    finance = await make_user(services, "finance")
    leader = await make_user(services, "company_leader")
    filed = await keyed(services, customer, channel="chat")
    with pytest.raises(InvalidInput):
        await act(services, review.finance_disagrees, finance, filed.id, "  ")
    note = "October's purchases were returned on credit note CN-88: the base is 1350.00."
    refused = await act(services, review.finance_disagrees, finance, filed.id, note)
    assert (refused.status, refused.refusal) == (ReturnStatus.REFUSED, "finance_disagreed")
    assert (refused.finance_review, refused.finance_review_note) == ("disagreed", note)
    told = [
        m
        for m in await outbox_rows(services, text_key="return.refused_to_customer")
        if m.user_id == customer.id
    ]
    assert told[0].params["refusal"] == {
        "$text": "return.refusal.finance_disagreed",
        "params": {
            "exchanged": {"$text": "common.money", "params": {"amount": "90.00"}},
            "purchased": {"$text": "common.money", "params": {"amount": "2700.00"}},
            "ratio": "3.33%",
            "limit": "5.00%",
            "window_days": "90",
            "note": note,
        },
    }
    (to_staff,) = await outbox_rows(services, text_key="return.finance_disagreed_staff")
    assert to_staff.user_id == after_sales.id and to_staff.params["note"] == note
    assert [b["data"] for b in to_staff.buttons[0]] == [f"rt:leader:{filed.id}"]
    assert ("finance_disagreed", {"note": note}) in await timeline(services, filed.id)
    with pytest.raises(WrongState):  # nothing left to review, nor to sign
        await act(services, review.finance_agrees, finance, filed.id)
    with pytest.raises(WrongState):
        await act(services, review.sign_return, after_sales, filed.id)
    # a special case may still go to the company leader, with finance's reason
    await act(services, review.forward_to_leader, after_sales, filed.id)
    (special,) = await outbox_rows(services, text_key="return.special_case")
    assert special.user_id == leader.id
    assert special.params["refusal"]["params"]["note"] == note


async def test_the_new_notices_render_their_figures_in_every_language(
    services: Services, samples: None
) -> None:
    await make_user(services, "finance")
    filed = await keyed(services, await make_user(services, "after_sales"))
    await act(services, review.confirm_receipt, await make_user(services, "after_sales"), filed.id)
    rows = [
        *await outbox_rows(services, text_key="return.to_receive"),
        *await outbox_rows(services, text_key="return.finance_to_review"),
    ]
    for row in rows:
        for language in ("zh-Hant", "zh-Hans", "en"):
            text = services.texts.get(language, row.text_key, **row.params)
            assert "{" not in text and "2026-11-26 07:30" in text, (language, text)
    rendered = services.texts.get("zh-Hant", rows[-1].text_key, **rows[-1].params)
    assert "傳真" in rendered and "3.33%" in rendered


async def test_each_role_is_offered_only_the_step_that_is_open(
    services: Services, samples: None
) -> None:
    from procedures.returns.queries import buttons_for

    staff, finance = frozenset({"after_sales"}), frozenset({"finance"})

    def offered(request: ReturnRequest, role_names: frozenset[str]) -> list[str]:
        return [
            b["data"].rsplit(":", 1)[0] for row in buttons_for(request, role_names) for b in row
        ]

    keyer = await make_user(services, "after_sales")
    filed = await keyed(services, keyer)
    assert offered(filed, staff) == ["rt:rcpt"] and offered(filed, finance) == []
    await act(services, review.confirm_receipt, await make_user(services, "after_sales"), filed.id)
    received = await stored(services, filed.id)
    assert offered(received, staff) == [] and offered(received, finance) == ["rt:finok", "rt:finno"]
    await act(services, review.finance_agrees, await make_user(services, "finance"), filed.id)
    agreed = await stored(services, filed.id)
    assert offered(agreed, staff) == ["rt:sign"] and offered(agreed, finance) == []
