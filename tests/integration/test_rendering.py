"""Documents rendered in a worker process read the configured database themselves and come out
as they do on the bot's own loop."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.rendering import (
    WORKER_NICENESS,
    Rendering,
    RenderInWorkerProcess,
    RenderOnLoop,
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
