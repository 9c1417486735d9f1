"""Each update is one transaction: handled once, confirmed after its commit, all or nothing."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from telegram import Update
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, MessageHandler, filters

from bot.handlers import gate
from bot.runtime import application as application_module
from bot.runtime import persistence
from bot.runtime.update_transaction import claim_update
from procedures.kernel.errors import WrongState
from storage.models import Complaint, Photo, ProcessedUpdate

from .conftest import BotHarness, Chat, buttons_of, register


async def redeliver(bot: BotHarness, update: dict) -> None:
    """Telegram sends an update again (its confirmation was lost): the same id, the same body,
    queued behind the updates being handled, as a fetched or posted update is."""
    await bot.application.update_queue.put(Update.de_json(update, bot.application.bot))


async def to_the_quantity(customer: Chat) -> None:
    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    await customer.press(ask_product, buttons_of(ask_product)[0][1])
    (ask_lot,) = await customer.expect()
    await customer.press(ask_lot, buttons_of(ask_lot)[0][1])
    await customer.expect()


async def to_the_summary(bot: BotHarness, customer: Chat) -> dict:
    await to_the_quantity(customer)
    await customer.send("12")
    await customer.expect()
    await customer.send("Plungers stick.")
    (ask_photos,) = await customer.expect()
    await customer.press(ask_photos, "cp:photos:done")
    (summary,) = await customer.expect()
    return summary


def commits_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every update's step runs and writes as ever; the COMMIT itself fails, as on a full disk."""

    async def failing_commit(session, update_id, now, keys):
        async def commit() -> None:
            raise OperationalError("COMMIT", {}, Exception("database or disk is full"))

        session.commit = commit
        return await claim_update(session, update_id, now, keys)

    monkeypatch.setattr(application_module, "claim_update", failing_commit)


async def complaints(bot: BotHarness) -> int:
    async with bot.services.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(Complaint))


async def test_a_redelivered_update_is_not_handled_again(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    help_update = await bot.emulator.send_text(bot.token, customer.user_id, "/help")
    await customer.expect()
    for _ in range(2):
        await redeliver(bot, help_update)

    await to_the_quantity(customer)
    quantity = await bot.emulator.send_text(bot.token, customer.user_id, "12")
    assert (await customer.expect_text()).startswith("What is wrong?")
    await redeliver(bot, quantity)  # not taken as the description
    await customer.send("Plungers stick.")
    (ask_photos,) = await customer.expect()
    photo = await bot.emulator.send_photo(bot.token, customer.user_id, b"photo-1")
    await customer.expect()
    await redeliver(bot, photo)  # not stored twice
    await customer.press(ask_photos, "cp:photos:done")
    (summary,) = await customer.expect()
    assert "Problem: Plungers stick." in summary["text"] and "Photos: 1" in summary["text"]
    await customer.press(summary, "cp:submit")
    await bot.emulator.wait_until(lambda: "received" in customer.all_bot_messages()[-1]["text"])
    await bot.settled()

    assert len(customer.all_bot_messages()) == 8  # help, 6 dialogue steps, filed: no extra
    async with bot.services.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Photo)) == 1
        assert await session.get(ProcessedUpdate, help_update["update_id"]) is not None


