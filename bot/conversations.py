"""How every dialogue of the bot is built: persistent, re-enterable, /cancel everywhere."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Document, PhotoSize, Update
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from procedures.kernel.actions import CallbackAction
from procedures.kernel.errors import NotAllowed, NotFound, ProcedureError, WrongState
from procedures.kernel.outbox import button
from procedures.kernel.photos import DOWNLOAD_LIMIT_BYTES, document_ref, too_large
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.people.queries import User

from .context import BotContext, edit_query_message
from .dialogue.updates import message_of, pressed, query_of, text_of

Draft = TypeVar("Draft")


@dataclass(frozen=True)
class DialogueDraft(Generic[Draft]):
    """Where an intake dialogue keeps its draft between steps (the user's scratch data), for how
    long, and what it says when the draft has expired or is cancelled."""

    key: str
    load: Callable[[dict[str, Any]], Draft]
    expired_text: str
    cancelled_text: str
    # a form left unfinished this long is dropped rather than filed with stale answers
    lifetime: dt.timedelta = dt.timedelta(hours=2)

    def begin(self, context: BotContext, draft: Any) -> None:
        context.user_data[self.key] = {
            "draft": draft.to_json(),
            "started_at": context.now().isoformat(),
            "media_group": None,
        }

    def get(self, context: BotContext) -> Draft | None:
        """The draft, or None when there is none or it has expired."""
        stored = context.user_data.get(self.key)
        if not stored:
            return None
        if context.now() - dt.datetime.fromisoformat(stored["started_at"]) > self.lifetime:
            context.user_data.pop(self.key, None)
            return None
        return self.load(stored["draft"])

    def save(self, context: BotContext, draft: Any, **extra: object) -> None:
        context.user_data[self.key]["draft"] = draft.to_json()
        context.user_data[self.key].update(extra)

    async def expired(self, update: Update, context: BotContext) -> int:
        if update.callback_query:
            await update.callback_query.answer()
        await context.reply(update, self.expired_text)
        return ConversationHandler.END

    async def cancel(self, update: Update, context: BotContext, *also: str) -> int:
        """Drop the draft (and the `also` scratch keys): by a button or /cancel."""
        for key in (self.key, *also):
            context.user_data.pop(key, None)
        if update.callback_query:
            await update.callback_query.answer()
            await edit_query_message(update, context.text(self.cancelled_text))
        else:
            await context.reply(update, self.cancelled_text)
        return ConversationHandler.END


# What a photo step of a dialogue takes as evidence: a photo, or a file (a PDF, a full-size image).
EVIDENCE = filters.PHOTO | filters.Document.ALL


# Refusals that typing again cannot change (someone else took the step meanwhile, the record
# moved on): the dialogue ends with the reason instead of refusing every later message.
STEP_GONE = (WrongState, NotAllowed, NotFound)


async def left_because(update: Update, context: BotContext, error: ProcedureError) -> int:
    """Says why the step cannot be taken any more and leaves the dialogue."""
    await context.reply(update, error.text_key, **error.params)
    return ConversationHandler.END


def cancel_dropping(*keys: str) -> Callable[[Update, BotContext], Awaitable[int]]:
    """The /cancel of a dialogue that keeps its scratch state under `keys`: drops it and says
    nothing was recorded."""

    async def cancel(update: Update, context: BotContext) -> int:
        for key in keys:
            context.user_data.pop(key, None)
        await context.reply(update, "cancel.done")
        return ConversationHandler.END

    return cancel


def dialogue(
    name: str,
    entry_points: Sequence[BaseHandler[Any, Any, Any]],
    states: dict[object, list[BaseHandler[Any, Any, Any]]],
    cancel: Any,
) -> ConversationHandler[Any]:
    """A ConversationHandler whose state is kept in the database under `name`.

    Conversations are tracked per user and chat, not per message: a dialogue's buttons sit on
    several messages. python-telegram-bot warns about exactly that choice, so the warning is
    silenced here, once, on purpose.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=list(entry_points),
            states=states,
            fallbacks=[CommandHandler("cancel", cancel)],
            name=name,
            persistent=True,
            allow_reentry=True,
        )


@dataclass(frozen=True)
class Confirmation:
    """A typed step that is final (a refusal with its reason): the text is checked by `check`,
    then `question` (with the record's number, its details and the `text`) names what follows,
    with the `button` that records it (`action`) and 返回 (`back`), which asks the text again;
    the dialogue waits at `state` meanwhile."""

    question: str
    button: str
    action: type[CallbackAction]
    back: type[CallbackAction]
    state: int
    check: Callable[[str], str]


