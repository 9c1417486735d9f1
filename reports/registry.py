"""The report registry: every file the bot renders, by kind, registered once. A kind may be a
report a user or a schedule asks for by period (`@report`: its period type, month, quarter or
half-year, the roles that may ask for it, and a renderer that streams its rows into an XLSX
workbook in the reader's language and, where a picture says more, draws a PNG chart), a document
an outbox row or a command attaches with its parameters (`@document`), or both.

A new report is one `@report(...)` function here. `/report` and `python -m bot report` list
what is registered; the outbox's documents are rendered through `reports.documents.render`.
The front end hands in what a renderer needs (time zone, `now`, the reader's texts) as a
`DocumentContext`, so this package never imports bot/. Renderers read through the procedures'
queries and only format what they get.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from procedures import reporting
from procedures.complaints.queries import complaints_by_month_and_product, iter_ledger_rows
from procedures.complaints.rules import LEDGER_READERS, REPORT_READERS
from procedures.consumer_complaints import monthly as consumer_monthly
from procedures.consumer_complaints import queries as consumer_queries
from procedures.consumer_complaints.rules import SUMMARY_READERS
from procedures.equipment import queries as equipment_queries
from procedures.kernel import roles
from procedures.kernel.calendar import (
    half_year_periods,
    is_running,
    month_bounds,
    parse_quarter,
    period_bounds,
    quarter_bounds,
)
from procedures.kernel.queries import deadline_outcomes, on_time_rate
from procedures.people.users import names_of
from procedures.returns import monthly_statistics
from procedures.vendors import queries as vendor_queries

from . import charts
from . import complaints as complaint_reports
from . import consumer_complaints as consumer_reports
from . import returns as return_reports
from . import vendors as vendor_reports
from .cells import PAGE_FOOTER, TextFunction, layout
from .complaints import SheetWriter, prepare_for_print

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


# what a file name cannot hold on some system a reader saves it to (a record's number or a
# product's name may bring one in), and control characters
_UNSAFE_IN_FILE_NAMES = re.compile(r'[/\\:*?"<>|\x00-\x1f]')


def safe_file_name(name: str) -> str:
    """`name` with every character a file name cannot hold replaced by a dash."""
    return _UNSAFE_IN_FILE_NAMES.sub("-", name).strip(" .") or "-"


@dataclass(frozen=True)
class DocumentContext:
    """The reader's side of a rendering: the configured zone, the time, the reader's texts."""

    timezone: ZoneInfo
    now: dt.datetime
    text: TextFunction  # a text id with parameters, in the reader's language
    company: str = ""  # COMPANY_NAME, for the title rows
    pass_mark: int = 60  # VENDOR_PASS_MARK

    def label(self, key: str, /, **params: Any) -> str:
        return self.text(key, **params)

    def headed(self, title: str) -> str:
        """A title row that says whose it is: the company's name before the title."""
        return self.text("report.title_gap").join(filter(None, [self.company, title]))

    def file_name(self, key: str, extension: str, /, **params: Any) -> str:
        """A file's name in the reader's language (text `key`, a `file_name.*` text), with its
        extension: 顧客質量投訴臺帳-2026-11.xlsx, complaint-ledger-2026-11.xlsx. The one way
        every rendered file is named."""
        return f"{safe_file_name(self.text(key, **params))}.{extension}"

    def printed(self, title: str) -> str:
        """A title that says the day it was produced: a month's duty made up after downtime
        is printed days after the month it covers."""
        day = self.now.astimezone(self.timezone).date().isoformat()
        return self.text("report.printed_title", title=title, date=day)


@dataclass(frozen=True)
class RenderedDocument:
    file_name: str
    content: bytes


@dataclass(frozen=True)
class ReportFiles:
    workbook: RenderedDocument
    chart: RenderedDocument | None = None


class UnknownDocument(Exception):
    """An outbox row names a document kind nobody renders, or a record that does not exist: a bug,
    parked with this reason."""


Renderer = Callable[[AsyncSession, str, DocumentContext], Awaitable[ReportFiles]]
DocumentRenderer = Callable[
    [AsyncSession, Mapping[str, Any], DocumentContext], Awaitable[RenderedDocument]
]


@dataclass(frozen=True)
class ReportKind:
    """One kind of file: asked for by period (`by_period`, for `recipients`), attached with its
    parameters (`document`), or both."""

    kind: str
    period_type: str = ""  # month | quarter | half; "" when no one asks for it by period
    recipients: frozenset[str] = frozenset()  # who may ask for it by period
    by_period: Renderer | None = None
    document: DocumentRenderer | None = None
    # a month still running may be asked for: its figures so far make sense (a month's
    # exchanges, complaints); not for a report that judges a period as a whole
    running: bool = False

    async def render(
        self, session: AsyncSession, period: str, context: DocumentContext
    ) -> ReportFiles:
        """The report of one period: its workbook and, where it has one, its chart."""
        if self.by_period is None:
            raise UnknownDocument(f"report kind {self.kind!r} is not asked for by period")
        return await self.by_period(session, period, context)


