"""What the staff and the buyer are offered on a record, as they see it: /queue offers a
reassigned complaint's steps to its new holder only, a reopened complaint's ticket keeps the
withdrawn opinion, /mytickets opens each complaint with a tap, and the manager scoring a vendor
reads what each criterion is scored by."""

from __future__ import annotations

import datetime as dt

from procedures.complaints import casework, handling
from tests.conftest import SHANGHAI

from .conftest import BotHarness, buttons_of, register
from .test_complaint_casework import act, file_for, last_message, user_of, verified
from .test_complaints import press
from .test_patrols import jobs_of, last, registered_vendor


async def test_after_reassignment_queue_offers_the_steps_to_the_new_holder_only(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    colleague = await register(bot, "quality", "全質檢", language="zh-Hant")
    head = await register(bot, "quality_head", "周負責", language="zh-Hant")
    complaint = await file_for(bot, customer)
    await act(bot, qc, handling.take_complaint, complaint.id)
    await act(
        bot, head, casework.reassign_complaint, complaint.id, (await user_of(bot, colleague)).id
    )

    for chat, expected in (
        (qc, []),  # taken off it: nothing to press, nothing refused
        (colleague, ["記錄核實", "處置意見", "可能的不良事件"]),
        (head, ["記錄核實", "處置意見", "可能的不良事件"]),  # the quality head may step in
    ):
        await chat.send("/queue")
        line = await last_message(bot, chat, complaint.number)
        assert [label for label, _ in buttons_of(line)] == expected, chat


async def test_a_reopened_complaints_ticket_keeps_the_withdrawn_opinion(
    bot: BotHarness, clock
) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001", language="zh-Hant")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    warehouse = await register(bot, "warehouse", "吳倉庫")
    complaint = await file_for(bot, customer)
    await verified(bot, qc, complaint, "conforming")
    await act(bot, warehouse, handling.lift_hold, complaint.id)
    await act(bot, qc, handling.record_disposition, complaint.id, "批號合格，可恢復銷售。")
    clock.advance(dt.timedelta(days=2))
    await act(bot, qc, casework.reopen_complaint, complaint.id, "購貨方要求第三方檢測。")

    await qc.send(f"/ticket {complaint.number}")
    ticket = await last_message(bot, qc, f"{complaint.number}——")
    assert "原處置意見（2026-11-28 09:00重新開啟時撤回）：批號合格，可恢復銷售。" in ticket["text"]
    assert "\n處置意見（" not in ticket["text"]  # no opinion stands now


async def test_mytickets_opens_each_complaint_with_a_tap(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001", language="zh-Hant")
    first = await file_for(bot, customer)
    second = await file_for(bot, customer)
    await customer.send("/mytickets")
    listed = await last_message(bot, customer, "貴單位的投訴：")
    labels = [label for label, _ in buttons_of(listed)]
    assert sorted(labels) == sorted([f"開啟{first.number}", f"開啟{second.number}"])
    await press(customer, listed, f"開啟{second.number}")
    opened = await last_message(bot, customer, f"{second.number}——")
    assert "處理記錄" not in opened["text"]  # the buyer's own view, not the staff's timeline


async def test_the_manager_scoring_a_vendor_reads_what_each_criterion_is_scored_by(
    bot: BotHarness, clock
) -> None:
    from scheduler.jobs import request_vendor_scores

    manager = await register(bot, "equipment_manager", "馬經理", language="zh-Hant")
    await registered_vendor(bot, "Sun Vendor", "V001")
    clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=SHANGHAI))
    await request_vendor_scores(jobs_of(bot))
    requests = await manager.expect(3)
    v001 = next(m for m in requests if "迅達電梯維保有限公司" in m["text"])
    await press(manager, v001, next(label for label, _ in buttons_of(v001)))
    first = await last(manager, "1/5 維修保養質量")
    assert first["text"] == (
        "1/5 維修保養質量：1（差）至5（優）？\n"
        "評分標準：按合同完成保養項目，維修一次修好，無返修：5分；每次返修或漏項減1分。"
    )
    await press(manager, first, "4")
    second = await last(manager, "2/5 響應速度")
    assert second["text"].endswith("評分標準：在合同響應時間內到場：5分；每次逾時減1分。")
