"""Quality's casework refuses what it must: reassigning by anyone but the quality head, to
someone who is not an active QC member, or a complaint not taken or closed; reopening an open
complaint; a blank reason. Reasons are kept as typed, emoji and all, without control
characters."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures.complaints import casework, handling
from procedures.kernel.errors import InvalidInput, NotAllowed, WrongState
from storage.models import TimelineEvent, User

from .helpers import act, file, make_user, verify


async def test_only_the_quality_head_reassigns_and_only_to_an_active_qc_member(
    services: Services, samples: None
) -> None:
    complaint = await file(services)
    qc = await make_user(services, "quality", name="Qiu")
    colleague = await make_user(services, "quality", name="Quan")
    head = await make_user(services, "quality_head", name="Zhou")
    warehouse = await make_user(services, "warehouse", name="Wu")
    with pytest.raises(WrongState):  # nobody has it yet
        await act(services, casework.reassign_complaint, head, complaint.id, colleague.id)
    await act(services, handling.take_complaint, qc, complaint.id)

    with pytest.raises(NotAllowed):
        await act(services, casework.reassign_complaint, qc, complaint.id, colleague.id)
    for not_qc in (warehouse.id, 999_999):
        with pytest.raises(InvalidInput):
            await act(services, casework.reassign_complaint, head, complaint.id, not_qc)
    async with services.unit_of_work() as uow:
        (await uow.session.get(User, colleague.id)).active = False
        await uow.commit()
    with pytest.raises(InvalidInput):
        await act(services, casework.reassign_complaint, head, complaint.id, colleague.id)
    with pytest.raises(WrongState):  # to whom it is with already
        await act(services, casework.reassign_complaint, head, complaint.id, qc.id)
    async with services.session_factory() as session:
        staff = await casework.assignable_staff(
            session, await session.get(User, head.id), complaint.id
        )
    assert [u.full_name for u in staff] == ["Zhou"]  # not the holder, not the inactive one


async def test_reopening_needs_a_closed_complaint_and_a_reason_is_kept_as_typed(
    services: Services, samples: None
) -> None:
    complaint = await file(services)
    qc = await make_user(services, "quality")
    await act(services, handling.take_complaint, qc, complaint.id)
    with pytest.raises(WrongState):
        await act(services, casework.reopen_complaint, qc, complaint.id, "disputed")
    await verify(services, qc, complaint.id, "nonconforming")
    for blank in ("", "  \n", "\x00\x07"):
        with pytest.raises(InvalidInput):
            await act(services, casework.record_waiting_on_buyer, qc, complaint.id, blank)
    reason = "買方未回覆\x1b 📞" + "等" * 300
    await act(services, casework.record_waiting_on_buyer, qc, complaint.id, reason)
    async with services.session_factory() as session:
        kept = await session.scalar(
            select(TimelineEvent.after).where(TimelineEvent.action == "waiting_on_buyer")
        )
    assert kept["reason"] == "買方未回覆 📞" + "等" * 300


async def test_after_a_reassignment_only_the_new_holder_or_the_head_records_the_steps(
    services: Services, samples: None
) -> None:
    complaint = await file(services)
    qc = await make_user(services, "quality", name="Qiu")
    colleague = await make_user(services, "quality", name="Quan")
    head = await make_user(services, "quality_head", name="Zhou")
    await act(services, handling.take_complaint, qc, complaint.id)
    await act(services, casework.reassign_complaint, head, complaint.id, colleague.id)

    # the previous holder's old "Record verification" button no longer works
    for step in (handling.complaint_for_verification, handling.complaint_for_opinion):
        async with services.session_factory() as session:
            with pytest.raises(WrongState) as refused:
                await step(session, await session.get(User, qc.id), complaint.id)
        assert refused.value.text_key == "complaint.taken_by_other"
        assert refused.value.params["name"] == "Quan"
    with pytest.raises(WrongState):
        await verify(services, qc, complaint.id, "conforming")
    # the new holder records it; the head could have stepped in
    async with services.session_factory() as session:
        await handling.complaint_for_opinion(
            session, await session.get(User, head.id), complaint.id
        )
    await verify(services, colleague, complaint.id, "conforming")
    async with services.session_factory() as session:
        verified = await session.get(type(complaint), complaint.id)
        assert verified.verified_by_id == colleague.id
