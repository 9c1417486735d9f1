"""The steps the dialogues share, written once: the draft kept between steps and its guard (an
expired or stale dialogue ends, saying so), a question that retires the previous step's keyboard,
buttons to choose from, a wrong button refused, photos then Done or Skip, a summary then Submit or
Cancel, and the filed record's answer in place of the summary. `Intake` is the customer's and
staff's intake of a new record; `StaffDialogue` a staff step on a record that asks more than
one question."""

from __future__ import annotations

import functools
from collections.abc import (
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.ext import ConversationHandler

from procedures.kernel.actions import CallbackAction
from procedures.kernel.outbox import button

from ..context import BotContext, edit_query_message
from ..conversations import DialogueDraft, Draft, cancel_dropping, keep_photo
from . import keyboards

# what the steps make: coroutine functions, as python-telegram-bot's handlers take them
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, int]]
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


class Steps:
    """What every dialogue's steps share, whatever its scratch state holds: the state kept under
    `key`, a question that retires the previous step's keyboards, the step's own messages with
    buttons, photos then Done, and a pressed button's message turned into the step's answer."""

    key: str

    def scratch(self, context: BotContext) -> MutableMapping[str, Any] | None:
        """The dialogue's scratch state (its draft, and what the steps keep beside it)."""
        state = context.user_data.get(self.key)
        return state if isinstance(state, MutableMapping) else None

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
        await keyboards.retire(update, context, self.scratch(context))
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

    async def retire(self, update: Update, context: BotContext) -> None:
        """The step is over without a question of the dialogue's next (the next message is the
        record's, or another dialogue's): its keyboards go, and the pressed message's."""
        await keyboards.retire(update, context, self.scratch(context))

    async def answered(self, update: Update, context: BotContext, text: str) -> None:
        """The pressed button's message becomes the step's answer (its keyboard goes with the
        edit), and the step's other keyboards go: the next question is `offer`ed."""
        await edit_query_message(update, text)
        await keyboards.retire(update, context, self.scratch(context), pressed=False)

    async def ask_photos(
        self,
        update: Update,
        context: BotContext,
        key: str,
        done: CallbackAction,
        *,
        skip: bool = True,
    ) -> None:
        """Asks for photos, with Done, and Skip (the same action) unless a photo is required."""
        buttons = [button("common.button.done", done)]
        if skip:
            buttons.append(button("common.button.skip", done))
        await self.ask(update, context, key, buttons=[buttons])

    async def keep_photo(
        self,
        update: Update,
        context: BotContext,
        state: MutableMapping[str, Any],
        photos: list[str],
        done: CallbackAction,
    ) -> None:
        """A photo (or file) of the photo step, added to `photos` and acknowledged with a Done
        button (once per album). The newest acknowledgement's Done is the step's keyboard; the
        one before it loses its button."""
        before = state.get("ack")
        await keep_photo(update, context, photos, state, done)
        await keyboards.replace(update, context, state, before, state.get("ack"))


# The user's last filed record: the summary it was filed from ([chat, message], as the JSON of
# the dialogue data keeps it) and the answer that replaced it.
FILED = "filed"


async def answer_filed_again(update: Update, context: BotContext) -> bool:
    """A button of the summary a record was filed from, pressed after the filing: the answer
    the filing gave, again. The bot may have stopped between committing the record and editing
    the summary; the person, told nothing, presses Submit again, and a "no longer in use" would
    send them to file it a second time. False when the press is not on that summary."""
    filed = context.user_data.get(FILED)
    query = update.callback_query
    if not filed or query is None or query.message is None:
        return False
    if [query.message.chat.id, query.message.message_id] != filed["message"]:
        return False
    await query.answer()
    await edit_query_message(update, filed["answer"])
    return True


