"""Invitations: the deep links through which people join with a role: issued, redeemed,
throttled."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment import queries as equipment_queries
from procedures.equipment import rules as equipment_rules
from procedures.kernel import roles
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound, WrongState
from procedures.kernel.outbox import as_text, notify_users
from procedures.kernel.text_input import cut_text
from procedures.kernel.timeline import record_event
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.people.policy import PeoplePolicy
from procedures.people.users import (
    CODE_BYTES,
    FAILED_REDEMPTION_WINDOW,
    MAX_FAILED_REDEMPTIONS,
    NAME_LENGTH,
    PARTY_CODE_LENGTH,
    USERNAME_LENGTH,
    TelegramIdentity,
    user_by_telegram_id,
)
from storage.models import (
    FailedRedemption,
    Invitation,
    Organisation,
    User,
    UserRole,
    UserSystem,
    Vendor,
)

logger = logging.getLogger(__name__)


def hash_code(code: str) -> str:
    """What is stored of a code: its SHA-256, so a copy of the database opens no door."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation and its code, which exists only here: the database keeps its hash."""

    invitation: Invitation
    code: str


async def _issue_invitation(
    uow: UnitOfWork,
    role: str,
    valid_for: dt.timedelta,
    *,
    organisation_id: int | None = None,
    vendor_id: int | None = None,
    system: str | None = None,
    territory: str | None = None,
    inviter_id: int | None = None,
) -> IssuedInvitation:
    """A new single-use code, recorded on the timeline (an invitation without an inviter is the
    bootstrap one that makes the first admin)."""
    now = uow.clock.now()
    code = secrets.token_urlsafe(CODE_BYTES)
    invitation = Invitation(
        code_hash=hash_code(code),
        role=role,
        organisation_id=organisation_id,
        vendor_id=vendor_id,
        system=system,
        territory=territory,
        created_by_id=inviter_id,
        created_at=now,
        expires_at=now + valid_for,
    )
    uow.session.add(invitation)
    await uow.session.flush()
    record_event(
        uow.session,
        subject_type="invitation",
        subject_id=invitation.id,
        action="created",
        actor_id=inviter_id,
        at=now,
        after={
            "role": role,
            "organisation_id": organisation_id,
            "vendor_id": vendor_id,
            "system": system,
            "territory": territory,
            "expires_at": invitation.expires_at.isoformat(),
            "source": "invitation" if inviter_id else "bootstrap",
        },
    )
    return IssuedInvitation(invitation, code)


def check_invitable(inviter_roles: frozenset[str], role: str) -> None:
    """Refuse an unknown role (InvalidInput) or one the inviter may not invite (NotAllowed)."""
    if role not in roles.ALL_ROLES:
        raise InvalidInput("invite.unknown_role", role=role)
    if role not in roles.invitable_roles(inviter_roles):
        raise NotAllowed("invite.role_not_yours", role=as_text(f"role.{role}"))


@dataclass(frozen=True)
class Party:
    """An organisation or a vendor an invitation may name."""

    id: int
    code: str
    name: str


def party_model(role: str) -> type[Organisation] | type[Vendor] | None:
    """What an invitation for `role` names: an organisation, a vendor, or nothing."""
    if role in roles.ROLES_WITH_ORGANISATION:
        return Organisation
    if role in roles.ROLES_WITH_VENDOR:
        return Vendor
    return None


def _of_kind(model: type[Organisation] | type[Vendor], role: str) -> list[Any]:
    # an organisation is a customer's or a supplier's, and only that role may name it
    return [Organisation.kind == role] if model is Organisation else []


async def parties_for(
    session: AsyncSession, role: str, *, offset: int = 0, limit: int = 8
) -> tuple[list[Party], int]:
    """A page of the organisations (of the role's kind) or vendors an invitation for `role`
    may name, by code, and how many there are in all."""
    model = party_model(role)
    if model is None:
        return [], 0
    where = _of_kind(model, role)
    total = await session.scalar(select(func.count()).select_from(model).where(*where))
    rows = await session.execute(
        select(model.id, model.code, model.name)
        .where(*where)
        .order_by(model.code)
        .offset(offset)
        .limit(limit)
    )
    return [Party(*row) for row in rows], total or 0


async def party_for(session: AsyncSession, role: str, party_id: int) -> Party | None:
    """The organisation or vendor `party_id` if an invitation for `role` may name it."""
    model = party_model(role)
    if model is None:
        return None
    row = (
        await session.execute(
            select(model.id, model.code, model.name).where(
                model.id == party_id, *_of_kind(model, role)
            )
        )
    ).first()
    return Party(*row) if row is not None else None


