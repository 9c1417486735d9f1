"""An update's replies wait for its commit: the user never reads "received" for what was not kept.

While an update is handled, the messages its handlers send, edit or delete are collected in a
`ReplyBatch` instead of going to Telegram; the handler gets at once a stand-in of the message it
sent, whose id is a placeholder (`PlaceholderIds`). Once the update's transaction has committed,
the batch goes out in order, each placeholder in it replaced by the id Telegram gave; when the
commit fails the batch is dropped and only the "try again" is sent. Button answers are not
collected: a bare one, which only stops a button's spinner, goes at once, without the update
waiting for Telegram's reply; one that shows a text waits for the commit like a message.

A placeholder that a dialogue keeps in its scratch data (the photo count's acknowledgement, a
question's keyboard) is replaced by the real id where the bot reads that data again
(`PlaceholderIds.resolve`) and where a later request names it, so the next step edits the real
message without the user waiting for a second round trip first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import itertools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot

from . import ptb_internals

logger = logging.getLogger(__name__)

# A reply Telegram's gateway failed (a 5xx) is tried again: the update is kept, so its answer is
# owed. Not one that timed out, which Telegram may have delivered.
REPLY_RETRY_DELAYS = (0.5, 1.5)
MAX_RETRY_AFTER_SECONDS = 5.0


def _worth_retrying(error: TelegramError) -> float | None:
    """How long to wait before sending again, or None when another try would not help."""
    if isinstance(error, RetryAfter):
        seconds = (
            error.retry_after.total_seconds()
            if isinstance(error.retry_after, dt.timedelta)
            else float(error.retry_after)
        )
        return seconds if seconds <= MAX_RETRY_AFTER_SECONDS else None
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest | TimedOut):
        return 0.0
    return None


# Far below any chat's or message's id (a group's id is about -10**12), so a placeholder is
# never taken for one; an int64, as the scratch data's JSON and the Bot API both carry.
PLACEHOLDER_FLOOR = -(2**62)
# the placeholders remembered: a dialogue's next step comes long before this many replies
REMEMBERED_PLACEHOLDERS = 100_000

Send = Callable[[], Awaitable[Any]]


class PlaceholderIds:
    """The placeholder ids handed out, and the real message id each became once sent."""

    def __init__(self) -> None:
        self._next = itertools.count(1)
        self._real: OrderedDict[int, int] = OrderedDict()

    def new(self) -> int:
        return PLACEHOLDER_FLOOR + next(self._next)

    @staticmethod
    def is_placeholder(value: object) -> bool:
        return isinstance(value, int) and PLACEHOLDER_FLOOR < value < PLACEHOLDER_FLOOR + 2**40

    def sent(self, placeholder: int, real: int) -> None:
        self._real[placeholder] = real
        if len(self._real) > REMEMBERED_PLACEHOLDERS:
            self._real.popitem(last=False)

    def real(self, value: Any) -> Any:
        """`value`'s real message id where it is a placeholder already sent, else `value`."""
        if self.is_placeholder(value):
            return self._real.get(value, value)
        return value

    def resolve(self, data: Any) -> Any:
        """`data` (scratch data as stored) with every placeholder already sent replaced."""
        if isinstance(data, dict):
            return {key: self.resolve(value) for key, value in data.items()}
        if isinstance(data, list):
            return [self.resolve(value) for value in data]
        return self.real(data)


# the requests sent while their update goes on, until each is answered (the event loop keeps
# only a weak reference to a task)
_under_way: set[asyncio.Future[None]] = set()


