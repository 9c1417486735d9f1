"""A new user is invited, redeems the code, switches language, and is refused another role's
command; strangers, unknown commands and forged buttons get clear answers."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from procedures.people import invitations, users
from procedures.people.policy import PeoplePolicy
from storage.models import Invitation, OutboxMessage, ProcessedUpdate, TimelineEvent, User

from .conftest import BotHarness, Chat, buttons_of

LINK = re.compile(r"https://t\.me/(\w+)\?start=([\w-]+)")


async def make_admin(bot: BotHarness, chat: Chat, language: str = "en") -> None:
    """A configured admin who has chosen `language` (notifications use the stored choice)."""
    async with bot.services.unit_of_work() as uow:
        (admin,) = await users.ensure_admins(uow, [chat.user_id])
    async with bot.services.unit_of_work() as uow:
        admin = await users.user_by_telegram_id(uow.session, chat.user_id)
        await users.set_language(uow, admin, language)


async def invite(bot: BotHarness, admin: Chat, *args: str) -> str:
    await admin.send("/invite " + " ".join(args))
    text = await admin.expect_text()
    match = LINK.search(text)
    assert match, text
    assert match.group(1) == bot.application.bot.username
    return match.group(2)


async def test_invited_customer_joins_switches_language_and_is_refused_admin_commands(
    bot: BotHarness,
) -> None:
    admin = bot.chat("Ada Admin", language_code="en")
    await make_admin(bot, admin)
    code = await invite(bot, admin, "customer", "C001")

    customer = bot.chat("Chen Meiling", language_code="en")
    await customer.send(f"/start {code}")
    welcome = await customer.expect_text()
    assert "Welcome, Chen Meiling! You are now registered as customer." in welcome
    assert "/invite" not in welcome  # /help lists only the customer's commands
    assert "/lang" in welcome
    # Telegram's command menu of the chat follows the role too
    assert bot.emulator.command_menu(bot.token, customer.user_id) == [
        "start",
        "help",
        "lang",
        "cancel",
        "todo",
        "hours",
        "complain",
        "mytickets",
        "ticket",
        "form",
        "return",
        "returns",
    ]
    stranger = bot.chat("Stranger")
    assert bot.emulator.command_menu(bot.token, stranger.user_id) == [
        "start",
        "help",
        "lang",
        "cancel",
    ]

    # the inviter hears about it through the outbox
    notice = await admin.expect_text()
    assert notice == "Chen Meiling accepted your invitation and is now registered as customer."

    async with bot.services.session_factory() as session:
        user = await session.scalar(select(User).where(User.telegram_id == customer.user_id))
        assert user is not None and user.role_names == {"customer"}
        assert user.organisation_id is not None
        invitation = await session.scalar(
            select(Invitation).where(Invitation.code_hash == invitations.hash_code(code))
        )
        assert invitation.redeemed_by_id == user.id

    await customer.send("/lang")
    (choice,) = await customer.expect()
    assert choice["text"] == "Choose your language:"
    assert buttons_of(choice) == [
        ("繁體中文", "lang:zh-Hant"),
        ("简体中文", "lang:zh-Hans"),
        ("English", "lang:en"),
    ]
    await customer.press(choice, "lang:zh-Hans")
    await customer.emulator.wait_until(
        lambda: customer.all_bot_messages()[-1].get("text") == "语言已设为简体中文。"
    )
    assert "reply_markup" not in customer.all_bot_messages()[-1]  # the buttons are gone

    await customer.send("/invite customer C001")
    refusal = await customer.expect_text()
    assert refusal.startswith("此命令仅限")
    assert "管理员" in refusal and "未作任何变更" in refusal
    async with bot.services.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Invitation)) == 1

    await customer.send("/help")
    help_text = await customer.expect_text()
    assert help_text.startswith("您可以使用的命令：")
    assert "/invite" not in help_text and "/import" not in help_text


async def test_a_used_or_unknown_code_is_refused_and_grants_nothing(bot: BotHarness) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    code = await invite(bot, admin, "quality")

    first = bot.chat("First")
    await first.send(f"/start {code}")
    assert "registered as quality control" in await first.expect_text()

    second = bot.chat("Second")
    await second.send(f"/start {code}")
    assert await second.expect_text() == (
        "This invitation has already been used. Please ask for a new one."
    )
    await second.send("/start not-a-real-code")
    assert "This invitation code is not valid" in await second.expect_text()
    async with bot.services.session_factory() as session:
        assert await users.user_by_telegram_id(session, second.user_id) is None


async def test_an_expired_invitation_is_refused(bot: BotHarness, clock) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    code = await invite(bot, admin, "driver")
    late = bot.chat("Late")
    clock.advance(bot.services.policies.of(PeoplePolicy).invitation_validity)
    await late.send(f"/start {code}")
    assert await late.expect_text() == "This invitation has expired. Please ask for a new one."


async def test_a_head_may_invite_only_their_own_department(bot: BotHarness) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    head = bot.chat("Quinn Head")
    await head.send(f"/start {await invite(bot, admin, 'quality_head')}")
    await head.expect()

    await invite(bot, head, "quality")  # own department: a link
    await head.send("/invite warehouse")
    assert await head.expect_text() == "You may not invite anyone as warehouse."


async def test_strangers_unknown_commands_and_forged_buttons_get_clear_answers(
    bot: BotHarness,
) -> None:
    stranger = bot.chat("Stranger", language_code="zh-hant")
    await stranger.send("hello")
    assert await stranger.expect_text() == (
        "您尚未登記。請打開貴公司聯繫人發給您的邀請鏈接，或向其索取。"
    )
    await stranger.send("/invite admin")
    assert (await stranger.expect_text()).startswith("您尚未登記")

    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    await admin.send("/frobnicate now")
    assert await admin.expect_text() == (
        "Sorry, I do not know the command /frobnicate. Send /help to see what you can use."
    )
    await admin.send("/cancel")
    assert await admin.expect_text() == "There is nothing to cancel."

    await admin.send("/lang")
    (choice,) = await admin.expect()
    await admin.press(choice, "lang:xx-forged", forge=True)
    answer = await admin.wait_for_callback_answer()
    assert answer["text"] == "This button is no longer valid. Nothing was changed."
    assert answer["show_alert"] is True
    async with bot.services.session_factory() as session:
        user = await users.user_by_telegram_id(session, admin.user_id)
        assert user.language == "en"  # unchanged by the forged button


async def test_a_redelivered_update_changes_nothing_twice(bot: BotHarness) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    code = await invite(bot, admin, "warehouse")
    worker = bot.chat("Wang Warehouse")
    update = await bot.emulator.send_text(bot.token, worker.user_id, f"/start {code}")
    assert "registered as warehouse" in await worker.expect_text()
    await admin.expect()  # the inviter's notice

    # Telegram delivers the same update again (e.g. after a lost acknowledgement).
    bot.emulator.bot(bot.token).updates.append(update)
    await worker.send("/help")  # a later update proves the redelivery was processed first
    assert (await worker.expect_text()).startswith("Commands you can use:")
    async with bot.services.session_factory() as session:
        assert await session.get(ProcessedUpdate, update["update_id"]) is not None
        notices = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.text_key == "invite.redeemed_notice")
        )
        assert notices == 1


async def test_a_double_tap_on_a_language_button_changes_it_once(bot: BotHarness) -> None:
    admin = bot.chat("Ada Admin")
    await make_admin(bot, admin)
    await admin.send("/lang")
    (choice,) = await admin.expect()

    await admin.press(choice, "lang:zh-Hant")
    await admin.press(choice, "lang:zh-Hant", forge=True)  # the second tap races the edit
    await bot.emulator.wait_until(lambda: len(bot.emulator.bot(bot.token).callback_answers) >= 2)
    await admin.send("/help")
    assert (await admin.expect_text()).startswith("您可以使用的命令：")

    assert admin.all_bot_messages()[0]["text"] == "語言已設為繁體中文。"
    async with bot.services.session_factory() as session:
        changes = await session.scalar(
            select(func.count())
            .select_from(TimelineEvent)
            .where(
                TimelineEvent.action == "language_changed",
                TimelineEvent.after["language"].as_string() == "zh-Hant",
            )
        )
    assert changes == 1
