"""The callback context every handler receives: services, the calling member, rendering."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ExtBot

from procedures.kernel.unit_of_work import UnitOfWork
from procedures.people import queries as people
from procedures.people.queries import User

from .runtime.update_transaction import current_session
from .services import Services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Member:
    """A registered user as the gate found them at the start of the update (read-only)."""

    user_id: int
    telegram_id: int
    full_name: str
    language: str
    roles: frozenset[str]
    organisation_id: int | None
    vendor_id: int | None
    active: bool

    @classmethod
    def of(cls, user: User, language: str) -> Member:
        return cls(
            user_id=user.id,
            telegram_id=user.telegram_id,
            full_name=user.full_name,
            language=language,
            roles=user.role_names,
            organisation_id=user.organisation_id,
            vendor_id=user.vendor_id,
            active=user.active,
        )


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """One per update; the gate fills in `member` and `language` before any handler runs."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.member: Member | None = None
        self.language: str = self.services.settings.default_language

    @property
    def services(self) -> Services:
        services: Services = getattr(self.application, "services")  # noqa: B009
        return services

    @property
    def user_data(self) -> dict[Any, Any]:
        """The user's scratch data between the steps of a dialogue. Every update the bot
        handles comes from a user, so it is always there."""
        data = super().user_data
        assert data is not None, "an update without a user has no user data"
        return data

    @user_data.setter
    def user_data(self, _: object) -> NoReturn:
        raise AttributeError("user_data cannot be replaced, only changed")

    @property
    def caller(self) -> Member:
        """The registered member who sent the update: handlers behind the gate have one."""
        assert self.member is not None, "the gate lets only registered members through"
        return self.member

    def now(self) -> dt.datetime:
        return self.services.clock.now()

    def unit_of_work(self) -> UnitOfWork:
        """A use case's transaction: a savepoint in the update's, committed with it."""
        return UnitOfWork(
            self.services.session_factory,
            self.services.clock,
            self.services.outbox_ready.set,
            within=current_session(),
            policies=self.services.policies,
        )

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """The update's session, for reading: it sees what this update wrote so far."""
        return _borrowed(current_session() or self.services.session_factory())

    async def actor(self, session: AsyncSession) -> User:
        """The calling user, loaded in `session` (a unit of work's, to be changed or checked)."""
        assert self.member is not None
        user = await people.user(session, self.member.user_id)
        assert user is not None
        return user

    def text(self, key: str, **params: Any) -> str:
        return self.services.texts.get(self.language, key, **params)

    def keyboard(self, rows: Sequence[Sequence[dict[str, Any]]]) -> InlineKeyboardMarkup:
        """Buttons from {"text_key", "params", "data"} dicts, labelled in the user's language."""
        return render_keyboard(self.services, self.language, rows)

    async def reply(
        self,
        update: Update,
        key: str,
        *,
        buttons: Sequence[Sequence[dict[str, Any]]] | None = None,
        **params: Any,
    ) -> Message:
        markup = self.keyboard(buttons) if buttons else None
        return await self.bot.send_message(
            chat_id=chat_id_of(update),
            text=fit_message(self.text(key, **params)),
            reply_markup=markup,
        )


class MissingInUpdate(LookupError):
    """A handler read what its update does not carry: it was registered for other updates."""


def message_of(update: Update) -> Message:
    """The message the update brings (sent, or the one a pressed button sits under)."""
    message = update.effective_message
    if message is None:
        raise MissingInUpdate("message")
    return message


def text_of(update: Update) -> str:
    """The text of the message the update brings ("" for a message without text)."""
    return message_of(update).text or ""


def query_of(update: Update) -> CallbackQuery:
    """The button press the update is."""
    if update.callback_query is None:
        raise MissingInUpdate("callback query")
    return update.callback_query


def chat_id_of(update: Update) -> int:
    """The chat the update comes from, where replies go."""
    if update.effective_chat is None:
        raise MissingInUpdate("chat")
    return update.effective_chat.id


@contextlib.asynccontextmanager
async def _borrowed(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Lend the update's session without closing it (a session of its own is closed)."""
    if session is current_session():
        yield session
        return
    async with session:
        yield session


async def edit_query_message(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the message a button sits under; a double tap that would change nothing is fine."""
    query = query_of(update)
    try:
        await query.edit_message_text(fit_message(text), reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in error.message.lower():
            raise


# A button as a dialogue remembers it: its label and its callback data.
ButtonRows = list[list[tuple[str, str]]]


def rows_of(markup: InlineKeyboardMarkup | None) -> ButtonRows:
    """The (label, data) of each callback button of a keyboard, row by row."""
    if markup is None:
        return []
    return [
        [(b.text, b.callback_data) for b in row if isinstance(b.callback_data, str)]
        for row in markup.inline_keyboard
    ]


async def drop_used_buttons(
    bot: Bot, chat_id: int, message_id: int, rows: ButtonRows, used: Callable[[str], bool]
) -> None:
    """Take the buttons whose data `used` names off a message (the whole keyboard when none is
    left), so that a button already acted upon cannot be pressed again by mistake. A message
    Telegram no longer lets the bot edit keeps them: the state checks still refuse them."""
    kept = [[(text, data) for text, data in row if not used(data)] for row in rows]
    kept = [row for row in kept if row]
    if kept == [row for row in rows if row]:
        return
    markup = (
        InlineKeyboardMarkup(
            [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in kept]
        )
        if kept
        else None
    )
    try:
        await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=markup)
    except BadRequest as error:
        logger.info("the buttons of message %s stay: %s", message_id, error.message)


def render_keyboard(
    services: Services, language: str, rows: Sequence[Sequence[dict[str, Any]]]
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    services.texts.get(language, b["text_key"], **b.get("params", {})),
                    callback_data=b["data"],
                )
                for b in row
            ]
            for row in rows
        ]
    )


MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024


def fit_message(text: str) -> str:
    """Telegram refuses messages over 4096 characters; cut with an ellipsis rather than fail."""
    return text if len(text) <= MAX_MESSAGE_LENGTH else text[: MAX_MESSAGE_LENGTH - 1] + "…"


def fit_caption(text: str) -> str:
    """A document's caption is limited to 1024 characters."""
    return text if len(text) <= MAX_CAPTION_LENGTH else text[: MAX_CAPTION_LENGTH - 1] + "…"
