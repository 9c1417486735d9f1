"""The Mini App opened from the web chat in a real browser (headless Chromium, as
test_web_chat_in_browser.py): a quality head's menu button opens the configured address in the
panel with initData signed by the bot's token, and the link the page posts back
(web_app_open_tg_link) closes the panel and sends /start QC-… as the head, who then reads the
complaint. The Mini App here is a tiny page served by the test that shows its own address's
fragment, asks for the back button and hears it pressed, and posts the link when its button is
pressed."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from core.config import Settings
from emulator.server import BotApiEmulator, FloodLimits
from emulator.web import WebChat
from emulator.web_app import init_data_hash
from tests.unit.helpers import file

from .conftest import register, running_bot
from .test_web_chat_in_browser import PHONE, Page, browser, browser_paths  # noqa: F401

PAGE = """<!doctype html><meta charset="utf-8"><title>Mini App</title>
<pre id="fragment"></pre><button id="back" type="button">back to the chat</button>
<button id="close" type="button">close</button><p id="pressed"></p>
<script>
window.parent.postMessage(JSON.stringify({
  eventType: "web_app_setup_back_button", eventData: {is_visible: true},
}), "*");
window.addEventListener("message", (event) => {
  if (JSON.parse(event.data).eventType === "back_button_pressed") {
    document.getElementById("pressed").textContent = "back pressed";
  }
});
document.getElementById("fragment").textContent = location.hash.slice(1);
document.getElementById("back").onclick = () => window.parent.postMessage(JSON.stringify({
  eventType: "web_app_open_tg_link",
  eventData: {path_full: "/BOT?start=QC-2026-00001"},
}), "*");
document.getElementById("close").onclick = () => window.parent.postMessage(JSON.stringify({
  eventType: "web_app_close", eventData: {},
}), "*");
</script>"""


class _MiniAppPage(tornado.web.RequestHandler):
    """The tiny Mini App; it names the bot its link goes back to, as the real one does."""

    def initialize(self, bot: dict[str, str]) -> None:
        self.bot = bot

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(PAGE.replace("BOT", self.bot["username"]))


@pytest.fixture
def mini_app_socket() -> Iterator[socket.socket]:
    """The tiny Mini App's listening socket, bound before the settings name its address."""
    (bound,) = tornado.netutil.bind_sockets(0, "127.0.0.1")
    yield bound
    bound.close()


@pytest.fixture
def settings(settings: Settings, mini_app_socket: socket.socket) -> Settings:
    port = mini_app_socket.getsockname()[1]
    return settings.model_copy(
        update={"webapp_url": f"http://127.0.0.1:{port}/", "default_language": "en"}
    )


def _walk(page: Page, address: str, head_id: int) -> dict[str, Any]:
    """The head's gestures in the browser; what the Mini App read from its address."""
    from selenium.webdriver.common.by import By

    page.driver.get(f"{address}#{head_id}")
    menu = page.wait(
        lambda: (b := page.css("#menu-button")[0]).is_displayed() and b.text == "Overview" and b,
        "the Mini App's menu button",
    )
    page.shot("menu-button")
    menu.click()
    frame = page.wait(
        lambda: page.css("#mini-app")[0].is_displayed() and page.css("#mini-app-frame")[0],
        "the panel",
    )
    page.driver.switch_to.frame(frame)
    fragment = page.wait(
        lambda: page.driver.find_element(By.ID, "fragment").text, "the Mini App's page"
    )
    page.driver.switch_to.default_content()
    page.shot("panel")
    # the page asked for Telegram's back button: the panel shows it and tells the page of a press
    page.wait(lambda: page.css("#mini-app-back")[0].is_displayed(), "the panel's back button")
    page.css("#mini-app-back")[0].click()
    page.driver.switch_to.frame(page.css("#mini-app-frame")[0])
    page.wait(lambda: page.driver.find_element(By.ID, "pressed").text, "the back press heard")
    page.driver.find_element(By.ID, "back").click()
    page.driver.switch_to.default_content()
    page.wait(lambda: not page.css("#mini-app")[0].is_displayed(), "the panel to close")
    sent = page.wait(
        lambda: [t for t in page.texts() if t.startswith("/start QC-2026-00001")],
        "the head's /start",
    )
    shown = page.bot_message("QC-2026-00001 — open")
    page.shot("back-in-the-chat")

    # the button under /help opens it too; the page's own close closes the panel
    page.type("/help")
    page.press("Open the overview", in_message="Commands you can use")
    page.wait(lambda: page.css("#mini-app")[0].is_displayed(), "the panel from /help")
    page.driver.switch_to.frame(page.css("#mini-app-frame")[0])
    page.wait(lambda: page.driver.find_element(By.ID, "close").is_displayed(), "the page")
    page.driver.find_element(By.ID, "close").click()
    page.driver.switch_to.default_content()
    page.wait(lambda: not page.css("#mini-app")[0].is_displayed(), "the panel to close")
    return {"fragment": fragment, "sent": sent, "shown": shown.text}


def _on_a_phone(page: Page, address: str, head_id: int) -> bool:
    """At a phone's width the panel covers the chat, its close button in reach."""
    page.driver.get(f"{address}#{head_id}")
    page.wait(lambda: page.css("#menu-button")[0].is_displayed(), "the menu button")
    page.css("#menu-button")[0].click()
    page.wait(lambda: page.on_screen("#mini-app"), "the panel")
    page.shot("phone-panel")
    covers: bool = page.driver.execute_script(
        "const box = document.getElementById('mini-app').getBoundingClientRect();"
        "return box.left === 0 && box.top === 0 && box.width === innerWidth"
        " && box.height === innerHeight;"
    )
    page.css("#mini-app-close")[0].click()
    page.wait(lambda: not page.css("#mini-app")[0].is_displayed(), "the panel to close")
    return covers


async def test_the_menu_button_opens_the_mini_app_signed_and_its_link_comes_back_to_the_chat(
    browser: Callable[..., Page],  # noqa: F811
    services: Any,
    samples: None,
    mini_app_socket: socket.socket,
) -> None:
    emulator = BotApiEmulator(flood_limits=FloodLimits(chat_burst=20))
    # the web chat shows the one bot this emulator serves
    port = await emulator.start(extra_routes=WebChat(emulator).routes())
    async with running_bot(emulator, services) as bot:
        bot_name = {"username": bot.application.bot.username}
        mini_app = tornado.httpserver.HTTPServer(
            tornado.web.Application([(r"/", _MiniAppPage, {"bot": bot_name})])
        )
        mini_app.add_sockets([mini_app_socket])
        try:
            await file(bot.services, "C001", "L20260301")
            head = await register(bot, "quality_head", "Zhou Head", language="en")
            await head.send("/start")
            await head.expect()
            await bot.settled()

            page = browser("mini-app")
            address = f"http://127.0.0.1:{port}/"
            seen = await asyncio.to_thread(_walk, page, address, head.user_id)
            phone = browser("mini-app-phone", PHONE)
            covers = await asyncio.to_thread(_on_a_phone, phone, address, head.user_id)
        finally:
            mini_app.stop()
    await emulator.stop()

    launch = parse_qs(seen["fragment"])
    assert launch["tgWebAppVersion"] == ["8.0"] and launch["tgWebAppPlatform"] == ["emulator"]
    fields = dict(parse_qsl(launch["tgWebAppData"][0]))
    assert json.loads(fields["user"])["id"] == head.user_id
    assert fields["hash"] == init_data_hash(bot.token, fields)
    assert int(fields["auth_date"]) > 0 and fields["query_id"]
    assert seen["shown"].startswith("QC-2026-00001 — open")
    assert covers
