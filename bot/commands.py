"""The bot's commands and the roles that may use each: /help and the role checks read this."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from procedures import forms, search
from procedures.complaints import rules as complaint_rules
from procedures.consumer_complaints import rules as consumer_rules
from procedures.equipment import rules as equipment_rules
from procedures.kernel import roles
from procedures.returns import rules as return_rules
from procedures.vendors import rules as vendor_rules
from reports import registry as report_registry

from .mini_app import show_menu_button_of
from .texts import Texts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset[str] | None  # None: everyone registered
    # only shows what is on record: its refusal does not speak of changes
    read_only: bool = False


HEADS_AND_ADMIN = frozenset({roles.ADMIN, *roles.HEAD_OF.values()})

COMMANDS: tuple[Command, ...] = (
    Command("start", None),
    Command("help", None),
    Command("lang", None),
    Command("cancel", None),
    # what waits on me: every role has deadlines of its own
    Command("todo", None, read_only=True),
    # when routine reminders may reach me
    Command("hours", None),
    Command("invite", roles.INVITERS),
    Command("import", frozenset({roles.ADMIN})),
    Command("complain", frozenset({roles.CUSTOMER})),
    Command("mytickets", frozenset({roles.CUSTOMER}), read_only=True),
    Command("complain_for", complaint_rules.FILING_STAFF),
    Command("consumer_complaint", frozenset({roles.CONSUMER})),
    Command("mycomplaints", frozenset({roles.CONSUMER}), read_only=True),
    Command("consumer_for", consumer_rules.FILING_STAFF),
    Command("queue", complaint_rules.QUEUE_READERS, read_only=True),
    Command("supplier_answer", complaint_rules.QUALITY_STAFF),
    Command("tech_support", complaint_rules.QUALITY_STAFF),
    Command("ticket", frozenset({roles.CUSTOMER, *complaint_rules.STAFF_VIEWERS}), read_only=True),
    Command("ledger", complaint_rules.LEDGER_READERS, read_only=True),
    Command("find", search.SEARCHERS, read_only=True),
    # a record's forms as PDF; each record is checked against its own type's readers
    Command("form", forms.FORM_READERS, read_only=True),
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
    Command(
        "return",
        frozenset({roles.CUSTOMER, *return_rules.STAFF_VIEWERS, *return_rules.TERRITORY_STAFF}),
    ),
    Command("return_for", return_rules.FILING_STAFF),
    Command(
        "returns",
        frozenset({roles.CUSTOMER, *return_rules.STAFF_VIEWERS, *return_rules.TERRITORY_STAFF}),
        read_only=True,
    ),
    Command("patrol", equipment_rules.TECHNICIANS),
    Command("defect", equipment_rules.DEFECT_READERS, read_only=True),
    Command("rectify", vendor_rules.MANAGERS),
    Command("rectifications", vendor_rules.RECTIFICATION_READERS, read_only=True),
    Command("score", vendor_rules.MANAGERS),
    Command("visit", equipment_rules.VENDORS),
    Command("assessment", vendor_rules.MANAGERS),
    Command("escalate", vendor_rules.MANAGERS),
)

# Shown in Telegram's command menu to everyone; role-specific ones appear in /help.
MENU_COMMANDS = ("start", "help", "lang", "cancel")


async def show_menu_of(
    bot: Bot,
    texts: Texts,
    chat_id: int,
    user_roles: frozenset[str],
    language: str,
    *,
    mini_app_url: str | None = None,
) -> None:
    """Set the private chat's command menu to the commands of the user's roles, in their
    language, and its menu button to the Mini App for the roles that open it (`mini_app_url`,
    when one is configured). The menu is a convenience: a failure is logged, never shown."""
    commands = [
        BotCommand(c.name, texts.get(language, f"cmd.{c.name}")[:256])
        for c in commands_for(user_roles)
    ]
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError:
        logger.warning("could not set the command menu of chat %s", chat_id, exc_info=True)
    await show_menu_button_of(bot, texts, chat_id, user_roles, language, mini_app_url)


def command(name: str) -> Command:
    return next(c for c in COMMANDS if c.name == name)


def commands_for(user_roles: frozenset[str]) -> list[Command]:
    return [c for c in COMMANDS if c.roles is None or c.roles & user_roles]
