"""Updates from Telegram, by polling or webhook, each confirmed only once its effect is committed.

`ConfirmedAfterCommit` is the queue between fetching and handling; `AfterSalesBot` is the Bot
API client, whose getUpdates confirms only committed updates and leaves out what it fetched
before (`FetchedOnce`, on getUpdates' connection, before the answer is parsed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData

from core.config import Settings

from .bot_api_client import AiohttpRequest
from .replies import RepliesAfterCommit

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
WEBHOOK_PATH = "telegram"

# how long polling waits when a fetch brings back only updates still being handled
STALE_FETCH_PAUSE_SECONDS = 0.2
# and, at most, before a fetch for the updates fetched before to be committed: Telegram answers
# at once while any update is unconfirmed, so a fetch meanwhile would bring them back (to be
# decoded and left out) and, with one user at a time, cost a second getUpdates a step
BUSY_FETCH_PAUSE_SECONDS = 0.05


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Arguments of run_webhook/start_webhook: python-telegram-bot answers 403 to any request
    without the secret token header Telegram sends."""
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": WEBHOOK_PATH,
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret,
        "allowed_updates": ALLOWED_UPDATES,
    }


def file_url_for(api_url: str) -> str:
    """The file download base that goes with a Bot API base URL (…/bot -> …/file/bot)."""
    head, _, _ = api_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot" if head else api_url


@dataclass
class _Fetch:
    """One getUpdates of the polling: updates below `fresh_from` were fetched before."""

    fresh_from: int
    stale: int = 0  # how many of those came back again


_fetching: ContextVar[_Fetch | None] = ContextVar("fetching_updates", default=None)