async def create_invitation(
    uow: UnitOfWork,
    inviter: User,
    role: str,
    *,
    party_code: str | None = None,
) -> IssuedInvitation:
    """A single-use code for `role`; customers and suppliers name their organisation, vendors
    their company, by code; an equipment engineer or supervisor may be named for a system;
    market-sales staff name their territory (片區), one the organisations' master data knows."""
    check_invitable(inviter.role_names, role)
    if party_code is not None:
        party_code = cut_text(party_code, PARTY_CODE_LENGTH)

    organisation_id = vendor_id = system = territory = None
    if role in roles.ROLES_WITH_ORGANISATION:
        if not party_code:
            raise InvalidInput("invite.needs_organisation", role=as_text(f"role.{role}"))
        organisation = await uow.session.scalar(
            select(Organisation).where(func.lower(Organisation.code) == party_code.lower())
        )
        if organisation is None or organisation.kind != role:
            raise NotFound("invite.unknown_organisation", code=party_code)
        organisation_id = organisation.id
    elif role in roles.ROLES_WITH_VENDOR:
        if not party_code:
            raise InvalidInput("invite.needs_vendor")
        vendor = await uow.session.scalar(
            select(Vendor).where(func.lower(Vendor.code) == party_code.lower())
        )
        if vendor is None:
            raise NotFound("invite.unknown_vendor", code=party_code)
        vendor_id = vendor.id
    elif role in equipment_rules.ROLES_WITH_SYSTEM and party_code:
        system = equipment_rules.check_system(party_code)
    elif role in roles.ROLES_WITH_TERRITORY:
        territory = await known_territory(uow.session, party_code or "")

    issued = await _issue_invitation(
        uow,
        role,
        uow.policy(PeoplePolicy).invitation_validity,
        organisation_id=organisation_id,
        vendor_id=vendor_id,
        system=system,
        territory=territory,
        inviter_id=inviter.id,
    )
    await uow.commit()
    return issued


async def known_territory(session: AsyncSession, typed: str) -> str:
    """The territory (片區) `typed` names, as the organisations' master data spells it; refused,
    listing the known ones, when it names none."""
    known = await territories(session)
    wanted = typed.strip().casefold()
    for territory in known:
        if territory.casefold() == wanted:
            return territory
    raise InvalidInput(
        "invite.needs_territory" if not wanted else "invite.unknown_territory",
        territory=typed.strip(),
        territories=list(known) if known else as_text("invite.no_territories"),
    )


async def territories(session: AsyncSession) -> list[str]:
    """The sales territories customer organisations are in, in order."""
    rows = await session.scalars(
        select(Organisation.territory)
        .where(Organisation.kind == roles.CUSTOMER, Organisation.territory.is_not(None))
        .distinct()
        .order_by(Organisation.territory)
    )
    return [row for row in rows if row]


async def create_bootstrap_invitation(
    uow: UnitOfWork, role: str, valid_for: dt.timedelta = dt.timedelta(days=1)
) -> IssuedInvitation:
    """An invitation nobody issued: how the first admin joins when none is configured."""
    issued = await _issue_invitation(uow, role, valid_for)
    await uow.commit()
    return issued


@dataclass(frozen=True)
class Redemption:
    user: User
    role: str


