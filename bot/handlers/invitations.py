"""/invite: admins and heads make single-use deep links for new users. With no argument the
roles they may invite are offered as buttons, then the organisation or vendor the invitation
names (or the equipment system an engineer or supervisor answers for); typed, `/invite ROLE
[CODE]` takes the role's id or its name in any language (`/invite 顧客 C001`)."""

from __future__ import annotations

from typing import Any, TypeVar

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from procedures.equipment import rules as equipment_rules
from procedures.equipment.rules import EQUIPMENT_SYSTEMS
from procedures.kernel import roles
from procedures.kernel.errors import InvalidInput, NotAllowed
from procedures.kernel.outbox import as_text, button
from procedures.kernel.text_input import cut_text
from procedures.people import invitations
from procedures.people.actions import InviteForSystem, InviteParty, InvitePartyPage, InviteRole

from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import dialogue
from ..dialogue import keyboards
from ..dialogue.steps import StaffDialogue, cancelling
from ..dialogue.updates import member_of, message_of, pressed, query_of, text_of

CHOOSE_ROLE, CHOOSE_PARTY = range(2)
# the role whose organisation or vendor is being chosen, so a typed code can answer it
INVITE_KEY = "invite"
INVITE = StaffDialogue(INVITE_KEY)
PAGE_SIZE = 8
MAX_TYPED_ROLE = 40  # what an unknown role's answer repeats of it


def _invitable(context: BotContext) -> list[str]:
    """The roles the user may invite, in the order DESIGN.md lists them."""
    member = context.member
    allowed = roles.invitable_roles(member.roles if member else frozenset())
    return [role for role in roles.ALL_ROLES if role in allowed]


def _role_buttons(context: BotContext) -> list[list[dict[str, Any]]]:
    offered = [button(f"role.{role}", InviteRole(role=role)) for role in _invitable(context)]
    return [offered[i : i + 2] for i in range(0, len(offered), 2)]


def _typed_role(context: BotContext, words: list[str]) -> tuple[str | None, list[str]]:
    """The role the first words name (an id, or a name of several words: `quality head`),
    and the words after it."""
    for count in range(len(words), 0, -1):
        role = context.services.texts.named(
            "role.", roles.ALL_ROLES, " ".join(words[:count]), aliases="role_alias."
        )
        if role is not None:
            return role, words[count:]
    return None, words[1:]


@for_command("invite")
async def invite(update: Update, context: BotContext) -> int:
    """Typed in full: the link. Otherwise offers the roles, or the role's organisations."""
    await INVITE.begin(update, context)
    if not context.args:
        await INVITE.offer(update, context, "invite.choose_role", buttons=_role_buttons(context))
        return CHOOSE_ROLE
    role, rest = _typed_role(context, context.args)
    if role is None:
        lines = [
            context.text("invite.role_line", name=as_text(f"role.{r}"), id=r)
            for r in _invitable(context)
        ]
        await INVITE.offer(
            update,
            context,
            "invite.unknown_role_list",
            role=cut_text(context.args[0], MAX_TYPED_ROLE),
            roles="\n".join(lines),
            buttons=_role_buttons(context),
        )
        return CHOOSE_ROLE
    if not rest and invitations.party_model(role) is not None:
        invitations.check_invitable(member_of(context).roles, role)
        return await _offer_parties(update, context, role, page=0)
    await _issue(update, context, role, rest[0] if rest else None)
    return ConversationHandler.END


