"""Ledgers, reports and outbox documents rendered away from the event loop, and sent when ready.

A ledger of 100,000 complaints is a minute of CPU (SQLAlchemy loading the pages, openpyxl
writing the cells). Rendered on the bot's event loop, or in the update's transaction (which on
SQLite holds the write lock from its first read), it made every other user wait for it. So:

- the update that asks for a document only answers "being prepared" and commits;
- after the commit, `DocumentDesk` hands the rendering to a `Renderer` and sends the file when it
  is ready (a follow-up message: a request lost to a restart is asked again, nothing is written);
- `RenderInWorkerProcess` renders in a process of its own, over a connection of its own that
  only reads (on SQLite a plain BEGIN under WAL: no write lock, no writer waits for it).
  `RenderOnLoop` renders here, in such a read-only session, where the database cannot be opened
  again by its URL (the tests' databases).

Every rendering has a time limit (`rendering_timeout_seconds`): a worker that stops answering
(stopped, swapping, a ledger far too big) is killed and the next rendering starts a new one; the
asker is told their file is late.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InputFile, Update
from telegram.error import TelegramError

from core.config import Settings
from core.database import engine_for
from procedures.kernel.clock import SystemClock
from reports import documents
from reports.registry import REPORTS, ReportFiles
from storage.db import make_session_factory, read_only_sessions

from ..context import BotContext, chat_id_of, fit_caption
from ..documents import reader_context
from ..services import Services
from ..texts import Texts
from .update_transaction import after_commit

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True)
class Rendering:
    """What to render and for whom: an outbox document kind (`reports.documents`) or a report
    of the registry (`reports.registry`, with its chart), in the reader's language, as of `now`."""

    language: str
    now: dt.datetime
    attachment: Mapping[str, Any] | None = None
    report: str | None = None
    period: str = ""


async def render_in(
    session: AsyncSession, settings: Settings, texts: Texts, rendering: Rendering
) -> ReportFiles:
    context = reader_context(settings, texts, rendering.language, rendering.now)
    if rendering.report is not None:
        return await REPORTS[rendering.report].render(session, rendering.period, context)
    return ReportFiles(await documents.render(session, rendering.attachment or {}, context))


class RenderingTimedOut(Exception):
    """A rendering did not finish within its time limit; it was given up."""


async def render_within(renderer: Renderer, rendering: Rendering, seconds: float) -> ReportFiles:
    """`renderer.render`, given up after `seconds` (a worker process is replaced then)."""
    try:
        async with asyncio.timeout(seconds):
            return await renderer.render(rendering)
    except TimeoutError as error:
        raise RenderingTimedOut(f"rendering not finished after {seconds:g} s") from error


class Renderer(Protocol):
    async def render(self, rendering: Rendering) -> ReportFiles: ...

    def close(self) -> None: ...


