"""P1 records as files: the complaint ledger (顧客質量投訴臺帳) and the quarterly complaint
report (顧客投訴查詢商品質量記錄表), as XLSX workbooks an inspector can print.

Rows are read a page at a time and streamed into write-only worksheets, so a quarter of any size
is rendered in bounded memory. Column titles and sheet names come from the caller's `label`
function (the message catalogue in the reader's language): this module holds no user-facing text.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from procedures.complaints.queries import LedgerRow
from procedures.kernel.queries import on_time_rate
from procedures.reporting import Approval

from .cells import (
    PAGE_FOOTER,
    TextFunction,
    discarded_on_error,
    display_width,
    layout,
    print_columns,
    print_on_a4,
    row_height,
    text_cell,
)

Label = TextFunction  # a text id with parameters, in the reader's language

# what a reader needs on paper comes first, and only these columns are printed (A4 landscape,
# each character at least 8 pt): number, dates, customer, product and lot, problem, result,
# opinion, handler, reviewer, with their printed widths (in characters of the default font)
PRINTED_COLUMNS = {
    "serial": 4,
    "number": 13,
    "received_at": 16,
    "organisation": 11,
    "product": 13,
    "lot": 11,
    "description": 18,
    "result": 8,
    "disposition": 18,
    "closed_at": 16,
    "handled_by": 8,
    "reviewed_by": 8,
}
# the rest of the ledger: in the workbook, outside the print area
DETAIL_COLUMNS = (
    "locality",
    "buyer_contact",
    "specification",
    "manufacturer",
    "supplier",
    "registration_number",
    "expiry_date",
    "quantity",
    "shipment_on_file",
    "channel",
    "received_as",
    "complainant",
    "status",
    "verified_at",
    "on_site",
    "visit_waived",
    "verification_on_time",
    "disposition_at",
    "opinion_on_time",
    "corrective_action",
    "adverse_event",
    "supplier_answer_at",
    "return_number",
    "handoff_at",
    "handoff_outcome",
    "follow_up",
    "handling_on_time",
    "remarks",
)
LEDGER_COLUMNS = (*PRINTED_COLUMNS, *DETAIL_COLUMNS)
RECEIVED_AS_NAMES = {
    "complaint": "report.received_as.complaint",
    "inquiry": "report.received_as.inquiry",
    "judged": "report.received_as.judged",
}
# widths of the detail columns in characters of a CJK-wide font; one not named here fits its title
WIDTHS = {
    "buyer_contact": 22,
    "specification": 22,
    "manufacturer": 26,
    "supplier": 24,
    "registration_number": 22,
    "expiry_date": 12,
    "complainant": 20,
    "verified_at": 17,
    "disposition_at": 17,
    "corrective_action": 30,
    "supplier_answer_at": 17,
    "handoff_at": 17,
    "follow_up": 30,
    "remarks": 30,
}
DATE_TIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
# the deadlines a complaint runs, in the order the quarterly report lists their on-time rates
DEADLINE_KINDS = ("on_site_verification", "disposition_opinion", "handling_complete")


# --- writing ---------------------------------------------------------------------------------


def _local(moment: dt.datetime, timezone: ZoneInfo) -> dt.datetime:
    # a spreadsheet date cell has no zone: the configured zone's wall time, as the reader reads it
    return moment.astimezone(timezone).replace(tzinfo=None)


@dataclass
class SheetWriter:
    """A write-only worksheet and the styled cells it is written with."""

    sheet: WriteOnlyWorksheet
    bold: Font = field(default_factory=lambda: Font(bold=True))
    title_font: Font = field(default_factory=lambda: Font(bold=True, size=14))
    wrap: Alignment = field(default_factory=lambda: Alignment(wrap_text=True, vertical="top"))
    rows: int = 0  # written so far, for the print area
    widths: list[float] = field(default_factory=list)  # of the columns, for wrapped rows' height

    def cell(
        self, value: Any, *, font: Font | None = None, number_format: str | None = None
    ) -> Cell:
        cell = WriteOnlyCell(self.sheet, value=value)
        if font is not None:
            cell.font = font
        if number_format is not None:
            cell.number_format = number_format
        return cell

    def append(self, cells: list[Any]) -> None:
        self.sheet.append(cells)
        self.rows += 1

    def title(self, text: str) -> None:
        self.append([text_cell(self.sheet, text, self.title_font)])

    def header(self, titles: Iterable[str], *, wrapped: bool = False) -> None:
        titles = list(titles)
        cells = [text_cell(self.sheet, t, self.bold) for t in titles]
        for cell in cells if wrapped else ():
            cell.alignment = self.wrap
        if wrapped:
            self._fit_height(titles)
        self.append(cells)

    def _fit_height(self, values: list[Any]) -> None:
        """The row about to be written is as high as its longest wrapped text needs."""
        height = row_height(
            (value, width)
            for value, width in zip(values, self.widths, strict=False)
            if isinstance(value, str)
        )
        if height is not None:
            layout(self.sheet).row_dimensions[self.rows + 1].height = height

    def row(self, values: Iterable[Any], *, wrapped: int = 0) -> None:
        """A row of values; the first `wrapped` columns wrap their text onto more lines."""
        values = list(values)
        cells = [self.value(v) for v in values]
        for index, cell in enumerate(cells[:wrapped]):
            if cell is not None and not isinstance(cell, Cell):
                cell = cells[index] = self.cell(cell)
            if cell is not None:
                cell.alignment = self.wrap  # wrapped, and every cell of the row at its top
        if wrapped:
            self._fit_height(values[:wrapped])
        self.append(cells)

    def value(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return text_cell(self.sheet, value)
        if isinstance(value, dt.datetime):
            return self.cell(value, number_format=DATE_TIME_FORMAT)
        if isinstance(value, dt.date):
            return self.cell(value, number_format=DATE_FORMAT)
        return value


def prepare_for_print(
    sheet: WriteOnlyWorksheet, header_row: int, footer: str, widths: list[float]
) -> None:
    """Landscape A4 at the scale that fits the columns (`widths`) to the page's width, the
    title and header rows repeated on every page, the page numbers in the footer (`footer`, in
    the reader's language)."""
    print_on_a4(sheet, footer, repeat_rows=header_row, widths=widths)
    sheet.freeze_panes = f"A{header_row + 1}"


def _ledger_value(row: LedgerRow, column: str, label: Label, timezone: ZoneInfo) -> Any:
    value = getattr(row, column)
    if value is None or value == "" or value == ():
        return None
    if isinstance(value, dt.datetime):
        return _local(value, timezone)
    if isinstance(value, bool):
        return label("report.yes" if value else "report.no")
    if column in ("status", "result"):
        return label(f"complaint.status.{value}")
    if column == "channel":
        return label(f"complaint.channel.{value}")
    if column == "received_as":
        return label(RECEIVED_AS_NAMES[value])
    if column == "locality":
        return label(f"report.locality.{value}")
    if column == "handoff_outcome":
        return label(f"complaint.handoff_outcome.{value}")
    if column == "remarks":
        return "\n".join(
            f"{_local(at, timezone):%Y-%m-%d %H:%M} "
            + label(f"report.remark.{action}", reason=reason)
            for action, reason, at in value
        )
    if column == "follow_up":
        text_key, at = value
        return f"{_local(at, timezone):%Y-%m-%d %H:%M} {label(f'{text_key}_name')}"
    return value


class LedgerSheet:
    """The ledger's columns on one worksheet: a title row, the header, then a row a complaint."""

    def __init__(
        self, workbook: Workbook, sheet_title: str, title: str, label: Label, timezone: ZoneInfo
    ) -> None:
        self.writer = SheetWriter(workbook.create_sheet(sheet_title[:31]))
        self.label, self.timezone = label, timezone
        titles = [label(f"report.column.{c}") for c in LEDGER_COLUMNS]
        sheet = self.writer.sheet
        columns = layout(sheet).column_dimensions
        for index, (column, heading) in enumerate(zip(LEDGER_COLUMNS, titles, strict=True), 1):
            width = PRINTED_COLUMNS.get(column) or max(
                WIDTHS.get(column, 0), display_width(heading) + 2
            )
            columns[get_column_letter(index)].width = width
            self.writer.widths.append(width)
        # the printed columns at the scale that fits them to the page's width
        prepare_for_print(sheet, 2, label(PAGE_FOOTER), self.writer.widths[: len(PRINTED_COLUMNS)])
        self.writer.title(title)
        self.writer.header(titles, wrapped=True)

    def add(self, row: LedgerRow) -> None:
        values = [_ledger_value(row, c, self.label, self.timezone) for c in LEDGER_COLUMNS]
        self.writer.row(values, wrapped=len(PRINTED_COLUMNS))

    def close(self) -> None:
        """Prints the columns a reader needs on paper; the detail columns stay on screen."""
        print_columns(self.writer.sheet, len(PRINTED_COLUMNS), self.writer.rows)


def title_row(label: Label, company: str, title: str, period: str, printed: dt.date) -> str:
    """The first row of a printed ledger: whose it is, what, for when, printed when, with the
    reader's language's marks (康華醫藥　顧客質量投訴臺帳　期間：2026-11, Kanghua · Complaint
    ledger · Period: 2026-11)."""
    period_part = label("report.labelled", label=label("report.period"), value=period)
    printed_part = label(
        "report.labelled", label=label("report.printed_on"), value=printed.isoformat()
    )
    parts = [company, title, period_part if period else "", printed_part]
    return label("report.title_gap").join(filter(None, parts))


async def write_ledger(
    rows: AsyncIterator[LedgerRow] | Iterable[LedgerRow],
    out: IO[bytes] | str,
    label: Label,
    timezone: ZoneInfo,
    title: str,
) -> int:
    """顧客質量投訴臺帳: every complaint of the period, one row each; returns the count. An
    inquiry quality has not judged a quality complaint is not one (it is in the quarter's
    record, 顧客投訴查詢商品質量記錄表)."""
    workbook = Workbook(write_only=True)
    with discarded_on_error(workbook):
        ledger = LedgerSheet(workbook, label("report.sheet.ledger"), title, label, timezone)
        count = 0
        async for row in _aiter(rows):
            if row.received_as == "inquiry":
                continue
            count += 1
            ledger.add(replace(row, serial=count))
        ledger.close()
        workbook.save(out)
    return count


async def _aiter(rows: AsyncIterator[LedgerRow] | Iterable[LedgerRow]) -> AsyncIterator[LedgerRow]:
    if hasattr(rows, "__aiter__"):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


@dataclass
class QuarterFigures:
    """What the quarterly report counts, gathered while its complaints are streamed out."""

    rows: int = 0
    inquiries: int = 0
    inquiries_answered: int = 0
    inquiries_judged: int = 0
    units: int = 0
    localities: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)
    waived: int = 0
    not_on_file: int = 0
    adverse_events: int = 0
    by_product_lot: Counter[tuple[str, str]] = field(default_factory=Counter)
    nonconforming_by_lot: Counter[tuple[str, str]] = field(default_factory=Counter)
    deadlines: dict[str, Counter[str]] = field(default_factory=dict)
    holds: Counter[str] = field(default_factory=Counter)
    returns: int = 0

    def add(self, row: LedgerRow) -> None:
        """A complaint counts in every figure; an inquiry (查詢, 情況反映) only as one."""
        if row.received_as == "inquiry":
            self.inquiries += 1
            self.inquiries_answered += row.status == "answered"
            return
        self.inquiries_judged += row.received_as == "judged"
        self.rows += 1
        self.units += row.quantity
        self.localities[row.locality] += 1
        self.results[row.result or "pending"] += 1
        self.waived += row.visit_waived
        self.not_on_file += not row.shipment_on_file
        self.adverse_events += row.adverse_event
        self.by_product_lot[(row.product, row.lot)] += 1
        if row.result == "nonconforming":
            self.nonconforming_by_lot[(row.product, row.lot)] += 1
        for kind, outcome in row.deadlines.items():
            self.deadlines.setdefault(kind, Counter())[outcome] += 1
        if row.hold is not None:
            self.holds[row.hold] += 1
        self.returns += row.return_number is not None

    def on_time_rate(self, kind: str) -> float | None:
        return on_time_rate(self.deadlines.get(kind, Counter()))


