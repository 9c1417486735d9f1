"""Quality's casework on a complaint beside its procedure steps: the quality head reassigns a
taken complaint to another QC member, quality reopens a closed one with a reason, and QC records
what waits on the buyer.

None of them moves a deadline: the procedure's 24 h, 7 days and 3 days run from receipt and never
pause (they are the seed's rules). A reopened complaint gets a new disposition deadline, the
seed's 3 days from the reopening, because a new opinion is due; what waits on the buyer is kept
on the timeline (and the ledger's remarks), so a deadline missed shows why.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints import rules
from procedures.complaints.common import load_complaint, open_complaint_deadline, subject_params
from procedures.complaints.handling import require_handler, tell_complainant
from procedures.complaints.queries import work_buttons
from procedures.complaints.rules import LIFECYCLE, REASSIGNERS, VERIFIERS, ComplaintStatus
from procedures.kernel import roles
from procedures.kernel.errors import InvalidInput, WrongState
from procedures.kernel.outbox import as_deadline, notify_users
from procedures.kernel.text_input import MAX_TEXT, check_text
from procedures.kernel.timeline import record_change, times_recorded
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import Complaint, User, UserRole

# --- reassignment ------------------------------------------------------------------------------


async def assignable_staff(session: AsyncSession, actor: User, complaint_id: int) -> list[User]:
    """The QC members the quality head may hand the complaint to: every active holder of a QC
    role but the one who has it now. Refuses unless the complaint is taken and still open."""
    roles.require_role(actor.role_names, REASSIGNERS)
    complaint = await load_complaint(session, complaint_id, lock=False)
    _check_reassignable(complaint)
    staff = await session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role.in_(sorted(VERIFIERS)),
            User.active.is_(True),
            User.id != complaint.taken_by_id,
        )
        .distinct()
        .order_by(User.full_name, User.id)
    )
    return list(staff)


def _check_reassignable(complaint: Complaint) -> None:
    if complaint.taken_by_id is None:
        raise WrongState("complaint.not_taken_yet", number=complaint.number)
    if complaint.status == ComplaintStatus.CLOSED:
        raise WrongState("complaint.closed_already", number=complaint.number)


async def reassign_complaint(
    uow: UnitOfWork, actor: User, complaint_id: int, to_user_id: int
) -> tuple[str, User, User]:
    """The quality head hands a taken complaint to another QC member: both are told, with the
    work buttons for the new one, and the timeline keeps from whom to whom. Its deadlines stay
    as they are. Returns the number, the previous and the new holder."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, REASSIGNERS)
    complaint = await load_complaint(session, complaint_id)
    _check_reassignable(complaint)
    previous = await session.get(User, complaint.taken_by_id)
    new = await session.get(User, to_user_id)
    if new is None or not new.active or not new.role_names & VERIFIERS:
        raise InvalidInput("complaint.not_qc_member")
    if new.id == complaint.taken_by_id:
        raise WrongState("complaint.already_with", number=complaint.number, name=new.full_name)
    assert previous is not None
    complaint.taken_by_id = new.id
    record_change(
        session,
        complaint,
        "reassigned",
        now,
        actor=actor,
        before={"taken_by_id": previous.id},
        after={"taken_by_id": new.id, "from_name": previous.full_name, "to_name": new.full_name},
    )
    round_ = await times_recorded(session, complaint, "reassigned")
    params = {
        **subject_params(complaint),
        "from_name": previous.full_name,
        "to_name": new.full_name,
        "by_name": actor.full_name,
    }
    # the head taking a case over is told apart: "reassigned by Quan to Quan" named nobody
    taken_over = new.id == actor.id
    await notify_users(
        session,
        [previous],
        "complaint.reassigned_from_taken_over" if taken_over else "complaint.reassigned_from",
        params,
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:reassigned:{round_}:from",
    )
    await notify_users(
        session,
        [new],
        "complaint.reassigned_to_self" if taken_over else "complaint.reassigned_to",
        {**params, "description": complaint.description},
        now=now,
        buttons=work_buttons(complaint),
        dedupe_prefix=f"complaint:{complaint.id}:reassigned:{round_}:to",
    )
    await uow.commit()
    return complaint.number, previous, new


# --- reopening ---------------------------------------------------------------------------------


def check_reason(text: str) -> str:
    return check_text(text, empty="complaint.empty_reason", limit=MAX_TEXT)


async def complaint_to_reopen(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The complaint, if `actor` may reopen it now: the one who handled it or the quality head
    (who may give it to someone else afterwards), and the complaint closed."""
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await load_complaint(session, complaint_id, lock=lock)
    if complaint.status != ComplaintStatus.CLOSED:
        raise WrongState("complaint.not_closed", number=complaint.number)
    await require_handler(session, actor, complaint)
    return complaint


async def reopen_complaint(
    uow: UnitOfWork, actor: User, complaint_id: int, reason: str
) -> tuple[Complaint, dt.datetime]:
    """Quality reopens a closed complaint (the buyer disputes the opinion, say): it goes back
    to the disposition stage, its opinion is kept on the timeline and a new one is due within
    the seed's 3 days from now; the buyer is told, and the timeline keeps who and why."""
    session, now = uow.session, uow.clock.now()
    complaint = await complaint_to_reopen(session, actor, complaint_id, lock=True)
    reason = check_reason(reason)
    before = {"status": complaint.status, "opinion": complaint.disposition}
    LIFECYCLE.move(
        complaint, ComplaintStatus(complaint.verification_result or ComplaintStatus.INVESTIGATING)
    )
    complaint.closed_at = None
    complaint.disposition = complaint.disposition_by_id = complaint.disposition_at = None
    due = rules.DISPOSITION_OPINION.due(now)
    open_complaint_deadline(session, complaint, rules.DISPOSITION_OPINION, now, due)
    record_change(
        session,
        complaint,
        "reopened",
        now,
        actor=actor,
        before=before,
        after={"status": complaint.status, "reason": reason, "opinion_due": due.isoformat()},
    )
    await tell_complainant(
        session,
        complaint,
        "complaint.reopened_to_buyer",
        {**subject_params(complaint), "due_at": as_deadline(due)},
        now,
    )
    await uow.commit()
    return complaint, due


# --- what waits on the buyer -------------------------------------------------------------------


async def complaint_waiting_on_buyer(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The complaint, if `actor` may record that it waits on the buyer: quality, and open."""
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await load_complaint(session, complaint_id, lock=lock)
    if complaint.status == ComplaintStatus.CLOSED:
        raise WrongState("complaint.closed_already", number=complaint.number)
    return complaint


async def record_waiting_on_buyer(
    uow: UnitOfWork, actor: User, complaint_id: int, reason: str
) -> Complaint:
    """QC notes what the procedure waits for from the buyer (a visit appointment, missing
    information, no answer): on the timeline and in the ledger's remarks. Deadlines run on."""
    session, now = uow.session, uow.clock.now()
    complaint = await complaint_waiting_on_buyer(session, actor, complaint_id, lock=True)
    reason = check_reason(reason)
    record_change(
        session, complaint, "waiting_on_buyer", now, actor=actor, after={"reason": reason}
    )
    await uow.commit()
    return complaint
