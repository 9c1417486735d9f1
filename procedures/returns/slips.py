"""After booking in (4.2.8-4.2.9): the marketing statistician (營銷統計員) tallies the return's
quantities and amounts; the marketing clerk (營銷文員) reviews the return slip (退貨單) and sends
it to the customer by 12:00 the next local day after the tally, in the chat where the customer
has one, else by fax or e-mail, recorded. The slip stays on the record, produced again from it
whenever asked."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.calendar import noon_next_day
from procedures.kernel.errors import InvalidInput, WrongState
from procedures.kernel.outbox import as_deadline, button, notify_roles, users_with_roles
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.returns import rules
from procedures.returns.actions import SendReturnSlip
from procedures.returns.common import (
    SUBJECT,
    load_return,
    open_step,
    settle_return_notices,
    step_done,
    subject_params,
    tell_customer,
    totals,
)
from procedures.returns.rules import LIFECYCLE, ReturnDeadline, ReturnStatus
from storage.models import Deadline, ReturnRequest, User

AFTER_BOOKING_IN = (ReturnStatus.BOOKED_IN, ReturnStatus.SETTLED)
# How the clerk sends the slip (4.2.9 faxes it): in the chat where the customer has one, else
# by fax or e-mail, recorded
SlipChannel = Literal["chat", "fax", "email"]
SLIP_CHANNELS: tuple[SlipChannel, ...] = ("chat", "fax", "email")
SLIP = {"kind": "return_slip"}


def _not_twice(request: ReturnRequest, actor: User, *earlier: int | None) -> None:
    """One person, one seat: the tally checks the warehouse's booking in and the clerk's review
    checks the tally, so neither is done by the one who did the step it checks."""
    if actor.id in earlier:
        raise WrongState("return.same_person", number=request.number)


async def return_for_tally(
    session: AsyncSession, actor: User, return_id: int, *, lock: bool = False
) -> ReturnRequest:
    roles.require_role(actor.role_names, frozenset({roles.MARKETING_STATISTICIAN}))
    request = await load_return(session, return_id, lock=lock)
    LIFECYCLE.require(request, *AFTER_BOOKING_IN)
    if request.tallied_at is not None:
        raise WrongState("return.already_tallied", number=request.number)
    _not_twice(request, actor, request.booked_in_by_id)
    return request


async def _open_slip_deadline(session: AsyncSession, request: ReturnRequest) -> Deadline | None:
    return await session.scalar(
        select(Deadline).where(
            Deadline.subject_type == SUBJECT,
            Deadline.subject_id == request.id,
            Deadline.kind == ReturnDeadline.RETURN_SLIP,
            Deadline.met_at.is_(None),
        )
    )


async def customer_has_chat(session: AsyncSession, request: ReturnRequest) -> bool:
    """Whether the customer has a contact in the chat, to whom the bot can send the slip."""
    contacts = await users_with_roles(
        session, [roles.CUSTOMER], organisation_ids=[request.organisation_id]
    )
    return bool(contacts)


def slip_channels(has_chat: bool) -> tuple[SlipChannel, ...]:
    """How the slip may go: in the chat where the customer has one, otherwise fax or e-mail."""
    return ("chat",) if has_chat else tuple(c for c in SLIP_CHANNELS if c != "chat")


def slip_due(request: ReturnRequest, timezone: ZoneInfo) -> dt.datetime | None:
    """When the slip of a tallied return is due: 12:00 the local day after the tally (4.2.9)."""
    if request.tallied_at is None:
        return None
    return noon_next_day(request.tallied_at, timezone)


async def tally_return(
    uow: UnitOfWork, actor: User, return_id: int, *, timezone: ZoneInfo
) -> ReturnRequest:
    """The statistician's tally of the quantities and amounts booked in (4.2.8), kept with who
    and when. The clerks get the slip to review, due by 12:00 the next local day (4.2.9)."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_tally(session, actor, return_id, lock=True)
    quantity, amount = totals(request)
    request.tallied_at, request.tallied_by_id = now, actor.id
    request.tallied_quantity, request.tallied_amount = quantity, amount
    await step_done(session, request, ReturnDeadline.TALLY, now, actor)
    record_change(
        session,
        request,
        "tallied",
        now,
        actor=actor,
        after={"quantity": quantity, "amount": f"{amount:.2f}"},
    )
    due = noon_next_day(now, timezone)
    legacy = await _open_slip_deadline(session, request)
    if legacy is None:
        open_step(session, request, rules.RETURN_SLIP, now, due=due)
    else:  # booked in before the tally was a step: its slip was due from the booking in
        due = legacy.due_at
    channels = slip_channels(await customer_has_chat(session, request))
    await notify_roles(
        session,
        [roles.MARKETING_CLERK],
        "return.slip_to_send" if "chat" in channels else "return.slip_to_send_outside",
        {**subject_params(request), "tallied_by": actor.full_name, "due_at": as_deadline(due)},
        now=now,
        buttons=[
            [
                button(
                    f"return.button.slip_{channel}",
                    SendReturnSlip(return_id=request.id, channel=channel),
                )
                for channel in channels
            ]
        ],
        dedupe_prefix=f"return:{request.id}:slip-to-send",
    )
    await notify_roles(
        session,
        [roles.MARKETING_CLERK],
        "return.slip_to_review",
        {"number": request.number},
        now=now,
        attachment={**SLIP, "params": {"id": request.id}},
        dedupe_prefix=f"return:{request.id}:slip-to-review",
    )
    await uow.commit()
    return request


async def send_slip(uow: UnitOfWork, actor: User, return_id: int, channel: str) -> ReturnRequest:
    """The clerk has reviewed the slip and sends it (4.2.9): in the chat, the bot delivers it
    to the customer's contacts; by fax or e-mail, the clerk records that it went. Either way
    the slip is archived on the record, and the deadline is met by the clerk."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, frozenset({roles.MARKETING_CLERK}))
    if channel not in SLIP_CHANNELS:
        raise InvalidInput("return.bad_slip_channel")
    request = await load_return(session, return_id)
    LIFECYCLE.require(request, *AFTER_BOOKING_IN)
    if request.slip_sent_at is not None:
        raise WrongState("return.slip_already_sent", number=request.number)
    if request.tallied_at is None:
        raise WrongState("return.not_tallied", number=request.number)
    _not_twice(request, actor, request.tallied_by_id)
    has_chat = await customer_has_chat(session, request)
    if channel not in slip_channels(has_chat):
        raise WrongState(
            "return.slip_in_chat" if has_chat else "return.no_customer_chat",
            number=request.number,
        )
    request.slip_sent_at, request.slip_sent_by_id = now, actor.id
    request.slip_channel = channel
    if request.status == ReturnStatus.SETTLED:
        LIFECYCLE.move(request, ReturnStatus.CLOSED)
    recipients = 0
    if channel == "chat":
        recipients = await tell_customer(
            session,
            request,
            "return.slip",
            {},
            now,
            attachment={**SLIP, "params": {"id": request.id}},
        )
    record_change(
        session,
        request,
        "slip_sent",
        now,
        actor=actor,
        after={"channel": channel, "recipients": recipients},
    )
    await step_done(session, request, ReturnDeadline.RETURN_SLIP, now, actor)
    if request.status == ReturnStatus.CLOSED:  # none of the return's buttons is of use now
        await settle_return_notices(session, request, actor, "slip", now)
    await uow.commit()
    return request
