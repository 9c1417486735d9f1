"""A dialogue survives a restart of the bot, and an abandoned one expires with a clear answer."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from bot.app import build_application, start_background_work, stop_background_work
from bot.handlers.complaint_intake import QUANTITY
from bot.runtime.persistence import DatabasePersistence
from bot.services import Services
from core.database import load_samples_if_empty
from emulator.server import BotApiEmulator
from procedures.kernel.clock import ManualClock
from storage.models import Complaint

from .conftest import BotHarness, buttons_of, register

_bot_ids = itertools.count(900_001)


async def run_bot(services: Services, emulator: BotApiEmulator, token: str):
    application = build_application(services, token, base_url=emulator.base_url, poll_timeout=1)
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await start_background_work(application)
    return application


async def stop_bot(application) -> None:
    await application.updater.stop()
    await stop_background_work(application)
    await application.stop()
    await application.shutdown()


async def test_a_complaint_half_filed_before_a_restart_is_finished_after_it(
    services: Services, emulator: BotApiEmulator
) -> None:
    await load_samples_if_empty(services)
    token = f"{next(_bot_ids)}:restart-token"
    first = await run_bot(services, emulator, token)
    customer = await register(
        BotHarness(emulator, first, token), "customer", "Chen Meiling", organisation="C001"
    )
    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    await customer.press(ask_product, buttons_of(ask_product)[0][1])
    (ask_lot,) = await customer.expect()
    await customer.press(ask_lot, buttons_of(ask_lot)[0][1])
    assert (await customer.expect_text()).startswith("How many units are affected?")
    await stop_bot(first)  # as if the process were killed after the step was answered

    state = await DatabasePersistence(services.session_factory).get_conversations(
        "complaint_intake"
    )
    assert list(state.values()) == [QUANTITY]  # waiting for the quantity

    second = await run_bot(services, emulator, token)
    try:
        await customer.send("3")
        assert (await customer.expect_text()).startswith("What is wrong?")
        await customer.send("Cracked barrels.")
        (ask_photos,) = await customer.expect()
        await customer.press(ask_photos, "cp:photos:done")
        (summary,) = await customer.expect()
        await customer.press(summary, "cp:submit")
        await emulator.wait_until(lambda: "received" in customer.all_bot_messages()[-1]["text"])
    finally:
        await stop_bot(second)
    async with services.session_factory() as session:
        (complaint,) = await session.scalars(select(Complaint))
        assert (complaint.quantity, complaint.description) == (3, "Cracked barrels.")


async def test_an_abandoned_complaint_form_expires_and_says_so(
    bot: BotHarness, clock: ManualClock
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    await customer.press(ask_product, buttons_of(ask_product)[0][1])
    await customer.expect()

    clock.advance(dt.timedelta(hours=3))
    await customer.send("L20260301")
    assert await customer.expect_text() == (
        "This complaint form was left unfinished for too long and has expired. "
        "Send /complain to start again."
    )
    await customer.send("12")  # the dialogue is over: plain text is not taken as a quantity
    assert await customer.expect_text() == (
        "I did not understand that. Send /help to see what you can use."
    )


async def test_cancel_leaves_the_complaint_form_and_files_nothing(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/complain")
    await customer.expect()
    await customer.send("/cancel")
    assert await customer.expect_text() == "The complaint was cancelled; nothing was filed."
    async with bot.services.session_factory() as session:
        assert list(await session.scalars(select(Complaint))) == []
