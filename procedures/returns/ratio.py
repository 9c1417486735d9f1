"""The exchange ratio (調換率): exchanged over purchased within the organisation's contract window.

Computed, never typed: the organisation's unsalable returns still counted (this request
included) over what it was shipped, both within `exchange_window_days` of today, against its
`exchange_ratio_limit` (master data). Exactly at the limit is inside.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.calendar import local_day
from procedures.kernel.quantities import as_money
from procedures.returns.common import NOT_COUNTED
from procedures.returns.rules import ReturnReason
from storage.models import Batch, Organisation, ReturnLine, ReturnRequest, Shipment

CENT = Decimal("0.01")


@dataclass(frozen=True)
class RatioCheck:
    exchanged: Decimal  # this request included
    purchased: Decimal
    limit: Decimal | None
    window_days: int | None
    # lots of the request last shipped to the organisation before the window: past the time
    # limit (限期) whatever the ratio
    late_lots: tuple[str, ...] = ()

    @property
    def ratio(self) -> Decimal | None:
        return None if not self.purchased else self.exchanged / self.purchased

    @property
    def inside(self) -> bool:
        """Within the limit (exactly at it counts as inside); no limit or no purchases on file
        is outside: nothing allows the exchange."""
        if self.limit is None or self.window_days is None or self.ratio is None:
            return False
        return not self.late_lots and self.ratio <= self.limit

    @property
    def refusal(self) -> str | None:
        """Why it is outside, as a catalogue key's last part; None when inside."""
        if self.inside:
            return None
        if self.limit is None or self.window_days is None:
            return "no_limit"
        if not self.purchased:
            return "no_purchases"
        if self.late_lots:
            return "past_time_limit"
        return "over_limit"

    def as_params(self) -> dict[str, str]:
        ratio = self.ratio
        return {
            "exchanged": as_money(self.exchanged),
            "purchased": as_money(self.purchased),
            "ratio": "—" if ratio is None else f"{ratio * 100:.2f}%",
            "limit": "—" if self.limit is None else f"{self.limit * 100:.2f}%",
            "window_days": "—" if self.window_days is None else str(self.window_days),
        }


def window_start(now: dt.datetime, days: int, timezone: ZoneInfo) -> dt.date:
    """The first local day of a window of `days` days that ends today."""
    return local_day(now, timezone) - dt.timedelta(days=days)


def ratio_params(request: ReturnRequest) -> dict[str, str]:
    """The ratio check kept on the request, as the parameters its texts name: what
    `RatioCheck.as_params` gave when the check was made (none when no check was kept)."""
    if request.exchanged_amount is None or request.purchased_amount is None:
        return {}
    kept = RatioCheck(
        request.exchanged_amount,
        request.purchased_amount,
        request.ratio_limit,
        request.window_days,
    )
    return kept.as_params()


async def purchased_amount(
    session: AsyncSession, organisation_id: int, since: dt.date, until: dt.date
) -> Decimal:
    total = await session.scalar(
        select(func.coalesce(func.sum(Shipment.amount), 0)).where(
            Shipment.organisation_id == organisation_id,
            Shipment.shipped_on >= since,
            Shipment.shipped_on <= until,
        )
    )
    return Decimal(total or 0).quantize(CENT)


async def exchanged_amount(
    session: AsyncSession,
    organisation_id: int,
    since: dt.datetime,
    *,
    until: dt.datetime | None = None,
    excluding: int | None = None,
) -> Decimal:
    """The amount of the organisation's unsalable returns filed since `since` that still count."""
    query = (
        select(func.coalesce(func.sum(ReturnLine.amount), 0))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(
            ReturnRequest.organisation_id == organisation_id,
            ReturnRequest.reason == ReturnReason.UNSALABLE,
            ReturnRequest.status.not_in(list(NOT_COUNTED)),
            ReturnRequest.created_at >= since,
        )
    )
    if until is not None:
        query = query.where(ReturnRequest.created_at < until)
    if excluding is not None:
        query = query.where(ReturnRequest.id != excluding)
    return Decimal(await session.scalar(query) or 0).quantize(CENT)


async def check_ratio(
    session: AsyncSession,
    organisation: Organisation,
    amount: Decimal,
    now: dt.datetime,
    timezone: ZoneInfo,
    *,
    excluding: int | None = None,
    lots: Sequence[int] = (),
) -> RatioCheck:
    """The ratio the organisation would reach with `amount` more exchanged; with `lots` (the
    request's), whether each was shipped to it within the window, its time limit (限期)."""
    days = organisation.exchange_window_days
    limit = organisation.exchange_ratio_limit
    if days is None:
        return RatioCheck(amount, Decimal("0.00"), limit, None)
    first_day = window_start(now, days, timezone)
    since = dt.datetime.combine(first_day, dt.time(), timezone).astimezone(dt.UTC)
    purchased = await purchased_amount(
        session, organisation.id, first_day, local_day(now, timezone)
    )
    exchanged = await exchanged_amount(session, organisation.id, since, excluding=excluding)
    late = await lots_shipped_before(session, organisation.id, lots, first_day)
    return RatioCheck((exchanged + amount).quantize(CENT), purchased, limit, days, late)


async def lots_shipped_before(
    session: AsyncSession, organisation_id: int, lots: Sequence[int], first_day: dt.date
) -> tuple[str, ...]:
    """The numbers of the lots the organisation was last shipped before `first_day`."""
    if not lots:
        return ()
    last_shipped = (
        select(Batch.lot_number)
        .join(Shipment, Shipment.batch_id == Batch.id)
        .where(Shipment.organisation_id == organisation_id, Batch.id.in_(list(lots)))
        .group_by(Batch.id, Batch.lot_number)
        .having(func.max(Shipment.shipped_on) < first_day)
        .order_by(Batch.lot_number)
    )
    return tuple(await session.scalars(last_shipped))
