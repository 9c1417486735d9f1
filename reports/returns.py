"""P2's statistics as an XLSX workbook: the month's returns and exchanges by reason and each
customer's exchange ratio (its forms, 退貨單 and the rest, are PDFs: `reports.form_documents`).

Every title comes from the caller's `label` function (the reader's catalogue)."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Font

from procedures.returns.queries import MonthlyStatistics

from .cells import (
    PAGE_FOOTER,
    TextFunction,
    active_sheet,
    append_row,
    print_workbook,
    workbook_bytes,
)

Label = TextFunction  # a text id with parameters, in the reader's language


def statistics_workbook(
    statistics: MonthlyStatistics, label: Label, title: str, company: str = ""
) -> bytes:
    """The month's returns by reason, and each customer's exchange ratio against its limit,
    under a title row with the company's name."""
    workbook = Workbook()
    sheet = active_sheet(workbook)
    sheet.title = title[:31]
    append_row(sheet, [label("report.title_gap").join(filter(None, [company, title]))])
    sheet["A1"].font = Font(bold=True, size=14)
    append_row(
        sheet,
        [label(f"document.return_stats.{c}") for c in ("reason", "returns", "quantity", "amount")],
    )
    for reason, (count, quantity, amount) in sorted(statistics.by_reason.items()):
        append_row(sheet, [label(f"return.reason.{reason}"), count, quantity, float(amount)])
    append_row(sheet, [label("document.return_stats.refused"), statistics.refused])
    append_row(sheet, [])
    append_row(
        sheet,
        [
            label(f"document.return_stats.{c}")
            for c in (
                "customer",
                "returns",
                "quantity",
                "amount",
                "exchanged",
                "purchased",
                "ratio",
                "limit",
                "over_limit",
            )
        ],
    )
    for row in statistics.organisations:
        append_row(
            sheet,
            [
                f"{row.code} {row.name}",
                row.returns,
                row.quantity,
                float(row.amount),
                float(row.exchanged),
                float(row.purchased),
                "" if row.ratio is None else f"{row.ratio * 100:.2f}%",
                "" if row.limit is None else f"{row.limit * 100:.2f}%",
                label("report.yes" if row.over_limit else "report.no"),
            ],
        )
    sheet.column_dimensions["A"].width = 34
    print_workbook(workbook, label(PAGE_FOOTER))
    return workbook_bytes(workbook)
