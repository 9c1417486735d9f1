"""The web chat's routes with `make run`'s wiring in-process (no browser): the demo people, who
speak the deployment's default language, a person added and enrolled from the page, button
answers, albums, files, live events, the demo clock that runs the scheduled jobs, the page's
words in every language and its favicon. The walks that read the bot's English run on a
deployment whose default language is English."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.__main__ import EMULATOR_TOKEN, start_demo
from bot.app import build_application, start_background_work, stop_background_work
from bot.services import build_services
from core.config import Settings
from core.database import load_samples_if_empty
from core.demo import DEMO_PEOPLE, FIRST_DEMO_ID
from emulator.server import BotApiEmulator
from emulator.web import WebChat
from procedures.kernel import roles
from procedures.kernel.clock import ManualClock
from scheduler.demo import DemoClock
from storage.models import Invitation, User

from ..conftest import SHANGHAI, START

STATIC = Path(__file__).resolve().parents[2] / "emulator" / "static"
in_english = pytest.mark.parametrize("demo_language", ["en"])


class Demo:
    def __init__(self, web: WebChat, client: httpx.AsyncClient, clock: DemoClock) -> None:
        self.web = web
        self.client = client
        self.clock = clock

    async def get(self, path: str, **params: Any) -> Any:
        reply = await self.client.get(f"/web/api/{path}", params=params)
        reply.raise_for_status()
        return reply.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        reply = await self.client.post(f"/web/api/{path}", json=body)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def person(self, starts: str) -> int:
        return next(
            u.id for u in self.web.emulator.users.values() if u.first_name.startswith(starts)
        )

    async def bot_says(self, user_id: int, contains: str, timeout: float = 8.0) -> dict[str, Any]:
        """The latest bot message in the chat containing `contains`, once it is there."""
        emulator = self.web.emulator

        def found() -> dict[str, Any] | None:
            for message in reversed(emulator.bot_messages(EMULATOR_TOKEN, user_id)):
                if contains in (message.get("text") or message.get("caption") or ""):
                    return message
            return None

        try:
            return await emulator.wait_until(found, timeout)
        except TimeoutError:
            texts = [m.get("text") for m in emulator.bot_messages(EMULATOR_TOKEN, user_id)]
            raise AssertionError(f"no {contains!r} in {texts[-3:]}") from None


@pytest.fixture
def demo_language() -> str:
    """The deployment's DEFAULT_LANGUAGE, which the demo people speak."""
    return "zh-Hant"


@pytest.fixture
async def demo(engine: AsyncEngine, tmp_path: Path, demo_language: str) -> AsyncIterator[Demo]:
    # the database URL only places the demo's small files (ids, clock) in tmp_path
    settings = Settings(
        timezone=SHANGHAI,
        default_language=demo_language,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        file_store=str(tmp_path / "files"),
    )
    clock = DemoClock(system=ManualClock(START))
    services = build_services(settings, engine, clock)
    await load_samples_if_empty(services)
    emulator, web, jobs = await start_demo(services, port=0)
    application = build_application(
        services, EMULATOR_TOKEN, base_url=emulator.base_url, background_jobs=jobs, poll_timeout=1
    )
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await start_background_work(application)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{emulator.port}",
        headers={"X-Web-Chat-Token": web.page_token},  # as the page sends it
        timeout=30,
    ) as client:
        yield Demo(web, client, clock)
    await application.updater.stop()
    await stop_background_work(application)
    await application.stop()
    await application.shutdown()
    await emulator.stop()
    assert not emulator.violations


@in_english
async def test_the_page_lists_a_demo_person_for_every_role_each_enrolled_by_invitation(
    demo: Demo, engine: AsyncEngine
) -> None:
    state = await demo.get("state")
    names = [p["name"] for p in state["people"]]
    assert names == [p.name for p in DEMO_PEOPLE]
    assert {p.role for p in DEMO_PEOPLE} == set(roles.ALL_ROLES)
    async with engine.connect() as connection:
        redeemed = await connection.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.redeemed_at.is_not(None))
        )
        demo_users = await connection.scalar(
            select(func.count()).select_from(User).where(User.telegram_id >= FIRST_DEMO_ID)
        )
    assert redeemed == demo_users == len(DEMO_PEOPLE)

    qc = demo.person("Qiu Quality")
    await demo.bot_says(qc, "You are registered as: quality control")
    chat = await demo.get("chat", user=qc)
    assert "queue" in [c["command"] for c in chat["commands"]]  # the role's menu, for '/'
    assert state["clock"]["now"].startswith("2026-11-26T09:00")


