"""Whatever a user types, every check of user input either refuses it with a domain error or
accepts something the database keeps intact: random text (emoji, right-to-left, zero-width,
controls, lone surrogates) and numbers, small and huge, through each check and back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.services import Services
from procedures.complaints import handling, intake
from procedures.complaints.intake import ComplaintDraft
from procedures.equipment import defects, patrols
from procedures.kernel import calendar, quantities
from procedures.kernel.errors import ProcedureError
from procedures.kernel.text_input import clean_text, cut_text
from procedures.vendors import rectifications
from storage.models import ChecklistItem, Complaint, PatrolCheck, User

from .helpers import customer_of, ids, make_user
from .test_patrols import draft_for, patrol

FAST = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STORED = settings(FAST, max_examples=40)

TRICKY = "\x00\x07\x1b\r\n\t \u00a0\u200b\u200d\u2060\ufeff\u202e\u0627\u05d0😀👩‍🔧\ud800\udfff\ufffe１２e.,-+_Qq"
texts = st.one_of(
    st.text(),
    st.text(st.characters(exclude_categories=())),  # lone surrogates too
    st.text(st.sampled_from(TRICKY)),
)
numbers = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(10**40), max_value=10**40).map(lambda n: f"{n}e{n % 50 - 25}"),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.sampled_from(["1e9", "1e99999", "-0", "1e-9", " 12,5", "１２", "nan", "inf", "sNaN"]),
    texts,
)

TEXT_CHECKS = [
    intake.check_description,
    intake.check_complainant,
    intake.check_contact,
    handling.check_notes,
    handling.check_opinion,
    handling.check_corrective_action,
    defects.check_repair_note,
    defects.check_reason,
    patrols.check_note,
    rectifications.check_description,
    rectifications.check_follow_up,
    rectifications.check_findings,
]


def accepted(check, value):
    """The check's answer, or None when it refused the value with a domain error."""
    try:
        return check(value)
    except ProcedureError:
        return None


@pytest.mark.parametrize("check", TEXT_CHECKS, ids=lambda check: check.__qualname__)
@FAST
@given(text=texts)
def test_a_text_check_refuses_or_keeps_the_cleaned_text(check, text: str) -> None:
    kept = accepted(check, text)
    for part in kept if isinstance(kept, tuple) else (kept,):
        if part is not None:
            assert part == clean_text(part) and part.strip() == part and part
            assert part in clean_text(text) or part.endswith("…")


@FAST
@given(name=texts)
def test_a_name_is_cut_to_its_column_never_refused(name: str) -> None:
    cut = cut_text(name, 200)
    assert len(cut) <= 200 and cut == clean_text(cut)


@FAST
@given(text=numbers)
def test_a_reading_is_refused_or_fits_numeric_12_3(text: str) -> None:
    item = ChecklistItem(unit="mm", low=Decimal(-10), high=Decimal(10), kind="reading")
    kept = accepted(lambda t: patrols.check_reading(item, t), text)
    if kept is not None:
        value, _ = kept
        assert value.is_finite() and abs(value) < 10**9
        assert value == value.quantize(Decimal("0.001")) and str(Decimal(str(value))) == str(value)


@FAST
@given(text=numbers)
def test_a_quantity_is_refused_or_fits_an_integer_column(text: str) -> None:
    quantity = accepted(quantities.check_quantity, text)
    assert quantity is None or 0 < quantity < 2**31


@FAST
@given(text=st.one_of(texts, st.integers().map(lambda n: f"{n}-Q{n % 6}")))
def test_a_quarter_is_none_or_one_the_reports_can_bound(text: str) -> None:
    quarter = calendar.parse_quarter(text)
    if quarter is not None:
        calendar.quarter_bounds(*quarter, calendar.ZoneInfo("UTC"))


@FAST
@given(text=numbers)
def test_a_score_is_refused_or_between_0_and_100(text: str) -> None:
    score = accepted(rectifications.check_score, text)
    assert score is None or 0 <= score <= 100


@STORED
@given(text=texts)
async def test_a_filed_description_reads_back_as_cleaned(
    services: Services, samples: None, text: str
) -> None:
    description = accepted(intake.check_description, text)
    if description is None:
        return
    organisation_id, product_id, batch_id = await ids(services, "C001", "P-1001", "L20260301")
    filer = await customer_of(services, "C001")
    draft = ComplaintDraft(
        organisation_id=organisation_id,
        product_id=product_id,
        batch_id=batch_id,
        quantity=1,
        description=text,
    )
    async with services.unit_of_work() as uow:
        filed = await intake.file_complaint(uow, await uow.session.get(User, filer.id), draft)
    async with services.session_factory() as session:
        stored = await session.get(Complaint, filed.complaint.id)
    assert stored.description == description


@STORED
@given(text=numbers)
async def test_an_accepted_reading_reads_back_unchanged(
    services: Services, samples: None, text: str
) -> None:
    draft = await draft_for(services, "EL-01", photos=1)
    async with services.session_factory() as session:
        item = await session.get(ChecklistItem, draft.answers[-1]["item_id"])
    assert item.kind == "reading"
    kept = accepted(lambda t: patrols.check_reading(item, t), text)
    if kept is None:
        return
    value, ok = kept
    draft.answers[-1] = {"item_id": item.id, "ok": ok, "reading": str(value)}
    outcome = await patrol(services, await make_user(services, "technician"), draft)
    async with services.session_factory() as session:
        stored = await session.scalar(
            select(PatrolCheck.reading).where(
                PatrolCheck.patrol_id == outcome.patrol.id, PatrolCheck.item_id == item.id
            )
        )
    assert stored == value
