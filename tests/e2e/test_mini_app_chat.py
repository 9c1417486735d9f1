"""The Mini App from the chat: the heads get its menu button and a button under /start and
/help, everybody else Telegram's default menu button and no button; `/start QC-…` (the Mini
App's link back) shows the record to whoever may read it and "not found" to anyone else; an
invitation code still redeems."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from core.config import Settings
from emulator.server import BotApiEmulator
from emulator.web import WebChat
from tests.unit.helpers import file, make_user
from tests.unit.test_consumer_complaints import file_as_consumer
from tests.unit.test_patrols import draft_for, patrol
from tests.unit.test_returns import request

from .conftest import BotHarness, Chat, register

MINI_APP = "http://127.0.0.1:8082/"
LINK = re.compile(r"https://t\.me/(\w+)\?start=([\w-]+)")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The deployment's settings with the Mini App's address configured."""
    return settings.model_copy(update={"webapp_url": MINI_APP})


def web_apps_of(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, url) of every web_app button under a message."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b["web_app"]["url"]) for row in rows for b in row if "web_app" in b]


async def menu_button(bot: BotHarness, chat: Chat) -> dict[str, Any]:
    await bot.settled()
    found: dict[str, Any] = await bot.emulator.call(
        bot.token, "getChatMenuButton", {"chat_id": chat.user_id}
    )
    return found


async def test_a_quality_head_gets_the_mini_app_and_a_customer_the_default_menu(
    bot: BotHarness,
) -> None:
    head = await register(bot, "quality_head", "Zhou Head", language="zh-Hant")
    await head.send("/start")
    (greeting,) = await head.expect()
    assert web_apps_of(greeting) == [("開啟總覽", MINI_APP)]
    assert await menu_button(bot, head) == {
        "type": "web_app",
        "text": "總覽",
        "web_app": {"url": MINI_APP},
    }
    await head.send("/help")
    (listed,) = await head.expect()
    assert web_apps_of(listed) == [("開啟總覽", MINI_APP)]

    customer = await register(bot, "customer", "Chen Buyer", organisation="C001")
    await customer.send("/start")
    (greeting,) = await customer.expect()
    assert web_apps_of(greeting) == []
    assert await menu_button(bot, customer) == {"type": "commands"}
    await customer.send("/help")
    (listed,) = await customer.expect()
    assert "reply_markup" not in listed


async def test_the_link_back_shows_the_complaint_to_staff_and_not_to_another_customer(
    bot: BotHarness,
) -> None:
    complaint = await file(bot.services, "C001", "L20260301")
    head = await register(bot, "quality_head", "Zhou Head")
    await head.send(f"/start {complaint.number}")
    shown = await head.expect_text()
    # the whole record, as /ticket shows it to staff
    assert shown.startswith(f"{complaint.number} — open") and "\nTimeline:\n" in shown
    # typed on a phone in full width, the number still opens it
    await bot.settled()
    head.seen = len(head.all_bot_messages())
    await head.send("/start ＱＣ－２０２６－０００01")
    assert (await head.expect_text()).startswith(f"{complaint.number} — open")

    stranger = await register(bot, "customer", "Wu Buyer", organisation="C002")
    await stranger.send(f"/start {complaint.number}")
    assert await stranger.expect_text() == "No complaint with that number is visible to you."
    vendor = await register(bot, "vendor", "Lift Vendor")
    await vendor.send(f"/start {complaint.number}")
    assert await vendor.expect_text() == "No complaint with that number is visible to you."


async def test_an_invitation_still_redeems_and_brings_the_mini_app_to_a_head(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await register(bot, "admin", "Admin")
    await admin.send("/invite quality_head")
    invitation = await admin.expect_text()
    match = LINK.search(invitation)
    assert match, invitation
    newcomer = bot.chat("Zhou Head", language_code="en")
    await newcomer.send(f"/start {match.group(2)}")
    (welcome,) = await newcomer.expect()
    assert "Welcome, Zhou Head!" in welcome["text"]
    assert web_apps_of(welcome) == [("Open the overview", MINI_APP)]
    assert (await menu_button(bot, newcomer))["type"] == "web_app"


async def test_the_link_back_shows_a_consumer_complaint_to_after_sales_only(
    bot: BotHarness,
) -> None:
    consumer = await make_user(bot.services, "consumer", language="en")
    complaint = await file_as_consumer(bot.services, consumer)
    staff = await register(bot, "after_sales", "Ann After-sales")
    await staff.send(f"/start {complaint.number.lower()}")
    shown = await staff.expect_text()
    assert shown.startswith(complaint.number) and "The cuff tore on the second day." in shown
    assert shown.endswith("Status: waiting for after-sales' judgement")

    for role in ("consumer", "customer"):
        other = await register(bot, role, f"Other {role}", organisation="C001")
        await other.send(f"/start {complaint.number}")
        assert await other.expect_text() == "There is no such consumer complaint."


async def test_the_web_chat_may_frame_a_mini_app_but_no_site_may_frame_the_web_chat() -> None:
    emulator = BotApiEmulator()
    web = WebChat(emulator, "970101:frames")
    port = await emulator.start(extra_routes=web.routes())
    emulator.add_user(970_102, "Lin")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            page = await client.get("/")
            policy = page.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in policy and "frame-src" in policy
            assert page.headers["X-Frame-Options"] == "DENY"
            await emulator.call("970101:frames", "getMe", {})
            refused = await client.post(
                "/web/api/webapp",
                json={"user": 970_102, "url": "http://127.0.0.1:8082/"},
                headers={"X-Web-Chat-Token": web.page_token},
            )
            assert refused.status_code == 400 and "no web_app button" in refused.json()["error"]
    finally:
        await emulator.stop()


async def test_the_link_back_opens_a_return_and_a_defect_for_their_readers_only(
    bot: BotHarness,
) -> None:
    returned = await request(bot.services, 5)
    technician = await make_user(bot.services, "technician")
    draft = await draft_for(bot.services, "EL-01", abnormal="EL-DOOR")
    draft.photo_file_ids = [bot.emulator.store_file(b"door", None, "image/jpeg").file_id]
    await patrol(bot.services, technician, draft)

    head = await register(bot, "after_sales_head", "Hu Head")
    await head.send(f"/start {returned.number}")
    assert (await head.expect_text()).startswith(returned.number)
    manager = await register(bot, "equipment_manager", "Ma Manager")
    await manager.send("/start DF-2026-00001")
    assert "DF-2026-00001" in (await manager.expect_text()).split("\n")[0]

    customer = await register(bot, "customer", "Chen Buyer", organisation="C001")
    await customer.send(f"/start {returned.number}")
    assert await customer.expect_text() == "No such return, or not one you may see."
    await customer.send("/start DF-2026-00001")
    assert await customer.expect_text() == "No defect with that number is visible to you."


async def test_a_menu_button_telegram_refuses_is_logged_and_the_greeting_still_comes(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    head = await register(bot, "quality_head", "Zhou Head")
    bot.emulator.fail_next("setChatMenuButton", 400, description="Bad Request: try later")
    await head.send("/start")
    (greeting,) = await head.expect()
    assert greeting["text"].startswith("Hello Zhou Head.")
    assert web_apps_of(greeting) == [("Open the overview", MINI_APP)]
    await bot.settled()
    assert "could not set the menu button of chat" in caplog.text
    assert await menu_button(bot, head) == {"type": "commands"}
