"""The heads' Mini App end to end in a real browser (headless Chromium, as
test_web_chat_in_browser.py): the bot on the emulator, the web chat, and the Mini App's own
server on a port of its own, reading the test's database, its address the bot's WEBAPP_URL.

A quality head opens the Mini App from the web chat's menu button, filters the late complaints,
opens the one made late by the clock, sees its photo load and its timeline, downloads its form
(the PDF arrives in the browser's downloads), and follows "open in the chat" back to the chat,
which shows the complaint. The equipment manager's defect chart counts the defects the test
filed against the vendor. A customer has no Mini App menu button, and the Mini App's API refuses
the customer's correctly signed initData, as it refuses forged, stale and missing initData. A
description with HTML in it shows as those characters in the list and on the record's page.
Screenshots of every step are kept under test-output/web-chat/.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.services import Services
from core.config import Settings
from emulator.server import BotApiEmulator, FloodLimits
from emulator.web import WebChat
from emulator.web_app import init_data
from procedures.equipment.defects import open_defect
from procedures.equipment.policy import EquipmentPolicy
from procedures.kernel import photos
from procedures.kernel.calendar import local_day
from procedures.kernel.clock import ManualClock
from storage.db import read_only_sessions
from storage.models import EquipmentAsset, Photo, User, Vendor
from tests.unit.helpers import file
from webapp.app import MiniApp, create_app
from webapp.server import server_for

from .conftest import BotHarness, register, running_bot
from .test_web_chat_in_browser import Page, browser, browser_paths  # noqa: F401

TYPED = "<img src=x onerror=alert(1)>"
DEFECTS_FILED = 3


def _png() -> bytes:
    """A real picture (a QR code: segno writes PNGs without an imaging library)."""
    import io

    import segno

    out = io.BytesIO()
    segno.make("a leaking syringe", error="h").save(out, kind="png", scale=8, dark="#a33")
    return out.getvalue()


@pytest.fixture
def mini_app_socket() -> Iterator[socket.socket]:
    """The Mini App's listening socket, bound before the settings name its address."""
    bound = socket.socket()
    bound.bind(("127.0.0.1", 0))
    bound.listen()
    yield bound
    bound.close()


@pytest.fixture
def settings(settings: Settings, mini_app_socket: socket.socket) -> Settings:
    port = mini_app_socket.getsockname()[1]
    return settings.model_copy(update={"webapp_url": f"http://127.0.0.1:{port}/"})


@contextlib.asynccontextmanager
async def serving_mini_app(bot: BotHarness, mini_app_socket: socket.socket) -> AsyncIterator[str]:
    """The real Mini App on its socket for the running bot (its token signs the initData, its
    username the links back to the chat), reading the test's database on the test's clock;
    its address."""
    services = bot.services
    assert services.file_store is not None
    app = MiniApp(
        settings=services.settings,
        sessions=read_only_sessions(services.session_factory),
        clock=services.clock,
        texts=services.texts,
        file_store=services.file_store,
        bot_token=bot.token,
        bot_username=bot.application.bot.username,
    )
    port = mini_app_socket.getsockname()[1]
    server = server_for(create_app(app), "127.0.0.1", port, embedded=True)
    serving = asyncio.get_running_loop().create_task(server.serve(sockets=[mini_app_socket]))
    try:
        # the socket listens already: a request made before uvicorn accepts waits in its queue
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await serving


async def _keep_photo(services: Services, complaint_id: int, filer_id: int) -> None:
    """A photo kept on the complaint and stored, as the evidence fetcher stores it."""
    assert services.file_store is not None
    picture = _png()
    stored = services.file_store.put(picture)
    async with services.unit_of_work() as uow:
        actor = await uow.session.get(User, filer_id)
        assert actor is not None
        photos.add_photos(
            uow.session, "complaint", complaint_id, "filing", ["f1"], actor, uow.clock.now()
        )
        await uow.session.flush()
        kept = await uow.session.scalar(select(Photo).where(Photo.subject_id == complaint_id))
        assert kept is not None
        photos.record_stored(kept, stored.sha256, len(picture), "image/png", uow.clock.now())
        await uow.commit()


async def _file_defects(services: Services, technician_id: int, count: int) -> str:
    """`count` defects on the elevator EL-01, as a patrol opens them; its vendor's name."""
    async with services.unit_of_work() as uow:
        session = uow.session
        asset = await session.scalar(select(EquipmentAsset).where(EquipmentAsset.code == "EL-01"))
        assert asset is not None and asset.vendor_id is not None
        await session.refresh(asset, ["vendor"])  # the notices name it
        found_by = await session.scalar(select(User).where(User.telegram_id == technician_id))
        assert found_by is not None
        now = uow.clock.now()
        for n in range(count):
            await open_defect(
                session,
                asset,
                None,
                found_by,
                f"門機開關時有異響（{n + 1}）",
                [],
                now,
                repair_hours=uow.policy(EquipmentPolicy).repair_hours,
                day=local_day(now, services.settings.timezone),
            )
        vendor = await session.get(Vendor, asset.vendor_id)
        assert vendor is not None
        name = vendor.name
        await uow.commit()
        return name