async def test_a_step_and_its_dialogue_state_are_committed_together(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    summary = await to_the_summary(bot, customer)
    await bot.settled()  # the summary's own step is committed before the disk fails

    @contextlib.asynccontextmanager
    async def crash(*args, **kwargs):  # the disk fails while the dialogue's state is written
        raise OperationalError("UPDATE conversation_states", {}, Exception("disk I/O error"))
        yield

    # the state is read as ever at the update's start; only its write at the end fails
    monkeypatch.setattr(persistence.DatabasePersistence, "_writing", crash)
    before = len(customer.all_bot_messages())
    await customer.press(summary, "cp:submit")
    await customer.wait_for_callback_answer()
    await bot.settled()
    shown = [m.get("text", "") for m in customer.all_bot_messages()[before:]]
    assert len(shown) == 1 and shown[0].startswith("Something went wrong")
    assert "received" not in summary["text"]  # what was not kept was never said
    assert await complaints(bot) == 0  # the complaint went with the state: nothing half-kept


async def test_a_submit_whose_commit_fails_says_only_try_again_and_can_be_repeated(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    summary = await to_the_summary(bot, customer)
    await bot.settled()
    submit_buttons = buttons_of(summary)
    assert ("Submit", "cp:submit") in submit_buttons

    commits_fail(monkeypatch)
    before = len(customer.all_bot_messages())
    await customer.press(summary, "cp:submit")
    await customer.wait_for_callback_answer()  # the button's spinner stops at once
    assert (await customer.expect_text()).startswith("Something went wrong on our side")
    await bot.settled()
    assert len(customer.all_bot_messages()) == before + 1  # "try again", and nothing else
    assert "received" not in summary["text"]
    assert buttons_of(summary) == submit_buttons  # the summary still offers Submit
    assert await complaints(bot) == 0

    monkeypatch.undo()
    await customer.press(summary, "cp:submit")
    await bot.emulator.wait_until(lambda: "received" in summary["text"])
    await bot.settled()
    assert await complaints(bot) == 1
    await customer.press(summary, "cp:submit", forge=True)  # a copy pressed: nothing more
    await customer.wait_for_callback_answer()
    await bot.settled()
    assert await complaints(bot) == 1


async def test_an_update_is_confirmed_to_telegram_only_after_its_commit(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_step(update: Update, context) -> None:
        entered.set()
        await release.wait()
        raise ApplicationHandlerStop

    handler = MessageHandler(filters.Regex("^slow$"), slow_step)
    bot.application.add_handler(handler, group=-2)
    try:
        sent = await bot.emulator.send_text(bot.token, customer.user_id, "slow")
        await asyncio.wait_for(entered.wait(), 5)
        pending = [u["update_id"] for u in bot.emulator.bot(bot.token).updates]
        assert sent["update_id"] in pending  # handled but not committed: not confirmed yet
        release.set()
        await customer.send("/help")  # the next fetch confirms it
        await customer.expect()
        pending = [u["update_id"] for u in bot.emulator.bot(bot.token).updates]
        assert sent["update_id"] not in pending
    finally:
        bot.application.remove_handler(handler, group=-2)


async def test_a_database_failure_in_the_gate_stops_the_update_with_a_try_again(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")

    async def locked(*args, **kwargs):
        raise OperationalError("SELECT users", {}, Exception("database is locked"))

    monkeypatch.setattr(gate, "identify", locked)
    await customer.send("/complain")
    assert (await customer.expect_text()).startswith("Something went wrong on our side")
    monkeypatch.undo()
    await bot.settled()
    assert await complaints(bot) == 0
    await customer.send("/help")
    assert (await customer.expect_text()).startswith("Commands you can use:")


async def test_an_error_after_a_button_press_arrives_as_a_message(bot: BotHarness) -> None:
    qc = await register(bot, "quality", "Qiu QC")

    async def answers_then_fails(update: Update, context) -> None:
        await update.callback_query.answer()  # every callback answers its press first
        raise WrongState("complaint.already_verified", number="QC-2026-00009")

    handler = CallbackQueryHandler(answers_then_fails, pattern="^late-error$")
    bot.application.add_handler(handler, group=-2)
    try:
        await qc.send("/help")
        (help_message,) = await qc.expect()
        await qc.press(help_message, "late-error", forge=True)
        # the alert can no longer be shown: the error comes as a message, not as silence
        assert await qc.expect_text() == "QC-2026-00009 has already been verified."
    finally:
        bot.application.remove_handler(handler, group=-2)


async def test_a_submit_whose_answer_never_came_shows_it_when_pressed_again(
    bot: BotHarness,
) -> None:
    """The complaint is committed, but its answer (the summary edited into "received") never
    reaches the chat, as when the bot is killed between the two: the person presses Submit
    again and is shown the answer, not "no longer in use", which would send them to file the
    complaint a second time."""
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    summary = await to_the_summary(bot, customer)
    await bot.settled()
    bot.emulator.fail_next("editMessageText", 400, description="Bad Request: lost", times=1)
    await customer.press(summary, "cp:submit")
    await customer.wait_for_callback_answer()
    await bot.settled()
    assert await complaints(bot) == 1
    assert "received" not in summary["text"] and ("Submit", "cp:submit") in buttons_of(summary)

    before = len(customer.all_bot_messages())
    await customer.press(summary, "cp:submit")
    answer = await customer.wait_for_callback_answer()
    await bot.emulator.wait_until(lambda: "received" in summary["text"])
    await bot.settled()
    assert not answer.get("show_alert")  # no "this button is no longer in use"
    assert summary["text"].startswith("Complaint QC-") and buttons_of(summary) == []
    assert len(customer.all_bot_messages()) == before  # the summary edited, nothing more
    assert await complaints(bot) == 1


async def test_a_slow_button_answer_holds_up_no_one_else(bot: BotHarness) -> None:
    first = await register(bot, "customer", "Chen Meiling", organisation="C001")
    second = await register(bot, "customer", "Lin Yating", organisation="C001")
    await first.send("/complain")
    (ask_product,) = await first.expect()
    await to_the_quantity(second)
    await bot.settled()

    # Telegram takes seconds to answer the first person's press (the spinner): their step is
    # kept meanwhile, and the second person's step, which comes after it, is not held up (the
    # hold is long enough for a loaded machine to answer the second step well within it)
    bot.emulator.delay_next("answerCallbackQuery", 4.0)
    calls = bot.emulator.calls  # the emulator's last 10,000, shared by the whole session
    last = calls[-1] if calls else None

    def answer_asked() -> bool:
        for call in reversed(calls):
            if call is last:
                return False
            if call[0] == "answerCallbackQuery":
                return True
        return False

    await first.press(ask_product, buttons_of(ask_product)[0][1])
    # the press is being answered before the text is sent
    await bot.emulator.wait_until(answer_asked)
    shown_to_first = len(first.all_bot_messages())
    await second.send("12")
    assert (await second.expect_text()).startswith("What is wrong?")
    assert len(first.all_bot_messages()) == shown_to_first  # still waiting for its answer
    # then the first person's next question, after the answer (its order kept)
    assert "lot" in (await first.expect_text(timeout=10)).lower()
    await bot.settled()


async def test_an_answer_that_says_something_waits_for_the_commit(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    summary = await to_the_summary(bot, customer)
    await bot.settled()

    # a stale button's alert ("no longer in use") is said only of what was kept
    commits_fail(monkeypatch)
    answers = bot.emulator.bot(bot.token).callback_answers
    before = len(answers)
    await customer.press(summary, "cp:no-such-step", forge=True)
    assert (await customer.expect_text()).startswith("Something went wrong on our side")
    await bot.settled()
    assert [a.get("text") for a in list(answers.values())[before:]] == []

    monkeypatch.undo()
    await customer.press(summary, "cp:no-such-step", forge=True)
    answer = await customer.wait_for_callback_answer()
    assert answer.get("text")  # said once the step was kept
    await bot.settled()