class RenderOnLoop:
    """Renders on this event loop, in a read-only session: for a database that another process
    cannot open by its URL (an in-memory one, a test's schema)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def render(self, rendering: Rendering) -> ReportFiles:
        async with read_only_sessions(self.services.session_factory)() as session:
            return await render_in(session, self.services.settings, self.services.texts, rendering)

    def close(self) -> None:
        pass


class RenderInWorkerProcess:
    """Renders in a worker process (started at the first rendering and kept), which opens the
    configured database itself; a rendering waits there for the one before it."""

    def __init__(self, settings: Settings, workers: int = 1) -> None:
        self.settings = settings
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def render(self, rendering: Rendering) -> ReportFiles:
        return await self._in_worker(_render_in_worker, rendering)

    async def worker_pid(self) -> int:
        """The worker's process id (the worker is started if it is not running)."""
        return await self._in_worker(os.getpid)

    async def _in_worker(self, function: Callable[..., _T], *args: Any) -> _T:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                # not fork: the bot's process has threads (the database driver's, httpx's)
                mp_context=get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.settings, _worker_priority()),
            )
        try:
            done = asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
            _lower_priority(self._pool)  # its worker exists once it has work
            return await done
        except BrokenProcessPool:
            self._pool = None  # the worker died (killed, out of memory): the next starts anew
            raise
        except asyncio.CancelledError:
            # given up (timed out, or the bot stops): a worker still busy with it, or stopped,
            # would hold every rendering after it; the next rendering starts a new one
            self._stop_worker()
            raise

    def _stop_worker(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # a stopped (SIGSTOP) or busy worker never finishes by itself: killed, not waited for
        stuck = [process for process in (pool._processes or {}).values() if process.is_alive()]
        for process in stuck:
            process.kill()
        for process in stuck:
            process.join(1)  # a killed process is gone within milliseconds
        if stuck:
            logger.warning("rendering worker %s replaced", ", ".join(str(p.pid) for p in stuck))
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._stop_worker()


_worker: tuple[Settings, Texts] | None = None


# How much lower the worker's CPU priority is than the bot's (os.nice): a ledger is a minute of
# CPU, and on a small machine the users' steps, not the ledger, should have the cores first
# (the lowest there is: at 10, a ledger still took a tenth of a core the bot was waiting for).
WORKER_NICENESS = 19


def _worker_priority() -> int:
    return min(os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS, 19)


def _lower_priority(pool: ProcessPoolExecutor) -> None:
    """Lower the worker's priority from here as soon as it exists: a spawned worker imports the
    bot's modules, a second and more of CPU at the bot's priority, before its initializer runs."""
    wanted = _worker_priority()
    for pid in list(getattr(pool, "_processes", None) or {}):
        with contextlib.suppress(OSError):  # gone already, or a platform without priorities
            if os.getpriority(os.PRIO_PROCESS, pid) < wanted:
                os.setpriority(os.PRIO_PROCESS, pid, wanted)


# how often a worker looks whether the bot that started it is still there
ORPHAN_CHECK_SECONDS = 2.0


def exit_when_orphaned(
    parent: int,
    *,
    parent_now: Callable[[], int] = os.getppid,
    wait: Callable[[float], None] = time.sleep,
    leave: Callable[[int], None] = os._exit,
) -> None:
    """Leave once the process that started this one is gone. A worker waits for its next
    rendering on a queue whose writing end it holds itself, so it never sees the bot go: a bot
    killed (kill -9, out of memory) left its worker behind, a couple of hundred MiB, for ever."""
    while parent_now() == parent:
        wait(ORPHAN_CHECK_SECONDS)
    leave(0)


def _start_worker(settings: Settings, priority: int) -> None:
    global _worker
    _worker = (settings, Texts(settings.timezone, settings.default_language, clock=SystemClock()))
    with contextlib.suppress(OSError):  # a platform without priorities renders all the same
        if os.getpriority(os.PRIO_PROCESS, 0) < priority:
            os.setpriority(os.PRIO_PROCESS, 0, priority)
    threading.Thread(
        target=exit_when_orphaned, args=(os.getppid(),), name="orphan-watch", daemon=True
    ).start()


def _render_in_worker(rendering: Rendering) -> ReportFiles:
    assert _worker is not None
    return asyncio.run(_render_by_url(*_worker, rendering))


async def _render_by_url(settings: Settings, texts: Texts, rendering: Rendering) -> ReportFiles:
    engine = engine_for(settings)
    try:
        async with read_only_sessions(make_session_factory(engine))() as session:
            return await render_in(session, settings, texts, rendering)
    finally:
        await engine.dispose()


def renderer_for(services: Services) -> Renderer:
    """A worker process when the services' database is the configured one (which the worker can
    open by its URL), else on this loop."""
    engine = services.session_factory.kw.get("bind")
    configured = make_url(services.settings.database_url)
    in_memory = configured.get_backend_name() == "sqlite" and configured.database in (
        None,
        "",
        ":memory:",
    )
    if engine is None or engine.url != configured or in_memory:
        return RenderOnLoop(services)
    return RenderInWorkerProcess(services.settings)


@dataclass
class DocumentDesk:
    """Documents asked for in a chat: rendered once the asking update is committed, sent when
    ready. The asker was already told the document is being prepared."""

    services: Services
    bot: Bot
    renderer: Renderer
    _deliveries: set[asyncio.Task[None]] = field(default_factory=set)

    def request(self, chat_id: int, rendering: Rendering, caption: str) -> None:
        after_commit(lambda: self._start(chat_id, rendering, caption))

    def _start(self, chat_id: int, rendering: Rendering, caption: str) -> None:
        task = asyncio.create_task(self._deliver(chat_id, rendering, caption))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, chat_id: int, rendering: Rendering, caption: str) -> None:
        try:
            files = await render_within(
                self.renderer, rendering, self.services.settings.rendering_timeout_seconds
            )
            workbook, chart = files.workbook, files.chart
            await self.bot.send_document(
                chat_id,
                InputFile(workbook.content, filename=workbook.file_name),
                caption=fit_caption(caption),
            )
            if chart is not None:
                await self.bot.send_photo(
                    chat_id,
                    InputFile(chart.content, filename=chart.file_name),
                    caption=fit_caption(caption),
                )
        except RenderingTimedOut as error:
            logger.warning("document for chat %s given up: %s", chat_id, error)
            text = self.services.texts.get(rendering.language, "report.late")
            with contextlib.suppress(TelegramError):
                await self.bot.send_message(chat_id, text)
        except Exception:
            # the kind and period only: the rendering's parameters may name people
            logger.exception(
                "document %s %s for chat %s failed",
                rendering.report or (rendering.attachment or {}).get("kind"),
                rendering.period,
                chat_id,
            )
            text = self.services.texts.get(rendering.language, "report.failed")
            with contextlib.suppress(TelegramError):
                await self.bot.send_message(chat_id, text)

    async def deliveries_done(self) -> None:
        """Wait until every requested document is sent, or its asker told why not."""
        await asyncio.gather(*self._deliveries, return_exceptions=True)

    async def stop(self) -> None:
        """Drops the deliveries still under way (their users ask again) and the worker."""
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        self.renderer.close()


async def send_when_ready(
    update: Update,
    context: BotContext,
    caption: str,
    *,
    attachment: Mapping[str, Any] | None = None,
    report: str | None = None,
    period: str = "",
) -> None:
    """Answers at once that the document is being prepared; it follows when rendered."""
    await context.reply(update, "report.preparing")
    desk: DocumentDesk = getattr(context.application, "documents")  # noqa: B009
    rendering = Rendering(context.language, context.now(), attachment, report, period)
    desk.request(chat_id_of(update), rendering, caption)