def _open_mini_app(page: Page, address: str, person_id: int) -> None:
    """Open the person's chat in the web chat and the Mini App from its menu button."""
    page.driver.get(f"{address}#{person_id}")
    menu = page.wait(
        lambda: (
            (b := page.css("#menu-button")[0]).is_displayed()
            and "web-app" in (b.get_attribute("class") or "")
            and b
        ),
        "the Mini App's menu button",
    )
    menu.click()
    frame = page.wait(
        lambda: page.css("#mini-app")[0].is_displayed() and page.css("#mini-app-frame")[0],
        "the panel",
    )
    page.driver.switch_to.frame(frame)


def _cards(page: Page) -> list[str]:
    return [card.get_attribute("data-key") for card in page.css("#cards .card")]


def natural_width(page: Page, image: Any) -> int:
    """The picture's own width once it has loaded; 0 before, or if it is no picture."""
    return int(
        page.driver.execute_script(
            "return arguments[0].complete ? arguments[0].naturalWidth : 0", image
        )
    )


def _quality_head_walk(page: Page, address: str, head_id: int, late: str, on_time: str) -> dict:
    """The head's gestures; what the page showed."""
    seen: dict[str, Any] = {}
    _open_mini_app(page, address, head_id)
    page.wait(lambda: sorted(_cards(page)) == sorted([late, on_time]), "the open complaints")
    page.shot("list")
    # the month filter offers months by name; November holds only the first complaint
    from selenium.webdriver.support.select import Select

    page.css("#more-filters")[0].click()
    months = Select(page.css('#filters select[name="month"]')[0])
    seen["november"] = next(o.text for o in months.options if o.get_attribute("value") == "2026-11")
    months.select_by_value("2026-11")
    page.css("#filters button.primary")[0].click()
    page.wait(lambda: _cards(page) == [late], "the complaints of November")
    page.css("#more-filters")[0].click()
    page.css("#clear-filters")[0].click()
    page.wait(lambda: len(_cards(page)) == 2, "every open complaint again")
    page.css("#late-chip")[0].click()
    page.wait(lambda: _cards(page) == [late], "the late complaint only")
    card = page.css(f'#cards .card[data-key="{late}"]')[0]
    seen["card"] = card.text
    seen["card_late"] = "late" in (card.get_attribute("class") or "")
    page.shot("late")

    page.css(f'#cards .card[data-key="{late}"] button')[0].click()
    page.wait(lambda: page.css(".record-head h1"), "the record's page")
    # the web chat shows its back button above the panel: the page shows none of its own
    seen["own_back"] = page.css("#back")[0].is_displayed()
    page.shot("record-top")
    seen["timeline"] = page.wait(
        lambda: [li.text for li in page.css(".timeline li")], "the timeline"
    )
    # the photos load as the head scrolls to them (lazily, as on a phone)
    page.driver.execute_script("arguments[0].scrollIntoView()", page.css(".photos")[0])
    seen["photos"] = page.wait(
        lambda: (
            all(widths := [natural_width(page, image) for image in page.css(".photos img")])
            and widths
        ),
        "the photos to load",
    )
    seen["fields"] = [field.text for field in page.css(".fields dd")]
    seen["made_from_text"] = page.css("#record b, #cards b, img[src='x']")
    page.shot("record")

    before = set(page.downloads.iterdir())
    page.css(".forms-part a.download")[0].click()
    downloaded = page.wait(
        lambda: [
            path
            for path in set(page.downloads.iterdir()) - before
            if path.suffix == ".pdf" and path.stat().st_size
        ],
        "the form to download",
    )
    seen["form"] = downloaded[0].read_bytes()

    page.css("#open-in-chat")[0].click()
    page.driver.switch_to.default_content()
    page.wait(lambda: not page.css("#mini-app")[0].is_displayed(), "the panel to close")
    page.wait(
        lambda: [t for t in page.texts() if t.startswith(f"/start {late}")], "the head's /start"
    )
    seen["shown"] = page.bot_message(f"{late}").text
    page.shot("back-in-the-chat")
    return seen


def _manager_charts(page: Page, address: str, manager_id: int) -> dict[str, list[str]]:
    """The equipment manager's charts: each defect bar's figure as the page says it, and the
    month axis of the complaints' chart as it reads."""
    _open_mini_app(page, address, manager_id)
    page.wait(lambda: page.css('#tabs [data-tab="charts"]'), "the charts' tab")[0].click()
    bars = page.wait(
        lambda: page.css('.chart[data-chart="defects_by_vendor"] rect.bar'), "the defect chart"
    )
    page.shot("charts")
    script = "return arguments[0].querySelector('title').textContent"
    axis = page.css('.chart[data-chart="complaints_by_product"] svg text.tick:has(title)')
    return {
        "bars": [page.driver.execute_script(script, bar) for bar in bars],
        "months": [
            page.driver.execute_script("return arguments[0].firstChild.textContent", label)
            for label in axis
        ],
    }


