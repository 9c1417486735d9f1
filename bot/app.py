"""Builds the python-telegram-bot Application: handlers, persistence, sender, background jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Protocol

from telegram import BotCommand, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, ExtBot
from telegram.ext._handlers.conversationhandler import PendingState
from telegram.ext._utils.trackingdict import TrackingDict
from telegram.request import HTTPXRequest

from core.config import Settings
from procedures.kernel import outbox, photos
from procedures.kernel.errors import ProcedureError

from .commands import MENU_COMMANDS
from .context import BotContext
from .evidence_fetcher import EvidenceFetcher, telegram_downloader
from .handlers import (
    assessments,
    common,
    complaint_casework,
    complaint_intake,
    complaint_steps,
    complaint_work,
    consumer_complaints,
    evidence,
    gate,
    invitations,
    masterdata,
    patrols,
    reports,
    return_intake,
    return_record,
    return_work,
    search,
    tickets,
    vendors,
)
from .outbox_sender import OutboxSender
from .persistence import DatabasePersistence
from .rate_limiter import MessageRateLimiter
from .rendering import DocumentDesk, Renderer, renderer_for
from .services import Services
from .update_processor import DEFAULT_CONCURRENT_UPDATES, PerChatUpdateProcessor, order_keys
from .update_transaction import (
    already_processed,
    committed,
    mark_processed,
    take_chat_turn,
    update_session,
)

logger = logging.getLogger(__name__)


class BackgroundJobs(Protocol):
    """What runs on the bot's event loop beside it: the scheduler, when this process runs it."""

    def start(self) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...


# Builds the background jobs on the bot's services; the entry point chooses which, if any.
BackgroundJobsFactory = Callable[[Services], BackgroundJobs]