def typed_step(
    name: str,
    action: type[CallbackAction],
    check: Callable[[AsyncSession, User, int], Any],
    record: Callable[[UnitOfWork, User, int, str], Any],
    texts: tuple[str, str],
    state: int,
    cancel: Any,
    details: Callable[[Any], dict[str, Any]] = lambda _: {},
    remember: Callable[[Update], dict[str, Any]] = lambda _: {},
    after: Callable[[Update, BotContext, Any, dict[str, Any]], Awaitable[None]] | None = None,
    confirm: Confirmation | None = None,
) -> ConversationHandler[Any]:
    """A button that asks for one typed text and records it (a reason, an answer, an amount).
    Pressed, `check` finds the record the action names if the user may take the step on it
    now; the text typed next is recorded by `record`, which checks again with the row locked.
    The question and the confirmation (`texts`) name the record's number and its
    `details`; the scratch state is kept under `name`, which `cancel` drops. `remember` adds
    what the press should leave in the scratch state (the pressed message, say); `after` runs
    once the text is recorded, with that state, to tidy up the buttons that are now used; with
    `confirm`, the text is recorded only once its confirmation is pressed."""
    (field_name,) = (spec.name for spec in action.fields())
    asked, recorded = texts

    async def begin(update: Update, context: BotContext) -> int:
        record_id = getattr(pressed(update, action), field_name)
        async with context.session() as session:
            found = await check(session, await context.actor(session), record_id)
        await query_of(update).answer()
        context.user_data[name] = {"id": found.id, **remember(update)}
        await context.reply(update, asked, number=found.number, **details(found))
        return state

    async def enter(update: Update, context: BotContext) -> int:
        scratch = context.user_data.get(name)
        if not scratch:
            return ConversationHandler.END
        if confirm is not None:
            typed = confirm.check(text_of(update))  # refused at once, the step stays
            try:
                async with context.session() as session:
                    found = await check(session, await context.actor(session), scratch["id"])
            except STEP_GONE as error:  # taken by another meanwhile: the dialogue ends
                context.user_data.pop(name, None)
                return await left_because(update, context, error)
            scratch["text"] = typed
            ids = {field_name: found.id}
            await context.reply(
                update,
                confirm.question,
                buttons=[
                    [
                        button(confirm.button, confirm.action(**ids)),
                        button("common.button.back", confirm.back(**ids)),
                    ]
                ],
                number=found.number,
                text=typed,
                **details(found),
            )
            return confirm.state
        return await take(update, context, scratch, text_of(update))

    async def confirmed(update: Update, context: BotContext) -> int:
        scratch = context.user_data.get(name)
        await query_of(update).answer()
        if not scratch or "text" not in scratch:
            await context.reply(update, "error.dialogue_ended")
            return ConversationHandler.END
        return await take(update, context, scratch, scratch["text"])

    async def back(update: Update, context: BotContext) -> int:
        scratch = context.user_data.get(name)
        await query_of(update).answer()
        if not scratch:
            await context.reply(update, "error.dialogue_ended")
            return ConversationHandler.END
        scratch.pop("text", None)
        async with context.session() as session:
            found = await check(session, await context.actor(session), scratch["id"])
        await edit_query_message(update, context.text(asked, number=found.number, **details(found)))
        return state

    async def take(update: Update, context: BotContext, scratch: dict[str, Any], typed: str) -> int:
        try:
            async with context.unit_of_work() as uow:
                done = await record(
                    uow,
                    await context.actor(uow.session),
                    scratch["id"],
                    typed,
                )
        except STEP_GONE as error:
            context.user_data.pop(name, None)
            return await left_because(update, context, error)
        context.user_data.pop(name, None)
        if update.callback_query is not None:  # the confirmation becomes the answer
            await edit_query_message(
                update, context.text(recorded, number=done.number, **details(done))
            )
        else:
            await context.reply(update, recorded, number=done.number, **details(done))
        if after is not None:
            await after(update, context, done, scratch)
        return ConversationHandler.END

    return dialogue(
        name,
        entry_points=[CallbackQueryHandler(begin, pattern=action.pattern())],
        states={
            state: [MessageHandler(filters.TEXT & ~filters.COMMAND, enter)],
            **(
                {
                    confirm.state: [
                        CallbackQueryHandler(confirmed, pattern=confirm.action.pattern()),
                        CallbackQueryHandler(back, pattern=confirm.back.pattern()),
                        MessageHandler(filters.TEXT & ~filters.COMMAND, use_buttons),
                    ]
                }
                if confirm is not None
                else {}
            ),
        },
        cancel=cancel,
    )


async def keep_photo(
    update: Update,
    context: BotContext,
    photos: list[str],
    state: MutableMapping[str, Any],
    done: CallbackAction,
) -> None:
    """Add the message's photo (its largest size) or document to `photos`, and acknowledge it
    with a Done button, once per album: an album arrives as one update per photo sharing a media
    group, and each photo after the first updates the album's acknowledgement to the count so
    far. A file over what a bot may download is refused, naming the limit."""
    message = message_of(update)
    item: PhotoSize | Document
    if message.photo:
        item, ref = message.photo[-1], message.photo[-1].file_id
    elif message.document is not None:
        item, ref = message.document, document_ref(message.document.file_id)
    else:  # the photo steps take photos and files only
        raise ValueError("a photo step got a message with neither photo nor file")
    if too_large(item.file_size):
        await context.reply(
            update,
            "evidence.too_large",
            size=round((item.file_size or 0) / 1024 / 1024, 1),
            limit=DOWNLOAD_LIMIT_BYTES // 1024 // 1024,
        )
        return
    photos.append(ref)
    buttons = [[button("common.button.done", done)]]
    same_album = message.media_group_id is not None and (
        message.media_group_id == state.get("media_group")
    )
    if same_album and state.get("ack"):
        try:
            await context.bot.edit_message_text(
                context.text("common.photo_received", count=len(photos)),
                chat_id=message.chat_id,
                message_id=state["ack"],
                reply_markup=context.keyboard(buttons),
            )
            return
        except BadRequest:  # the acknowledgement is gone: a new one says the count
            pass
    state["media_group"] = message.media_group_id
    ack = await context.reply(update, "common.photo_received", count=len(photos), buttons=buttons)
    state["ack"] = ack.message_id


async def use_buttons(update: Update, context: BotContext) -> None:
    """Text where a button (or a photo) is expected: say so, stay on the step."""
    await context.reply(update, "common.use_buttons")