@dataclass(frozen=True)
class Intake(DialogueDraft[Draft], Steps):
    """An intake dialogue: its draft (see DialogueDraft) and the steps every intake takes."""

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

    def photo_added(self, done: CallbackAction, stay: int) -> Handler:
        """The handler of a photo (or file) at the photo step: kept on the draft, acknowledged
        with a Done button (see Steps.keep_photo)."""

        async def add_photo(update: Update, context: BotContext, draft: Any) -> int:
            state = context.user_data[self.key]
            await self.keep_photo(update, context, state, draft.photo_file_ids, done)
            self.save(context, draft)
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
        """The record is filed: the draft goes, and the answer replaces the summary pressed. The
        answer is kept with the summary's id (see `answer_filed_again`)."""
        context.user_data.pop(self.key, None)
        answer = context.text(key, **params)
        query = update.callback_query
        if query is not None and query.message is not None:
            summary = [query.message.chat.id, query.message.message_id]
            context.user_data[FILED] = {"message": summary, "answer": answer}
        await edit_query_message(update, answer)
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


# the scratch state's id of the message whose button opened a staff dialogue
OPENED_ON = "opened_on"

StateHandler = Callable[[Update, BotContext, MutableMapping[str, Any]], Awaitable[int]]


@dataclass(frozen=True)
class StaffDialogue(Steps):
    """A staff dialogue on a record (a patrol, a repair, an inspection, an exchange): its scratch
    state is begun by the button or command that opens it and ends with the step that records
    it. A step whose state is gone (the dialogue ended, a button of an older one pressed) ends,
    saying so, instead of running."""

    key: str

    async def begin(
        self, update: Update, context: BotContext, **state: Any
    ) -> MutableMapping[str, Any]:
        """The dialogue's scratch state, new; the keyboards of one left unfinished go."""
        # the button that opens it stays on its message (a ticket, a notice), for the next time
        await keyboards.retire(update, context, self.scratch(context), pressed=False)
        query = update.callback_query
        opened_on = query.message.message_id if query is not None and query.message else None
        context.user_data[self.key] = {"media_group": None, OPENED_ON: opened_on, **state}
        return context.user_data[self.key]

    def step(self, handler: StateHandler, *, answer: bool = True) -> Handler:
        """A step's handler, given the scratch state; a pressed button is answered first (unless
        `answer` is False: the handler answers it, with its refusal if it refuses)."""

        @functools.wraps(handler)
        async def guarded(update: Update, context: BotContext) -> int:
            state = self.scratch(context)
            query = update.callback_query
            if state is None:
                if query is not None:
                    await query.answer(context.text("error.stale_button"), show_alert=True)
                else:
                    await context.reply(update, "error.dialogue_ended")
                return ConversationHandler.END
            if query is not None and answer:
                await query.answer()
            return await handler(update, context, state)

        return guarded

    def step_answered_later(self, handler: StateHandler) -> Handler:
        """A step's handler that answers the pressed button itself (see `step`)."""
        return self.step(handler, answer=False)

    async def end(
        self, update: Update, context: BotContext, *, pressed: bool = True, opener: bool = False
    ) -> int:
        """The dialogue has recorded what it collected: its state and its keyboards go (but for
        the pressed message's when `pressed` is False: it becomes the record's answer). With
        `opener`, so do the buttons of the message that opened it: what they offered is done
        (a return's 調換 and 退款 once the exchange is recorded)."""
        state = self.scratch(context)
        opened_on = state.get(OPENED_ON) if state is not None else None
        if opener and state is not None and opened_on is not None:
            keyboards.keep(state, opened_on)
        await keyboards.retire(update, context, state, pressed=pressed)
        context.user_data.pop(self.key, None)
        return ConversationHandler.END


def cancelling(*dialogues: StaffDialogue, also: Sequence[str] = ()) -> Handler:
    """The /cancel of staff dialogues: the open step's keyboards go with each one's scratch
    state (and the `also` keys of the module's other dialogues); nothing was recorded."""
    drop = cancel_dropping(*(d.key for d in dialogues), *also)

    async def cancel(update: Update, context: BotContext) -> int:
        for steps in dialogues:
            await steps.retire(update, context)
        return await drop(update, context)

    return cancel