class ReplyBatch:
    """The requests an update made of Telegram, in order, to be sent after its commit; and
    those sent at once, which its replies wait for."""

    def __init__(self) -> None:
        self.sends: list[tuple[str, Send]] = []
        self.at_once: list[asyncio.Future[None]] = []
        # the button presses answered (Telegram takes one answer a press)
        self.answered_presses: set[str] = set()
        self.open = True

    def add(self, what: str, send: Send) -> None:
        self.sends.append((what, send))

    def start(self, what: str, request: Awaitable[Any]) -> None:
        """Send `request` now; the update goes on without waiting for Telegram's answer."""

        async def sent() -> None:
            try:
                await request
            except TelegramError as error:
                logger.info("a request (%s) was refused: %s", what, error.message)
            except Exception:
                logger.exception("a request (%s) could not be sent", what)

        task = asyncio.ensure_future(sent())
        _under_way.add(task)
        task.add_done_callback(_under_way.discard)
        self.at_once.append(task)

    async def answered(self) -> None:
        """Wait for what was sent at once (its errors were logged)."""
        at_once, self.at_once = self.at_once, []
        for task in at_once:
            await task

    async def deliver(self) -> None:
        """Send everything, one after another, once what went at once is answered; a request
        Telegram refuses (a message gone, an edit that changes nothing) is logged and the
        others still go."""
        self.open = False
        await self.answered()
        sends, self.sends = self.sends, []
        for what, send in sends:
            for attempt in range(len(REPLY_RETRY_DELAYS) + 1):
                try:
                    await send()
                except TelegramError as error:
                    wait = _worth_retrying(error)
                    if wait is None or attempt == len(REPLY_RETRY_DELAYS):
                        logger.info("a reply (%s) was not delivered: %s", what, error.message)
                        break
                    await asyncio.sleep(max(wait, REPLY_RETRY_DELAYS[attempt]))
                except Exception:  # the update is kept whatever its replies do
                    logger.exception("a reply (%s) could not be sent", what)
                    break
                else:
                    break

    def drop(self) -> int:
        """The update was not kept: nothing it said goes out."""
        self.open = False
        dropped = len(self.sends)
        self.sends = []
        return dropped


_batch: ContextVar[ReplyBatch | None] = ContextVar("reply_batch", default=None)


def open_batch() -> ReplyBatch | None:
    """The batch of the update being handled, while it still collects."""
    batch = _batch.get()
    return batch if batch is not None and batch.open else None


@contextlib.contextmanager
def collecting(batch: ReplyBatch) -> Iterator[ReplyBatch]:
    """Collect the replies made within the block (and the tasks it starts) into `batch`."""
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)


def defer(what: str, send: Send) -> bool:
    """Within an update, have `send` run after its commit and say so (True); outside one, the
    caller sends now (False). For a send whose own fallback needs Telegram's answer."""
    batch = open_batch()
    if batch is None:
        return False
    batch.add(what, send)
    return True


_SIGNATURES: dict[str, inspect.Signature] = {}
Arguments = dict[str, Any]


def by_name(method: Callable[..., Any], name: str, args: Any, kwargs: Any) -> Arguments:
    """A Bot method's call as its arguments by name (the Bot's methods take no *args or
    **kwargs, so every argument can be passed by its name). python-telegram-bot's shortcuts
    (`reply_text`, `edit_reply_markup`) pass only keywords, which need no binding."""
    if not args:
        return dict(kwargs)
    if name not in _SIGNATURES:
        _SIGNATURES[name] = inspect.signature(method)
    arguments = dict(_SIGNATURES[name].bind(None, *args, **kwargs).arguments)
    del arguments["self"]
    return arguments


def stand_in(
    message_id: int, chat_id: int, bot: Any, now: dt.datetime | None = None, **fields: Any
) -> Message:
    """The message a handler gets for one not sent yet (its text, caption and buttons)."""
    message = Message(
        message_id=message_id,
        date=now or dt.datetime.now(dt.UTC),
        chat=Chat(id=chat_id, type=Chat.PRIVATE if chat_id > 0 else Chat.GROUP),
        **fields,
    )
    message.set_bot(bot)
    return message


