"""The steps the intake dialogues share, written once: the draft kept between steps and its
guard (an expired or stale dialogue ends, saying so), a question that retires the previous
step's keyboard, buttons to choose from, a wrong button refused, photos then Done or Skip, a
summary then Submit or Cancel, and the filed record's answer in place of the summary."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.ext import ConversationHandler

from procedures.kernel.actions import CallbackAction
from procedures.kernel.outbox import button

from ..context import BotContext, edit_query_message
from ..conversations import DialogueDraft, Draft, keep_photo
from . import keyboards

Handler = Callable[[Update, BotContext], Awaitable[int]]
DraftHandler = Callable[[Update, BotContext, Draft], Awaitable[int]]
Rows = list[list[dict[str, Any]]]


def option_rows(text_key: str, options: Iterable[tuple[CallbackAction, Mapping[str, Any]]]) -> Rows:
    """One button a row, each labelled by `text_key` with its parameters: a product, a lot, an
    organisation to choose."""
    return [[button(text_key, action, **params)] for action, params in options]


async def wrong_button(update: Update, context: BotContext, stay: int) -> int:
    """A button the step does not offer (forged, or from an older list): say so, stay."""
    await context.reply(update, "error.stale_button")
    return stay


@dataclass(frozen=True)
class Intake(DialogueDraft[Draft]):
    """An intake dialogue: its draft (see DialogueDraft) and the steps every intake takes."""

    def scratch(self, context: BotContext) -> MutableMapping[str, Any] | None:
        """The dialogue's scratch state (the draft, and what the steps keep beside it)."""
        state = context.user_data.get(self.key)
        return state if isinstance(state, MutableMapping) else None

    def step(self, handler: DraftHandler[Draft]) -> Handler:
        """A step's handler, given the draft: a pressed button is answered first; an expired
        dialogue ends, saying so, instead."""

        @functools.wraps(handler)
        async def guarded(update: Update, context: BotContext) -> int:
            if update.callback_query is not None:
                await update.callback_query.answer()
            return await self._with_draft(update, context, handler)

        return guarded

    def step_answered_later(self, handler: DraftHandler[Draft]) -> Handler:
        """A step's handler that answers the pressed button itself (after its work, so that a
        refusal can answer it instead); an expired dialogue ends, saying so."""

        @functools.wraps(handler)
        async def guarded(update: Update, context: BotContext) -> int:
            return await self._with_draft(update, context, handler)

        return guarded

    async def _with_draft(
        self, update: Update, context: BotContext, handler: DraftHandler[Draft]
    ) -> int:
        draft = self.get(context)
        if draft is None:
            return await self.expired(update, context)
        return await handler(update, context, draft)

    async def ask(
        self,
        update: Update,
        context: BotContext,
        key: str,
        *,
        buttons: Sequence[Sequence[dict[str, Any]]] | None = None,
        **params: Any,
    ) -> Message:
        """The next step's question: the previous step's keyboards go, this one's is kept."""
        state = self.scratch(context)
        await keyboards.retire(update, context, state)
        return await self.offer(update, context, key, buttons=buttons, **params)

    async def offer(
        self,
        update: Update,
        context: BotContext,
        key: str,
        *,
        buttons: Sequence[Sequence[dict[str, Any]]] | None = None,
        **params: Any,
    ) -> Message:
        """A message of the current step (the step stays): its buttons are the step's too."""
        message = await context.reply(update, key, buttons=buttons, **params)
        if buttons:
            keyboards.keep(self.scratch(context), message)
        return message

    async def ask_photos(
        self, update: Update, context: BotContext, key: str, done: CallbackAction
    ) -> None:
        """Asks for photos, with Done and Skip (one action: no photo is fine)."""
        buttons = [[button("common.button.done", done), button("common.button.skip", done)]]
        await self.ask(update, context, key, buttons=buttons)

    def photo_added(self, done: CallbackAction, stay: int) -> Handler:
        """The handler of a photo (or file) at the photo step: kept on the draft, acknowledged
        with a Done button (once per album). The newest acknowledgement's Done is the step's
        keyboard; the one before it loses its button."""

        async def add_photo(update: Update, context: BotContext, draft: Any) -> int:
            state = context.user_data[self.key]
            before = state.get("ack")
            await keep_photo(update, context, draft.photo_file_ids, state, done)
            self.save(context, draft)
            await keyboards.replace(update, context, state, before, state.get("ack"))
            return stay

        return self.step(add_photo)

    async def ask_summary(
        self,
        update: Update,
        context: BotContext,
        key: str,
        submit: dict[str, Any],
        cancel: dict[str, Any],
        **params: Any,
    ) -> None:
        """The draft in full, with its Submit and Cancel buttons."""
        await self.ask(update, context, key, buttons=[[submit, cancel]], **params)

    async def finish(self, update: Update, context: BotContext, key: str, **params: Any) -> int:
        """The record is filed: the draft goes, and the answer replaces the summary pressed."""
        context.user_data.pop(self.key, None)
        await edit_query_message(update, context.text(key, **params))
        return ConversationHandler.END

    async def drop(self, update: Update, context: BotContext, key: str) -> int:
        """The dialogue cannot go on (nothing to choose from): the draft goes, the user is told."""
        context.user_data.pop(self.key, None)
        await context.reply(update, key)
        return ConversationHandler.END

    async def cancel(self, update: Update, context: BotContext, *also: str) -> int:
        """Drop the draft (by a button or /cancel); the keyboards of the step go with it."""
        if update.callback_query is None:
            await keyboards.retire(update, context, self.scratch(context))
        return await super().cancel(update, context, *also)
