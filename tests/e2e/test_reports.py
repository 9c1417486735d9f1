"""/report end to end: a manager chooses a report and a period with buttons; the workbook and
its chart arrive in the chat."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from .conftest import BotHarness, buttons_of, register
from .test_complaints import press

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def test_a_head_chooses_a_report_and_a_period_and_gets_the_workbook_and_the_chart(
    bot: BotHarness,
) -> None:
    head = await register(bot, "quality_head", "Hu Head")
    await head.send("/report")
    (menu,) = await head.expect()
    assert menu["text"] == "Choose a report:"
    labels = [label for label, _ in buttons_of(menu)]
    assert "Quarterly complaint report" in labels
    assert "Patrol completion (month)" not in labels  # not a quality head's report

    await press(head, menu, "Quarterly complaint report")
    (periods,) = await head.expect()
    assert periods["text"] == "Quarterly complaint report: choose a period."
    assert [label for label, _ in buttons_of(periods)][:2] == ["2026-Q3", "2026-Q2"]

    await press(head, periods, "2026-Q3")
    preparing, workbook, chart = await head.expect(3)
    assert preparing["text"].startswith("Preparing the file")
    assert workbook["document"]["file_name"] == "complaints-2026-Q3-draft.xlsx"
    content = bot.emulator.files[workbook["document"]["file_id"]].content
    assert load_workbook(io.BytesIO(content)).worksheets[0].title == "Summary"
    assert chart["caption"] == "Quarterly complaint report, 2026-Q3"
    photo = bot.emulator.files[chart["photo"][-1]["file_id"]].content
    assert photo.startswith(PNG_SIGNATURE)

    await head.send("/report complaint_quarterly 2026-11")
    assert await head.expect_text() == (
        "This report is quarterly: for example /report complaint_quarterly 2026-Q3."
    )


async def test_finance_gets_the_exchange_ratios_per_customer_with_their_chart(
    bot: BotHarness,
) -> None:
    finance = await register(bot, "finance", "Fang Finance", language="zh-Hant")
    await finance.send("/report")
    (menu,) = await finance.expect()
    assert [label for label, _ in buttons_of(menu)] == ["各客戶調換率（月）"]
    await press(finance, menu, "各客戶調換率（月）")
    (periods,) = await finance.expect()
    await press(finance, periods, "2026-10")
    preparing, workbook, chart = await finance.expect(3)
    assert preparing["text"].startswith("正在準備")
    assert workbook["document"]["file_name"] == "各客戶調換率-2026-10.xlsx"
    content = bot.emulator.files[workbook["document"]["file_id"]].content
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "售後服務部　2026-10調退貨統計"
    assert ("C002 康健藥房連鎖", 0, 0, 0, 0, 4800, "0.00%", "3.00%", "否") in rows
    assert bot.emulator.files[chart["photo"][-1]["file_id"]].content.startswith(PNG_SIGNATURE)

    await finance.send("/report exchange_ratio 2026-Q3")
    assert await finance.expect_text() == "這個報表按月：例如/report exchange_ratio 2026-11。"
    await finance.send("/report vendor_scores 2026-H2")  # not finance's report
    assert await finance.expect_text() == "沒有這個報表。請發送/report並選擇。"


async def test_the_manager_scores_an_earlier_month_by_naming_it(bot: BotHarness) -> None:
    manager = await register(bot, "equipment_manager", "Ma Manager")
    await manager.send("/score 2026-09")
    (menu,) = await manager.expect()
    assert "2026-09" in menu["text"]
    assert all(data.endswith(":202609") for _, data in buttons_of(menu))
    # a vendor is named as people know it, with its code beside the name
    assert [label for label, _ in buttons_of(menu)] == [
        "Score 迅達電梯維保有限公司 (V001)",
        "Score 清源水務工程公司 (V002)",
        "Score 恆溫空調機電服務 (V003)",
    ]
    await manager.send("/score 2026-11")  # this month is not over
    assert (await manager.expect_text()).startswith("Usage: /score for last month")