def _customer_menu(page: Page, address: str, customer_id: int) -> str:
    """The customer's menu button as shown, once the chat has the greeting."""
    page.driver.get(f"{address}#{customer_id}")
    page.wait(lambda: page.texts(), "the customer's chat")
    button = page.css("#menu-button")[0]
    page.shot("customer")
    return "" if not button.is_displayed() else str(button.get_attribute("class"))


async def test_a_quality_head_walks_from_the_late_list_to_the_form_and_back_to_the_chat(
    browser: Callable[..., Page],  # noqa: F811
    services: Services,
    samples: None,
    clock: ManualClock,
    mini_app_socket: socket.socket,
) -> None:
    # initData is dated by the emulator's clock, which is the test's, as the Mini App checks it
    emulator = BotApiEmulator(
        flood_limits=FloodLimits(chat_burst=20), wall_clock=lambda: clock.now().timestamp()
    )
    port = await emulator.start(extra_routes=WebChat(emulator).routes())
    async with (
        running_bot(emulator, services) as bot,
        serving_mini_app(bot, mini_app_socket) as mini_app,
    ):
        late = await file(services, organisation="C001", description=TYPED)
        filer = await services_customer_of(services, late.id)
        await _keep_photo(services, late.id, filer)
        clock.advance(dt.timedelta(days=10))  # the first complaint's deadlines are past
        on_time = await file(services, organisation="C002", description="cap cracked")

        head = await register(bot, "quality_head", "Quan Quality Head", language="zh-Hant")
        manager = await register(
            bot, "equipment_manager", "Ma Equipment Manager", language="zh-Hant"
        )
        technician = await register(bot, "technician", "Tang Technician", language="zh-Hant")
        customer = await register(bot, "customer", "Chen Customer", organisation="C001")
        for person in (head, manager, customer):
            await person.send("/start")
            await person.expect()
        await bot.settled()
        vendor = await _file_defects(services, technician.user_id, DEFECTS_FILED)

        address = f"http://127.0.0.1:{port}/"
        seen = await asyncio.to_thread(
            _quality_head_walk,
            browser("mini-app-flow"),
            address,
            head.user_id,
            late.number,
            on_time.number,
        )
        charts = await asyncio.to_thread(
            _manager_charts, browser("mini-app-charts"), address, manager.user_id
        )
        customer_menu = await asyncio.to_thread(
            _customer_menu, browser("mini-app-customer"), address, customer.user_id
        )
        refusals = await _refusals(mini_app, bot, customer.user_id, head.user_id, clock)
    await emulator.stop()

    assert seen["november"] == "2026年11月"
    assert TYPED in seen["card"] and seen["card_late"] and "已逾期" in seen["card"]
    assert TYPED in seen["fields"] and not seen["made_from_text"]
    assert seen["timeline"] and all(seen["timeline"])
    assert seen["own_back"] is False
    # every entry in the head's words: the hold's scope too, not its stored key
    [hold] = [entry for entry in seen["timeline"] if "暫停發貨：" in entry]
    assert "product" not in hold and "lot" not in hold
    assert seen["photos"] and all(width > 0 for width in seen["photos"])
    assert seen["form"].startswith(b"%PDF")
    assert late.number in seen["shown"]
    [vendor_bar] = [bar for bar in charts["bars"] if bar.startswith(f"{vendor}·")]
    assert vendor_bar.endswith(f"：{DEFECTS_FILED}件")
    # the months under the bars as a person reads them (the year is in the title)
    assert charts["months"] and all(re.fullmatch(r"\d{1,2}月", m) for m in charts["months"])
    assert "web-app" not in customer_menu
    assert refusals == {"customer": 401, "forged": 401, "stale": 401, "missing": 401, "head": 200}


async def services_customer_of(services: Services, complaint_id: int) -> int:
    """The id of the customer who filed the complaint."""
    from storage.models import Complaint

    async with services.session_factory() as session:
        complaint = await session.get(Complaint, complaint_id)
        assert complaint is not None
        return int(complaint.filed_by_id)


async def _refusals(
    mini_app: str, bot: BotHarness, customer_id: int, head_id: int, clock: ManualClock
) -> dict[str, int]:
    """The API's answers to a customer's signed initData, forged, stale and missing initData,
    and (to show the request itself is right) the head's."""
    now = int(clock.now().timestamp())

    def signed(user_id: int, *, token: str = bot.token, at: int = now) -> dict[str, str]:
        user = {"id": user_id, "first_name": "Someone"}
        return {"X-Telegram-Init-Data": init_data(token, user, auth_date=at, query_id="AAE1")}

    stale_at = now - bot.services.settings.webapp_init_data_max_age - 60
    asked = {
        "customer": signed(customer_id),
        "forged": signed(head_id, token="1000002:another-bot"),
        "stale": signed(head_id, at=stale_at),
        "missing": {},
        "head": signed(head_id),
    }
    async with httpx.AsyncClient(base_url=mini_app) as client:
        answers = {}
        for name, headers in asked.items():
            reply = await client.get("api/records?type=complaint", headers=headers)
            if reply.status_code == 401:
                assert reply.json() == {"error": "unauthorized"}
            answers[name] = reply.status_code
    return answers
