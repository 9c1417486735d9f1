"""One person, one seat: steps the procedures give to different departments are refused to a
person who already took another department's step on the same record, whatever roles they
hold; nobody redeems their own invitation; a department's head is appointed by the admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures.complaints import casework, handling
from procedures.equipment import defects
from procedures.kernel import roles
from procedures.kernel.errors import NotAllowed
from procedures.people import invitations, users
from procedures.returns import goods, intake, review
from procedures.returns.goods import Inspection
from procedures.returns.intake import ReturnDraft
from procedures.returns.rules import ReturnStatus, Slot
from storage.models import Invitation, User, UserRole
from tests.conftest import SHANGHAI

from .helpers import act, customer_of, file, ids, make_user, verify
from .test_patrols import draft_for, patrol
from .test_returns import Staff, finance_review, request, stored
from .test_user_input import vendor_user


async def give_roles(services: Services, user: User, *more: str) -> User:
    async with services.unit_of_work() as uow:
        stored_user = await uow.session.get(User, user.id)
        stored_user.roles.extend(UserRole(role=role) for role in more)
        await uow.commit()
    return stored_user


def refused_for(refusal: pytest.ExceptionInfo[NotAllowed], number: str, step: str, other: str):  # type: ignore[no-untyped-def]
    assert refusal.value.text_key == "separation.same_person"
    assert refusal.value.params == {
        "number": number,
        "step": {"$text": f"separation.seat.{step}"},
        "other": {"$text": f"separation.step.{other}"},
    }


async def test_the_three_signatures_of_a_return_are_three_people_whatever_roles_one_holds(
    services: Services, samples: None
) -> None:
    """4.2.7: the after-sales head, the business head and QC sign; one person holding all
    three roles (and the warehouse's) signs once and is refused the other seats, by name."""
    staff = await Staff(services).make()
    boss = await make_user(
        services, "after_sales_head", "business_head", "quality", "warehouse", "company_leader"
    )
    filed = await request(services, 2)
    await finance_review(services, filed.id)
    await act(services, review.sign_return, boss, filed.id)  # the after-sales head's seat
    with pytest.raises(NotAllowed) as refusal:
        await act(services, review.approve_return, boss, filed.id, timezone=SHANGHAI)
    refused_for(refusal, filed.number, "business", "after_sales")
    assert (await stored(services, filed.id)).status == ReturnStatus.AWAITING_BUSINESS

    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    await staff.to_the_warehouse(filed.id)
    with pytest.raises(NotAllowed) as refusal:
        await act(services, goods.record_inspection, boss, filed.id, Inspection("undamaged"))
    refused_for(refusal, filed.number, "quality", "after_sales")
    after = await stored(services, filed.id)
    assert after.inspected_at is None and {s.slot for s in after.signatures} == {
        Slot.REVIEW,
        Slot.AFTER_SALES,
        Slot.BUSINESS,
    }

    await act(services, goods.record_inspection, staff.qc, filed.id, Inspection("undamaged"))
    with pytest.raises(NotAllowed) as refusal:
        await act(services, goods.book_in, boss, filed.id, timezone=SHANGHAI)
    refused_for(refusal, filed.number, "booked_in", "after_sales")
    assert (await stored(services, filed.id)).booked_in_at is None
    booked = await act(services, goods.book_in, staff.warehouse, filed.id, timezone=SHANGHAI)
    assert booked.status == ReturnStatus.BOOKED_IN
    assert {s.signed_by_id for s in booked.signatures} == {
        boss.id,
        staff.business.id,
        staff.qc.id,
    }


async def test_the_customer_who_filed_a_return_may_not_approve_or_review_it(
    services: Services, samples: None
) -> None:
    """File and approve are two departments' steps: a filer who also holds the business head's
    (or finance's) role is refused them on their own request."""
    staff = await Staff(services).make()
    filer = await give_roles(
        services, await customer_of(services, "C003"), "business_head", "finance"
    )
    organisation_id, _, batch_id = await ids(services, "C003", "P-2002", "GL2026B12")
    draft = ReturnDraft(organisation_id, "unsalable", lines=[{"batch_id": batch_id, "quantity": 2}])
    filed = (await act(services, intake.file_return, filer, draft, timezone=SHANGHAI)).request
    with pytest.raises(NotAllowed) as refusal:
        await act(services, review.finance_agrees, filer, filed.id)
    refused_for(refusal, filed.number, "finance_review", "filed")
    await act(services, review.finance_agrees, await make_user(services, "finance"), filed.id)
    await act(services, review.sign_return, staff.after_sales, filed.id)
    with pytest.raises(NotAllowed) as refusal:
        await act(services, review.approve_return, filer, filed.id, timezone=SHANGHAI)
    refused_for(refusal, filed.number, "business", "filed")
    approved = await act(
        services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI
    )
    assert approved.status != ReturnStatus.AWAITING_BUSINESS


async def test_the_head_may_still_review_and_countersign_as_one_department(
    services: Services, samples: None
) -> None:
    """After-sales' review and the head's countersignature are one seat: the head gives both."""
    await Staff(services).make()
    head = await make_user(services, "after_sales_head")
    filed = await request(services, 2)
    await finance_review(services, filed.id)
    signed = await act(services, review.sign_return, head, filed.id)
    assert {s.slot for s in signed.signatures} == {Slot.REVIEW, Slot.AFTER_SALES}


async def test_the_quality_inspector_who_verified_may_not_lift_the_hold_nor_the_buyer_verify(
    services: Services, samples: None
) -> None:
    """P1: quality verifies, the warehouse lifts the hold on a conforming verdict; the buyer
    who filed in the chat verifies nothing of their own complaint."""
    complaint = await file(services)
    async with services.session_factory() as session:
        filer = await session.get(User, complaint.filed_by_id)
    await give_roles(services, filer, "quality")
    await act(services, handling.take_complaint, filer, complaint.id)
    with pytest.raises(NotAllowed) as refusal:
        await verify(services, filer, complaint.id, "conforming")
    refused_for(refusal, complaint.number, "verified", "complaint_filed")

    qc = await make_user(services, "quality", "warehouse")
    head = await make_user(services, "quality_head")
    await act(services, casework.reassign_complaint, head, complaint.id, qc.id)
    await verify(services, qc, complaint.id, "conforming")
    with pytest.raises(NotAllowed) as refusal:
        await act(services, handling.lift_hold, qc, complaint.id)
    refused_for(refusal, complaint.number, "hold_lifted", "verified")
    warehouse = await make_user(services, "warehouse")
    lifted = await act(services, handling.lift_hold, warehouse, complaint.id)
    assert lifted.number == complaint.number


async def test_whoever_recorded_a_repair_for_the_vendor_may_not_verify_it(
    services: Services, samples: None
) -> None:
    """P3: the vendor's staff repair, the technician verifies: one person with both roles
    reports a fault, records its repair, and is refused the verification."""
    both = await vendor_user(services, "V001", also="technician")
    outcome = await patrol(
        services, both, await draft_for(services, "EL-01", abnormal="EL-DOOR", photos=1)
    )
    defect_id = outcome.defect.id
    await act(services, defects.record_repair, both, defect_id, "Roller replaced", [])
    with pytest.raises(NotAllowed) as refusal:
        await act(services, defects.verify_repair, both, defect_id, accept=True)
    refused_for(refusal, outcome.defect.number, "repair_verified", "repaired")
    supervisor = await make_user(services, "equipment_supervisor")
    closed = await act(services, defects.verify_repair, supervisor, defect_id, accept=True)
    assert closed.closed_at is not None


async def test_nobody_redeems_their_own_invitation(services: Services) -> None:
    head = await make_user(services, "after_sales_head")
    async with services.unit_of_work() as uow:
        issued = await invitations.create_invitation(
            uow, await uow.session.get(User, head.id), "driver"
        )
    myself = users.TelegramIdentity(telegram_id=head.telegram_id, full_name=head.full_name)
    with pytest.raises(NotAllowed) as refusal:
        async with services.unit_of_work() as uow:
            await invitations.redeem_invitation(uow, myself, issued.code)
    assert refusal.value.text_key == "invite.own_invitation"
    async with services.session_factory() as session:
        assert (await session.get(User, head.id)).role_names == {"after_sales_head"}
        invitation = await session.scalar(select(Invitation))
        assert invitation.redeemed_at is None  # still there for the driver it was meant for
    driver = users.TelegramIdentity(telegram_id=7_100_001, full_name="Driver")
    async with services.unit_of_work() as uow:
        assert (await invitations.redeem_invitation(uow, driver, issued.code)).role == "driver"


@pytest.mark.parametrize(
    "inviter,role",
    [
        ("company_leader", "after_sales_head"),
        ("company_leader", "business_head"),
        ("company_leader", "quality_head"),
        ("management_office", "equipment_manager"),
        ("after_sales_head", "quality"),
        ("business_head", "driver"),
    ],
)
async def test_a_head_invites_only_the_staff_of_their_own_department(
    services: Services, inviter: str, role: str
) -> None:
    person = await make_user(services, inviter)
    with pytest.raises(NotAllowed):
        async with services.unit_of_work() as uow:
            await invitations.create_invitation(uow, await uow.session.get(User, person.id), role)
    assert role in roles.invitable_roles(frozenset({roles.ADMIN}))


def test_heads_still_invite_their_departments_staff() -> None:
    assert roles.invitable_roles(frozenset({roles.COMPANY_LEADER})) == {roles.FINANCE}
    assert {roles.AFTER_SALES, roles.DRIVER, roles.CUSTOMER} <= roles.invitable_roles(
        frozenset({roles.AFTER_SALES_HEAD})
    )
    assert roles.QUALITY in roles.invitable_roles(frozenset({roles.QUALITY_HEAD}))


async def test_the_after_sales_head_who_signed_a_quality_return_may_not_record_its_refund(
    services: Services, samples: None
) -> None:
    """The refund's credit is finance's: one who signed the return for after-sales and also
    holds finance's role is refused it; finance's own person records it."""
    from procedures.returns.corrective import Responsibility

    staff = await Staff(services).make()
    boss = await make_user(services, "after_sales_head", "finance")
    filed = await request(services, 2, reason="quality")
    await act(services, review.sign_return, boss, filed.id)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    await staff.to_the_warehouse(filed.id)
    fault = Inspection(
        "company_fault",
        "Seals cracked in storage.",
        Responsibility("warehouse", staff.warehouse.id, "Replace the seals.", "Check seals."),
    )
    await act(services, goods.record_inspection, staff.qc, filed.id, fault)
    await act(services, goods.book_in, staff.warehouse, filed.id, timezone=SHANGHAI)
    await act(services, goods.choose_refund, staff.warehouse, filed.id)
    with pytest.raises(NotAllowed) as refusal:
        await act(services, goods.record_credit, boss, filed.id, "90.00")
    refused_for(refusal, filed.number, "credited", "after_sales")
    assert (await stored(services, filed.id)).credit_amount is None
    finance = await make_user(services, "finance")
    credited = await act(services, goods.record_credit, finance, filed.id, "90.00")
    assert credited.credit_amount == 90


def test_invite_is_offered_only_to_those_with_someone_to_invite() -> None:
    from bot.commands import COMMANDS

    (invite,) = [command for command in COMMANDS if command.name == "invite"]
    assert invite.roles is not None
    assert roles.MANAGEMENT_OFFICE not in invite.roles  # its one report is a head: the admin's
    assert {roles.ADMIN, roles.COMPANY_LEADER, roles.AFTER_SALES_HEAD} <= invite.roles
    for inviter in invite.roles - {roles.ADMIN}:
        assert roles.invitable_roles(frozenset({inviter}))
