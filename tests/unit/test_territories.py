"""P2 3.4 and 4.2.10: the customers' sales territories (片區) as master data, market-sales staff
enrolled for one, told of their territory's returns, reading and filing them, never another's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures.kernel import roles
from procedures.kernel.errors import InvalidInput, NotAllowed
from procedures.masterdata import importing, table
from procedures.people import invitations, users
from procedures.returns import intake, queries, review
from procedures.returns.intake import ReturnDraft
from storage.models import Organisation, ReturnRequest, User
from tests.conftest import SHANGHAI

from .helpers import act, ids, make_user, outbox_rows
from .test_returns import Staff, finance_review, request


async def market_sales(services: Services, territory: str, name: str = "") -> User:
    user = await make_user(services, roles.MARKET_SALES, name=name)
    async with services.unit_of_work() as uow:
        stored = await uow.session.get(User, user.id)
        stored.territory = territory
        await uow.commit()
        return stored


async def test_the_master_data_import_sets_and_changes_an_organisations_territory(
    services: Services,
) -> None:
    async def load(text: str) -> None:
        rows = table.read_table("organisations.csv", text.encode("utf-8"))
        async with services.unit_of_work() as uow:
            await importing.import_rows(uow, "organisations", rows, actor_id=None)

    await load("code,name,kind,territory\nC1,甲醫院,customer,華東\nC2,乙藥房,customer,\n")
    await load("code,name,kind,territory\nC1,甲醫院,customer,華南\nC2,乙藥房,customer,華北\n")
    async with services.session_factory() as session:
        found = dict(
            (await session.execute(select(Organisation.code, Organisation.territory))).all()
        )
    assert found == {"C1": "華南", "C2": "華北"}


async def test_a_market_sales_invitation_names_a_known_territory_and_gives_it_to_the_user(
    services: Services, samples: None
) -> None:
    admin = await make_user(services, "admin")
    async with services.unit_of_work() as uow:
        actor = await uow.session.get(User, admin.id)
        with pytest.raises(InvalidInput) as refused:
            await invitations.create_invitation(uow, actor, roles.MARKET_SALES, party_code="西北")
        assert refused.value.params["territories"] == ["華北", "華南", "華東"]
        with pytest.raises(InvalidInput):
            await invitations.create_invitation(uow, actor, roles.MARKET_SALES)
        issued = await invitations.create_invitation(
            uow, actor, roles.MARKET_SALES, party_code=" 華南 "
        )
    assert issued.invitation.territory == "華南"
    async with services.unit_of_work() as uow:
        redeemed = await invitations.redeem_invitation(
            uow, users.TelegramIdentity(telegram_id=7_100_001, full_name="Ma Sales"), issued.code
        )
    assert redeemed.user.territory == "華南" and roles.MARKET_SALES in redeemed.user.role_names


async def test_the_territorys_market_sales_hear_of_its_returns_and_no_other_territory_does(
    services: Services, samples: None
) -> None:
    staff = await Staff(services).make()
    south = await market_sales(services, "華南")  # C003's territory
    east = await market_sales(services, "華東")
    filed = await request(services, 2)  # C003, inside the ratio
    told = await outbox_rows(services, text_key="return.territory_filed")
    assert [m.user_id for m in told] == [south.id]
    assert told[0].params["territory"] == "華南"
    await finance_review(services, filed.id)
    await act(services, review.sign_return, staff.after_sales, filed.id)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    updates = await outbox_rows(services, text_key="return.territory_update")
    assert [(m.user_id, m.params["what"]) for m in updates] == [
        (south.id, {"$text": "return.send_goods_name"})
    ]
    assert east.id not in {m.user_id for m in [*told, *updates]}


async def test_market_sales_read_and_file_only_their_territorys_returns(
    services: Services, samples: None
) -> None:
    south = await market_sales(services, "華南")
    east_return = await request(services, 1, organisation="C001", product="P-2001", lot="BP2026A07")
    south_return = await request(services, 2)
    async with services.session_factory() as session:
        viewer = await session.get(User, south.id)
        assert (await queries.return_for_viewer(session, viewer, south_return.number)).id == (
            south_return.id
        )
        with pytest.raises(NotAllowed) as refused:
            await queries.return_for_viewer(session, viewer, east_return.number)
        assert refused.value.params["territory"] == "華南"
        listed = await queries.returns_of_territory(session, viewer)
    assert [r.id for r in listed] == [south_return.id]

    async def file_for(organisation: str, product: str, lot: str) -> ReturnRequest:
        organisation_id, _, batch_id = await ids(services, organisation, product, lot)
        draft = ReturnDraft(
            organisation_id, "quality", "phone", lines=[{"batch_id": batch_id, "quantity": 1}]
        )
        async with services.unit_of_work() as uow:
            actor = await uow.session.get(User, south.id)
            return (await intake.file_return(uow, actor, draft, timezone=SHANGHAI)).request

    with pytest.raises(NotAllowed):
        await file_for("C001", "P-2001", "BP2026A07")
    filed = await file_for("C003", "P-2002", "GL2026B12")
    async with services.session_factory() as session:
        numbers = list(
            await session.scalars(select(ReturnRequest.number).order_by(ReturnRequest.id))
        )
    assert numbers == [east_return.number, south_return.number, filed.number]
    assert filed.filed_by_id == south.id