async def _issue(
    update: Update, context: BotContext, role: str, party_code: str | None, *, edit: bool = False
) -> None:
    """Makes the invitation and shows its link, in place of the buttons when one was pressed."""
    async with context.unit_of_work() as uow:
        inviter = await context.actor(uow.session)
        issued = await invitations.create_invitation(
            uow,
            inviter,
            role,
            party_code=party_code,
        )
        invitation = issued.invitation
        party: dict[str, Any] | str | None = None
        if invitation.system:
            party = as_text(f"system.{invitation.system}")
        elif invitation.territory:
            party = context.text("invite.territory", territory=invitation.territory)
        elif invitation.organisation_id or invitation.vendor_id:
            named = await invitations.party_for(
                uow.session, role, invitation.organisation_id or invitation.vendor_id or 0
            )
            assert named is not None
            party = context.text("invite.button.party", name=named.name, code=named.code)
    context.user_data.pop(INVITE_KEY, None)
    text = context.text(
        "invite.link",
        role=as_text(f"role.{role}"),
        party=context.text("invite.party", party=party) if party else "",
        link=f"https://t.me/{context.bot.username}?start={issued.code}",
        expires_at=invitation.expires_at,
    )
    if edit:
        await edit_query_message(update, text)
    else:
        await message_of(update).reply_text(text)


async def _offer_parties(update: Update, context: BotContext, role: str, *, page: int) -> int:
    """A page of the organisations (or vendors) of the role, one button each, and a hint that
    the code may be typed instead."""
    async with context.session() as session:
        found, total = await invitations.parties_for(
            session, role, offset=page * PAGE_SIZE, limit=PAGE_SIZE
        )
    if not found:
        key = "invite.no_parties"
        params: dict[str, Any] = {"role": as_text(f"role.{role}")}
        if update.callback_query:
            await edit_query_message(update, context.text(key, **params))
        else:
            await context.reply(update, key, **params)
        return ConversationHandler.END
    _remember_role(context, role)
    rows = [
        [
            button(
                "invite.button.party",
                InviteParty(role=role, party_id=party.id),
                name=party.name,
                code=party.code,
            )
        ]
        for party in found
    ]
    turns = []
    if page > 0:
        turns.append(button("invite.button.previous", InvitePartyPage(role=role, page=page - 1)))
    if (page + 1) * PAGE_SIZE < total:
        turns.append(button("invite.button.next", InvitePartyPage(role=role, page=page + 1)))
    if turns:
        rows.append(turns)
    key = (
        "invite.choose_organisation"
        if role in roles.ROLES_WITH_ORGANISATION
        else ("invite.choose_vendor")
    )
    params = {
        "role": as_text(f"role.{role}"),
        "first": page * PAGE_SIZE + 1,
        "last": page * PAGE_SIZE + len(found),
        "total": total,
    }
    if update.callback_query:
        await edit_query_message(update, context.text(key, **params), context.keyboard(rows))
    else:
        await INVITE.offer(update, context, key, buttons=rows, **params)
    return CHOOSE_PARTY


def _remember_role(context: BotContext, role: str) -> None:
    """The role whose organisation, vendor or system is being chosen, so that a typed code
    answers it."""
    state = INVITE.scratch(context)
    if state is None:
        state = context.user_data[INVITE_KEY] = {}
    state["role"] = role


Pressed = TypeVar("Pressed", InviteRole, InviteParty, InvitePartyPage, InviteForSystem)


async def _accepted(update: Update, context: BotContext, kind: type[Pressed]) -> Pressed | None:
    """The press, unless refused with an alert: a role the user may not invite now, or a forged
    one. An accepted press is answered by its handler."""
    query = query_of(update)
    action = pressed(update, kind)
    try:
        invitations.check_invitable(member_of(context).roles, action.role)
    except NotAllowed as refusal:
        await query.answer(context.text(refusal.text_key, **refusal.params), show_alert=True)
        return None
    except InvalidInput:
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return None
    return action


async def _stale(update: Update, context: BotContext) -> None:
    await query_of(update).answer(context.text("error.stale_button"), show_alert=True)


