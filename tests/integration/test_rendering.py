"""Documents rendered in a worker process read the configured database themselves and come out
as they do on the bot's own loop."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.rendering import (
    WORKER_NICENESS,
    Rendering,
    RenderInWorkerProcess,
    RenderOnLoop,
    exit_when_orphaned,
    renderer_for,
)
from bot.services import Services
from procedures.kernel.clock import ManualClock


def rows_of(content: bytes) -> list[tuple[object, ...]]:
    workbook = load_workbook(io.BytesIO(content))
    return [row for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)]


async def test_a_worker_process_renders_the_ledger_as_the_loop_would(
    services: Services, engine: AsyncEngine, clock: ManualClock, samples: None
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the tests' PostgreSQL schema is chosen per connection, not by the URL")
    url = engine.url.render_as_string(hide_password=False)
    on_url = dataclasses.replace(
        services, settings=services.settings.model_copy(update={"database_url": url})
    )
    worker = renderer_for(on_url)
    assert isinstance(worker, RenderInWorkerProcess)
    assert isinstance(renderer_for(services), RenderOnLoop)  # another database is configured

    rendering = Rendering("en", clock.now(), attachment={"kind": "complaint_ledger", "params": {}})
    try:
        first = asyncio.ensure_future(worker.render(rendering))
        await asyncio.sleep(0)  # handed to the worker, which is still importing the bot's modules
        assert worker._pool is not None
        (pid,) = worker._pool._processes  # type: ignore[attr-defined]
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        # the users' steps have the cores first, from the worker's start: the lowest priority
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(ours + WORKER_NICENESS, 19) == 19
        there = await first
        report = await worker.render(
            Rendering("en", clock.now(), report="complaint_quarterly", period="2026-Q3")
        )
        assert os.getpriority(os.PRIO_PROCESS, pid) == 19  # and after its initializer
    finally:
        worker.close()
    here = await RenderOnLoop(services).render(rendering)
    assert there.workbook.file_name == here.workbook.file_name == "complaint-ledger-2026-11-26.xlsx"
    assert rows_of(there.workbook.content) == rows_of(here.workbook.content)
    assert report.workbook.file_name == "complaints-2026-Q3-draft.xlsx"
    assert report.chart is not None


def test_a_worker_leaves_once_the_bot_that_started_it_is_gone() -> None:
    parents = iter([4242, 4242, 4242, 1])  # the bot killed: the worker is re-parented to init
    waited: list[float] = []
    left: list[int] = []
    exit_when_orphaned(
        4242, parent_now=lambda: next(parents), wait=waited.append, leave=left.append
    )
    assert left == [0]
    assert len(waited) == 3 and all(0 < seconds <= 5 for seconds in waited)


def test_a_bot_killed_does_not_leave_its_rendering_worker_behind(tmp_path: Path) -> None:
    script = (
        "import asyncio, sys, time\n"
        "from bot.runtime.rendering import RenderInWorkerProcess\n"
        "from core.config import Settings\n"
        "worker = RenderInWorkerProcess(Settings(database_url=sys.argv[1]))\n"
        "print(asyncio.run(worker.worker_pid()), flush=True)\n"
        "time.sleep(60)\n"
    )
    bot = subprocess.Popen(
        [sys.executable, "-c", script, f"sqlite+aiosqlite:///{tmp_path}/bot.db"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert bot.stdout is not None
        worker = int(bot.stdout.readline())
        os.kill(bot.pid, signal.SIGKILL)
        bot.wait()
        for _ in range(100):  # it looks every ORPHAN_CHECK_SECONDS
            if not Path(f"/proc/{worker}").exists() or _zombie(worker):
                break
            time.sleep(0.1)
        else:
            os.kill(worker, signal.SIGKILL)
            raise AssertionError("the worker outlived its bot")
    finally:
        bot.kill()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
