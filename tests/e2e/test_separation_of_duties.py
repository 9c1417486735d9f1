"""One person, one seat, end to end: someone holding after-sales', the business head's and the
warehouse's roles signs a return once; the other seats are refused by name and left for their
own people; nobody uses an invitation they issued."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import User, UserRole

from .conftest import BotHarness, Chat, register
from .test_complaints import press
from .test_returns import click, request_exchange, stored, text_with, with_button


async def add_roles(bot: BotHarness, chat: Chat, *roles: str) -> None:
    async with bot.services.unit_of_work() as uow:
        user = await uow.session.scalar(select(User).where(User.telegram_id == chat.user_id))
        assert user is not None
        user.roles.extend(UserRole(role=role) for role in roles)
        await uow.commit()


async def test_one_person_signs_a_return_once_and_the_business_head_approves_it(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    boss = await register(bot, "after_sales_head", "Lin Leader")
    await add_roles(bot, boss, "after_sales", "business_head", "quality", "warehouse")
    finance = await register(bot, "finance", "Fan Finance")
    business = await register(bot, "business_head", "Bai Business")

    await request_exchange(bot, customer, 2)
    await text_with(bot, customer, "RT-2026-00001 received")
    await click(bot, finance, "Agree")
    await click(bot, boss, "Sign")
    await text_with(bot, boss, "Please approve")
    to_approve = await with_button(bot, boss, "Approve and sign")
    await press(boss, to_approve, "Approve and sign")
    refusal = await boss.wait_for_callback_answer()
    assert refusal["text"] == (
        "On RT-2026-00001 you already signed for after-sales, so the business department's "
        "signature is for another person. Nothing was changed."
    )
    assert (await stored(bot, "RT-2026-00001")).status == "awaiting_business"

    await click(bot, business, "Approve and sign")
    assert (await text_with(bot, customer, "is approved")).startswith(
        "Your return RT-2026-00001 is approved"
    )
    request = await stored(bot, "RT-2026-00001")
    signers = {signature.slot: signature.signed_by_id for signature in request.signatures}
    async with bot.services.session_factory() as session:
        names = {
            user.id: user.full_name
            for user in await session.scalars(select(User).where(User.id.in_(signers.values())))
        }
    assert {slot: names[by] for slot, by in signers.items()} == {
        "review": "Lin Leader",
        "after_sales": "Lin Leader",
        "business": "Bai Business",
    }


async def test_an_invitation_does_not_work_for_the_one_who_issued_it(bot: BotHarness) -> None:
    head = await register(bot, "after_sales_head", "Shou Head")
    await head.send("/invite driver")
    link = await text_with(bot, head, "Invitation for driver")
    found = re.search(r"\?start=([\w-]+)", link)
    assert found is not None
    code = found.group(1)
    await head.send(f"/start {code}")
    assert await text_with(bot, head, "You issued this invitation") == (
        "You issued this invitation, so you cannot use it yourself: someone else must invite "
        "you as driver."
    )
    driver = bot.chat("Du Driver")
    await driver.send(f"/start {code}")
    await text_with(bot, driver, "You are now registered as driver")
    await bot.settled()
    async with bot.services.session_factory() as session:
        joined = await session.scalar(select(User).where(User.telegram_id == driver.user_id))
        stays = await session.scalar(select(User).where(User.telegram_id == head.user_id))
    assert joined is not None and joined.role_names == {"driver"}
    assert stays is not None and stays.role_names == {"after_sales_head"}
