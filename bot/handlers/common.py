"""/start (greeting and invitations), /help, /lang, /cancel and the answer to anything unknown."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from procedures.kernel.outbox import as_text, button
from procedures.people import invitations, users
from procedures.people.actions import ChooseLanguage

from ..commands import commands_for, show_menu_of
from ..context import BotContext, edit_query_message, fit_message
from ..dialogue.steps import answer_filed_again
from ..dialogue.updates import member_of, message_of, pressed, query_of, text_of, user_of
from ..mini_app import mini_app_for, mini_app_url, open_button
from . import deep_links


def _commands_text(context: BotContext, roles: frozenset[str]) -> str:
    lines = [context.text("help.header")]
    for command in commands_for(roles):
        lines.append(
            context.text(
                "help.line", command=command.name, description=context.text(f"cmd.{command.name}")
            )
        )
    lines.append(context.text("help.footer"))
    return "\n".join(lines)


def _role_names(roles: frozenset[str]) -> list[dict[str, str]]:
    return [as_text(f"role.{r}") for r in sorted(roles)] or [as_text("role.none")]


async def _reply_with_mini_app(
    update: Update, context: BotContext, role_names: frozenset[str], text: str
) -> None:
    """A reply that carries the Mini App's button for the roles that open it."""
    url = mini_app_for(context.services.settings, role_names)
    markup = open_button(context.services.texts, context.language, url) if url else None
    await message_of(update).reply_text(fit_message(text), reply_markup=markup)


async def start(update: Update, context: BotContext) -> None:
    """Greets; with a record's number (the Mini App's link back) shows that record; with a
    code (`/start CODE` or the deep link) redeems the invitation."""
    if context.args:
        if deep_links.is_record_number(context.args[0]):
            await deep_links.show_record(update, context, context.args[0])
        else:
            await _redeem(update, context, context.args[0])
        return
    member = context.member
    if member is None:
        await context.reply(update, "start.greeting_unknown")
        return
    await show_menu_of(
        context.bot,
        context.services.texts,
        member.telegram_id,
        member.roles,
        context.language,
        mini_app_url=mini_app_url(context.services.settings),
    )
    text = context.text(
        "start.greeting",
        name=member.full_name or user_of(update).full_name,
        roles=_role_names(member.roles),
        commands=_commands_text(context, member.roles),
    )
    await _reply_with_mini_app(update, context, member.roles, text)


async def _redeem(update: Update, context: BotContext, code: str) -> None:
    telegram_user = update.effective_user
    assert telegram_user is not None
    identity = users.TelegramIdentity(
        telegram_id=telegram_user.id,
        full_name=telegram_user.full_name,
        username=telegram_user.username,
        language=context.member.language if context.member else context.language,
    )
    async with context.unit_of_work() as uow:
        redemption = await invitations.redeem_invitation(uow, identity, code)
    await show_menu_of(
        context.bot,
        context.services.texts,
        telegram_user.id,
        redemption.user.role_names,
        context.language,
        mini_app_url=mini_app_url(context.services.settings),
    )
    text = context.text(
        "start.welcome_role",
        name=telegram_user.full_name,
        role=as_text(f"role.{redemption.role}"),
        commands=_commands_text(context, redemption.user.role_names),
    )
    await _reply_with_mini_app(update, context, redemption.user.role_names, text)


async def help_command(update: Update, context: BotContext) -> None:
    """Lists the commands of the user's roles only."""
    member = member_of(context)
    await _reply_with_mini_app(update, context, member.roles, _commands_text(context, member.roles))


async def choose_language(update: Update, context: BotContext) -> None:
    """Offers the three languages as buttons."""
    buttons = [
        [button(f"language.name.{code}", ChooseLanguage(language=code))] for code in users.LANGUAGES
    ]
    await context.reply(update, "lang.choose", buttons=buttons)


async def set_language(update: Update, context: BotContext) -> None:
    """Stores the chosen language and confirms in it."""
    query = query_of(update)
    language = pressed(update, ChooseLanguage).language
    await query.answer()
    async with context.unit_of_work() as uow:
        user = await context.actor(uow.session)
        await users.set_language(uow, user, language)
    context.language = language
    await edit_query_message(update, context.text("lang.changed"))
    await show_menu_of(
        context.bot,
        context.services.texts,
        user.telegram_id,
        user.role_names,
        language,
        mini_app_url=mini_app_url(context.services.settings),
    )


async def cancel_outside_conversation(update: Update, context: BotContext) -> None:
    """/cancel when no conversation is running: nothing to leave."""
    await context.reply(update, "cancel.nothing")


async def unknown_command(update: Update, context: BotContext) -> None:
    """Any command no handler took."""
    text = text_of(update)
    await context.reply(update, "unknown.command", command=text.split()[0].split("@")[0])


async def unknown_message(update: Update, context: BotContext) -> None:
    """Any other message no conversation was waiting for."""
    await context.reply(update, "unknown.text")


async def stale_button(update: Update, context: BotContext) -> None:
    """A button whose data no handler recognises: a forged or outdated callback (unless it is
    on the summary of a record just filed, whose answer it shows again)."""
    if await answer_filed_again(update, context):
        return
    await query_of(update).answer(context.text("error.stale_button"), show_alert=True)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("lang", choose_language))
    application.add_handler(CallbackQueryHandler(set_language, pattern=ChooseLanguage.pattern()))


def register_fallbacks(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Added after every other handler of group 0, so they only see what nobody took."""
    application.add_handler(CommandHandler("cancel", cancel_outside_conversation))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(filters.ALL, unknown_message))
    application.add_handler(CallbackQueryHandler(stale_button))
