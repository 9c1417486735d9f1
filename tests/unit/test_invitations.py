"""Invitations: long codes stored only as hashes, guessing slowed down, one party per account."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures.kernel import roles
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import NotAllowed, NotFound, WrongState
from procedures.people import invitations, users
from storage.models import Invitation, Organisation, User

from .helpers import make_user


def identity(telegram_id: int = 7_000_001) -> users.TelegramIdentity:
    return users.TelegramIdentity(telegram_id=telegram_id, full_name="Guesser")


async def invite(services: Services, role: str, party: str | None = None) -> str:
    admin = await make_user(services, "admin")
    async with services.unit_of_work() as uow:
        actor = await uow.session.get(User, admin.id)
        return (await invitations.create_invitation(uow, actor, role, party_code=party)).code


async def redeem(
    services: Services, code: str, who: users.TelegramIdentity
) -> invitations.Redemption:
    async with services.unit_of_work() as uow:
        return await invitations.redeem_invitation(uow, who, code)


async def test_a_code_has_at_least_128_bits_and_only_its_hash_is_stored(
    services: Services,
) -> None:
    code = await invite(services, "quality")
    assert len(code) >= 22  # 128 bits in URL-safe base64
    async with services.session_factory() as session:
        stored = await session.scalar(select(Invitation))
        columns = {c.key: getattr(stored, c.key) for c in Invitation.__table__.columns}
    assert code not in {str(v) for v in columns.values()}
    assert stored.code_hash == invitations.hash_code(code)
    redemption = await redeem(services, code, identity())
    assert redemption.role == "quality"


async def test_repeated_wrong_codes_are_slowed_down_and_logged_without_the_code(
    services: Services, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    code = await invite(services, "quality")
    guesser = identity()
    for attempt in range(users.MAX_FAILED_REDEMPTIONS):
        with pytest.raises(NotFound):
            await redeem(services, f"wrong-guess-{attempt:04d}-xxxxxxxxxx", guesser)
    # now even the right code waits until the window has passed
    with pytest.raises(NotAllowed) as refused:
        await redeem(services, code, guesser)
    assert refused.value.text_key == "invite.too_many_attempts"
    # another user is not held up by the guesser
    other = await redeem(services, code, identity(7_000_002))
    assert other.role == "quality"
    assert "wrong-guess" not in caplog.text and code not in caplog.text
    assert "telegram user 7000001" in caplog.text

    clock.advance(users.FAILED_REDEMPTION_WINDOW + dt.timedelta(seconds=1))
    second = await invite(services, "warehouse")
    assert (await redeem(services, second, guesser)).role == "warehouse"


async def test_a_second_role_for_another_organisation_is_refused_and_keeps_the_first(
    services: Services, samples: None
) -> None:
    customer_code = await invite(services, "customer", "C001")
    redemption = await redeem(services, customer_code, identity())
    organisation_id = redemption.user.organisation_id
    supplier_code = await invite(services, "supplier", "S001")
    with pytest.raises(WrongState) as refused:
        await redeem(services, supplier_code, identity())
    assert refused.value.text_key == "invite.other_party"
    async with services.session_factory() as session:
        user = await session.get(User, redemption.user.id)
        await session.refresh(user, ["roles"])
        assert user.role_names == {"customer"} and user.organisation_id == organisation_id
        assert (await session.get(Organisation, organisation_id)).code == "C001"


def test_every_name_of_a_role_in_every_language_names_that_role_and_no_other(
    services: Services,
) -> None:
    texts = services.texts
    for role in roles.ALL_ROLES:
        for language in users.LANGUAGES:
            name = texts.get(language, f"role.{role}")
            parts = [p for p in re.split(r"[（）()]", name) if p]
            for typed in (role, role.upper(), name, name.upper(), *parts):
                assert texts.named("role.", roles.ALL_ROLES, typed, aliases="role_alias.") == (
                    role
                ), (language, typed)
    for typed, role in (("顧客", "customer"), ("顾客", "customer"), ("QC", "quality")):
        assert texts.named("role.", roles.ALL_ROLES, typed, aliases="role_alias.") == role
    for typed in ("", " ", "chef", "、", "%", "a" * 300):
        assert texts.named("role.", roles.ALL_ROLES, typed, aliases="role_alias.") is None


async def test_a_page_of_parties_lists_only_the_roles_kind_by_code(
    services: Services, samples: None
) -> None:
    async with services.session_factory() as session:
        customers, total = await invitations.parties_for(session, "customer", offset=2, limit=2)
        assert [p.code for p in customers] == ["C003", "C004"] and total == 4
        suppliers, total = await invitations.parties_for(session, "supplier")
        assert [p.code for p in suppliers] == ["S001", "S002"] and total == 2
        vendors, total = await invitations.parties_for(session, "vendor")
        assert [p.code for p in vendors] == ["V001", "V002", "V003"] and total == 3
        assert await invitations.parties_for(session, "quality") == ([], 0)
        assert await invitations.party_for(session, "supplier", customers[0].id) is None
        assert await invitations.party_for(session, "customer", customers[0].id) == customers[0]