class FetchedOnce(BaseRequest):
    """getUpdates' connection: during a fetch of the polling, the updates fetched before (still
    unconfirmed) are left out as JSON, before they are parsed; with many users at once each
    fetch brings dozens of them back, and parsing them again was most of the polling's cost.
    Every request goes through `connection`."""

    def __init__(self, connection: BaseRequest) -> None:
        self.connection = connection

    @property
    def read_timeout(self) -> float | None:
        return self.connection.read_timeout

    async def initialize(self) -> None:
        await self.connection.initialize()

    async def shutdown(self) -> None:
        await self.connection.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        return await self.connection.do_request(url, method, request_data, *args, **kwargs)

    # python-telegram-bot marks `post` final; this subclass only watches what getUpdates returns
    async def post(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
        result = await super().post(*args, **kwargs)
        fetch = _fetching.get()
        if fetch is None or not isinstance(result, list):
            return result
        fresh = [u for u in result if u.get("update_id", 0) >= fetch.fresh_from]
        fetch.stale = len(result) - len(fresh)
        return fresh


class AfterSalesBot(RepliesAfterCommit):
    """The Bot API client of the application; a press it already answered is not an error.

    An update whose commit was cut short (a kill) is delivered again, and its button press was
    answered before: Telegram refuses a second answer ("query is too old"). That refusal must
    not stop the redelivered step, which has yet to be committed.

    With `confirmation`, the queue that knows which updates are committed, getUpdates confirms
    only those (polling). Within an update, its messages wait for its commit
    (`RepliesAfterCommit`).
    """

    def __init__(
        self,
        token: str,
        *,
        confirmation: ConfirmedAfterCommit | None = None,
        get_updates_request: BaseRequest | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            token,
            # one connection for getUpdates, as python-telegram-bot's default, when none is given
            get_updates_request=FetchedOnce(
                get_updates_request or AiohttpRequest(connection_pool_size=1)
            ),
            **kwargs,
        )
        # a Bot's attributes are frozen after its __init__, all but those named with "_"
        self._confirmation = confirmation

    async def initialize(self) -> None:
        """Open the connections and ask getMe; when that fails (Telegram unreachable, a token
        refused), close the connections again: the application will not shut this bot down,
        and an open aiohttp session would end the log with a warning after the error."""
        try:
            await super().initialize()
        except BaseException:
            await self.shutdown()
            raise

    async def get_updates(
        self, offset: int | None = None, *args: Any, **kwargs: Any
    ) -> tuple[Update, ...]:
        """Fetch with an offset that confirms only committed updates; leave out what was
        fetched before and is still being handled (or was handled after a later one)."""
        queue = self._confirmation
        if queue is None:
            return await super().get_updates(offset, *args, **kwargs)
        queue.confirm_by_offset = True
        if offset is not None:
            await queue.wait_until_confirmable(offset, BUSY_FETCH_PAUSE_SECONDS)
        fetch = _Fetch(fresh_from=offset or 0)
        token = _fetching.set(fetch)
        try:
            fresh = await super().get_updates(queue.confirmable_offset(offset), *args, **kwargs)
        finally:
            _fetching.reset(token)
        if fetch.stale and not fresh:
            # only unconfirmed ones came back at once: wait a moment for one to be committed
            # rather than asking again and again
            await queue.wait_for_progress(STALE_FETCH_PAUSE_SECONDS)
        return fresh

    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return await super().answer_callback_query(*args, **kwargs)
        except BadRequest as error:
            refusal = error.message.lower()
            if "query is too old" not in refusal and "query id is invalid" not in refusal:
                raise
            logger.info("button press already answered: %s", error.message)
            return False


class UpdateAbandoned(Exception):
    """The bot stopped before handling the update: Telegram is to deliver it again."""


async def confirm_committed(bot: ExtBot[None], queue: ConfirmedAfterCommit) -> None:
    """After the polling and the updates under way have stopped: confirm to Telegram what was
    committed, up to the oldest update left unhandled, so that only those come back."""
    if not queue.confirm_by_offset or queue.next_offset is None:
        return
    offset = queue.confirmable_offset(queue.next_offset)
    try:
        await bot.get_updates(offset=offset, limit=1, timeout=0, allowed_updates=ALLOWED_UPDATES)
    except TelegramError as error:  # they come back and are found handled: nothing is lost
        logger.info("committed updates not confirmed at stop: %s", error.message)


class ConfirmedAfterCommit(asyncio.Queue[object]):
    """The update queue between fetching and handling; an update is confirmed to Telegram only
    after its effect is committed, while other updates are fetched and handled meanwhile.

    Webhook: `put` returns (and the request is answered) once this update is committed; other
    requests are handled meanwhile. Polling: `put` returns at once, and the next getUpdates
    confirms only up to the oldest update not yet committed (`confirmable_offset`); what is
    fetched again of the unconfirmed ones is left out (`AfterSalesBot.get_updates`). A kill
    leaves every uncommitted update unconfirmed, and it is fetched again after the restart.
    """

    def __init__(self) -> None:
        super().__init__()
        self.confirm_by_offset = False  # set once polling starts
        self._unfinished: dict[int, int] = {}  # update id -> updates with it being handled
        self._waiters: dict[int, asyncio.Future[None]] = {}  # id(update) -> its commit
        self._progress = asyncio.Event()
        self.next_offset: int | None = None  # after the newest update put here

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            await super().put(item)
            return
        self._unfinished[item.update_id] = self._unfinished.get(item.update_id, 0) + 1
        self.next_offset = max(self.next_offset or 0, item.update_id + 1)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[id(item)] = waiter
        await super().put(item)
        if not self.confirm_by_offset:
            await waiter

    def finished(self, update: Update) -> None:
        """The update is committed (or given up): it may be confirmed."""
        count = self._unfinished.get(update.update_id, 0)
        if count <= 1:
            self._unfinished.pop(update.update_id, None)
        else:
            self._unfinished[update.update_id] = count - 1
        waiter = self._waiters.pop(id(update), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._progress.set()

    def abandoned(self, update: Update) -> None:
        """The update was left unhandled (the bot is stopping): it stays unconfirmed, so
        Telegram delivers it again; a webhook request is answered with an error for that."""
        waiter = self._waiters.pop(id(update), None)
        if waiter is not None and not waiter.done() and not self.confirm_by_offset:
            waiter.set_exception(UpdateAbandoned(update.update_id))
        self._progress.set()

    def confirmable_offset(self, offset: int | None) -> int | None:
        """The getUpdates offset that confirms no update still being handled."""
        if not self._unfinished:
            return offset
        oldest = min(self._unfinished)
        return oldest if offset is None else min(offset, oldest)

    async def wait_until_confirmable(self, offset: int, timeout: float) -> None:
        """Until every update before `offset` is committed (or given up), `timeout` at most."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._unfinished and min(self._unfinished) < offset:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await self.wait_for_progress(remaining)

    async def wait_for_progress(self, timeout: float) -> None:
        self._progress.clear()
        # not asyncio.wait_for: on Python 3.11 it swallows a cancel that comes as the event is
        # set, and the polling, told to stop, would go on to a long getUpdates of its own
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._progress.wait()