async def choose_role(update: Update, context: BotContext) -> int | None:
    """A role was chosen: its organisations, its systems, or at once the link."""
    action = await _accepted(update, context, InviteRole)
    if action is None:
        return None  # the dialogue stays where it was
    role = action.role
    await query_of(update).answer()
    if invitations.party_model(role) is not None:
        return await _offer_parties(update, context, role, page=0)
    if role in equipment_rules.ROLES_WITH_SYSTEM:
        rows = [
            [button(f"system.{s}", InviteForSystem(role=role, system=s))] for s in EQUIPMENT_SYSTEMS
        ]
        rows.append([button("invite.button.no_system", InviteForSystem(role=role, system="none"))])
        _remember_role(context, role)  # a system's id may be typed too
        await edit_query_message(
            update,
            context.text("invite.choose_system", role=as_text(f"role.{role}")),
            context.keyboard(rows),
        )
        return CHOOSE_PARTY
    if role in roles.ROLES_WITH_TERRITORY:  # the territory is typed, as the master data names it
        async with context.session() as session:
            known = await invitations.territories(session)
        _remember_role(context, role)
        await edit_query_message(
            update,
            context.text(
                "invite.ask_territory",
                territories=list(known) if known else as_text("invite.no_territories"),
            ),
        )
        return CHOOSE_PARTY
    await _issue(update, context, role, None, edit=True)
    return ConversationHandler.END


async def turn_page(update: Update, context: BotContext) -> int | None:
    """Shows the next or previous page of organisations or vendors."""
    action = await _accepted(update, context, InvitePartyPage)
    if action is None:
        return None
    async with context.session() as session:
        _, total = await invitations.parties_for(session, action.role, offset=0, limit=0)
    if not 0 <= action.page * PAGE_SIZE < total:  # a page that is not there (any more)
        await _stale(update, context)
        return None
    await query_of(update).answer()
    return await _offer_parties(update, context, action.role, page=action.page)


async def choose_party(update: Update, context: BotContext) -> int | None:
    """The organisation or vendor was chosen: the link."""
    action = await _accepted(update, context, InviteParty)
    if action is None:
        return None
    async with context.session() as session:
        party = await invitations.party_for(session, action.role, action.party_id)
    if party is None:  # forged, or not of the role's kind
        await _stale(update, context)
        return None
    await query_of(update).answer()
    await _issue(update, context, action.role, party.code, edit=True)
    return ConversationHandler.END


async def choose_system(update: Update, context: BotContext) -> int | None:
    """The system the engineer or supervisor answers for (or none): the link."""
    action = await _accepted(update, context, InviteForSystem)
    if action is None:
        return None
    if action.role not in equipment_rules.ROLES_WITH_SYSTEM:  # forged
        await _stale(update, context)
        return None
    await query_of(update).answer()
    system = None if action.system == "none" else action.system
    await _issue(update, context, action.role, system, edit=True)
    return ConversationHandler.END


async def type_code(update: Update, context: BotContext) -> int:
    """The organisation's or vendor's code (or the system's id), typed instead of chosen: the
    link."""
    state = INVITE.scratch(context)
    role = (state or {}).get("role")
    if role is None:  # the dialogue's scratch data is gone: begin again
        await INVITE.begin(update, context)
        await INVITE.offer(update, context, "invite.choose_role", buttons=_role_buttons(context))
        return CHOOSE_ROLE
    words = text_of(update).split()
    await _issue(update, context, role, words[0] if words else "")
    await keyboards.retire(update, context, state)  # the list the code was typed instead of
    return ConversationHandler.END


cancel = cancelling(INVITE)


def invite_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "invite",
        entry_points=[CommandHandler("invite", invite)],
        states={
            CHOOSE_ROLE: [CallbackQueryHandler(choose_role, pattern=InviteRole.pattern())],
            CHOOSE_PARTY: [
                CallbackQueryHandler(choose_party, pattern=InviteParty.pattern()),
                CallbackQueryHandler(turn_page, pattern=InvitePartyPage.pattern()),
                CallbackQueryHandler(choose_system, pattern=InviteForSystem.pattern()),
                CallbackQueryHandler(choose_role, pattern=InviteRole.pattern()),
                MessageHandler(filters.TEXT & ~filters.COMMAND, type_code),
            ],
        },
        cancel=cancel,
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(invite_conversation())
