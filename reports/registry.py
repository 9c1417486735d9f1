"""The report registry: each report a user or a schedule may ask for, by kind, with its period
type (month, quarter, half-year), the roles it is for, and a renderer that streams its rows into
an XLSX workbook in the reader's language and, where a picture says more, draws a PNG chart.

A new report is one `@report(...)` function here. `/report` and `python -m bot report` list
what is registered.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.rules import LEDGER_READERS, REPORT_READERS
from procedures.kernel import roles
from procedures.kernel.calendar import half_year_periods, parse_quarter, period_bounds
from procedures.kernel.rules import outcome_of
from procedures.returns import monthly_statistics
from storage.models import Deadline, EquipmentAsset, Patrol, VendorScore

from . import charts, documents
from . import complaints as complaint_reports
from . import returns as return_reports
from .complaints import SheetWriter, prepare_for_print
from .documents import DocumentContext, RenderedDocument

MANAGERS = frozenset(
    {
        roles.QUALITY_HEAD,
        roles.AFTER_SALES_HEAD,
        roles.BUSINESS_HEAD,
        roles.COMPANY_LEADER,
        roles.EQUIPMENT_MANAGER,
        roles.EQUIPMENT_SUPERVISOR,
        roles.ADMIN,
    }
)
# finance watches each customer's exchange ratio (seed 3.8); the business head approves exchanges
EXCHANGE_READERS = frozenset(
    {
        roles.FINANCE,
        roles.BUSINESS_HEAD,
        roles.AFTER_SALES_HEAD,
        roles.COMPANY_LEADER,
        roles.ADMIN,
    }
)
EQUIPMENT_READERS = frozenset(
    {roles.EQUIPMENT_MANAGER, roles.EQUIPMENT_SUPERVISOR, roles.COMPANY_LEADER, roles.ADMIN}
)


@dataclass(frozen=True)
class ReportFiles:
    workbook: RenderedDocument
    chart: RenderedDocument | None = None


Renderer = Callable[[AsyncSession, str, DocumentContext], Awaitable[ReportFiles]]


@dataclass(frozen=True)
class ReportKind:
    kind: str
    period_type: str  # month | quarter | half
    recipients: frozenset[str]
    render: Renderer


REPORTS: dict[str, ReportKind] = {}


def report(
    kind: str, period_type: str, recipients: frozenset[str]
) -> Callable[[Renderer], Renderer]:
    """Registers the decorated function as the renderer of reports of `kind`."""

    def register(function: Renderer) -> Renderer:
        if kind in REPORTS:
            raise ValueError(f"report kind {kind!r} is registered twice")
        REPORTS[kind] = ReportKind(kind, period_type, recipients, function)
        return function

    return register


def reports_for(user_roles: frozenset[str]) -> list[ReportKind]:
    """The reports a person with these roles may ask for, in registry order."""
    return [r for r in REPORTS.values() if r.recipients & user_roles]


def _workbook(title: str, sheet_title: str, header: list[str], rows: list[list[object]]) -> bytes:
    workbook = Workbook(write_only=True)
    writer = SheetWriter(workbook.create_sheet(sheet_title[:31]))
    for index in range(len(header)):
        writer.sheet.column_dimensions[chr(ord("A") + index)].width = 28 if index == 0 else 14
    prepare_for_print(writer.sheet, header_row=2)
    writer.title(title)
    writer.header(header)
    for row in rows:
        writer.row(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _title(context: DocumentContext, key: str, period: str) -> str:
    printed = context.now.astimezone(context.timezone).date()
    return complaint_reports.title_row(
        context.label, context.company, context.label(key), period, printed
    )


# --- P1 --------------------------------------------------------------------------------------


@report("complaint_ledger", "month", LEDGER_READERS)
async def complaint_ledger(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    attachment = {"kind": "complaint_ledger", "params": {"month": period}}
    return ReportFiles(await documents.render(session, attachment, context))


@report("complaint_quarterly", "quarter", REPORT_READERS | MANAGERS)
async def complaint_quarterly(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """The quarter's report, and a chart of its complaints per month by product."""
    year, quarter = parse_quarter(period)  # type: ignore[misc]
    workbook, figures = await documents.quarterly_report(session, year, quarter, context)
    months = [f"{year}-{month:02d}" for month in range(3 * quarter - 2, 3 * quarter + 1)]
    products = sorted({product for _, product in figures.by_month_product})
    series = {p: [figures.by_month_product[(m, p)] for m in months] for p in products}
    png = charts.stacked_bars(
        context.text("chart.complaints_by_product", period=period),
        months,
        series,
        context.label("chart.complaints"),
    )
    return ReportFiles(workbook, RenderedDocument(f"complaints-{period}.png", png))


