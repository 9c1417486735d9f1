"""P2 4.2.1–4.2.3 end to end: a faxed exchange request keyed in with its channel and the time
it was received, its receipt confirmed by another after-sales person, finance's review with the
figures, after-sales' signature and the business head's approval."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.models import Deadline

from .conftest import BotHarness, buttons_of, register
from .test_complaints import press
from .test_returns import click, stored, text_with, with_button

RECEIVE = "Confirm receipt (確認簽收)"


async def test_a_faxed_exchange_is_keyed_in_received_reviewed_by_finance_signed_and_approved(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    keyer = await register(bot, "after_sales", "Ke Keyer")
    after_sales = await register(bot, "after_sales", "An After-sales")
    finance = await register(bot, "finance", "范財務", language="zh-Hant")
    business = await register(bot, "business_head", "Bai Business")

    # the computer room's registration: keyed in with its channel and the time the fax came in
    await keyer.send("/return_for")
    await click(bot, keyer, "C003 華南醫藥貿易公司")
    ask_channel = await with_button(bot, keyer, "fax (傳真)")
    assert ask_channel["text"] == "How did the request come in?"
    assert [label for label, _ in buttons_of(ask_channel)] == [
        "fax (傳真)",
        "phone",
        "in person (親自交予)",
    ]
    await press(keyer, ask_channel, "fax (傳真)")
    await with_button(bot, keyer, "Just now")
    await keyer.send("2026-11-26 10:00")  # the clock reads 09:00
    assert await text_with(bot, keyer, "later than now") == (
        "That time is later than now (2026-11-26 09:00): a request cannot be received in the "
        "future. Please check it."
    )
    await keyer.send("2026-11-26 08:15")
    await click(bot, keyer, "unsalable (不適銷)")
    await click(bot, keyer, "P-2002 血糖試紙 GL-50")
    await click(bot, keyer, "GL2026B12")
    await text_with(bot, keyer, "How many?")
    await keyer.send("2")
    await click(bot, keyer, "Done")
    await click(bot, keyer, "Submit")
    assert (await text_with(bot, keyer, "RT-2026-00001 received")).startswith(
        "Return RT-2026-00001 received: quantity 2 盒, amount 90.00 yuan."
    )

    # after-sales are asked to confirm receipt; the person who keyed it in may not
    to_receive = await text_with(bot, after_sales, "Please confirm receipt")
    assert to_receive == (
        "Return request RT-2026-00001 from 華南醫藥貿易公司 (unsalable (不適銷)) was keyed in: "
        "received by fax (傳真) at 2026-11-26 08:15; quantity 2 盒, amount 90.00 yuan. "
        "Please confirm receipt (確認簽收) by 08:15 on 27 November."
    )
    await click(bot, keyer, RECEIVE)
    assert (
        "another after-sales colleague confirms its receipt"
        in (await keyer.wait_for_callback_answer())["text"]
    )
    assert not [m for m in finance.all_bot_messages() if "RT-2026-00001" in str(m)]
    await click(bot, after_sales, RECEIVE)
    await text_with(bot, after_sales, "RT-2026-00001: receipt confirmed")

    # finance reviews with the figures: ratio and time limit, in finance's language
    review = await with_button(bot, finance, "同意")
    assert review["text"] == (
        "調換貨RT-2026-00001，華南醫藥貿易公司（傳真，2026-11-26 08:15收到）：數量2盒，金額90.00元。\n"
        "調換率：已調換90.00元（含本次）÷ 90天內進貨2700.00元 = 3.33%；規定5.00%。\n"
        "限期：各批號均在近90天內發貨。\n"
        "請於11月27日09:00前與售後服務科評審：同意，或說明不同意的理由。"
    )
    assert [label for label, _ in buttons_of(review)] == ["同意", "不同意"]
    assert not [m for m in after_sales.all_bot_messages() if "please review and sign" in str(m)]
    await press(finance, review, "同意")
    await text_with(bot, finance, "RT-2026-00001財務部評審同意")

    # after-sales signs, told finance agreed; the business head approves
    to_sign = await with_button(bot, after_sales, "Sign")
    assert to_sign["text"].endswith(
        "Inside the limit, and finance (范財務) agreed: please review and sign by 09:00 on 27 November."
    )
    assert "fax (傳真), received 2026-11-26 08:15" in to_sign["text"]
    await press(after_sales, to_sign, "Sign")
    await text_with(bot, after_sales, "RT-2026-00001 signed")
    assert "Exchange ratio: exchanged 90.00 yuan" in await text_with(
        bot, business, "Please approve"
    )
    await click(bot, business, "Approve and sign")
    assert (await text_with(bot, customer, "is approved")).startswith(
        "Your return RT-2026-00001 is approved: please send the goods"
    )

    request = await stored(bot, "RT-2026-00001")
    assert (request.channel, request.status, request.finance_review) == (
        "fax",
        "approved",
        "agreed",
    )
    assert request.received_at == dt.datetime(2026, 11, 26, 0, 15, tzinfo=dt.UTC)
    async with bot.services.session_factory() as session:
        kinds = {
            d.kind: d
            for d in await session.scalars(
                select(Deadline).where(Deadline.subject_id == request.id)
            )
        }
    receipt = kinds["return_receipt"]
    assert receipt.opened_at == request.received_at
    assert receipt.due_at == request.received_at + dt.timedelta(days=1)
    assert receipt.met_at is not None and not receipt.met_late
    assert kinds["return_finance_review"].met_at is not None

    # the record shows how and when it came in, who received it and finance's review
    await after_sales.send("/return RT-2026-00001")
    record = await text_with(bot, after_sales, "RT-2026-00001 — approved")
    assert "Received: 2026-11-26 08:15 (fax (傳真))\nFiled: 2026-11-26 09:00" in record
    assert "Receipt confirmed (確認簽收): An After-sales, 2026-11-26 09:00" in record
    assert "Finance review: agreed (范財務, 2026-11-26 09:00)" in record
    assert "• after-sales review: An After-sales, 2026-11-26 09:00" in record
    assert "Ke Keyer: keyed in: received by fax (傳真) at 2026-11-26 08:15" in record
    assert "An After-sales: receipt confirmed (確認簽收)" in record
    assert "范財務: finance agreed with the figures" in record


async def test_finance_disagreeing_refuses_a_chat_exchange_and_tells_the_customer_why(
    bot: BotHarness,
) -> None:
    """A customer's own chat request needs no separate receipt: finance is asked at once."""
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    finance = await register(bot, "finance", "Fan Finance")
    await customer.send("/return")
    await click(bot, customer, "unsalable (不適銷)")
    await click(bot, customer, "P-2002 血糖試紙 GL-50")
    await click(bot, customer, "GL2026B12")
    await text_with(bot, customer, "How many?")
    await customer.send("2")
    await click(bot, customer, "Done")
    await click(bot, customer, "Submit")
    await text_with(bot, customer, "RT-2026-00001 received")

    await click(bot, finance, "Disagree")
    await text_with(bot, finance, "Why does finance not agree with the figures of RT-2026-00001?")
    await finance.send("Purchases of September were credited back: the base is lower.")
    await text_with(bot, finance, "RT-2026-00001: finance does not agree.")
    assert await text_with(bot, customer, "cannot be accepted") == (
        "Your exchange request RT-2026-00001 cannot be accepted: finance's review did not "
        "agree: Purchases of September were credited back: the base is lower.\nIf yours is a "
        "special case, press “Ask for a special case” and explain it: after-sales may take it "
        "to the company leader."
    )
    refused = await with_button(bot, after_sales, "Send to the company leader")
    assert refused["text"].startswith(
        "Finance (Fan Finance) did not agree with exchange RT-2026-00001 (華南醫藥貿易公司): "
        "Purchases of September"
    )
    request = await stored(bot, "RT-2026-00001")
    assert (request.status, request.refusal, request.finance_review) == (
        "refused",
        "finance_disagreed",
        "disagreed",
    )
