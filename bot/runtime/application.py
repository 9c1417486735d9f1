"""The Application's delivery runtime: each update in one transaction, the senders beside it.

`build_runtime` builds a python-telegram-bot Application without handlers: the Bot API client,
the update queue and processor, the persistence, the outbox sender, the evidence fetcher and the
document desk. `bot.app` adds the chat (handlers, command menu, error replies) on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, ExtBot

from procedures.kernel import outbox, photos

from ..context import BotContext
from ..services import Services
from . import ptb_internals, replies
from .bot_api_client import AiohttpRequest
from .evidence_fetcher import EvidenceFetcher, telegram_downloader
from .outbox_sender import OutboxSender
from .persistence import DatabasePersistence
from .rate_limiter import MessageRateLimiter
from .rendering import DocumentDesk, Renderer, renderer_for
from .update_processor import DEFAULT_CONCURRENT_UPDATES, PerChatUpdateProcessor, order_keys
from .update_transaction import (
    claim_update,
    committed,
    update_session,
)
from .updates import AfterSalesBot, ConfirmedAfterCommit, confirm_committed, file_url_for

logger = logging.getLogger(__name__)


class BackgroundJobs(Protocol):
    """What runs on the bot's event loop beside it: the scheduler, when this process runs it."""

    def start(self) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...


# Builds the background jobs on the bot's services; the entry point chooses which, if any.
BackgroundJobsFactory = Callable[[Services], BackgroundJobs]
# post_init/post_stop of the Application: called with it when it starts and stops
Hook = Callable[[Any], Coroutine[Any, Any, None]]


# bot, context, user/chat/bot data, job queue: what `build_runtime` configures
BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]


