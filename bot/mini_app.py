"""Where the heads' Mini App opens from the chat: its address, the menu button and the button
under /start and /help, for the roles that read across records."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonDefault,
    MenuButtonWebApp,
    WebAppInfo,
)
from telegram.error import TelegramError

from core.config import Settings
from procedures.overview.rules import opens_mini_app

from .texts import Texts

logger = logging.getLogger(__name__)


def mini_app_url(settings: Settings) -> str | None:
    """The address the Mini App's buttons open (WEBAPP_URL), or None where none is configured."""
    return settings.webapp_url or None


def mini_app_for(settings: Settings, role_names: frozenset[str]) -> str | None:
    """The Mini App's address if a person holding these roles opens it, else None."""
    url = mini_app_url(settings)
    return url if url and opens_mini_app(role_names) else None


def open_button(texts: Texts, language: str, url: str) -> InlineKeyboardMarkup:
    """The inline button that opens the Mini App inside Telegram."""
    label = texts.get(language, "mini_app.open")
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, web_app=WebAppInfo(url))]])


async def show_menu_button_of(
    bot: Bot,
    texts: Texts,
    chat_id: int,
    user_roles: frozenset[str],
    language: str,
    url: str | None,
) -> None:
    """The private chat's menu button: the Mini App for its roles, Telegram's default for
    everyone else (so a role taken away takes the button away). Without a configured address
    the menu button is left alone. A failure is logged, never shown: /help reaches everything."""
    if url is None:
        return
    button: MenuButtonWebApp | MenuButtonDefault
    if opens_mini_app(user_roles):
        button = MenuButtonWebApp(texts.get(language, "mini_app.menu")[:64], WebAppInfo(url))
    else:
        button = MenuButtonDefault()
    try:
        await bot.set_chat_menu_button(chat_id=chat_id, menu_button=button)
    except TelegramError:
        logger.warning("could not set the menu button of chat %s", chat_id, exc_info=True)