@in_english
async def test_a_person_added_on_the_page_joins_through_the_admins_invitation_link(
    demo: Demo,
) -> None:
    admin = demo.person("Ada Admin")
    newcomer = (await demo.post("people", {"name": "Nina Newcomer", "language": "en"}))["id"]
    assert "Nina Newcomer" in [p["name"] for p in (await demo.get("state"))["people"]]

    await demo.post("send", {"user": admin, "text": "/invite quality"})
    invitation = await demo.bot_says(admin, "Invitation for quality control")
    code = re.search(r"\?start=([A-Za-z0-9_-]+)", invitation["text"]).group(1)
    await demo.post("send", {"user": newcomer, "text": f"/start {code}"})  # the deep link
    await demo.bot_says(newcomer, "Welcome, Nina Newcomer! You are now registered as quality")


@in_english
async def test_a_press_returns_the_bots_answer_and_photos_sent_together_are_one_album(
    demo: Demo,
) -> None:
    buyer = demo.person("Chen Customer")
    await demo.post("send", {"user": buyer, "text": "/complain"})
    ask_product = await demo.bot_says(buyer, "Which product")
    data = ask_product["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    reply = await demo.post(
        "press", {"user": buyer, "message_id": ask_product["message_id"], "data": data}
    )
    assert reply["answer"] is not None  # answered: the page shows its text, if any, as a toast
    await demo.bot_says(buyer, "lot")
    await demo.post("send", {"user": buyer, "text": "L20260301"})
    await demo.bot_says(buyer, "How many units")
    await demo.post("send", {"user": buyer, "text": "3"})
    await demo.bot_says(buyer, "What is wrong?")
    await demo.post("send", {"user": buyer, "text": "Cracked barrels."})
    await demo.bot_says(buyer, "Send photos of the problem")

    files = [
        ("file", ("a.jpg", b"photo-a", "image/jpeg")),
        ("file", ("b.jpg", b"photo-b", "image/jpeg")),
    ]
    upload = await demo.client.post(
        "/web/api/upload", params={"user": buyer, "kind": "photo"}, files=files
    )
    assert upload.status_code == 200, upload.text
    await demo.bot_says(buyer, "Photo received")
    sent = [m for m in (await demo.get("chat", user=buyer))["messages"] if "photo" in m]
    assert len(sent) == 2 and sent[0]["media_group_id"] == sent[1]["media_group_id"]
    image = await demo.client.get(f"/web/file/{sent[0]['photo'][0]['file_id']}")
    assert image.content == b"photo-a"

    # filed, quality's notice is followed by the same two photos as one album of the bot's
    await demo.post("press", _button(await demo.bot_says(buyer, "Photo received"), buyer, 0))
    await demo.post("press", _button(await demo.bot_says(buyer, "Photos: 2"), buyer, 0))
    qc = demo.person("Qiu Quality")
    await demo.bot_says(qc, "New quality complaint")
    await demo.bot_says(qc, "photo 2 of 2")
    album = [m for m in (await demo.get("chat", user=qc))["messages"] if "photo" in m]
    number = re.search(r"QC-\d{4}-\d{5}", album[0]["caption"]).group()  # type: ignore[union-attr]
    assert [m["caption"] for m in album] == [f"{number}: photo {i} of 2" for i in (1, 2)]
    assert album[0]["media_group_id"] == album[1]["media_group_id"]
    assert [m["photo"][0]["file_id"] for m in album] == [m["photo"][0]["file_id"] for m in sent]


async def test_the_demo_people_speak_the_deployments_default_language(
    demo: Demo, engine: AsyncEngine
) -> None:
    state = await demo.get("state")
    assert state["language"] == "zh-Hant"  # the page's, until a person is chosen
    assert {p["language"] for p in state["people"]} == {"zh-hant"}
    async with engine.connect() as connection:
        stored = await connection.scalars(
            select(User.language).where(User.telegram_id >= FIRST_DEMO_ID).distinct()
        )
        assert list(stored) == ["zh-Hant"]

    qc = demo.person("Qiu Quality")
    greeting = await demo.bot_says(qc, "您好")
    assert greeting["text"].startswith("Qiu Quality (QC)，您好。您的身份：質量管理部（質檢員）。")
    chat = await demo.get("chat", user=qc)
    first_words = next(m for m in chat["messages"] if m["from"]["is_bot"])
    assert first_words["text"] == greeting["text"]
    menu = {c["command"]: c["description"] for c in chat["commands"]}
    assert menu["queue"] == "待質量管理部處理的投訴"


@in_english
async def test_an_english_deployments_demo_people_speak_english(demo: Demo) -> None:
    state = await demo.get("state")
    assert state["language"] == "en"
    assert {p["language"] for p in state["people"]} == {"en"}
    await demo.bot_says(demo.person("Qiu Quality"), "Hello Qiu Quality (QC). You are registered as")


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


