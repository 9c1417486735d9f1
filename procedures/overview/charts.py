"""The overview's charts as figures: the twelve months up to now, read through the functions the
reports read (so a chart and its report cannot disagree), with no words of their own. A month,
a text id or a name as stored stands for each word; the front end puts them in the reader's
language."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.queries import complaints_by_month_and_product
from procedures.equipment.queries import defects_reported, repair_minutes
from procedures.kernel.calendar import month_bounds, recent_periods
from procedures.kernel.queries import deadline_outcomes, on_time_rate
from procedures.returns import queries as return_queries
from procedures.returns.rules import ReturnReason
from procedures.vendors.queries import score_totals, vendor_names

MONTHS: Final = 12
# the products with most complaints each get a series; the rest are counted together, so the
# chart stays readable with a long product list
TOP_PRODUCTS: Final = 5

# the charts, in the order the overview shows them
COMPLAINTS_BY_PRODUCT: Final = "complaints_by_product"
ON_TIME_BY_KIND: Final = "on_time_by_kind"
RETURNS_BY_REASON: Final = "returns_by_reason"
EXCHANGE_RATIO: Final = "exchange_ratio"
DEFECTS_BY_VENDOR: Final = "defects_by_vendor"
REPAIR_TIME_BY_VENDOR: Final = "repair_time_by_vendor"
VENDOR_SCORES: Final = "vendor_scores"
CHARTS: Final = (
    COMPLAINTS_BY_PRODUCT,
    ON_TIME_BY_KIND,
    RETURNS_BY_REASON,
    EXCHANGE_RATIO,
    DEFECTS_BY_VENDOR,
    REPAIR_TIME_BY_VENDOR,
    VENDOR_SCORES,
)


@dataclass(frozen=True)
class Word:
    """A word of a chart: a month ("month", YYYY-MM), a text id ("text") or a name as stored
    ("name": a product, a customer, a vendor)."""

    kind: Literal["month", "text", "name"]
    value: str


def month(value: str) -> Word:
    return Word("month", value)


def text(value: str) -> Word:
    return Word("text", value)


def name(value: str) -> Word:
    return Word("name", value)


@dataclass(frozen=True)
class Series:
    name: Word
    values: list[float | None]


@dataclass(frozen=True)
class ChartFigures:
    """One chart's figures. `limit`: one line across every category (the pass mark, a limit all
    customers share); `limits`: each category's own, where they differ."""

    key: str
    kind: Literal["bar", "line"]
    categories: list[Word]
    series: list[Series]
    limit: float | None = None
    limits: tuple[tuple[Word, float], ...] = ()


@dataclass(frozen=True)
class Span:
    """The months a chart covers, oldest first, and the moment they count to."""

    months: list[str]
    timezone: ZoneInfo
    now: dt.datetime

    @property
    def start(self) -> dt.datetime:
        return month_bounds(self.months[0], self.timezone)[0]

    @property
    def end(self) -> dt.datetime:
        return month_bounds(self.months[-1], self.timezone)[1]


def twelve_months(now: dt.datetime, timezone: ZoneInfo) -> Span:
    """The twelve months up to `now`'s, in the zone: the month still running last."""
    months = recent_periods("month", now, timezone, MONTHS, running=True)
    return Span(list(reversed(months)), timezone, now)


def _percent(share: float | None, digits: int = 1) -> float | None:
    return None if share is None else round(share * 100, digits)


async def complaints_by_product(session: AsyncSession, span: Span) -> ChartFigures:
    """The complaints received each month, a series per product (the quarterly report's
    counts), the products past the first few together as one."""
    counted = await complaints_by_month_and_product(session, span.months, span.timezone)
    totals: Counter[str] = Counter()
    for (_, product), count in counted.items():
        totals[product] += count
    ranked = sorted(totals, key=lambda product: (-totals[product], product))
    # "other" standing for a single product would hide its name for nothing
    shown = ranked if len(ranked) <= TOP_PRODUCTS + 1 else ranked[:TOP_PRODUCTS]
    rest = ranked[len(shown) :]
    series = [
        Series(name(product), [counted[(m, product)] for m in span.months]) for product in shown
    ]
    if rest:
        others = [sum(counted[(m, product)] for product in rest) for m in span.months]
        series.append(Series(text("miniapp.chart.other"), list(others)))
    return ChartFigures(COMPLAINTS_BY_PRODUCT, "bar", [month(m) for m in span.months], series)


async def on_time_by_kind(session: AsyncSession, span: Span) -> ChartFigures:
    """Each kind of deadline due in the months: the share met on time among those met (the
    deadline report's rate), as a percentage; none while none was met."""
    counts = await deadline_outcomes(session, span.start, span.end)
    kinds = sorted(counts)
    return ChartFigures(
        ON_TIME_BY_KIND,
        "bar",
        [text(f"deadline.kind.{kind}") for kind in kinds],
        [
            Series(
                text("miniapp.chart.series.on_time"),
                [_percent(on_time_rate(counts[kind])) for kind in kinds],
            )
        ],
    )