@report("deadline_on_time", "quarter", MANAGERS)
async def deadline_on_time(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """Every deadline due in the period, by kind: met on time, late, waived, still open."""
    start, end = period_bounds(period, context.timezone)
    counts: dict[str, Counter[str]] = {}
    rows = await session.execute(
        select(Deadline.kind, Deadline.met_at.is_not(None), Deadline.met_late, Deadline.closed_as)
        .add_columns(func.count())
        .where(Deadline.due_at >= start, Deadline.due_at < end)
        .group_by(
            Deadline.kind, Deadline.met_at.is_not(None), Deadline.met_late, Deadline.closed_as
        )
    )
    for kind, met, late, closed_as, count in rows:
        counts.setdefault(kind, Counter())[outcome_of(met, late, closed_as).value] += count
    kinds = sorted(counts)
    rates = []
    table = []
    for kind in kinds:
        c = counts[kind]
        decided = c["on_time"] + c["late"]
        rate = c["on_time"] / decided if decided else None
        rates.append(rate)
        name = context.label(f"deadline.kind.{kind}")
        table.append(
            [
                name,
                c["on_time"],
                c["late"],
                c["waived"],
                c["open"],
                "-" if rate is None else round(rate, 4),
            ]
        )
    header = [
        context.label("report.analysis.deadline_kind"),
        context.label("report.analysis.on_time_count"),
        context.label("report.analysis.late"),
        context.label("report.analysis.waived"),
        context.label("report.analysis.open"),
        context.label("report.analysis.rate"),
    ]
    title = _title(context, "report.kind.deadline_on_time", period)
    content = _workbook(title, context.label("report.kind.deadline_on_time"), header, table)
    png = charts.rate_bars(
        context.text("chart.on_time_rate", period=period),
        [row[0] for row in table],
        rates,
        context.label("chart.percent"),
    )
    return ReportFiles(
        RenderedDocument(f"deadlines-{period}.xlsx", content),
        RenderedDocument(f"deadlines-{period}.png", png),
    )


# --- P2 --------------------------------------------------------------------------------------


@report("exchange_ratio", "month", EXCHANGE_READERS)
async def exchange_ratio(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """The month's return and exchange statistics, and a chart of each customer's exchange
    ratio (exchanged over purchased within its contract window, at the month's end) against its
    own limit. Customers with nothing purchased or exchanged in their window are left off the
    chart (they have no ratio); the workbook lists every customer."""
    statistics = await monthly_statistics(session, period, context.timezone)
    title = context.text("document.return_stats.title", period=period)
    content = return_reports.statistics_workbook(statistics, context.label, title)
    plotted = [row for row in statistics.organisations if row.purchased or row.exchanged]
    png = charts.bars_against_limits(
        context.text("chart.exchange_ratio", period=period),
        [f"{row.code} {row.name}" for row in plotted],
        [None if row.ratio is None else float(row.ratio * 100) for row in plotted],
        [None if row.limit is None else float(row.limit * 100) for row in plotted],
        context.label("chart.percent"),
        limit_label=context.label("chart.exchange_limit"),
    )
    return ReportFiles(
        RenderedDocument(f"exchange-ratio-{period}.xlsx", content),
        RenderedDocument(f"exchange-ratio-{period}.png", png),
    )


# --- P3 --------------------------------------------------------------------------------------


@report("vendor_scores", "half", EQUIPMENT_READERS | {roles.MANAGEMENT_OFFICE})
async def vendor_scores(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """The half-year's assessment workbook and each vendor's monthly score over its six months,
    against the pass mark."""
    year, half = int(period[:4]), int(period[-1])
    attachment = {"kind": "vendor_assessment", "params": {"year": year, "half": half}}
    workbook = await documents.render(session, attachment, context)
    months = half_year_periods(year, half)
    scores: dict[str, dict[str, int]] = {}
    for name, month, total in await session.execute(
        select(VendorScore.vendor_id, VendorScore.period, VendorScore.total).where(
            VendorScore.period.in_(months)
        )
    ):
        scores.setdefault(name, {})[month] = total
    names = await documents.vendor_names(session, list(scores))
    series = {
        names[vendor]: [monthly.get(m) for m in months]
        for vendor, monthly in sorted(scores.items(), key=lambda item: names[item[0]])
    }
    png = charts.lines(
        context.text("chart.vendor_scores", period=period),
        months,
        series,
        context.label("chart.score"),
        limit=context.pass_mark,
        limit_label=context.label("chart.pass_mark"),
    )
    return ReportFiles(workbook, RenderedDocument(f"vendor-scores-{period}.png", png))


@report("patrol_completion", "month", EQUIPMENT_READERS)
async def patrol_completion(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """Each day of the month: assets, assets patrolled, the share patrolled."""
    start, end = period_bounds(period, context.timezone)
    first = start.astimezone(context.timezone).date()
    last = (end.astimezone(context.timezone) - dt.timedelta(days=1)).date()
    today = context.now.astimezone(context.timezone).date()
    assets = await session.scalar(select(func.count()).select_from(EquipmentAsset)) or 0
    done = dict(
        (
            await session.execute(
                select(Patrol.patrol_date, func.count(func.distinct(Patrol.asset_id)))
                .where(Patrol.patrol_date >= first, Patrol.patrol_date <= last)
                .group_by(Patrol.patrol_date)
            )
        ).all()
    )
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    days = [d for d in days if d <= today]
    rates = [done.get(d, 0) / assets if assets else None for d in days]
    table = [
        [d, assets, done.get(d, 0), "-" if r is None else round(r, 4)]
        for d, r in zip(days, rates, strict=True)
    ]
    header = [
        context.label("report.column.day"),
        context.label("report.column.assets"),
        context.label("report.column.patrolled"),
        context.label("report.analysis.rate"),
    ]
    title = _title(context, "report.kind.patrol_completion", period)
    content = _workbook(title, context.label("report.kind.patrol_completion"), header, table)
    png = charts.lines(
        context.text("chart.patrol_completion", period=period),
        [f"{d:%m-%d}" for d in days],
        {context.label("chart.completion"): [None if r is None else r * 100 for r in rates]},
        context.label("chart.percent"),
    )
    return ReportFiles(
        RenderedDocument(f"patrols-{period}.xlsx", content),
        RenderedDocument(f"patrols-{period}.png", png),
    )
