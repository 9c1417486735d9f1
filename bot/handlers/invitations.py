"""/invite ROLE [CODE]: admins and heads make single-use deep links for new users; the code is
an organisation's, a vendor's, or the equipment system an engineer or supervisor is named for."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from procedures import people, roles
from procedures.masterdata import EQUIPMENT_SYSTEMS
from procedures.outbox import as_text

from ..access import for_command
from ..context import BotContext


@for_command("invite")
async def invite(update: Update, context: BotContext) -> None:
    """Answers with a deep link `https://t.me/<bot>?start=<code>` for the named role."""
    member = context.member
    assert member is not None
    if not context.args:
        allowed = sorted(roles.invitable_roles(member.roles))
        await context.reply(
            update, "invite.usage", roles=", ".join(allowed), systems=", ".join(EQUIPMENT_SYSTEMS)
        )
        return
    role = context.args[0].lower()
    party_code = context.args[1] if len(context.args) > 1 else None
    async with context.unit_of_work() as uow:
        inviter = await context.actor(uow.session)
        issued = await people.create_invitation(
            uow,
            inviter,
            role,
            party_code=party_code,
            valid_for=context.services.settings.invitation_validity,
        )
    link = f"https://t.me/{context.bot.username}?start={issued.code}"
    system = issued.invitation.system
    shown = as_text(f"system.{system}") if system else party_code
    party = context.text("invite.party", party=shown) if party_code else ""
    await context.reply(
        update,
        "invite.link",
        role=as_text(f"role.{role}"),
        party=party,
        link=link,
        expires_at=issued.invitation.expires_at,
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("invite", invite))
