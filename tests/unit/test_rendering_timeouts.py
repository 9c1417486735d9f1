"""A rendering that never finishes holds up nothing: notices go on, the row is retried, the
asker is told their file is late, and a worker that stops answering is replaced."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import signal
from pathlib import Path

import pytest
from telegram import Bot

from bot.runtime.outbox_sender import OutboxSender, backoff
from bot.runtime.rendering import (
    DocumentDesk,
    Rendering,
    RenderingTimedOut,
    RenderInWorkerProcess,
    render_within,
)
from bot.services import Services
from core.config import Settings
from emulator.server import BotApiEmulator
from procedures.kernel.clock import ManualClock
from procedures.kernel.outbox import notify_users
from reports.registry import RenderedDocument, ReportFiles
from tests.conftest import SHANGHAI

from .helpers import make_user, outbox_rows

_bot_ids = itertools.count(810_001)
QUARTERLY = {"kind": "complaint_quarterly", "params": {"year": 2026, "quarter": 3}}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        timezone=SHANGHAI,
        default_language="zh-Hant",
        file_store=str(tmp_path / "files"),
        telegram_chat_burst=20,
        rendering_timeout_seconds=0.05,
        # the SQLite test database (tests/conftest.py), which a worker process opens by its URL
        database_url=f"sqlite+aiosqlite:///{tmp_path}/test.db",
    )


class HungRenderer:
    """A renderer whose worker never answers, until it is given an answer."""

    def __init__(self) -> None:
        self.started = 0
        self.answer: ReportFiles | None = None

    async def render(self, rendering: Rendering) -> ReportFiles:
        self.started += 1
        if self.answer is None:
            await asyncio.Event().wait()
        assert self.answer is not None
        return self.answer

    def close(self) -> None:
        pass


async def bot_on(emulator: BotApiEmulator) -> tuple[Bot, str]:
    token = f"{next(_bot_ids)}:render-token"
    bot = Bot(token, base_url=emulator.base_url)
    await bot.initialize()
    return bot, token


async def test_a_hung_rendering_holds_no_other_row_and_its_row_is_retried(
    services: Services, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    bot, token = await bot_on(emulator)
    renderer = HungRenderer()
    sender = OutboxSender(services, bot, pacing=None, renderer=renderer)
    head = await make_user(services, "quality_head", language="en")
    driver = await make_user(services, "driver", language="en")
    for person in (head, driver):
        emulator.add_user(person.telegram_id, person.full_name)
    async with services.unit_of_work() as uow:
        await notify_users(
            uow.session,
            [head],
            "report.quarterly_ready",
            {"year": 2026, "quarter": 3},
            now=uow.clock.now(),
            attachment=QUARTERLY,
        )
        await notify_users(
            uow.session,
            [driver],
            "report.quarterly_ready",
            {"year": 2026, "quarter": 2},
            now=uow.clock.now(),
        )
        await uow.commit()

    first = await sender.deliver_due()

    # the notice behind the document went while the document was rendering
    assert (first.sent, first.rendering) == (1, 1)
    (notice,) = emulator.bot_messages(token, driver.telegram_id)
    assert notice["text"] == "Complaint report for 2026 Q2 (顧客投訴查詢商品質量記錄表)."
    assert emulator.bot_messages(token, head.telegram_id) == []

    await sender.renderings_done()  # the rendering times out (0.05 s)
    timed_out = await sender.deliver_due()

    # (on a slow machine the time limit may already pass within the first round)
    assert first.deferred + timed_out.deferred == 1
    document_row = (await outbox_rows(services))[0]
    assert document_row.status == "pending" and document_row.attempts == 1
    assert document_row.next_attempt_at == clock.now() + backoff(1)
    assert "rendering not finished after 0.05 s" in document_row.last_error
    assert (await sender.deliver_due()).rendering == 0  # not before its backoff is over

    renderer.answer = ReportFiles(RenderedDocument("complaints-2026-Q3.xlsx", b"PK"))
    clock.advance(backoff(1))
    retried = await sender.deliver_due()
    await sender.renderings_done()
    after = await sender.deliver_due()

    assert retried.rendering == 1 and retried.sent + after.sent == 1

    (document,) = emulator.bot_messages(token, head.telegram_id)
    assert document["document"]["file_name"] == "complaints-2026-Q3.xlsx"
    assert renderer.started == 2
    assert [row.status for row in await outbox_rows(services)] == ["sent", "sent"]


async def test_the_asker_is_told_their_file_is_late(
    services: Services, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    bot, token = await bot_on(emulator)
    emulator.add_user(97_101, "Asker")
    desk = DocumentDesk(services, bot, HungRenderer())

    desk.request(97_101, Rendering("en", clock.now(), report="complaint_ledger"), "Ledger")
    await desk.deliveries_done()

    (told,) = emulator.bot_messages(token, 97_101)
    assert told["text"].startswith("Your file is late: it was not ready in time")
    assert "document" not in told


def process_state(pid: int) -> str:
    """R, S, T (stopped), Z (dead, not yet reaped), or gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads process states from /proc")
