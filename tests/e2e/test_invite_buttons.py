"""/invite with buttons: the roles the inviter may invite, then the organisation or vendor (a
page at a time) or the equipment system, each press checked; typed role ids and Chinese role
names work as before, and an unknown role is answered with the list."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from procedures.kernel import roles
from procedures.people import users
from procedures.people.actions import InviteParty, InvitePartyPage, InviteRole
from storage.models import Invitation, Organisation, User

from .conftest import BotHarness, Chat, buttons_of
from .test_onboarding import LINK, invite, make_admin


def labels(message: dict[str, Any]) -> list[str]:
    return [label for label, _ in buttons_of(message)]


def data_of(message: dict[str, Any], label: str) -> str:
    for text, data in buttons_of(message):
        if text == label:
            return data
    raise AssertionError(f"no button {label!r} in {labels(message)}")


async def shown(chat: Chat, message: dict[str, Any], starts: str) -> dict[str, Any]:
    """The message as it is shown once edited to begin with `starts`."""

    def edited() -> dict[str, Any] | None:
        for current in chat.all_bot_messages():
            if current["message_id"] == message["message_id"]:
                text = current.get("text") or ""
                return current if text.startswith(starts) else None
        return None

    try:
        return await chat.emulator.wait_until(edited)  # type: ignore[no-any-return]
    except TimeoutError:
        raise AssertionError(f"message never showed {starts!r}") from None


async def alerted(bot: BotHarness, text: str) -> None:
    """Until a button press has been answered with `text`."""

    def found() -> bool:
        answers = bot.emulator.bot(bot.token).callback_answers.values()
        return any(a.get("text") == text and a.get("show_alert") for a in answers)

    try:
        await bot.emulator.wait_until(found)
    except TimeoutError:
        raise AssertionError(f"no press was answered {text!r}") from None


async def invitations(bot: BotHarness) -> list[Invitation]:
    """The invitations made, once the update that shows a link is committed (it is shown
    before)."""
    await bot.settled()
    async with bot.services.session_factory() as session:
        return list(await session.scalars(select(Invitation).order_by(Invitation.id)))


async def test_an_admin_invites_a_customer_with_buttons_in_chinese_and_a_double_tap_makes_one_link(
    bot: BotHarness,
) -> None:
    admin = bot.chat("Ada Admin", language_code="zh-hant")
    await make_admin(bot, admin, "zh-Hant")
    await admin.send("/invite")
    (menu,) = await admin.expect()
    assert menu["text"] == "您要邀請誰？請選擇角色，或輸入 /invite 角色 [編號]。"
    assert labels(menu)[:3] == ["客戶（購貨單位）", "消費者", "供貨單位"]
    assert len(labels(menu)) == len(roles.ALL_ROLES)  # an admin may invite every role
    assert all(len(row) <= 2 for row in menu["reply_markup"]["inline_keyboard"])

    await admin.press(menu, data_of(menu, "客戶（購貨單位）"))
    organisations = await shown(admin, menu, "邀請哪家單位的客戶（購貨單位）？")
    assert organisations["text"] == (
        "邀請哪家單位的客戶（購貨單位）？第1–4家，共4家；也可直接輸入單位編號。"
    )
    assert labels(organisations) == [
        "仁和醫療器械有限公司（C001）",
        "康健藥房連鎖（C002）",
        "華南醫藥貿易公司（C003）",
        "北方衛材經銷部（C004）",
    ]  # suppliers are not offered for a customer

    final = data_of(organisations, "仁和醫療器械有限公司（C001）")
    await admin.press(organisations, final)
    await admin.press(organisations, final, forge=True)  # a double tap
    linked = await shown(
        admin, menu, "客戶（購貨單位）（仁和醫療器械有限公司（C001））的邀請鏈接："
    )
    assert linked.get("reply_markup") is None or not labels(linked)
    await alerted(bot, "此按鈕已失效，未作任何變更。")
    assert len(await invitations(bot)) == 1

    # the link is the typed command's: it makes the user the organisation's buyer
    match = LINK.search(linked["text"])
    assert match is not None
    buyer = bot.chat("Chen Meiling", language_code="zh-hant")
    await bot.settled()
    await buyer.send(f"/start {match.group(2)}")
    assert "客戶（購貨單位）" in await buyer.expect_text()
    await bot.settled()
    async with bot.services.session_factory() as session:
        user = await session.scalar(select(User).where(User.telegram_id == buyer.user_id))
        organisation = await session.get(Organisation, user.organisation_id)  # type: ignore[union-attr]
        assert organisation is not None and organisation.code == "C001"


async def test_many_organisations_come_a_page_at_a_time_and_a_typed_code_answers_too(
    bot: BotHarness,
) -> None:
    async with bot.services.unit_of_work() as uow:
        for n in range(20):
            uow.session.add(Organisation(code=f"H{n:03d}", name=f"Hospital {n}", kind="customer"))
        await uow.commit()
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    await admin.send("/invite customer")  # the role typed without its organisation
    (page,) = await admin.expect()
    assert page["text"] == (
        "Invite a customer for which organisation? 1–8 of 24; or type its code."
    )
    assert labels(page)[:2] == ["仁和醫療器械有限公司 (C001)", "康健藥房連鎖 (C002)"]
    assert labels(page)[-1] == "Next ▶"
    await admin.press(page, data_of(page, "Next ▶"))
    second = await shown(admin, page, "Invite a customer for which organisation? 9–16 of 24")
    assert labels(second)[0] == "Hospital 4 (H004)"
    assert labels(second)[-2:] == ["◀ Previous", "Next ▶"]
    await admin.press(second, data_of(second, "Next ▶"))
    third = await shown(admin, page, "Invite a customer for which organisation? 17–24 of 24")
    assert labels(third)[-1] == "◀ Previous"

    await admin.send("h999")  # a code nobody has: the step stays
    assert await admin.expect_text() == "No organisation of that kind has the code h999."
    assert labels(page)[-1] == "◀ Previous"  # and so do its buttons
    await admin.send("h019")
    text = await admin.expect_text()
    assert text.startswith("Invitation for customer (Hospital 19 (H019)):")
    await bot.emulator.wait_until(lambda: labels(page) == [])  # the list typed past is done
    assert LINK.search(text)
    (made,) = await invitations(bot)
    async with bot.services.session_factory() as session:
        organisation = await session.get(Organisation, made.organisation_id)
        assert organisation is not None and organisation.code == "H019"


async def test_a_head_is_offered_only_their_department_and_forged_presses_change_nothing(
    bot: BotHarness,
) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    head = bot.chat("Zhou Head")
    code = await invite(bot, admin, "quality_head")
    await bot.settled()
    await head.send(f"/start {code}")
    await head.expect()
    await admin.expect()  # the inviter's notice
    before = len(await invitations(bot))

    await head.send("/invite")
    (menu,) = await head.expect()
    assert labels(menu) == ["supplier", "quality control"]
    # a role the head may not invite, forged onto the menu
    await head.press(menu, InviteRole(role="admin").pack(), forge=True)
    await alerted(bot, "You may not invite anyone as administrator.")
    await head.press(menu, InviteRole(role="chef").pack(), forge=True)
    await alerted(bot, "This button is no longer valid. Nothing was changed.")

    await head.press(menu, data_of(menu, "supplier"))
    suppliers = await shown(head, menu, "Invite a supplier for which organisation?")
    assert labels(suppliers) == ["安心醫用耗材廠 (S001)", "精準診斷設備公司 (S002)"]
    async with bot.services.session_factory() as session:
        customer_id = await session.scalar(
            select(Organisation.id).where(Organisation.code == "C001")
        )
    # a customer's organisation forged onto a supplier's invitation
    await head.press(
        suppliers, InviteParty(role="supplier", party_id=customer_id or 0).pack(), forge=True
    )
    await alerted(bot, "This button is no longer valid. Nothing was changed.")
    # a page that is not there, and one past any database's OFFSET: stale, the list stays
    # (the second cannot even be packed: it is typed into the button's data by hand)
    fifth = InvitePartyPage(role="supplier", page=5).pack()
    for data in (fifth, fifth.replace(":5", f":{10**40}")):
        await head.press(suppliers, data, forge=True)
        await alerted(bot, "This button is no longer valid. Nothing was changed.")
    await shown(head, menu, "Invite a supplier for which organisation?")
    assert len(await invitations(bot)) == before

    await head.press(suppliers, data_of(suppliers, "安心醫用耗材廠 (S001)"))
    await shown(head, menu, "Invitation for supplier (安心醫用耗材廠 (S001)):")
    assert len(await invitations(bot)) == before + 1


async def test_an_engineer_is_named_for_a_system_by_button_and_vendor_staff_for_their_vendor(
    bot: BotHarness,
) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    await admin.send("/invite")
    (menu,) = await admin.expect()
    await admin.press(menu, data_of(menu, "equipment engineer"))
    systems = await shown(admin, menu, "Name the equipment engineer for an equipment system?")
    assert labels(systems)[-1] == "No particular system"
    await admin.press(systems, data_of(systems, "elevators"))
    await shown(admin, menu, "Invitation for equipment engineer (elevators):")

    await admin.send("/invite vendor")
    (vendors,) = await admin.expect()
    assert vendors["text"].startswith("Invite maintenance vendor staff for which vendor? 1–3 of 3")
    await admin.press(vendors, data_of(vendors, "迅達電梯維保有限公司 (V001)"))
    await shown(admin, vendors, "Invitation for maintenance vendor (迅達電梯維保有限公司 (V001)):")

    engineer, vendor = await invitations(bot)
    assert engineer.role == "equipment_engineer" and engineer.system == "elevator"
    assert vendor.role == "vendor" and vendor.vendor_id is not None


async def test_typed_role_ids_and_chinese_role_names_work_and_an_unknown_role_gets_the_list(
    bot: BotHarness,
) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    await invite(bot, admin, "customer", "C001")
    await invite(bot, admin, "顧客", "C001")  # the seed's word, Traditional
    await invite(bot, admin, "顾客", "C002")  # and Simplified
    await invite(bot, admin, "客戶（購貨單位）", "C003")  # the role's name as /help shows it
    await invite(bot, admin, "購貨單位", "C004")
    await invite(bot, admin, "quality", "head")  # an English name of two words
    await invite(bot, admin, "設備專業工程師", "elevator")
    made = await invitations(bot)
    assert [i.role for i in made] == [
        "customer",
        "customer",
        "customer",
        "customer",
        "customer",
        "quality_head",
        "equipment_engineer",
    ]
    assert made[-1].system == "elevator"

    head = bot.chat("Zhou Head", language_code="zh-hans")
    code = await invite(bot, admin, "quality_head")
    await bot.settled()
    await head.send(f"/start {code}")
    await head.expect()
    await admin.expect()
    async with bot.services.unit_of_work() as uow:
        user = await users.user_by_telegram_id(uow.session, head.user_id)
        assert user is not None
        await users.set_language(uow, user, "zh-Hans")
    await head.send("/invite 厨师 C001")
    (answer,) = await head.expect()
    assert answer["text"] == (
        "没有名为厨师的角色。您可邀请的角色：\n供货单位：supplier\n质量管理部（质检员）：quality"
    )
    assert labels(answer) == ["供货单位", "质量管理部（质检员）"]
    await head.send("/invite 质检员")
    assert re.search(r"质量管理部（质检员）的邀请链接：", await head.expect_text())

    count = len(await invitations(bot))
    await head.send("/invite " + "\x00\x07" + "顧" * 300)
    (refused,) = await head.expect()
    assert refused["text"].startswith("没有名为" + "顧" * 39 + "…的角色。")
    assert len(await invitations(bot)) == count
    async with bot.services.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Invitation)) == count
