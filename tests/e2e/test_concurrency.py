"""No user waits on another: a chat's updates in order, different chats side by side, each
update committing its own dialogue state and confirmed only after its commit."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from telegram import Chat as TelegramChat
from telegram import Message, Update, User

from bot.runtime import ptb_internals
from bot.runtime.rendering import Rendering, RenderOnLoop
from bot.runtime.update_transaction import current_session, update_session
from bot.services import Services
from emulator.server import BotApiEmulator
from reports.registry import ReportFiles
from storage.models import ChatScratchpad, Complaint, ConversationState

from .conftest import BotHarness, Chat, buttons_of, register, running_bot
from .test_update_transaction import to_the_summary


def pending_update_ids(bot: BotHarness) -> list[int]:
    """What the emulator still holds for the bot: fetched maybe, but not confirmed."""
    return [u["update_id"] for u in bot.emulator.bot(bot.token).updates]


async def test_a_slow_step_of_one_user_holds_up_nobody_else(bot: BotHarness) -> None:
    slow = await register(bot, "customer", "Chen Meiling", organisation="C001")
    quick = await register(bot, "customer", "Lin Yating", organisation="C001")
    bot.emulator.delay_next("sendMessage", 3.0)  # the slow user's reply hangs at Telegram
    slow_update = await bot.emulator.send_text(bot.token, slow.user_id, "/help")
    await bot.emulator.wait_until(lambda: bot.emulator.injected_delays["sendmessage"] == [])

    await quick.send("/help")
    # the slow reply goes after its update's commit, so not even SQLite's one writer waits for
    # it: the quick user is answered meanwhile
    assert "/complain" in await quick.expect_text(timeout=2.0)
    # the slow update is still sending its reply: Telegram has not been told it is done
    assert not slow.all_bot_messages()
    assert slow_update["update_id"] in pending_update_ids(bot)
    assert "/complain" in await slow.expect_text(timeout=5.0)
    await bot.settled()
    await bot.emulator.wait_until(lambda: slow_update["update_id"] not in pending_update_ids(bot))


async def test_a_users_quick_messages_are_handled_in_the_order_sent(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    summary = await to_the_summary(bot, customer)
    # held first reply: the later messages queue behind it instead of overtaking it
    bot.emulator.delay_next("editMessageText", 1.0)
    await customer.press(summary, "cp:submit")
    await customer.send("/help")
    await customer.send("/mytickets")
    messages = await customer.expect(2, timeout=10)  # the summary itself becomes the receipt
    texts = [m.get("text", "") for m in messages]
    assert "/complain" in texts[0]  # /help
    assert "QC-" in texts[1]  # /mytickets lists the complaint filed just before


async def test_many_users_filing_at_once_all_get_their_complaint(bot: BotHarness) -> None:
    customers = [
        await register(bot, "customer", f"Customer {i}", organisation="C001") for i in range(12)
    ]

    async def file(customer: Chat) -> str:
        summary = await to_the_summary(bot, customer)
        await customer.press(summary, "cp:submit")
        await bot.emulator.wait_until(
            lambda: "received" in customer.all_bot_messages()[-1].get("text", ""), timeout=20
        )
        return customer.all_bot_messages()[-1]["text"]

    answers = await asyncio.wait_for(asyncio.gather(*(file(c) for c in customers)), 60)
    await bot.settled(timeout=10)
    assert all("received" in answer for answer in answers)
    async with bot.services.session_factory() as session:
        filed = list(await session.scalars(select(Complaint.number)))
    assert len(filed) == len(set(filed)) == len(customers)
    for customer in customers:
        assert not any(
            "Something went wrong" in m.get("text", "") for m in customer.all_bot_messages()
        )


def _update_of(user_id: int, update_id: int) -> Update:
    user = User(id=user_id, first_name="U", is_bot=False)
    chat = TelegramChat(id=user_id, type="private")
    message = Message(message_id=1, date=None, chat=chat, from_user=user, text="x")  # type: ignore[arg-type]
    return Update(update_id=update_id, message=message)


async def test_an_update_commits_its_own_dialogue_state_and_nobody_elses(bot: BotHarness) -> None:
    application = bot.application
    name, states = next(iter(ptb_internals.conversations(application).items()))
    mine, theirs = 880_001, 880_002
    # both chats are mid-step in memory; only `mine` is being committed now
    states[(mine, mine)] = "STEP_MINE"
    states[(theirs, theirs)] = "STEP_THEIRS"
    application.user_data[mine]["draft"] = "mine"
    application.user_data[theirs]["draft"] = "theirs"
    application.mark_data_for_update_persistence(user_ids=[mine, theirs])
    try:
        async with update_session(bot.services.session_factory) as session:
            assert current_session() is session
            await application.persist_update(_update_of(mine, 1))
            await session.commit()

        async with bot.services.session_factory() as session:
            stored = set(
                await session.scalars(
                    select(ConversationState.conversation_key).where(
                        ConversationState.handler_name == name
                    )
                )
            )
            scratch = {
                row.owner_id: row.data
                for row in await session.scalars(
                    select(ChatScratchpad).where(ChatScratchpad.scope == "user")
                )
            }
        assert f"[{mine}, {mine}]" in stored and f"[{theirs}, {theirs}]" not in stored
        assert scratch.get(mine) == {"draft": "mine"} and theirs not in scratch
        # the other chat's state is still pending, for its own update to write
        assert ptb_internals.take_conversation_writes(application, {theirs}) == [
            (name, (theirs, theirs), "STEP_THEIRS")
        ]
        assert ptb_internals.take_data_write(application, "user", theirs) == "update"
    finally:
        ptb_internals.take_conversation_writes(application, {mine, theirs})
        ptb_internals.load_conversations(application, [(mine, mine), (theirs, theirs)], {})
        for user_id in (mine, theirs):
            ptb_internals.take_data_write(application, "user", user_id)
        application.user_data[mine].clear()
        application.user_data[theirs].clear()
        async with bot.services.session_factory() as session:
            for row in await session.scalars(select(ConversationState)):
                if str(mine) in row.conversation_key:
                    await session.delete(row)
            for row in await session.scalars(select(ChatScratchpad)):
                if row.owner_id in (mine, theirs):
                    await session.delete(row)
            await session.commit()


async def test_each_update_task_sees_its_own_session(bot: BotHarness) -> None:
    seen: dict[int, object] = {}

    async def in_update(n: int) -> None:
        async with update_session(bot.services.session_factory) as session:
            await asyncio.sleep(0)  # the other task runs in between
            seen[n] = session
            assert current_session() is session

    await asyncio.gather(*(in_update(n) for n in range(5)))
    assert len({id(s) for s in seen.values()}) == 5
    assert current_session() is None


async def test_a_stored_step_from_another_process_is_read_before_the_next_update(
    bot: BotHarness,
) -> None:
    """With several processes, another may have handled the chat's last update: the next
    update starts from the state stored, not from this process's memory."""
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    await bot.settled()
    # another process cancelled the dialogue: the stored state is gone
    async with bot.services.session_factory() as session:
        for row in await session.scalars(select(ConversationState)):
            if str(customer.user_id) in row.conversation_key:
                await session.delete(row)
        await session.commit()
    await customer.press(ask_product, buttons_of(ask_product)[0][1])
    await customer.wait_for_callback_answer()
    await bot.settled()
    # this process's memory still had the dialogue at the product step; the stored state won
    assert not any(m.get("text", "").startswith("Which lot") for m in customer.all_bot_messages())