KINDS: dict[str, ReportKind] = {}


def report(
    kind: str, period_type: str, recipients: frozenset[str], *, running: bool = False
) -> Callable[[Renderer], Renderer]:
    """Registers the decorated function as the renderer of reports of `kind` by period;
    `running`: the month still running may be asked for too."""

    def register(function: Renderer) -> Renderer:
        found = KINDS.get(kind, ReportKind(kind))
        if found.by_period is not None:
            raise ValueError(f"report kind {kind!r} is registered twice")
        KINDS[kind] = replace(
            found,
            period_type=period_type,
            recipients=recipients,
            by_period=function,
            running=running,
        )
        return function

    return register


def document(kind: str) -> Callable[[DocumentRenderer], DocumentRenderer]:
    """Registers the decorated function as the renderer of attachments of this kind."""

    def register(function: DocumentRenderer) -> DocumentRenderer:
        found = KINDS.get(kind, ReportKind(kind))
        if found.document is not None:
            raise ValueError(f"document kind {kind!r} has two renderers")
        KINDS[kind] = replace(found, document=function)
        return function

    return register


class _ByPeriod(Mapping[str, ReportKind]):
    """The kinds asked for by period, in registry order."""

    def __getitem__(self, kind: str) -> ReportKind:
        found = KINDS[kind]
        if found.by_period is None:
            raise KeyError(kind)
        return found

    def __iter__(self) -> Iterator[str]:
        return (kind for kind, found in KINDS.items() if found.by_period is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Documents(Mapping[str, DocumentRenderer]):
    """The kinds attached with parameters, and their renderers."""

    def __getitem__(self, kind: str) -> DocumentRenderer:
        renderer = KINDS[kind].document
        if renderer is None:
            raise KeyError(kind)
        return renderer

    def __iter__(self) -> Iterator[str]:
        return (kind for kind, found in KINDS.items() if found.document is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


REPORTS: Mapping[str, ReportKind] = _ByPeriod()
RENDERERS: Mapping[str, DocumentRenderer] = _Documents()


def reports_for(user_roles: frozenset[str]) -> list[ReportKind]:
    """The reports a person with these roles may ask for, in registry order."""
    return [r for r in REPORTS.values() if r.recipients & user_roles]


def _workbook(
    title: str,
    sheet_title: str,
    header: list[str],
    rows: Sequence[Sequence[object]],
    footer: str,
) -> bytes:
    workbook = Workbook(write_only=True)
    writer = SheetWriter(workbook.create_sheet(sheet_title[:31]))
    columns = layout(writer.sheet).column_dimensions
    writer.widths = [28.0 if index == 0 else 14.0 for index in range(len(header))]
    for index, width in enumerate(writer.widths):
        columns[chr(ord("A") + index)].width = width
    prepare_for_print(writer.sheet, 2, footer, writer.widths)
    writer.title(title)
    writer.header(header, wrapped=True)
    for row in rows:
        writer.row(row, wrapped=1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _printed(context: DocumentContext) -> dt.date:
    return context.now.astimezone(context.timezone).date()


def _running(context: DocumentContext, period: str) -> bool:
    """The period is still running: its figures are so far, to today."""
    return is_running(period, context.now, context.timezone)


def _period_title(context: DocumentContext, key: str, running_key: str, period: str) -> str:
    """A period's title text (`key`), or its "so far, to today" form (`running_key`) while the
    period runs."""
    if _running(context, period):
        return context.text(running_key, period=period, day=_printed(context).isoformat())
    return context.text(key, period=period)


def _title(context: DocumentContext, key: str, period: str) -> str:
    return complaint_reports.title_row(
        context.label, context.company, context.label(key), period, _printed(context)
    )


# --- P1 --------------------------------------------------------------------------------------


async def quarterly_report(
    session: AsyncSession, year: int, quarter: int, context: DocumentContext
) -> tuple[RenderedDocument, complaint_reports.QuarterFigures]:
    """The quarter's report (a draft until the quality head approved it) and its figures."""
    start, end = quarter_bounds(year, quarter, context.timezone)
    approval = await reporting.quarterly_approval(session, year, quarter)
    title = complaint_reports.title_row(
        context.label,
        context.company,
        context.text("report.quarterly_title", year=year, quarter=quarter),
        f"{year}-Q{quarter}",
        _printed(context),
    )
    buffer = io.BytesIO()
    figures = await complaint_reports.write_quarterly(
        iter_ledger_rows(session, start, end, timezone=context.timezone),
        buffer,
        context.label,
        context.timezone,
        title,
        approval,
    )
    key = "file_name.complaint_quarterly" if approval else "file_name.complaint_quarterly_draft"
    name = context.file_name(key, "xlsx", period=f"{year}-Q{quarter}")
    return RenderedDocument(name, buffer.getvalue()), figures


@document("complaint_ledger")
async def complaint_ledger_document(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """The ledger of one month (params "month": YYYY-MM), or of every complaint."""
    month = params.get("month")
    start, end = month_bounds(month, context.timezone) if month else (None, None)
    day = _printed(context).isoformat()
    title = complaint_reports.title_row(
        context.label,
        context.company,
        context.label("report.sheet.ledger"),
        month or context.label("report.all_periods"),
        _printed(context),
    )
    buffer = io.BytesIO()
    await complaint_reports.write_ledger(
        iter_ledger_rows(session, start, end, timezone=context.timezone),
        buffer,
        context.label,
        context.timezone,
        title,
    )
    name = context.file_name("file_name.complaint_ledger", "xlsx", period=month or day)
    return RenderedDocument(name, buffer.getvalue())


@report("complaint_ledger", "month", LEDGER_READERS)
async def complaint_ledger(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    return ReportFiles(await complaint_ledger_document(session, {"month": period}, context))


@document(reporting.QUARTERLY)  # the kind the quality head approves
async def complaint_quarterly_document(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    year, quarter = int(params["year"]), int(params["quarter"])
    return (await quarterly_report(session, year, quarter, context))[0]


@report(reporting.QUARTERLY, "quarter", REPORT_READERS | MANAGERS)
async def complaint_quarterly(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """The quarter's report, and a chart of its complaints per month by product."""
    quarter_of = parse_quarter(period)
    if quarter_of is None:
        raise ValueError(f"not a quarter: {period!r}")
    year, quarter = quarter_of
    workbook, _ = await quarterly_report(session, year, quarter, context)
    months = [f"{year}-{month:02d}" for month in range(3 * quarter - 2, 3 * quarter + 1)]
    # the Mini App's chart of complaints per month reads the same counts
    counted = await complaints_by_month_and_product(session, months, context.timezone)
    products = sorted({product for _, product in counted})
    series = {p: [counted[(m, p)] for m in months] for p in products}
    png = charts.stacked_bars(
        context.text("chart.complaints_by_product", period=period),
        months,
        series,
        context.label("chart.complaints"),
    )
    return ReportFiles(
        workbook,
        RenderedDocument(context.file_name("file_name.complaint_chart", "png", period=period), png),
    )


@report("deadline_on_time", "quarter", MANAGERS)
async def deadline_on_time(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """Every deadline due in the period, by kind: met on time, late, waived, still open."""
    start, end = period_bounds(period, context.timezone)
    counts = await deadline_outcomes(session, start, end)
    kinds = sorted(counts)
    names: list[str] = []
    rates = []
    table = []
    for kind in kinds:
        c = counts[kind]
        rate = on_time_rate(c)
        rates.append(rate)
        name = context.label(f"deadline.kind.{kind}")
        names.append(name)
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
    content = _workbook(
        title,
        context.label("report.kind.deadline_on_time"),
        header,
        table,
        context.label(PAGE_FOOTER),
    )
    png = charts.rate_bars(
        context.text("chart.on_time_rate", period=period),
        names,
        rates,
        context.label("chart.percent"),
    )
    return ReportFiles(
        RenderedDocument(
            context.file_name("file_name.deadline_on_time", "xlsx", period=period), content
        ),
        RenderedDocument(
            context.file_name("file_name.deadline_on_time", "png", period=period), png
        ),
    )


# --- P2 --------------------------------------------------------------------------------------


@report("exchange_ratio", "month", EXCHANGE_READERS, running=True)
async def exchange_ratio(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """The month's return and exchange statistics, and a chart of each customer's exchange
    ratio (exchanged over purchased within its contract window, at the month's end, or today
    while the month runs) against its own limit. Customers with nothing purchased or exchanged
    in their window are left off the chart (they have no ratio); the workbook lists every
    customer."""
    statistics = await monthly_statistics(
        session, period, context.timezone, now=context.now if _running(context, period) else None
    )
    title = _period_title(
        context, "document.return_stats.title", "document.return_stats.title_running", period
    )
    content = return_reports.statistics_workbook(statistics, context.label, title, context.company)
    plotted = [row for row in statistics.organisations if row.purchased or row.exchanged]
    png = charts.bars_against_limits(
        _period_title(context, "chart.exchange_ratio", "chart.exchange_ratio_running", period),
        [f"{row.code} {row.name}" for row in plotted],
        [None if row.ratio is None else float(row.ratio * 100) for row in plotted],
        [None if row.limit is None else float(row.limit * 100) for row in plotted],
        context.label("chart.percent"),
        limit_label=context.label("chart.exchange_limit"),
    )
    return ReportFiles(
        RenderedDocument(
            context.file_name("file_name.exchange_ratio", "xlsx", period=period), content
        ),
        RenderedDocument(context.file_name("file_name.exchange_ratio", "png", period=period), png),
    )


@document(consumer_monthly.DOCUMENT)
async def consumer_complaint_monthly_document(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """The month's consumer complaint summary and analysis (4.3.4), with the after-sales head's
    improvement proposals of the month before and of the month, and its hand-over (4.4)."""
    period = str(params["period"])
    start, end = month_bounds(period, context.timezone)
    complaints, first_answers = await consumer_queries.complaints_of_month(session, start, end)
    periods = [consumer_monthly.month_before(period, context.timezone), period]
    reviews = await consumer_queries.monthly_reviews(session, periods)
    title = _period_title(context, "report.monthly.title", "report.monthly.title_running", period)
    if not _running(context, period):  # a running month's title says its day already
        title = context.printed(title)
    content = consumer_reports.summary_workbook(
        complaints,
        first_answers,
        context.headed(title),
        context.label,
        context.timezone,
        reviews,
    )
    return RenderedDocument(
        context.file_name("file_name.consumer_complaint_monthly", "xlsx", period=period), content
    )


@report(consumer_monthly.DOCUMENT, "month", SUMMARY_READERS, running=True)
async def consumer_complaint_monthly(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """The summary of a chosen month, asked for at any time (so far, while the month runs)."""
    return ReportFiles(
        await consumer_complaint_monthly_document(session, {"period": period}, context)
    )


# --- P3 --------------------------------------------------------------------------------------


@document("vendor_assessment")
async def vendor_assessment(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    year, half = int(params["year"]), int(params["half"])
    periods = half_year_periods(year, half)
    scores = await vendor_queries.scores_of_periods(session, periods)
    record = await vendor_queries.assessment_of(session, year, half)
    names = {}
    if record is not None:
        people = [record.signed_by_id, *(f.added_by_id for f in record.findings)]
        names = await names_of(session, people)
    title = context.headed(context.text("document.assessment.title", year=year, half=half))
    content = vendor_reports.assessment(
        scores,
        periods,
        title,
        context.label,
        record=record,
        names=names,
        timezone=context.timezone,
        pass_mark=context.pass_mark,
    )
    return RenderedDocument(
        context.file_name("file_name.vendor_assessment", "xlsx", period=f"{year}-H{half}"), content
    )


@report("vendor_scores", "half", EQUIPMENT_READERS | {roles.MANAGEMENT_OFFICE})
async def vendor_scores(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """The half-year's assessment workbook and each vendor's monthly score over its six months,
    against the pass mark."""
    year, half = int(period[:4]), int(period[-1])
    workbook = await vendor_assessment(session, {"year": year, "half": half}, context)
    months = half_year_periods(year, half)
    scores = await vendor_queries.score_totals(session, months)
    names = await vendor_queries.vendor_names(session, list(scores))
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
    return ReportFiles(
        workbook,
        RenderedDocument(context.file_name("file_name.vendor_scores", "png", period=period), png),
    )


@report("patrol_completion", "month", EQUIPMENT_READERS)
async def patrol_completion(
    session: AsyncSession, period: str, context: DocumentContext
) -> ReportFiles:
    """Each day of the month: assets, assets patrolled, the share patrolled."""
    start, end = period_bounds(period, context.timezone)
    first = start.astimezone(context.timezone).date()
    last = (end.astimezone(context.timezone) - dt.timedelta(days=1)).date()
    today = context.now.astimezone(context.timezone).date()
    assets = await equipment_queries.asset_count(session)
    done = await equipment_queries.assets_patrolled_by_day(session, first, last)
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
    content = _workbook(
        title,
        context.label("report.kind.patrol_completion"),
        header,
        table,
        context.label(PAGE_FOOTER),
    )
    png = charts.lines(
        context.text("chart.patrol_completion", period=period),
        [f"{d:%m-%d}" for d in days],
        {context.label("chart.completion"): [None if r is None else r * 100 for r in rates]},
        context.label("chart.percent"),
    )
    return ReportFiles(
        RenderedDocument(
            context.file_name("file_name.patrol_completion", "xlsx", period=period), content
        ),
        RenderedDocument(
            context.file_name("file_name.patrol_completion", "png", period=period), png
        ),
    )
