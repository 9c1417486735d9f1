"""Builds the Application: the delivery runtime (bot.runtime) with the chat's handlers on it."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.error import TelegramError

from procedures.kernel.errors import ProcedureError

from .commands import MENU_COMMANDS
from .context import BotContext
from .handlers import (
    assessments,
    common,
    complaint_casework,
    complaint_intake,
    complaint_steps,
    complaint_work,
    consumer_complaints,
    evidence,
    forms,
    gate,
    hours,
    invitations,
    masterdata,
    patrols,
    reports,
    return_intake,
    return_record,
    return_work,
    search,
    tickets,
    todo,
    vendors,
)
from .runtime.application import (
    AfterSalesApplication,
    BackgroundJobsFactory,
    BotApplication,
    build_runtime,
)
from .runtime.rendering import Renderer
from .runtime.update_processor import DEFAULT_CONCURRENT_UPDATES
from .services import Services

logger = logging.getLogger(__name__)


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
    """The Application on `services` (`bot.runtime.application.build_runtime`) with the chat's
    handlers; documents are rendered by `renderer` (by default in a worker process where the
    database can be opened there, `bot.runtime.rendering.renderer_for`)."""
    application = build_runtime(
        services,
        token,
        base_url=base_url,
        post_init=start_background_work,
        post_stop=stop_background_work,
        background_jobs=background_jobs,
        poll_timeout=poll_timeout,
        concurrent_updates=concurrent_updates,
        renderer=renderer,
    )
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
    forms.register(application)
    reports.register(application)
    evidence.register(application)
    return_intake.register(application)
    return_work.register(application)
    return_record.register(application)
    vendors.register(application)
    assessments.register(application)
    todo.register(application)
    hours.register(application)
    invitations.register(application)
    masterdata.register(application)
    common.register_fallbacks(application)  # last: only what no other handler took
    application.add_error_handler(_on_error)
    return application


async def start_background_work(application: BotApplication) -> None:
    """Command menu, outbox sender, background jobs; run_polling/run_webhook call this on start."""
    assert isinstance(application, AfterSalesApplication)
    services = application.services
    texts = services.texts
    for language_code, language in ((None, services.settings.default_language), ("en", "en")):
        commands = [
            BotCommand(name, texts.get(language, f"cmd.{name}")[:256]) for name in MENU_COMMANDS
        ]
        await application.bot.set_my_commands(commands, language_code=language_code)
    application.start_delivery()


async def stop_background_work(application: BotApplication) -> None:
    """Stops the delivery (`stop_delivery`); run_polling/run_webhook call this on stop."""
    assert isinstance(application, AfterSalesApplication)
    await application.stop_delivery()


def _ids_of(update: object) -> str:
    if not isinstance(update, Update):
        return type(update).__name__
    chat, user = update.effective_chat, update.effective_user
    return (
        f"update {update.update_id} (chat {chat.id if chat else '-'}, "
        f"user {user.id if user else '-'})"
    )


async def _on_error(update: object, context: BotContext) -> None:
    """Domain errors become a message in the user's language; anything else is logged."""
    error = context.error
    if isinstance(error, ProcedureError):
        key, params = error.text_key, error.params
    else:
        # ids, not the update: its text and names are the users' own
        logger.error("unhandled error for %s", _ids_of(update), exc_info=error)
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