async def returns_by_reason(session: AsyncSession, span: Span) -> ChartFigures:
    """The returns booked in each month, a series per reason (the month's statistics)."""
    by_month = {
        m: await return_queries.returns_by_reason(session, m, span.timezone) for m in span.months
    }
    found = {reason for reasons in by_month.values() for reason in reasons}
    reasons = [*ReturnReason, *sorted(found - set(ReturnReason))]
    series = [
        Series(
            text(f"return.reason.{reason}"),
            [by_month[m][reason][0] if reason in by_month[m] else 0 for m in span.months],
        )
        for reason in reasons
    ]
    return ChartFigures(RETURNS_BY_REASON, "bar", [month(m) for m in span.months], series)


async def exchange_ratios(session: AsyncSession, span: Span) -> ChartFigures:
    """Each customer's exchange ratio as it stands now (the running month's exchange-ratio
    report), as a percentage, against its own limit. Customers with nothing purchased or
    exchanged in their window have no ratio and are left off, as the report's chart leaves
    them."""
    figures = await return_queries.monthly_statistics(
        session, span.months[-1], span.timezone, now=span.now
    )
    plotted = [row for row in figures.organisations if row.purchased or row.exchanged]
    categories = [name(f"{row.code} {row.name}") for row in plotted]
    ratios = [None if row.ratio is None else float(round(row.ratio * 100, 2)) for row in plotted]
    limits = tuple(
        (category, float(round(row.limit * 100, 2)))
        for category, row in zip(categories, plotted, strict=True)
        if row.limit is not None
    )
    shared = {limit for _, limit in limits}
    one_limit = len(shared) == 1 and len(limits) == len(plotted)
    return ChartFigures(
        EXCHANGE_RATIO,
        "bar",
        categories,
        [Series(text("miniapp.chart.series.exchange_ratio"), list(ratios))],
        limit=shared.pop() if one_limit else None,
        limits=() if one_limit else limits,
    )


async def defects_and_repairs(
    session: AsyncSession, span: Span
) -> tuple[ChartFigures, ChartFigures]:
    """Each vendor's defects reported in the months, and the mean time its repairs took (from
    the report to the repair, in hours; as the score sheets measure each repair)."""
    defects = await defects_reported(session, span.start, span.end)
    counts: Counter[int] = Counter()
    repairs: dict[int, list[int]] = {}
    for defect in defects:
        vendor = defect.vendor_id
        if vendor is None:  # none is read: every defect read is against a vendor
            continue
        counts[vendor] += 1
        minutes = repair_minutes(defect)
        if minutes is not None:
            repairs.setdefault(vendor, []).append(minutes)
    names = await vendor_names(session, list(counts))
    vendors = sorted(counts, key=lambda vendor: names[vendor])
    categories = [name(names[vendor]) for vendor in vendors]
    mean_hours = [
        round(statistics.mean(repairs[v]) / 60, 1) if v in repairs else None for v in vendors
    ]
    return (
        ChartFigures(
            DEFECTS_BY_VENDOR,
            "bar",
            categories,
            [Series(text("miniapp.chart.series.defects"), [counts[v] for v in vendors])],
        ),
        ChartFigures(
            REPAIR_TIME_BY_VENDOR,
            "bar",
            list(categories),
            [Series(text("miniapp.chart.series.repair_time"), list(mean_hours))],
        ),
    )


async def vendor_scores(session: AsyncSession, span: Span, pass_mark: int) -> ChartFigures:
    """Each vendor's monthly score (the half-year report's line chart, over twelve months),
    against the pass mark; a month not scored (yet) is a gap."""
    totals = await score_totals(session, span.months)
    names = await vendor_names(session, list(totals))
    vendors = sorted(totals, key=lambda vendor: names[vendor])
    series = [Series(name(names[v]), [totals[v].get(m) for m in span.months]) for v in vendors]
    return ChartFigures(
        VENDOR_SCORES, "line", [month(m) for m in span.months], series, limit=pass_mark
    )


async def chart_figures(
    session: AsyncSession,
    keys: Iterable[str],
    *,
    now: dt.datetime,
    timezone: ZoneInfo,
    pass_mark: int,
) -> list[ChartFigures]:
    """The figures of the charts named, in the overview's order, over the twelve months up to
    `now`; a chart nobody asked for is not read."""
    wanted = set(keys)
    span = twelve_months(now, timezone)
    found: list[ChartFigures] = []
    if COMPLAINTS_BY_PRODUCT in wanted:
        found.append(await complaints_by_product(session, span))
    if ON_TIME_BY_KIND in wanted:
        found.append(await on_time_by_kind(session, span))
    if RETURNS_BY_REASON in wanted:
        found.append(await returns_by_reason(session, span))
    if EXCHANGE_RATIO in wanted:
        found.append(await exchange_ratios(session, span))
    if wanted & {DEFECTS_BY_VENDOR, REPAIR_TIME_BY_VENDOR}:  # read together
        found.extend(await defects_and_repairs(session, span))
    if VENDOR_SCORES in wanted:
        found.append(await vendor_scores(session, span, pass_mark))
    return [figures for figures in found if figures.key in wanted]
