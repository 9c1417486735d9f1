"""Builds the python-telegram-bot Application: handlers, persistence, sender, background jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from telegram import BotCommand, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, ExtBot
from telegram.request import HTTPXRequest

from core.config import Settings
from procedures.errors import ProcedureError

from .commands import MENU_COMMANDS
from .context import BotContext
from .handlers import (
    assessments,
    common,
    complaint_intake,
    complaint_steps,
    complaint_work,
    consumer_complaints,
    gate,
    invitations,
    masterdata,
    patrols,
    tickets,
    vendors,
)
from .outbox_sender import OutboxSender
from .persistence import DatabasePersistence
from .services import Services
from .update_transaction import already_processed, mark_processed, update_session

logger = logging.getLogger(__name__)


class BackgroundJobs(Protocol):
    """What runs on the bot's event loop beside it: the scheduler, when this process runs it."""

    def start(self) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...


# Builds the background jobs on the bot's services; the entry point chooses which, if any.
BackgroundJobsFactory = Callable[[Services], BackgroundJobs]


class AfterSalesApplication(Application):  # type: ignore[type-arg]
    """An Application that carries the services and saves dialogue state after every update."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.outbox_sender = OutboxSender(services, self.bot)
        self.background_jobs_factory: BackgroundJobsFactory | None = None
        self.background_jobs: BackgroundJobs | None = None

    async def process_update(self, update: object) -> None:
        """Handle the update in one transaction with its dialogue state and its id."""
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        try:
            async with update_session(self.services.session_factory) as session:
                if await already_processed(session, update.update_id):
                    return  # its effect is committed: a redelivery changes nothing
                await super().process_update(update)
                persistence = self.persistence
                assert isinstance(persistence, DatabasePersistence)
                persistence.failures.clear()
                await self.update_persistence()
                if persistence.failures:  # the state is not kept: neither is the step
                    raise persistence.failures[0]
                mark_processed(session, update.update_id, self.services.clock.now())
                await session.commit()
        except Exception:
            # The transaction rolled back: nothing of the update was kept. In polling mode the
            # update is fetched again only after a restart, so the user is asked to repeat it.
            logger.exception("update %s could not be committed", update.update_id)
            await self._tell_try_again(update)
        finally:
            self.services.outbox_ready.set()

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


class AfterSalesBot(ExtBot[None]):
    """The Bot API client of the application; a press it already answered is not an error.

    An update whose commit was cut short (a kill) is delivered again, and its button press was
    answered before: Telegram refuses a second answer ("query is too old"). That refusal must
    not stop the redelivered step, which has yet to be committed.
    """

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
    """The update queue between fetching and handling: `put` returns once the update is handled.

    python-telegram-bot confirms a batch of updates to Telegram (the next getUpdates' offset)
    as soon as `put` returns; waiting here means an update is confirmed only after its effect
    is committed. A kill before that leaves it unconfirmed, and it is fetched again. A webhook
    request likewise gets its answer only after the commit.
    """

    async def put(self, item: object) -> None:
        await super().put(item)
        await self.join()


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
) -> AfterSalesApplication:
    application = (
        ApplicationBuilder()
        .application_class(AfterSalesApplication, kwargs={"services": services})
        .bot(
            AfterSalesBot(
                token,
                base_url=base_url,
                base_file_url=file_url_for(base_url),
                request=HTTPXRequest(connection_pool_size=256),  # the builder's default
                get_updates_request=HTTPXRequest(read_timeout=poll_timeout + 5),
                # Handlers reply through the limiter too; a 429 there is retried after retry_after.
                rate_limiter=AIORateLimiter(max_retries=2),
            )
        )
        .context_types(ContextTypes(context=BotContext))
        .persistence(DatabasePersistence(services.session_factory))
        .concurrent_updates(False)  # ConversationHandler needs updates one at a time
        .update_queue(ConfirmedAfterCommit())
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
    consumer_complaints.register(application)
    tickets.register(application)
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
    if application.background_jobs_factory is not None:
        application.background_jobs = application.background_jobs_factory(services)
        application.background_jobs.start()


async def stop_background_work(application: Application) -> None:  # type: ignore[type-arg]
    """Stops the background jobs; the sender finishes its row while the bot can still send."""
    assert isinstance(application, AfterSalesApplication)
    if application.background_jobs is not None:
        application.background_jobs.shutdown(wait=False)
        application.background_jobs = None
    await application.outbox_sender.stop()


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