class AfterSalesApplication(BotApplication):
    """An Application that carries the services and saves dialogue state after every update."""

    def __init__(
        self,
        *,
        services: Services,
        renderer: Renderer,
        outbox_renderer: Renderer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.documents = DocumentDesk(services, self.bot, renderer)
        # the outbox's documents have a worker of their own: a minute-long ledger does not
        # make a notice's rendering wait (and time out) behind it
        self.outbox_sender = OutboxSender(services, self.bot, renderer=outbox_renderer or renderer)
        self.evidence_fetcher = EvidenceFetcher(services, telegram_downloader(self.bot))
        self.background_jobs_factory: BackgroundJobsFactory | None = None
        self.background_jobs: BackgroundJobs | None = None
        # set by `stop`: updates not begun are left for the next start
        self.stopping = False
        # the tasks of updates under way that have not reached their commit: a stop that has
        # waited long enough cancels them, and they roll back
        self._before_commit: set[asyncio.Task[Any]] = set()

    async def process_update(self, update: object) -> None:
        """Handle the update in one transaction with its dialogue state and its id; its
        replies go out once that is committed."""
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        queue = self.update_queue
        if self.stopping:  # not begun: Telegram delivers it again after the restart
            if isinstance(queue, ConfirmedAfterCommit):
                queue.abandoned(update)
            return
        task = asyncio.current_task()
        queued = fetch = abandoned = False
        batch = replies.ReplyBatch()
        try:
            if task is not None:
                self._before_commit.add(task)
            with replies.collecting(batch):
                async with update_session(self.services.session_factory) as session:
                    # Another process may hold this chat's turn: wait for it (PostgreSQL).
                    now, turns = self.services.clock.now(), order_keys(update)
                    if not await claim_update(session, update.update_id, now, turns):
                        return  # its effect is committed: a redelivery changes nothing
                    pressed = update.callback_query.message if update.callback_query else None
                    if pressed is not None:  # a notice settled by this press is answered on it
                        session.info[outbox.PRESSED] = (pressed.chat.id, pressed.message_id)
                    await self.load_dialogue_state(update)
                    await super().process_update(update)
                    await self.persist_update(update)  # a state not kept fails the step too
                    # a commit under way is never cut: whether it landed would be unknown
                    self._before_commit.discard(task)
                    await session.commit()
                    # the sender and the fetcher are woken only by an update that gave them work
                    queued = session.info.pop(outbox.QUEUED, False)
                    fetch = session.info.pop(photos.FILES_TO_FETCH, False)
                batch.open = False  # what is sent from here on goes at once
            # kept: what the user is told goes now, the database no longer held meanwhile, and
            # whole even when the bot is stopping
            await asyncio.shield(batch.deliver())
            # then what waited for the commit (a requested ledger is rendered now): its own
            # messages come after the update's replies ("being prepared" before the file)
            committed(session)
        except asyncio.CancelledError:
            # a stop cut it before its commit: it rolled back, said nothing, and is left for
            # the next start
            abandoned = True
            raise
        except Exception:
            # The transaction rolled back: nothing of the update was kept, and nothing it
            # would have said goes out. In polling mode the update is fetched again only after
            # a restart, so the user is asked to repeat it.
            batch.drop()
            logger.exception("update %s could not be committed", update.update_id)
            await batch.answered()  # the spinner stopped, then the "try again"
            await self._tell_try_again(update)
        finally:
            self._before_commit.discard(task)
            batch.drop()
            if isinstance(queue, ConfirmedAfterCommit):
                if abandoned:
                    queue.abandoned(update)
                else:
                    queue.finished(update)
            if queued:
                self.services.outbox_ready.set()
            if fetch:
                self.evidence_fetcher.ready.set()  # files the update kept are fetched now

    async def stop(self) -> None:
        """Stop within a few seconds however many updates are queued: those not begun are left
        to Telegram, those under way get `STOP_GRACE_SECONDS` to commit (and then send their
        replies) before they are cut and roll back; what was committed is confirmed."""
        self.stopping = True
        logger.info("stopping: %d updates under way", len(self._before_commit))
        waited = 0.0
        while self._before_commit and waited < STOP_GRACE_SECONDS:
            await asyncio.sleep(0.05)
            waited += 0.05
        for task in list(self._before_commit):
            task.cancel()
        if self._before_commit:
            logger.info("stopping: %d updates cut before their commit", len(self._before_commit))
        await super().stop()
        queue = self.update_queue
        if isinstance(queue, ConfirmedAfterCommit):
            await confirm_committed(self.bot, queue)

    async def load_dialogue_state(self, update: Update) -> None:
        """Read this chat's conversation states and scratch data as stored: with several
        processes, another one may have handled the chat's previous update. The scratch data
        is kept for the persistence's refresh hooks, which python-telegram-bot calls later."""
        persistence = self.persistence
        if not isinstance(persistence, DatabasePersistence):
            return
        chat_id = update.effective_chat.id if update.effective_chat else None
        user_id = update.effective_user.id if update.effective_user else None
        candidates: list[tuple[int, ...]] = []
        scratchpads: list[tuple[str, int]] = []
        if chat_id is not None and user_id is not None:
            candidates.append((chat_id, user_id))
        if chat_id is not None:
            candidates.append((chat_id,))
            scratchpads.append(("chat", chat_id))
        if user_id is not None:
            candidates.append((user_id,))
            scratchpads.append(("user", user_id))
        names = list(ptb_internals.conversations(self))
        stored = await persistence.load_for_update(names, candidates, scratchpads)
        ptb_internals.load_conversations(self, candidates, stored)

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
        if chat_id is not None:
            pending = ptb_internals.take_data_write(self, "chat", chat_id)
            if pending == "drop":
                writes.append(persistence.drop_chat_data(chat_id))
            elif pending == "update":
                writes.append(persistence.update_chat_data(chat_id, self.chat_data[chat_id]))
        if user_id is not None:
            pending = ptb_internals.take_data_write(self, "user", user_id)
            if pending == "drop":
                writes.append(persistence.drop_user_data(user_id))
            elif pending == "update":
                writes.append(persistence.update_user_data(user_id, self.user_data[user_id]))
        # no copies here: the persistence keeps a JSON snapshot of what it is given
        own_ids = {own for own in (chat_id, user_id) if own is not None}
        for name, key, state in ptb_internals.take_conversation_writes(self, own_ids):
            writes.append(persistence.update_conversation(name=name, key=key, new_state=state))
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
        """Nothing is left to write: every committed update wrote its own state
        (persist_update). What is pending here belongs to updates under way, or cut by a stop
        and rolled back; writing it would keep half a step."""
        return None

    def start_delivery(self) -> None:
        """The outbox sender, the evidence fetcher and the background jobs start."""
        self.outbox_sender.start()
        self.evidence_fetcher.start()
        if self.background_jobs_factory is not None:
            self.background_jobs = self.background_jobs_factory(self.services)
            self.background_jobs.start()

    async def stop_delivery(self) -> None:
        """Stops the background jobs; the sender finishes its row while the bot can still send."""
        if self.background_jobs is not None:
            await _let_running_jobs_finish(self.background_jobs, JOBS_GRACE_SECONDS)
            self.background_jobs.shutdown(wait=False)
            release = getattr(self.background_jobs, "release_leadership", None)
            if release is not None:
                await release()
            self.background_jobs = None
        await self.evidence_fetcher.stop()
        await self.outbox_sender.stop()
        self.outbox_sender.renderer.close()
        await self.documents.stop()
        logger.info("delivery stopped")

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


# how long a stop lets the updates under way reach their commit: with the jobs' grace and the
# senders' stop, the whole stop is to take under 5 s
STOP_GRACE_SECONDS = 1.0

# how long a stop waits for the background jobs under way (a sweep's chunk, a monthly report):
# the whole stop is to take under 5 s
JOBS_GRACE_SECONDS = 2.0


async def _let_running_jobs_finish(jobs: BackgroundJobs, seconds: float) -> None:
    """APScheduler's asyncio executor cancels the jobs under way when it shuts down, and logs
    each as failed, with a traceback. So no new job starts (pause), and those under way get a
    moment to finish first; one cut after that rolls back (each job is its transactions)."""
    with contextlib.suppress(Exception):  # not running (any more): nothing is under way
        getattr(jobs, "pause", lambda: None)()
    executors = getattr(jobs, "_executors", {})
    running = [
        future
        for executor in executors.values()
        for future in getattr(executor, "_pending_futures", ())
        if not future.done()
    ]
    if running:
        await asyncio.wait(running, timeout=seconds)


def build_runtime(
    services: Services,
    token: str,
    *,
    base_url: str,
    post_init: Hook,
    post_stop: Hook,
    background_jobs: BackgroundJobsFactory | None = None,
    poll_timeout: float = 10.0,
    concurrent_updates: int = DEFAULT_CONCURRENT_UPDATES,
    renderer: Renderer | None = None,
) -> AfterSalesApplication:
    """The Application on `services`, without handlers; documents are rendered by `renderer`
    (by default in a worker process where the database can be opened there, `renderer_for`)."""
    queue = ConfirmedAfterCommit()
    bot = AfterSalesBot(
        token,
        confirmation=queue,
        base_url=base_url,
        base_file_url=file_url_for(base_url),
        request=AiohttpRequest(connection_pool_size=256),  # the builder's default pool
        get_updates_request=AiohttpRequest(connection_pool_size=1, read_timeout=poll_timeout + 5),
        # Replies and the outbox alike, at Telegram's pace (messages only); a 429 is retried
        # after its retry_after.
        rate_limiter=MessageRateLimiter.from_settings(services.settings),
    )
    application = (
        ApplicationBuilder()
        .application_class(
            AfterSalesApplication,
            kwargs={
                "services": services,
                "renderer": renderer or renderer_for(services),
                "outbox_renderer": renderer or renderer_for(services),
            },
        )
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .persistence(DatabasePersistence(services.session_factory, bot.placeholders.resolve))
        # a chat's updates one at a time (ConversationHandler needs that), chats side by side
        .concurrent_updates(PerChatUpdateProcessor(concurrent_updates))
        .update_queue(queue)
        .post_init(post_init)
        .post_stop(post_stop)
        .build()
    )
    assert isinstance(application, AfterSalesApplication)
    application.background_jobs_factory = background_jobs
    return application