class AfterSalesApplication(Application):  # type: ignore[type-arg]
    """An Application that carries the services and saves dialogue state after every update."""

    def __init__(self, *, services: Services, renderer: Renderer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.documents = DocumentDesk(services, self.bot, renderer)
        self.outbox_sender = OutboxSender(services, self.bot, renderer=renderer)
        self.evidence_fetcher = EvidenceFetcher(services, telegram_downloader(self.bot))
        self.background_jobs_factory: BackgroundJobsFactory | None = None
        self.background_jobs: BackgroundJobs | None = None

    async def process_update(self, update: object) -> None:
        """Handle the update in one transaction with its dialogue state and its id."""
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        queued = fetch = False
        try:
            async with update_session(self.services.session_factory) as session:
                # Another process may hold this chat's turn: wait for it (PostgreSQL).
                await take_chat_turn(session, order_keys(update))
                if await already_processed(session, update.update_id):
                    return  # its effect is committed: a redelivery changes nothing
                await self.load_dialogue_state(update)
                await super().process_update(update)
                await self.persist_update(update)  # a state not kept fails the step too
                mark_processed(session, update.update_id, self.services.clock.now())
                await session.commit()
                # the sender and the fetcher are woken only by an update that gave them work
                queued = session.info.pop(outbox.QUEUED, False)
                fetch = session.info.pop(photos.FILES_TO_FETCH, False)
            committed(session)  # e.g. a requested ledger is rendered now
        except Exception:
            # The transaction rolled back: nothing of the update was kept. In polling mode the
            # update is fetched again only after a restart, so the user is asked to repeat it.
            logger.exception("update %s could not be committed", update.update_id)
            await self._tell_try_again(update)
        finally:
            queue = self.update_queue
            if isinstance(queue, ConfirmedAfterCommit):
                queue.finished(update)
            if queued:
                self.services.outbox_ready.set()
            if fetch:
                self.evidence_fetcher.ready.set()  # files the update kept are fetched now

    async def load_dialogue_state(self, update: Update) -> None:
        """Read this chat's conversation states and scratch data as stored: with several
        processes, another one may have handled the chat's previous update. The scratch data
        is kept for the persistence's refresh hooks, which python-telegram-bot calls later."""
        persistence = self.persistence
        if not isinstance(persistence, DatabasePersistence):
            return
        conversations = self._conversation_handler_conversations
        chat_id = update.effective_chat.id if update.effective_chat else None
        user_id = update.effective_user.id if update.effective_user else None
        keys = [(chat_id, user_id), (chat_id,), (user_id,)]
        candidates = [key for key in keys if None not in key]
        scratchpads = [("chat", chat_id)] if chat_id is not None else []
        scratchpads += [("user", user_id)] if user_id is not None else []
        stored = await persistence.load_for_update(
            list(conversations),
            candidates,  # type: ignore[arg-type]
            scratchpads,  # type: ignore[arg-type]
        )
        for name, states in conversations.items():
            for key in candidates:
                if (name, key) in stored:
                    states.data[key] = stored[(name, key)]
                else:
                    states.data.pop(key, None)

    async def persist_update(self, update: Update) -> None:
        """Write this update's dialogue state, and only this update's, in its transaction.

        python-telegram-bot's `update_persistence` writes whatever any update left pending;
        with updates of other chats running at the same time, that would commit their
        half-done state in this update's transaction. Keys of this update's chat and user are
        only ever touched by this update (the update processor gives them one at a time).
        """
        persistence = self.persistence
        if persistence is None:
            return
        chat_id = update.effective_chat.id if update.effective_chat else None
        user_id = update.effective_user.id if update.effective_user else None
        writes: list[Awaitable[None]] = []

        def take(pending: set[int], own: int | None) -> bool:
            if own is not None and own in pending:
                pending.discard(own)
                return True
            return False

        if chat_id is not None:
            if take(self._chat_ids_to_be_deleted_in_persistence, chat_id):
                self._chat_ids_to_be_updated_in_persistence.discard(chat_id)
                writes.append(persistence.drop_chat_data(chat_id))
            elif take(self._chat_ids_to_be_updated_in_persistence, chat_id):
                writes.append(
                    persistence.update_chat_data(chat_id, deepcopy(self.chat_data[chat_id]))
                )
        if user_id is not None:
            if take(self._user_ids_to_be_deleted_in_persistence, user_id):
                self._user_ids_to_be_updated_in_persistence.discard(user_id)
                writes.append(persistence.drop_user_data(user_id))
            elif take(self._user_ids_to_be_updated_in_persistence, user_id):
                writes.append(
                    persistence.update_user_data(user_id, deepcopy(self.user_data[user_id]))
                )
        own_ids = {chat_id, user_id} - {None}
        for name, states in self._conversation_handler_conversations.items():
            # a conversation key is (chat id, user id), or one of them (per_chat/per_user)
            mine = {key for key in states._write_access_keys if own_ids & set(key[:2])}
            states._write_access_keys -= mine
            for key in mine:
                state = states.get(key, TrackingDict.DELETED)
                if isinstance(state, PendingState):  # every step here blocks: resolved by now
                    state = state.resolve() if state.done() else state.old_state
                new_state = None if state is TrackingDict.DELETED else state
                writes.append(
                    persistence.update_conversation(name=name, key=key, new_state=new_state)
                )
        # one after another: they share the update's session; every one is awaited, and the
        # first failure then fails the update, whose transaction is not committed
        failures = []
        for write in writes:
            try:
                await write
            except Exception as error:
                failures.append(error)
        if failures:
            raise failures[0]

    async def update_persistence(self) -> None:
        """While running, every update writes its own state (persist_update); writing all that
        is pending from here would commit other updates' half-done state. On shutdown, after
        the last update, whatever is left is written."""
        if self.running:
            return
        await super().update_persistence()

    async def _tell_try_again(self, update: Update) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        user = update.effective_user
        language = self.services.texts.language_for(None, user.language_code if user else None)
        with contextlib.suppress(TelegramError):
            await self.bot.send_message(
                chat.id, self.services.texts.get(language, "gate.try_again")
            )


# how long polling waits when a fetch brings back only updates still being handled
STALE_FETCH_PAUSE_SECONDS = 0.2
# and before the next fetch when one brought back new updates with some still being handled:
# Telegram answers at once while any update is unconfirmed, so without a pause the polling
# would fetch (and decode) the same unconfirmed updates after every commit
BUSY_FETCH_PAUSE_SECONDS = 0.05


@dataclass
class _Fetch:
    """One getUpdates of the polling: updates below `fresh_from` were fetched before."""

    fresh_from: int
    stale: int = 0  # how many of those came back again


_fetching: ContextVar[_Fetch | None] = ContextVar("fetching_updates", default=None)


class AfterSalesBot(ExtBot[None]):
    """The Bot API client of the application; a press it already answered is not an error.

    An update whose commit was cut short (a kill) is delivered again, and its button press was
    answered before: Telegram refuses a second answer ("query is too old"). That refusal must
    not stop the redelivered step, which has yet to be committed.
    """

    # set by build_application: the queue that knows which updates are committed
    _confirmation: ConfirmedAfterCommit | None = None
    _pause_before_fetch = 0.0

    async def get_updates(
        self, offset: int | None = None, *args: Any, **kwargs: Any
    ) -> tuple[Update, ...]:
        """Fetch with an offset that confirms only committed updates; leave out what was
        fetched before and is still being handled (or was handled after a later one)."""
        queue = self._confirmation
        if queue is None:
            return await super().get_updates(offset, *args, **kwargs)
        queue.confirm_by_offset = True
        if self._pause_before_fetch:
            await asyncio.sleep(self._pause_before_fetch)
            self._pause_before_fetch = 0.0
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
        elif fetch.stale:
            self._pause_before_fetch = BUSY_FETCH_PAUSE_SECONDS  # after these are handed over
        return fresh

    async def _post(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        """getUpdates: the updates fetched before (still unconfirmed) are left out as JSON,
        before they are parsed; with many users at once each fetch brings dozens of them back,
        and parsing them again was most of the polling's cost."""
        result = await super()._post(endpoint, *args, **kwargs)
        fetch = _fetching.get()
        if endpoint != "getUpdates" or fetch is None or not isinstance(result, list):
            return result
        fresh = [u for u in result if u.get("update_id", 0) >= fetch.fresh_from]
        fetch.stale = len(result) - len(fresh)
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


class ConfirmedAfterCommit(asyncio.Queue):  # type: ignore[type-arg]
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

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            await super().put(item)
            return
        self._unfinished[item.update_id] = self._unfinished.get(item.update_id, 0) + 1
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

    def confirmable_offset(self, offset: int | None) -> int | None:
        """The getUpdates offset that confirms no update still being handled."""
        if not self._unfinished:
            return offset
        oldest = min(self._unfinished)
        return oldest if offset is None else min(offset, oldest)

    async def wait_for_progress(self, timeout: float) -> None:
        self._progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout)


ALLOWED_UPDATES = ["message", "callback_query"]
WEBHOOK_PATH = "telegram"


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


def build_application(
    services: Services,
    token: str,
    *,
    base_url: str,
    background_jobs: BackgroundJobsFactory | None = None,
    poll_timeout: float = 10.0,
    concurrent_updates: int = DEFAULT_CONCURRENT_UPDATES,
    renderer: Renderer | None = None,
) -> AfterSalesApplication:
    """The Application on `services`; documents are rendered by `renderer` (by default in a
    worker process where the database can be opened there, `bot.rendering.renderer_for`)."""
    queue = ConfirmedAfterCommit()
    bot = AfterSalesBot(
        token,
        base_url=base_url,
        base_file_url=file_url_for(base_url),
        request=HTTPXRequest(connection_pool_size=256),  # the builder's default
        get_updates_request=HTTPXRequest(read_timeout=poll_timeout + 5),
        # Replies and the outbox alike, at Telegram's pace (messages only); a 429 is retried
        # after its retry_after.
        rate_limiter=MessageRateLimiter.from_settings(services.settings),
    )
    bot._confirmation = queue
    application = (
        ApplicationBuilder()
        .application_class(
            AfterSalesApplication,
            kwargs={"services": services, "renderer": renderer or renderer_for(services)},
        )
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .persistence(DatabasePersistence(services.session_factory))
        # a chat's updates one at a time (ConversationHandler needs that), chats side by side
        .concurrent_updates(PerChatUpdateProcessor(concurrent_updates))
        .update_queue(queue)
        .post_init(start_background_work)
        .post_stop(stop_background_work)
        .build()
    )
    assert isinstance(application, AfterSalesApplication)
    application.background_jobs_factory = background_jobs

    gate.register(application)
    patrols.register(application)  # first: its sticker deep link is a /start with a payload
    common.register(application)
    complaint_intake.register(application)
    complaint_work.register(application)
    complaint_steps.register(application)
    complaint_casework.register(application)
    consumer_complaints.register(application)
    tickets.register(application)
    search.register(application)
    reports.register(application)
    evidence.register(application)
    return_intake.register(application)
    return_work.register(application)
    return_record.register(application)
    vendors.register(application)
    assessments.register(application)
    invitations.register(application)
    masterdata.register(application)
    common.register_fallbacks(application)  # last: only what no other handler took
    application.add_error_handler(_on_error)
    return application


async def start_background_work(application: Application) -> None:  # type: ignore[type-arg]
    """Command menu, outbox sender, background jobs; run_polling/run_webhook call this on start."""
    assert isinstance(application, AfterSalesApplication)
    services = application.services
    texts = services.texts
    for language_code, language in ((None, services.settings.default_language), ("en", "en")):
        commands = [
            BotCommand(name, texts.get(language, f"cmd.{name}")[:256]) for name in MENU_COMMANDS
        ]
        await application.bot.set_my_commands(commands, language_code=language_code)
    application.outbox_sender.start()
    application.evidence_fetcher.start()
    if application.background_jobs_factory is not None:
        application.background_jobs = application.background_jobs_factory(services)
        application.background_jobs.start()


async def stop_background_work(application: Application) -> None:  # type: ignore[type-arg]
    """Stops the background jobs; the sender finishes its row while the bot can still send."""
    assert isinstance(application, AfterSalesApplication)
    if application.background_jobs is not None:
        application.background_jobs.shutdown(wait=False)
        release = getattr(application.background_jobs, "release_leadership", None)
        if release is not None:
            await release()
        application.background_jobs = None
    await application.evidence_fetcher.stop()
    await application.outbox_sender.stop()
    await application.documents.stop()


async def _on_error(update: object, context: BotContext) -> None:
    """Domain errors become a message in the user's language; anything else is logged."""
    error = context.error
    if isinstance(error, ProcedureError):
        key, params = error.text_key, error.params
    else:
        logger.error("unhandled error for update %s", update, exc_info=error)
        key, params = "error.generic", {}
    if not isinstance(update, Update):
        return
    if update.effective_user is not None:
        # An error handler gets a fresh context: find the user's language again.
        async with context.session() as session:
            await gate.identify(session, context, update.effective_user)
    if update.callback_query:
        try:
            if await update.callback_query.answer(context.text(key, **params), show_alert=True):
                return
        except TelegramError:
            # the handler answered the press already (every callback does, first): the alert
            # is refused, so the error arrives as a message instead of as silence
            pass
    if update.effective_chat:
        try:
            await context.reply(update, key, **params)
        except TelegramError:
            logger.exception("could not tell the user about an error")
