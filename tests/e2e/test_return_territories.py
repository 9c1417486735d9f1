"""P2 3.4 and 4.2.10 end to end: the market-sales person of a customer's territory (片區) is told
of its return and reads it; another territory's is refused it."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import User

from .conftest import BotHarness, Chat, register
from .test_invite_buttons import data_of, shown
from .test_onboarding import LINK, make_admin
from .test_returns import click, request_exchange, text_with, with_button


async def market_sales(bot: BotHarness, name: str, territory: str) -> Chat:
    chat = await register(bot, "market_sales", name)
    async with bot.services.unit_of_work() as uow:
        user = await uow.session.scalar(select(User).where(User.telegram_id == chat.user_id))
        user.territory = territory
        await uow.commit()
    return chat


async def test_a_territorys_market_sales_is_told_of_its_return_and_another_is_refused_it(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")  # 華南
    after_sales = await register(bot, "after_sales", "An After-sales")
    business = await register(bot, "business_head", "Bai Business")
    finance = await register(bot, "finance", "Fan Finance")
    south = await market_sales(bot, "Ma Sales", "華南")
    east = await market_sales(bot, "Dong Sales", "華東")

    await request_exchange(bot, customer, 2)
    filed = await text_with(bot, south, "Return RT-2026-00001 was filed")
    assert filed == (
        "Return RT-2026-00001 was filed for 華南醫藥貿易公司 of your territory 華南: unsalable"
        " (不適銷), 1 line, quantity 2 盒, amount 90.00 yuan. After-sales handles it; you may help."
    )
    await click(bot, finance, "Agree")  # 4.2.3: finance reviews first
    await text_with(bot, finance, "finance agrees with the figures")
    await click(bot, after_sales, "Sign")
    await text_with(bot, after_sales, "RT-2026-00001")
    await click(bot, business, "Approve and sign")
    await text_with(bot, customer, "is approved")
    told = await text_with(bot, south, "the customer was told")
    assert told == (
        "Return RT-2026-00001 of 華南醫藥貿易公司 (territory 華南): the customer was told:"
        " send the goods."
    )

    await south.send("/return RT-2026-00001")
    record = await text_with(bot, south, "RT-2026-00001 — approved")
    assert "Territory (片區): 華南" in record
    await south.send("/returns")
    await text_with(bot, south, "RT-2026-00001 · 華南醫藥貿易公司")

    await east.send("/return RT-2026-00001")
    refused = await text_with(bot, east, "not in your territory")
    assert refused == (
        "華南醫藥貿易公司 is not in your territory (華東): market sales help with their own"
        " territory's returns only."
    )
    assert not [m for m in east.all_bot_messages() if "RT-2026-00001 —" in (m.get("text") or "")]
    await east.send("/returns")
    await text_with(bot, east, "No returns")


async def test_an_admin_invites_market_sales_for_a_territory_the_master_data_knows(
    bot: BotHarness,
) -> None:
    admin = bot.chat("Ada Admin", language_code="en")
    await make_admin(bot, admin)
    await admin.send("/invite")
    menu = await with_button(bot, admin, "market sales (市場銷售科)")
    await admin.press(menu, data_of(menu, "market sales (市場銷售科)"))
    asked = await shown(admin, menu, "Which territory")
    assert asked["text"] == "Which territory (片區) will they work in? Type it: 華北, 華南, 華東."
    await admin.send("西北")
    assert "There is no territory named" in await text_with(bot, admin, "Known territories")
    await admin.send("/invite market_sales 華南")
    link = LINK.search(await text_with(bot, admin, "territory 華南"))
    assert link, "the link names the territory"

    newcomer = bot.chat("Ma Sales", language_code="en")
    await newcomer.send(f"/start {link.group(2)}")
    await text_with(bot, newcomer, "market sales")
    await bot.settled()
    async with bot.services.session_factory() as session:
        user = await session.scalar(select(User).where(User.telegram_id == newcomer.user_id))
    assert user.territory == "華南"