class HeldRenderer:
    """Renders as the bot does, but only once the test lets it go: until then the file is
    being rendered."""

    def __init__(self, services: Services) -> None:
        self.inner = RenderOnLoop(services)
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def render(self, rendering: Rendering) -> ReportFiles:
        self.started.set()
        await self.release.wait()
        return await self.inner.render(rendering)

    def close(self) -> None:
        pass


async def test_a_ledger_is_answered_at_once_and_others_go_on_while_it_is_rendered(
    emulator: BotApiEmulator, services: Services, samples: None
) -> None:
    renderer = HeldRenderer(services)
    async with running_bot(emulator, services, renderer=renderer) as bot:
        qc = await register(bot, "quality", "Qiu QC")
        customer = await register(bot, "customer", "Chen Meiling", organisation="C001")

        await qc.send("/ledger")
        assert (await qc.expect_text()).startswith("Preparing the file")
        await asyncio.wait_for(renderer.started.wait(), 5)
        await bot.settled()  # the /ledger update was committed; the rendering goes on

        # another user steps through a dialogue, each step committed (on SQLite the one
        # writer's lock is free: the rendering holds none)
        await customer.send("/complain")
        (ask_product,) = await customer.expect()
        assert ask_product["text"].startswith("Which product")
        await customer.press(ask_product, buttons_of(ask_product)[0][1])
        (ask_lot,) = await customer.expect()
        assert buttons_of(ask_lot)
        await bot.settled()
        assert not [m for m in qc.all_bot_messages() if "document" in m]

        renderer.release.set()
        (ledger,) = await qc.expect()
        assert ledger["document"]["file_name"] == "complaint-ledger-2026-11-26.xlsx"
        assert ledger["caption"] == "Complaint ledger (顧客質量投訴臺帳)."


async def test_a_ledger_that_cannot_be_rendered_is_said_so(
    emulator: BotApiEmulator, services: Services, samples: None
) -> None:
    class Broken(HeldRenderer):
        async def render(self, rendering: Rendering) -> ReportFiles:
            raise RuntimeError("the worker died")

    async with running_bot(emulator, services, renderer=Broken(services)) as bot:
        qc = await register(bot, "quality", "Qiu QC")
        await qc.send("/ledger 2026-11")
        assert (await qc.expect_text()).startswith("Preparing the file")
        assert await qc.expect_text() == (
            "The file could not be prepared. Nothing was changed; please ask for it again."
        )
