"""The people of the local demo: one per role, each enrolled through a real invitation.

`make run` without a token creates them once, in the sample organisations (two buyers, so a
nonconforming complaint has another buyer to warn), and the web chat lists them on the left.
They speak the deployment's default language (DEFAULT_LANGUAGE), as its real users mostly will.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from procedures.kernel import roles
from procedures.people import invitations, users
from storage.models import User

from .services import Runtime

# the local emulator's bot: the demo's chat, and the Mini App's signatures, without a real token
EMULATOR_TOKEN = "1000001:local-emulator-token"
FIRST_DEMO_ID = 5_000_001


@dataclass(frozen=True)
class DemoPerson:
    role: str
    name: str  # says the role, so a newcomer knows whom to switch to
    party_code: str | None = None  # the organisation or vendor the role speaks for


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson(roles.ADMIN, "Ada Admin"),
    DemoPerson(roles.CUSTOMER, "Chen Customer (C001, local buyer)", "C001"),
    DemoPerson(roles.CUSTOMER, "Wang Customer (C002, other buyer)", "C002"),
    DemoPerson(roles.CONSUMER, "Cora Consumer"),
    DemoPerson(roles.SUPPLIER, "Zhou Supplier (S001)", "S001"),
    DemoPerson(roles.AFTER_SALES, "An After-sales"),
    DemoPerson(roles.AFTER_SALES_HEAD, "Hu After-sales Head"),
    DemoPerson(roles.QUALITY, "Qiu Quality (QC)"),
    DemoPerson(roles.QUALITY_HEAD, "Quan Quality Head"),
    DemoPerson(roles.BUSINESS_HEAD, "Bai Business Head"),
    DemoPerson(roles.WAREHOUSE, "Wu Warehouse"),
    DemoPerson(roles.DRIVER, "Du Driver"),
    DemoPerson(roles.FINANCE, "Fan Finance"),
    DemoPerson(roles.COMPANY_LEADER, "Lei Company Leader"),
    DemoPerson(roles.TECHNICIAN, "Tang Technician"),
    DemoPerson(roles.EQUIPMENT_ENGINEER, "Jiang Equipment Engineer"),
    DemoPerson(roles.EQUIPMENT_SUPERVISOR, "Shi Equipment Supervisor"),
    DemoPerson(roles.EQUIPMENT_MANAGER, "Ma Equipment Manager"),
    DemoPerson(roles.VENDOR, "Sun Vendor (V001 elevators)", "V001"),
    DemoPerson(roles.MANAGEMENT_OFFICE, "Guan Management Office"),
    DemoPerson(roles.CLIENT_AUTHORITY, "Ke Client Authority (貴方主管部門)"),
    # last, so that the people above keep their demo ids
    DemoPerson(roles.MARKETING_STATISTICIAN, "Tong Marketing Statistician"),
    DemoPerson(roles.MARKETING_CLERK, "Wen Marketing Clerk"),
    DemoPerson(roles.MARKET_SALES, "Shi Market Sales (華東 territory)", "華東"),
)


def demo_telegram_ids() -> list[int]:
    """The Telegram ids the demo gives its people."""
    return [FIRST_DEMO_ID + index for index in range(len(DEMO_PEOPLE))]


@dataclass(frozen=True)
class Person:
    telegram_id: int
    name: str
    language: str | None


async def enrol_demo_people(runtime: Runtime) -> int:
    """Create the demo people not yet there; return how many were enrolled.

    Each redeems a real invitation: a bootstrap one (as the first admin of a deployment does),
    or, for the roles that speak for an organisation or vendor, one the admin issued with its
    code (the admin hears of each of these joining)."""
    enrolled = 0
    admin: User | None = None
    for index, person in enumerate(DEMO_PEOPLE):
        telegram_id = demo_telegram_ids()[index]
        async with runtime.session_factory() as session:
            existing = await users.user_by_telegram_id(session, telegram_id)
        if existing is not None:
            admin = admin or existing
            continue
        async with runtime.unit_of_work() as uow:
            if admin is None or person.party_code is None:
                issued = await invitations.create_bootstrap_invitation(uow, person.role)
            else:
                inviter = await uow.session.get(User, admin.id)
                assert inviter is not None
                await uow.session.refresh(inviter, ["roles"])
                issued = await invitations.create_invitation(
                    uow, inviter, person.role, party_code=person.party_code
                )
        identity = users.TelegramIdentity(
            telegram_id, person.name, language=runtime.settings.default_language
        )
        async with runtime.unit_of_work() as uow:
            redemption = await invitations.redeem_invitation(uow, identity, issued.code)
        admin = admin or redemption.user
        enrolled += 1
    return enrolled


async def known_people(runtime: Runtime) -> list[Person]:
    """Everyone with an account, demo people first, for the web chat's list."""
    async with runtime.session_factory() as session:
        everyone = await session.scalars(select(User).order_by(User.id))
        return [
            Person(u.telegram_id, u.full_name or str(u.telegram_id), u.language) for u in everyone
        ]