async def redeem_invitation(uow: UnitOfWork, who: TelegramIdentity, code: str) -> Redemption:
    """Give the invitation's role to whoever sends its code; a code works once, until it expires.

    A user who keeps sending codes that match nothing is made to wait: 144-bit codes cannot be
    guessed, and the log shows who tried (never the codes)."""
    now = uow.clock.now()
    failures = await uow.session.scalar(
        select(func.count())
        .select_from(FailedRedemption)
        .where(
            FailedRedemption.telegram_id == who.telegram_id,
            FailedRedemption.at > now - FAILED_REDEMPTION_WINDOW,
        )
    )
    if (failures or 0) >= MAX_FAILED_REDEMPTIONS:
        logger.warning(
            "invitation redemption refused: telegram user %s is throttled", who.telegram_id
        )
        raise NotAllowed(
            "invite.too_many_attempts", minutes=int(FAILED_REDEMPTION_WINDOW.total_seconds() // 60)
        )
    invitation = await uow.session.scalar(
        select(Invitation).where(Invitation.code_hash == hash_code(code)).with_for_update()
    )
    if invitation is None:
        uow.session.add(FailedRedemption(telegram_id=who.telegram_id, at=now))
        await uow.commit()  # the failure counts even though the redemption is refused
        logger.warning(
            "unknown invitation code from telegram user %s (%s failed in %s)",
            who.telegram_id,
            (failures or 0) + 1,
            FAILED_REDEMPTION_WINDOW,
        )
        raise NotFound("invite.unknown_code")
    if invitation.redeemed_at is not None:
        raise WrongState("invite.already_used")
    if invitation.expires_at <= now:
        raise WrongState("invite.expired")

    user = await user_by_telegram_id(uow.session, who.telegram_id)
    if user is not None and invitation.created_by_id == user.id:
        # one person, one seat: a role is given by someone else, never taken by its inviter
        raise NotAllowed("invite.own_invitation", role=as_text(f"role.{invitation.role}"))
    if user is None:
        user = User(
            telegram_id=who.telegram_id,
            full_name=cut_text(who.full_name, NAME_LENGTH),
            username=cut_text(who.username, USERNAME_LENGTH) if who.username else None,
            language=who.language,
            active=True,
            created_at=now,
            roles=[],  # a new user's roles must not be lazy-loaded (no implicit IO under asyncio)
        )
        uow.session.add(user)
        await uow.session.flush()
        record_event(
            uow.session,
            subject_type="user",
            subject_id=user.id,
            action="created",
            at=now,
            actor_id=user.id,
            after={"telegram_id": who.telegram_id, "full_name": user.full_name},
        )
    elif invitation.role in user.role_names:
        named = await equipment_queries.systems_of(uow.session, user.id)
        if invitation.system is None or invitation.system in named:
            raise WrongState("invite.already_has_role", role=as_text(f"role.{invitation.role}"))
    else:
        _refuse_another_party(user, invitation)

    before = {"organisation_id": user.organisation_id, "vendor_id": user.vendor_id}
    if invitation.role not in user.role_names:  # else the invitation names one more system
        user.roles.append(UserRole(role=invitation.role))
    if invitation.system is not None:
        uow.session.add(UserSystem(user_id=user.id, system=invitation.system))
    if invitation.organisation_id is not None:
        user.organisation_id = invitation.organisation_id
    if invitation.vendor_id is not None:
        user.vendor_id = invitation.vendor_id
    if invitation.territory is not None:
        user.territory = invitation.territory
    invitation.redeemed_by_id = user.id
    invitation.redeemed_at = now
    record_event(
        uow.session,
        subject_type="user",
        subject_id=user.id,
        action="role_granted",
        actor_id=user.id,
        at=now,
        before=before,
        after={
            "role": invitation.role,
            "invitation_id": invitation.id,
            "organisation_id": user.organisation_id,
            "vendor_id": user.vendor_id,
            "system": invitation.system,
            "territory": invitation.territory,
        },
    )
    record_event(
        uow.session,
        subject_type="invitation",
        subject_id=invitation.id,
        action="redeemed",
        actor_id=user.id,
        at=now,
        after={"user_id": user.id},
    )
    if invitation.created_by_id is not None:
        inviter = await uow.session.get(User, invitation.created_by_id)
        if inviter is not None:
            await notify_users(
                uow.session,
                [inviter],
                "invite.redeemed_notice",
                {
                    "name": user.full_name or str(user.telegram_id),
                    "role": as_text(f"role.{invitation.role}"),
                },
                now=now,
            )
    await uow.commit()
    return Redemption(user=user, role=invitation.role)


def _refuse_another_party(user: User, invitation: Invitation) -> None:
    """One account speaks for one organisation and one vendor: a second role for another party
    would re-assign the user's records (a buyer's complaints) to it, so it is refused."""
    other_organisation = (
        invitation.organisation_id is not None
        and user.organisation_id is not None
        and invitation.organisation_id != user.organisation_id
    )
    other_vendor = (
        invitation.vendor_id is not None
        and user.vendor_id is not None
        and invitation.vendor_id != user.vendor_id
    )
    # a market-sales person works one territory: another's returns are not theirs to see
    other_territory = (
        invitation.territory is not None
        and user.territory is not None
        and invitation.territory != user.territory
    )
    if other_organisation or other_vendor or other_territory:
        raise WrongState("invite.other_party", role=as_text(f"role.{invitation.role}"))


async def prune_failed_redemptions(session: AsyncSession, *, now: dt.datetime) -> None:
    """Forget failed codes once they no longer count towards the attempts limit."""
    await session.execute(
        delete(FailedRedemption).where(FailedRedemption.at < now - FAILED_REDEMPTION_WINDOW)
    )
