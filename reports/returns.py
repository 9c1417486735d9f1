"""P2 documents as XLSX workbooks: the transport order (退貨運輸單) the driver collects against,
the booking-in slip (退貨入庫單), the return slip (退貨單) that goes to the customer, and the
month's return and exchange statistics.

Every title comes from the caller's `label` function (the reader's catalogue)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from procedures.returns.queries import MonthlyStatistics, ReturnRequest
from procedures.returns.rules import SIGNATURE_ORDER

from .cells import TextFunction, active_sheet, append_row, workbook_bytes

Label = TextFunction  # a text id with parameters, in the reader's language


def _time(moment: dt.datetime | None, timezone: ZoneInfo) -> str:
    return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M") if moment else ""


def return_slip(request: ReturnRequest, label: Label, timezone: ZoneInfo) -> bytes:
    """The return slip: the customer, the lines with their quantities and amounts, the totals,
    what was given back (exchange or credit) and when the goods were booked in."""
    workbook = Workbook()
    sheet = active_sheet(workbook)
    title = label("document.return_slip.title")
    sheet.title = title[:31]
    append_row(sheet, [title])
    sheet["A1"].font = Font(bold=True, size=14)
    for key, value in (
        ("number", request.number),
        ("customer", f"{request.organisation.code} {request.organisation.name}"),
        ("reason", label(f"return.reason.{request.reason}")),
        ("booked_in", _time(request.booked_in_at, timezone)),
    ):
        append_row(sheet, [label(f"document.return_slip.{key}"), value])
    append_row(sheet, [])
    append_row(
        sheet,
        [
            label(f"document.return_slip.{column}")
            for column in (
                "product",
                "lot",
                "quantity",
                "unit",
                "unit_price",
                "amount",
                "replacement",
            )
        ],
    )
    for line in request.lines:
        replacement = (
            f"{line.replacement_batch.lot_number} × {line.replacement_quantity}"
            if line.replacement_batch is not None
            else ""
        )
        append_row(
            sheet,
            [
                f"{line.product.code} {line.product.name}",
                line.batch.lot_number if line.batch else "",
                line.quantity,
                line.product.unit or label("complaint.unit_generic"),
                float((line.amount / line.quantity).quantize(Decimal("0.01"))),
                float(line.amount),
                replacement,
            ],
        )
    quantity = sum(line.quantity for line in request.lines)
    amount = sum((line.amount for line in request.lines), Decimal("0.00"))
    total = [label("document.return_slip.total"), "", quantity, "", "", float(amount), ""]
    append_row(sheet, total)
    if request.credit_amount is not None:
        credit = [
            label("document.return_slip.credit"),
            "",
            "",
            "",
            "",
            float(request.credit_amount),
        ]
        append_row(sheet, credit)
    for column, width in zip("ABCDE", (34, 16, 12, 14, 22), strict=True):
        sheet.column_dimensions[column].width = width
    return workbook_bytes(workbook)


def _heading(workbook: Workbook, title: str) -> Any:
    sheet = active_sheet(workbook)
    sheet.title = title[:31]
    append_row(sheet, [title])
    sheet["A1"].font = Font(bold=True, size=14)
    return sheet


def _quantity(quantity: int, unit: str | None) -> str:
    return f"{quantity}{unit or ''}"


def transport_order(
    request: ReturnRequest, issued_by: str, label: Label, timezone: ZoneInfo
) -> bytes:
    """The transport order (4.2.5): the freight station, the customer, the goods with their
    quantities in the product's unit, who issued it and when; the driver collects against it."""
    workbook = Workbook()
    sheet = _heading(workbook, label("document.transport_order.title"))
    for field, value in (
        ("number", request.number),
        ("station", request.transport_station or ""),
        ("customer", f"{request.organisation.code} {request.organisation.name}"),
        ("issued_by", issued_by),
        ("issued_at", _time(request.order_issued_at, timezone)),
    ):
        append_row(sheet, [label(f"document.transport_order.{field}"), value])
    append_row(sheet, [])
    columns = ("product", "lot", "quantity")
    append_row(sheet, [label(f"document.transport_order.{column}") for column in columns])
    for line in request.lines:
        append_row(
            sheet,
            [
                f"{line.product.code} {line.product.name}",
                line.batch.lot_number if line.batch else "",
                _quantity(line.quantity, line.product.unit),
            ],
        )
    append_row(sheet, [])
    append_row(sheet, [label("document.transport_order.driver"), ""])
    for column, width in zip("ABC", (34, 26, 14), strict=True):
        sheet.column_dimensions[column].width = width
    return workbook_bytes(workbook)


def booking_in_slip(
    request: ReturnRequest, names: dict[int, str], label: Label, timezone: ZoneInfo
) -> bytes:
    """The booking-in slip (4.2.7-4.2.8): the lines with quantities in their unit, unit prices
    and amounts in 元, the total, the three signatures the goods were booked in against (names
    and times), and the warehouse head who booked them in."""
    workbook = Workbook()
    sheet = _heading(workbook, label("document.booking_in.title"))
    for field, value in (
        ("number", request.number),
        ("customer", f"{request.organisation.code} {request.organisation.name}"),
        ("reason", label(f"return.reason.{request.reason}")),
    ):
        append_row(sheet, [label(f"document.booking_in.{field}"), value])
    append_row(sheet, [])
    columns = ("product", "lot", "quantity", "unit_price", "amount")
    append_row(sheet, [label(f"document.booking_in.{column}") for column in columns])
    for line in request.lines:
        unit_price = (line.amount / line.quantity).quantize(Decimal("0.01"))
        append_row(
            sheet,
            [
                f"{line.product.code} {line.product.name}",
                line.batch.lot_number if line.batch else "",
                _quantity(line.quantity, line.product.unit),
                float(unit_price),
                float(line.amount),
            ],
        )
    quantity = sum(line.quantity for line in request.lines)
    amount = sum((line.amount for line in request.lines), Decimal("0.00"))
    append_row(sheet, [label("document.booking_in.total"), "", quantity, "", float(amount)])
    append_row(sheet, [])
    append_row(sheet, [label("document.booking_in.signatures")])
    signed = {signature.slot: signature for signature in request.signatures}
    for slot in SIGNATURE_ORDER:
        signature = signed.get(slot)
        append_row(
            sheet,
            [
                label(f"return.slot.{slot}"),
                names.get(signature.signed_by_id, "") if signature else "",
                _time(signature.signed_at if signature else None, timezone),
            ],
        )
    append_row(
        sheet,
        [
            label("document.booking_in.booked_in_by"),
            names.get(request.booked_in_by_id or 0, ""),
            _time(request.booked_in_at, timezone),
        ],
    )
    for column, width in zip("ABCDE", (34, 22, 18, 14, 14), strict=True):
        sheet.column_dimensions[column].width = width
    return workbook_bytes(workbook)


def statistics_workbook(statistics: MonthlyStatistics, label: Label, title: str) -> bytes:
    """The month's returns by reason, and each customer's exchange ratio against its limit."""
    workbook = Workbook()
    sheet = active_sheet(workbook)
    sheet.title = title[:31]
    append_row(sheet, [title])
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
    return workbook_bytes(workbook)
