"""Downloads the evidence files users sent into the file store, after their update commits.

The dialogue step only records the file id (the row says the file is not stored yet); this
loop, woken after every update and every few seconds for retries, fetches each pending file
through the Bot API outside any transaction and records its hash. A failure is kept on the row
and tried again with backoff (procedures.kernel.photos), so nothing is lost silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes

from sqlalchemy.exc import OperationalError
from telegram import Bot

from procedures.kernel import photos
from procedures.kernel.photos import Download, DownloadReport

from ..services import Services

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 5.0


def telegram_downloader(bot: Bot) -> photos.Downloader:
    """Fetch a file by its id: getFile, then the download URL the Bot API gives."""

    async def download(file_id: str) -> Download:
        file = await bot.get_file(file_id)
        content = bytes(await file.download_as_bytearray())
        return Download(content, _mime_of(file.file_path))

    return download


def database_locked(error: OperationalError) -> bool:
    """SQLite's "database is locked": another connection holds the write lock for now."""
    return "database is locked" in str(error.orig)


def _mime_of(path: str | None) -> str | None:
    return mimetypes.guess_type(path or "")[0]


class EvidenceFetcher:
    def __init__(self, services: Services, downloader: photos.Downloader) -> None:
        self.services = services
        self.downloader = downloader
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # one round at a time: a round started while another runs would fetch the same files
        self._round = asyncio.Lock()

    async def fetch_due(self) -> DownloadReport:
        """Download every file whose turn has come (the first try at once, retries later)."""
        async with self._round:
            return await self._fetch_due()

    async def _fetch_due(self) -> DownloadReport:
        total = DownloadReport()
        store = self.services.file_store
        assert store is not None
        while True:
            report = await photos.download_due(
                self.services.session_factory, self.services.clock.now, store, self.downloader
            )
            total.stored += report.stored
            total.failed += report.failed
            if report.stored + report.failed == 0 or report.failed:
                break
        if total.failed:
            logger.warning("evidence files: %s stored, %s to retry", total.stored, total.failed)
        if total.failed or total.stored:
            self.services.outbox_ready.set()  # an alert about a missing file may be queued
        return total

    def start(self) -> None:
        if self._task is not None:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="evidence-fetcher")

    async def stop(self) -> None:
        self._stopping.set()
        self.ready.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self.ready.clear()
            try:
                await self.fetch_due()
            except Exception as error:
                if isinstance(error, OperationalError) and database_locked(error):
                    # another process (a command-line run, a backup) writes: the round is
                    # simply tried again; the files stay pending meanwhile
                    logger.warning(
                        "evidence download round: the database is locked; retrying in %s s",
                        POLL_INTERVAL_SECONDS,
                    )
                else:
                    logger.exception("evidence download round failed; retrying on the next round")
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the stop's cancel
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_INTERVAL_SECONDS):
                    await self.ready.wait()