async def test_a_stopped_worker_is_killed_and_the_next_rendering_has_a_new_one(
    settings: Settings, clock: ManualClock
) -> None:
    renderer = RenderInWorkerProcess(settings)
    try:
        stopped = await renderer.worker_pid()
        os.kill(stopped, signal.SIGSTOP)

        with pytest.raises(RenderingTimedOut):
            await render_within(renderer, Rendering("en", clock.now(), report="x"), 0.5)

        assert process_state(stopped) in ("Z", "gone")  # killed, not left stopped
        replacement = await renderer.worker_pid()
        assert replacement != stopped and process_state(replacement) in ("R", "S")
    finally:
        renderer.close()


def test_the_time_limit_is_a_setting() -> None:
    assert Settings().rendering_timeout_seconds == 300.0
    limited = Settings.model_validate({"RENDERING_TIMEOUT_SECONDS": "12.5"})
    assert limited.rendering_timeout_seconds == 12.5
    assert dt.timedelta(seconds=limited.rendering_timeout_seconds).seconds == 12


async def test_a_stopped_worker_holds_up_no_notice_and_a_new_one_renders_the_document(
    services: Services, emulator: BotApiEmulator, clock: ManualClock, settings: Settings
) -> None:
    if services.session_factory.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the worker opens the test database by its URL: SQLite's file")
    bot, token = await bot_on(emulator)
    services.settings = settings.model_copy(update={"rendering_timeout_seconds": 3.0})
    renderer = RenderInWorkerProcess(services.settings)
    sender = OutboxSender(services, bot, pacing=None, renderer=renderer)
    try:
        os.kill(stopped := await renderer.worker_pid(), signal.SIGSTOP)
        head = await make_user(services, "quality_head", language="en")
        others = [await make_user(services, "driver", language="en") for _ in range(5)]
        for person in (head, *others):
            emulator.add_user(person.telegram_id, person.full_name)
        async with services.unit_of_work() as uow:
            await notify_users(
                uow.session,
                [head],
                "report.quarterly_ready",
                {"year": 2026, "quarter": 3},
                now=uow.clock.now(),
                attachment=QUARTERLY,
            )
            await notify_users(
                uow.session,
                others,
                "report.quarterly_ready",
                {"year": 2026, "quarter": 2},
                now=uow.clock.now(),
            )
            await uow.commit()

        first = await sender.deliver_due()

        assert first.sent == 5  # the five notices did not wait for the stopped worker
        await sender.renderings_done()
        await sender.deliver_due()
        assert process_state(stopped) in ("Z", "gone")
        (document_row,) = await outbox_rows(services, status="pending")
        assert "rendering not finished after 3 s" in document_row.last_error

        await renderer.worker_pid()  # the new worker is up (its start is not the rendering's)
        clock.advance(backoff(1))
        await sender.deliver_due()
        await sender.renderings_done()
        await sender.deliver_due()

        (document,) = emulator.bot_messages(token, head.telegram_id)
        assert document["document"]["file_name"] == "complaints-2026-Q3-draft.xlsx"
    finally:
        renderer.close()