def _rate(writer: SheetWriter, value: float | None) -> Any:
    """A rate as a percentage cell; "-" where nothing was decided yet."""
    return "-" if value is None else writer.cell(value, number_format="0.0%")


async def write_quarterly(
    rows: AsyncIterator[LedgerRow] | Iterable[LedgerRow],
    out: IO[bytes] | str,
    label: Label,
    timezone: ZoneInfo,
    title: str,
    approval: Approval | None = None,
) -> QuarterFigures:
    """顧客投訴查詢商品質量記錄表: the quarter's figures and analysis, the quality head's
    conclusion (a draft until there is one), then every complaint, inquiry and feedback of the
    quarter."""
    workbook = Workbook(write_only=True)
    with discarded_on_error(workbook):
        summary = SheetWriter(workbook.create_sheet(label("report.sheet.summary")[:31]))
        columns = layout(summary.sheet).column_dimensions
        columns["A"].width = 40
        for letter in "BCDEF":
            columns[letter].width = 16
        prepare_for_print(summary.sheet, 1, label(PAGE_FOOTER), [40, *[16] * 5])
        summary.sheet.freeze_panes = None
        ledger = LedgerSheet(workbook, label("report.sheet.complaints"), title, label, timezone)
        figures = QuarterFigures()
        async for row in _aiter(rows):
            ledger.add(row)
            figures.add(row)
        ledger.close()

        def on_time(kind: str) -> str:
            counts = figures.deadlines.get(kind, Counter())
            return f"{counts['on_time']}/{counts['on_time'] + counts['late']}"

        summary.title(title)
        state = "report.final" if approval else "report.draft"
        summary.row([label("report.state"), label(state)])
        for key, value in [
            ("report.figure.total", figures.rows),
            ("report.figure.local", figures.localities["local"]),
            ("report.figure.out_of_town", figures.localities["out_of_town"]),
            ("report.figure.locality_unknown", figures.localities["unknown"]),
            ("report.figure.conforming", figures.results["conforming"]),
            ("report.figure.nonconforming", figures.results["nonconforming"]),
            ("report.figure.pending", figures.results["pending"]),
            ("report.figure.verification_on_time", on_time("on_site_verification")),
            ("report.figure.visits_waived", figures.waived),
            ("report.figure.handling_on_time", on_time("handling_complete")),
            ("report.figure.not_on_file", figures.not_on_file),
            ("report.figure.opinion_on_time", on_time("disposition_opinion")),
            ("report.figure.adverse_events", figures.adverse_events),
            ("report.figure.units", figures.units),
            ("report.figure.inquiries", figures.inquiries),
            ("report.figure.inquiries_answered", figures.inquiries_answered),
            ("report.figure.inquiries_judged", figures.inquiries_judged),
        ]:
            summary.row([label(key), value])

        summary.row([])
        summary.header([label("report.analysis.by_lot")])
        summary.header(
            [
                label("report.column.product"),
                label("report.column.lot"),
                label("report.figure.total"),
                label("report.figure.nonconforming"),
            ]
        )
        for (product, lot), count in sorted(figures.by_product_lot.items()):
            summary.row([product, lot, count, figures.nonconforming_by_lot[(product, lot)]])

        summary.row([])
        summary.header([label("report.analysis.on_time")])
        summary.header(
            [
                label("report.analysis.deadline_kind"),
                label("report.analysis.on_time_count"),
                label("report.analysis.late"),
                label("report.analysis.waived"),
                label("report.analysis.open"),
                label("report.analysis.rate"),
            ]
        )
        for kind in DEADLINE_KINDS:
            counts = figures.deadlines.get(kind, Counter())
            summary.row(
                [
                    label(f"deadline.kind.{kind}"),
                    counts["on_time"],
                    counts["late"],
                    counts["waived"],
                    counts["open"],
                    _rate(summary, figures.on_time_rate(kind)),
                ]
            )

        summary.row([])
        summary.header([label("report.analysis.holds_and_returns")])
        summary.row(
            [label("report.analysis.lots_held"), figures.holds["held"] + figures.holds["lifted"]]
        )
        summary.row([label("report.analysis.lots_released"), figures.holds["lifted"]])
        summary.row([label("report.analysis.lots_still_held"), figures.holds["held"]])
        summary.row([label("report.analysis.returns_started"), figures.returns])

        summary.row([])
        summary.header([label("report.conclusion")])
        if approval is None:
            summary.row([label("report.conclusion_pending")])
        else:
            summary.row([approval.conclusion])
            summary.row([label("report.approved_by"), approval.approved_by])
            summary.row([label("report.approved_at"), _local(approval.approved_at, timezone)])
        workbook.save(out)
    return figures
