"""The bot's commands and the roles that may use each: /help and the role checks read this."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from procedures import search
from procedures.complaints import queries as complaint_queries
from procedures.kernel import roles
from procedures.returns import queries as return_queries
from reports import registry as report_registry

from .texts import Texts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset[str] | None  # None: everyone registered
    # only shows what is on record: its refusal does not speak of changes
    read_only: bool = False


HEADS_AND_ADMIN = frozenset({roles.ADMIN, *roles.HEAD_OF.values()})
EQUIPMENT_STAFF = frozenset(
    {
        roles.TECHNICIAN,
        roles.VENDOR,
        roles.EQUIPMENT_ENGINEER,
        roles.EQUIPMENT_SUPERVISOR,
        roles.EQUIPMENT_MANAGER,
        roles.MANAGEMENT_OFFICE,
        roles.ADMIN,
    }
)

COMMANDS: tuple[Command, ...] = (
    Command("start", None),
    Command("help", None),
    Command("lang", None),
    Command("cancel", None),
    Command("invite", HEADS_AND_ADMIN),
    Command("import", frozenset({roles.ADMIN})),
    Command("complain", frozenset({roles.CUSTOMER})),
    Command("mytickets", frozenset({roles.CUSTOMER}), read_only=True),
    Command("complain_for", frozenset({roles.AFTER_SALES, roles.QUALITY})),
    Command("consumer_complaint", frozenset({roles.CONSUMER})),
    Command("consumer_for", frozenset({roles.AFTER_SALES, roles.AFTER_SALES_HEAD})),
    Command(
        "queue",
        frozenset({roles.QUALITY, roles.QUALITY_HEAD, roles.BUSINESS_HEAD}),
        read_only=True,
    ),
    Command("supplier_answer", frozenset({roles.QUALITY, roles.QUALITY_HEAD})),
    Command("tech_support", frozenset({roles.QUALITY, roles.QUALITY_HEAD})),
    Command(
        "ticket", frozenset({roles.CUSTOMER, *complaint_queries.STAFF_VIEWERS}), read_only=True
    ),
    Command("ledger", complaint_queries.LEDGER_READERS, read_only=True),
    Command("find", search.SEARCHERS, read_only=True),
    # heads and managers; finance for the exchange ratios it watches (seed 3.8)
    Command("report", report_registry.MANAGERS | report_registry.EXCHANGE_READERS, read_only=True),
    # a record's evidence files, for the managers who answer for records and an inspector's visit
    Command(
        "files",
        HEADS_AND_ADMIN
        | {
            roles.QUALITY,
            roles.EQUIPMENT_MANAGER,
            roles.EQUIPMENT_SUPERVISOR,
            roles.MANAGEMENT_OFFICE,
        },
        read_only=True,
    ),
    Command("return", frozenset({roles.CUSTOMER, *return_queries.STAFF_VIEWERS})),
    Command("return_for", frozenset({roles.AFTER_SALES, roles.AFTER_SALES_HEAD})),
    Command("returns", frozenset({roles.CUSTOMER, *return_queries.STAFF_VIEWERS}), read_only=True),
    Command("patrol", frozenset({roles.TECHNICIAN})),
    Command("defect", EQUIPMENT_STAFF, read_only=True),
    Command("rectify", frozenset({roles.EQUIPMENT_MANAGER})),
    Command(
        "rectifications",
        frozenset({roles.EQUIPMENT_MANAGER, roles.EQUIPMENT_ENGINEER, roles.MANAGEMENT_OFFICE}),
        read_only=True,
    ),
    Command("score", frozenset({roles.EQUIPMENT_MANAGER})),
    Command("visit", frozenset({roles.VENDOR})),
    Command("assessment", frozenset({roles.EQUIPMENT_MANAGER})),
    Command("escalate", frozenset({roles.EQUIPMENT_MANAGER})),
)

# Shown in Telegram's command menu to everyone; role-specific ones appear in /help.
MENU_COMMANDS = ("start", "help", "lang", "cancel")


async def show_menu_of(
    bot: Bot, texts: Texts, chat_id: int, user_roles: frozenset[str], language: str
) -> None:
    """Set the private chat's command menu to the commands of the user's roles, in their
    language. The menu is a convenience: a failure is logged, never shown."""
    commands = [
        BotCommand(c.name, texts.get(language, f"cmd.{c.name}")[:256])
        for c in commands_for(user_roles)
    ]
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError:
        logger.warning("could not set the command menu of chat %s", chat_id, exc_info=True)


def command(name: str) -> Command:
    return next(c for c in COMMANDS if c.name == name)


def commands_for(user_roles: frozenset[str]) -> list[Command]:
    return [c for c in COMMANDS if c.roles is None or c.roles & user_roles]