async def test_every_word_of_the_page_is_in_its_catalogue_in_each_language(demo: Demo) -> None:
    served = await demo.client.get("/web/static/words.json")
    assert served.status_code == 200
    words = served.json()
    assert words == json.loads((STATIC / "words.json").read_text())
    assert set(words) == {"zh-Hant", "zh-Hans", "en"}  # the bot's languages
    english = words["en"]
    for language, catalogue in words.items():
        assert catalogue.keys() == english.keys(), language
        for key, text in catalogue.items():
            assert _placeholders(text) == _placeholders(english[key]), (language, key)
        assert len(catalogue["clock.weekdays"].split(" ")) == 7

    page = (await demo.client.get("/")).text
    script = (STATIC / "app.js").read_text()
    used = set(re.findall(r'data-words(?:-title|-placeholder)?="([\w.]+)"', page))
    used |= set(re.findall(r'\b(?:words|t|wordParts)\("([\w.]+)"', script))
    assert "composer.photo" in used and "chat.empty" in used and "message.edited" in used
    assert used <= english.keys(), used - english.keys()
    # no word of the page's own left in its markup or script, outside the catalogue
    assert not re.search(r">\s*[A-Za-z][a-z]+[^<]*</(button|span|h2|h3|p|strong|label)>", page)
    assert "Local emulator" not in page and "Demo time" not in script


async def test_the_favicon_is_answered_with_a_small_icon(demo: Demo) -> None:
    icon = await demo.client.get("/favicon.ico", headers={"X-Web-Chat-Token": ""})
    assert icon.status_code == 200
    assert icon.headers["Content-Type"] == "image/svg+xml"
    assert icon.content.startswith(b"<svg") and len(icon.content) < 2_000
    assert '<link rel="icon" href="/favicon.ico">' in (await demo.client.get("/")).text


def _button(message: dict[str, Any], user: int, index: int) -> dict[str, Any]:
    """The body of a press on the message's button at `index` (in reading order)."""
    buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
    return {
        "user": user,
        "message_id": message["message_id"],
        "data": buttons[index]["callback_data"],
    }


async def test_the_ledger_downloads_as_a_workbook_with_its_name(demo: Demo) -> None:
    qc = demo.person("Qiu Quality")
    await demo.post("send", {"user": qc, "text": "/ledger"})
    ledger = await demo.web.emulator.wait_until(
        lambda: next(
            (m for m in demo.web.emulator.bot_messages(EMULATOR_TOKEN, qc) if "document" in m),
            None,
        )
    )
    download = await demo.client.get(f"/web/file/{ledger['document']['file_id']}")
    # the demo person reads 繁體中文: the ledger is named in it
    name = quote("顧客質量投訴臺帳-2026-11-26.xlsx")
    assert f"filename*=UTF-8''{name}" in download.headers["Content-Disposition"]
    openpyxl.load_workbook(io.BytesIO(download.content))


@in_english
async def test_moving_the_clock_runs_the_17_00_patrol_reminder_and_the_page_hears_it_live(
    demo: Demo,
) -> None:
    technician = demo.person("Tang Technician")
    await demo.bot_says(technician, "You are registered as")
    async with demo.client.stream("GET", "/web/api/events") as events:
        lines = events.aiter_lines()
        first = await anext(lines)
        assert first.startswith("data: ")

        moved = await demo.post("clock", {"hours": 8, "days": 0})
        assert moved["clock"]["now"].startswith("2026-11-26T17:00")
        await demo.bot_says(technician, "Patrol reminder: 6 assets are still unpatrolled today")

        async def next_event() -> str:
            async for line in lines:
                if line.startswith("data: "):
                    return line
            return ""

        later = await asyncio.wait_for(next_event(), 5)
        assert int(later.removeprefix("data: ")) > int(first.removeprefix("data: "))

    refused = await demo.client.post("/web/api/clock", json={"to": "2026-11-26T10:00"})
    assert refused.status_code == 400 and "only moves forward" in refused.json()["error"]
    assert demo.clock.now() >= dt.datetime(2026, 11, 26, 17, 0, tzinfo=SHANGHAI)


async def test_a_reply_keyboard_stays_under_the_chat_until_the_bot_removes_it(
    emulator: BotApiEmulator,
) -> None:
    token, user = "960101:reply-keyboard", 960_102
    emulator.add_user(user, "Kim")
    web = WebChat(emulator, token)
    keyboard = {"keyboard": [[{"text": "Yes"}, {"text": "No"}]], "one_time_keyboard": True}
    await emulator.call(
        token, "sendMessage", {"chat_id": user, "text": "Sure?", "reply_markup": keyboard}
    )
    assert web.chat(user, mark_read=True)["reply_keyboard"] == keyboard
    assert web.state()["people"] and web.read[user] == 1

    removal = {"remove_keyboard": True}
    await emulator.call(
        token, "sendMessage", {"chat_id": user, "text": "OK", "reply_markup": removal}
    )
    assert web.chat(user, mark_read=False)["reply_keyboard"] is None
