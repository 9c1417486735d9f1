"""What users type and tap, checked before it reaches the database: who may verify or see a
defect, free text cleaned and bounded, names cut to their column, numbers the columns can hold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures.complaints import handling, intake
from procedures.equipment import defects, patrols
from procedures.kernel import calendar
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound
from procedures.people import invitations, users
from procedures.vendors import rectifications
from storage.models import ChecklistItem, Complaint, User, UserRole

from .helpers import act, file, ids, make_user
from .test_invitations import invite
from .test_patrols import draft_for, patrol
from .test_patrols import vendor_user as vendor_staff


async def vendor_user(services: Services, vendor_code: str, also: str | None = None) -> User:
    """Staff of the vendor, holding the role `also` besides."""
    user = await vendor_staff(services, vendor_code)
    if also:
        async with services.unit_of_work() as uow:
            stored = await uow.session.get(User, user.id)
            stored.roles.append(UserRole(role=also))
            await uow.commit()
    return user


async def repaired_defect(services: Services) -> tuple[User, int]:
    """A defect on EL-01 (vendor V001) reported by a technician and marked repaired."""
    technician = await make_user(services, "technician")
    outcome = await patrol(
        services, technician, await draft_for(services, "EL-01", abnormal="EL-DOOR", photos=1)
    )
    vendor = await vendor_user(services, "V001")
    await act(services, defects.record_repair, vendor, outcome.defect.id, "Roller replaced", [])
    return technician, outcome.defect.id


async def test_only_the_reporter_or_the_equipment_supervisor_or_manager_may_verify_a_repair(
    services: Services, samples: None
) -> None:
    reporter, defect_id = await repaired_defect(services)
    other_technician = await make_user(services, "technician")
    for verdict in ({"accept": True}, {"accept": False, "reason": "forged"}):
        with pytest.raises(NotAllowed, match="not_your_report"):
            await act(services, defects.verify_repair, other_technician, defect_id, **verdict)
    async with services.session_factory() as session:
        with pytest.raises(NotAllowed, match="not_your_report"):
            await defects.defect_for_verification(session, other_technician, defect_id)
        assert (await defects.defect_for_verification(session, reporter, defect_id)).id == defect_id
    supervisor = await make_user(services, "equipment_supervisor")
    closed = await act(services, defects.verify_repair, supervisor, defect_id, accept=True)
    assert closed.status == "closed"


async def test_a_vendor_with_another_role_sees_only_their_own_vendors_defects(
    services: Services, samples: None
) -> None:
    _, defect_id = await repaired_defect(services)
    async with services.session_factory() as session:
        number = (await defects._load_defect(session, defect_id, lock=False)).number
    other_vendor = await vendor_user(services, "V002", also="customer")
    own_vendor = await vendor_user(services, "V001")
    vendor_and_technician = await vendor_user(services, "V002", also="technician")
    customer = await make_user(services, "customer")
    async with services.session_factory() as session:
        viewer = await session.get(User, other_vendor.id)
        with pytest.raises(NotFound):
            await defects.defect_for_viewer(session, viewer, number)
        with pytest.raises(NotAllowed, match="not_your_vendor"):
            await defects.defect_for_repair(session, viewer, defect_id)
        for allowed in (own_vendor, vendor_and_technician):
            viewer = await session.get(User, allowed.id)
            assert (await defects.defect_for_viewer(session, viewer, number)).id == defect_id
        with pytest.raises(NotFound):
            await defects.defect_for_viewer(session, await session.get(User, customer.id), number)


@pytest.mark.parametrize(
    ("check", "empty"),
    [
        (intake.check_description, "complaint.empty_description"),
        (handling.check_notes, "complaint.empty_notes"),
        (handling.check_opinion, "complaint.empty_opinion"),
        (defects.check_repair_note, "defect.empty_note"),
        (defects.check_reason, "defect.empty_reason"),
        (rectifications.check_description, "rectification.empty_description"),
        (rectifications.check_follow_up, "rectification.empty_note"),
        (rectifications.check_findings, "rectification.empty_evaluation"),
        (intake.check_complainant, "complaint.empty_complainant"),
    ],
)
def test_free_text_is_cleaned_and_invisible_text_counts_as_empty(check, empty: str) -> None:
    for blank in ("", "  \n", "\u200b\u200d", "\x00\x07", "\u2060 \ufeff"):
        with pytest.raises(InvalidInput) as refused:
            check(blank)
        assert refused.value.text_key == empty
    cleaned = check(" Door\x00 \u200dgrinds\x1b \ud800 ")
    if isinstance(cleaned, tuple):  # the complainant: name and contact
        cleaned = " ".join(cleaned)
    assert cleaned == "Door \u200dgrinds"
    with pytest.raises(InvalidInput) as refused:
        check("x" * 5000)
    assert refused.value.params["limit"] in (200, 1000, 2000)


def test_optional_texts_are_cleaned_and_blank_means_none() -> None:
    assert patrols.check_note("\u200b ") is None
    assert patrols.check_note("oil\x00 leak") == "oil leak"
    assert handling.check_corrective_action(" \ufeff") is None
    with pytest.raises(InvalidInput) as refused:
        patrols.check_note("x" * 1001)
    assert refused.value.params == {"limit": 1000}


def test_a_complainant_typed_by_staff_has_a_name_cut_to_its_column_and_a_bounded_contact() -> None:
    assert intake.check_complainant(" Chen\x00 021-555 ") == ("Chen", "021-555")
    name, contact = intake.check_complainant("N" * 300)
    assert contact is None and len(name) == 200 and name.endswith("…")
    with pytest.raises(InvalidInput) as refused:
        intake.check_complainant("Chen " + "9" * 201)
    assert refused.value.text_key == "error.text_too_long"
    assert refused.value.params == {"limit": 200}


async def test_a_nul_in_a_description_is_dropped_and_the_complaint_is_filed(
    services: Services, samples: None
) -> None:
    complaint = await file(services, description="leaks\x00 at the seal\u200b")
    async with services.session_factory() as session:
        stored = await session.get(Complaint, complaint.id)
    assert stored.description == "leaks at the seal\u200b"


async def test_a_300_character_telegram_name_is_cut_to_the_column_on_joining(
    services: Services,
) -> None:
    code = await invite(services, "quality")
    who = users.TelegramIdentity(telegram_id=7_100_001, full_name="名" * 300 + "\x00")
    async with services.unit_of_work() as uow:
        await invitations.redeem_invitation(uow, who, code)
    async with services.session_factory() as session:
        user = await session.scalar(select(User).where(User.telegram_id == 7_100_001))
    assert len(user.full_name) == 200 and user.full_name == "名" * 199 + "…"


def reading_item() -> ChecklistItem:
    return ChecklistItem(unit="mm", low=Decimal(-10), high=Decimal(10), kind="reading")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (" 12,5", Decimal("12.5")),
        ("１２", Decimal("12")),
        ("-0", Decimal("0")),
        ("1e-9", Decimal("0.000")),
        ("1e2", Decimal("100")),
        ("999999999.9994", Decimal("999999999.999")),
    ],
)
def test_a_reading_is_a_decimal_the_column_can_hold(text: str, value: Decimal) -> None:
    read, _ = patrols.check_reading(reading_item(), text)
    assert read == value and str(read) == str(value)


@pytest.mark.parametrize("text", ["1e9", "-1e9", "1e99999", "999999999.9996"])
def test_a_reading_the_column_cannot_hold_is_refused_with_the_range(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        patrols.check_reading(reading_item(), text)
    assert refused.value.text_key == "patrol.reading_out_of_range"
    assert refused.value.params == {"limit": "999999999.999", "unit": "mm"}


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "sNaN", "1,2,3", "", "twelve"])
def test_a_reading_that_is_no_number_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="bad_reading"):
        patrols.check_reading(reading_item(), text)


async def test_a_quantity_beyond_an_integer_column_is_refused_with_the_limit(
    services: Services, samples: None
) -> None:
    organisation_id, _, batch_id = await ids(services, "C001", "P-1001", "L20260301")
    async with services.session_factory() as session:
        for text in ("1e99", "99999999999999999999", "2147483648"):
            with pytest.raises(InvalidInput) as refused:
                await intake.parse_quantity(session, organisation_id, batch_id, text)
            assert refused.value.text_key == "complaint.quantity_too_large"
            assert refused.value.params == {"limit": 2147483647}
        assert await intake.parse_quantity(session, organisation_id, batch_id, "１２") == 12


@pytest.mark.parametrize("text", ["0000-Q1", "1999Q4", "3000-Q1", "²⁰²⁶Q1"])
def test_a_quarter_outside_the_years_kept_is_refused(text: str) -> None:
    assert calendar.parse_quarter(text) is None
    assert calendar.parse_quarter("２０２６-Q1") == (2026, 1)