class RepliesAfterCommit(ptb_internals.MessageIdAnswers, ExtBot[None]):
    """A Bot API client whose messages, within an update, wait for the update's commit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a Bot's attributes are frozen after its __init__, all but those named with "_"
        self._placeholders = PlaceholderIds()

    @property
    def placeholders(self) -> PlaceholderIds:
        return self._placeholders

    def _collect(self, name: str, args: Any, kwargs: Any) -> tuple[ReplyBatch, Arguments] | None:
        batch = open_batch()
        if batch is None:
            return None
        arguments = by_name(getattr(ExtBot, name), name, args, kwargs)
        if not isinstance(arguments.get("chat_id"), int):
            return None  # an inline message, or a chat by its @name: not a reply of ours
        return batch, arguments

    def _later(
        self, batch: ReplyBatch, name: str, arguments: Arguments, placeholders: list[int]
    ) -> None:
        async def send() -> None:
            for key in ("message_id", "reply_to_message_id"):
                if key in arguments:
                    arguments[key] = self._placeholders.real(arguments[key])
            method = getattr(super(RepliesAfterCommit, self), name)
            if name == "send_media_group":  # its answer is a list of messages
                result = await method(**arguments)
                sent = [message.message_id for message in result]
            else:  # the handler has its stand-in: only the new message's id is wanted
                with ptb_internals.message_ids_only() as sent:
                    await method(**arguments)
            for placeholder, message_id in zip(placeholders, sent, strict=False):
                self._placeholders.sent(placeholder, message_id)

        batch.add(name, send)

    def _stand_in(self, arguments: Arguments, message_id: int, **fields: Any) -> Message:
        markup = arguments.get("reply_markup")
        if isinstance(markup, InlineKeyboardMarkup):
            fields["reply_markup"] = markup
        return stand_in(message_id, arguments["chat_id"], self, **fields)

    async def _new_message(self, name: str, args: Any, kwargs: Any, **fields: str) -> Message:
        later = self._collect(name, args, kwargs)
        if later is None:
            message: Message = await getattr(super(), name)(*args, **kwargs)
            return message
        batch, arguments = later
        placeholder = self._placeholders.new()
        self._later(batch, name, arguments, [placeholder])
        shown = {key: arguments.get(value) for key, value in fields.items()}
        return self._stand_in(arguments, placeholder, **shown)

    async def _edit(self, name: str, args: Any, kwargs: Any, **fields: str) -> Message | bool:
        later = self._collect(name, args, kwargs)
        if later is None:
            edited: Message | bool = await getattr(super(), name)(*args, **kwargs)
            return edited
        batch, arguments = later
        self._later(batch, name, arguments, [])
        shown = {key: arguments.get(value) for key, value in fields.items()}
        return self._stand_in(arguments, arguments["message_id"], **shown)

    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        """Within an update, a bare answer, which only stops the button's spinner, goes at once
        and the update does not wait for Telegram's reply to it (on SQLite it holds the one
        writer meanwhile); an answer that says something waits for the commit like a message."""
        batch = open_batch()
        if batch is None:
            return await super().answer_callback_query(*args, **kwargs)
        name = "answer_callback_query"
        arguments = by_name(ExtBot.answer_callback_query, name, args, kwargs)
        press = str(arguments.get("callback_query_id"))
        if press in batch.answered_presses:
            # Telegram would refuse it: False, as for a refused answer, so that a caller with
            # something to say (an error after the press was answered) says it as a message
            return False
        batch.answered_presses.add(press)
        answer = super().answer_callback_query
        if arguments.get("text") or arguments.get("url"):
            batch.add(name, lambda: answer(**arguments))
        else:
            batch.start(name, answer(**arguments))
        return True

    async def send_message(self, *args: Any, **kwargs: Any) -> Message:
        return await self._new_message("send_message", args, kwargs, text="text")

    async def send_photo(self, *args: Any, **kwargs: Any) -> Message:
        return await self._new_message("send_photo", args, kwargs, caption="caption")

    async def send_document(self, *args: Any, **kwargs: Any) -> Message:
        return await self._new_message("send_document", args, kwargs, caption="caption")

    async def send_media_group(self, *args: Any, **kwargs: Any) -> tuple[Message, ...]:
        later = self._collect("send_media_group", args, kwargs)
        if later is None:
            return await super().send_media_group(*args, **kwargs)
        batch, arguments = later
        media = list(arguments["media"])
        placeholders = [self._placeholders.new() for _ in media]
        self._later(batch, "send_media_group", arguments, placeholders)
        return tuple(
            self._stand_in(arguments, placeholder, caption=getattr(item, "caption", None))
            for placeholder, item in zip(placeholders, media, strict=True)
        )

    async def edit_message_text(self, *args: Any, **kwargs: Any) -> Message | bool:
        return await self._edit("edit_message_text", args, kwargs, text="text")

    async def edit_message_caption(self, *args: Any, **kwargs: Any) -> Message | bool:
        return await self._edit("edit_message_caption", args, kwargs, caption="caption")

    async def edit_message_reply_markup(self, *args: Any, **kwargs: Any) -> Message | bool:
        return await self._edit("edit_message_reply_markup", args, kwargs)

    async def delete_message(self, *args: Any, **kwargs: Any) -> bool:
        later = self._collect("delete_message", args, kwargs)
        if later is None:
            return await super().delete_message(*args, **kwargs)
        batch, arguments = later
        self._later(batch, "delete_message", arguments, [])
        return True
