"""P3's half-yearly vendor assessment as an XLSX workbook, with its findings and signature (the
forms, 不合格項整改單, 分承包方服務質量檢查評價表 and 合格維保單位考核評分表, are PDFs:
`reports.form_documents`); what a monthly score measures, which the score's form lists.

Every title comes from the caller's `label` function (the reader's catalogue)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from procedures.vendors.queries import Assessment, VendorScore

from .cells import (
    PAGE_FOOTER,
    TextFunction,
    active_sheet,
    append_row,
    print_workbook,
    workbook_bytes,
)

Label = TextFunction  # a text id with parameters, in the reader's language
MEASURED = (
    "defects",
    "open_defects",
    "median_response_minutes",
    "worst_response_minutes",
    "median_repair_minutes",
    "worst_repair_minutes",
    "rejected_repairs",
    "rectifications",
    "highest_rung",
    "promised_response_hours",
    "late_responses",
    "promised_repair_hours",
    "late_repairs",
    "promised_visits",
    "visits",
)


def _time(moment: dt.datetime | None, timezone: ZoneInfo) -> str:
    return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M") if moment else ""


def passes(total: float, pass_mark: int) -> bool:
    return total >= pass_mark


def assessment(
    scores: list[VendorScore],
    periods: list[str],
    title: str,
    label: Label,
    *,
    record: Assessment | None = None,
    names: dict[int, str] | None = None,
    timezone: ZoneInfo | None = None,
    pass_mark: int = 60,
) -> bytes:
    """The half-yearly comprehensive assessment: each vendor's six monthly totals and mean, then
    who signed it; on a second sheet the findings of the people concerned, vendor by vendor."""
    workbook = Workbook()
    sheet = active_sheet(workbook)
    sheet.title = label("document.assessment.sheet")[:31]
    append_row(sheet, [title])
    sheet["A1"].font = Font(bold=True, size=14)
    append_row(
        sheet,
        [
            label("document.score.vendor"),
            *periods,
            label("document.assessment.mean"),
            label("document.score.conclusion"),
            label("document.measured.defects"),
            label("document.measured.rejected_repairs"),
        ],
    )
    by_vendor: dict[str, dict[str, VendorScore]] = {}
    for score in scores:
        by_vendor.setdefault(score.vendor.name, {})[score.period] = score
    for vendor, monthly in sorted(by_vendor.items()):
        totals = [monthly[p].total if p in monthly else "" for p in periods]
        given = [t for t in totals if not isinstance(t, str)]  # "": no score that month
        mean = round(sum(given) / len(given), 1) if given else None
        verdict = (
            ""
            if mean is None
            else label("document.score.pass" if passes(mean, pass_mark) else "document.score.fail")
        )
        append_row(
            sheet,
            [
                vendor,
                *totals,
                "" if mean is None else mean,
                verdict,
                sum(s.measured.get("defects", 0) for s in monthly.values()),
                sum(s.measured.get("rejected_repairs", 0) for s in monthly.values()),
            ],
        )
    append_row(sheet, [])
    append_row(sheet, [label("document.score.pass_mark"), pass_mark])
    if record is None:
        # not signed yet: the manager signs it and reports it (匯總上報); nobody approves it
        append_row(sheet, [label("document.assessment.signed_by"), ""])
        print_workbook(workbook, label(PAGE_FOOTER))
        return workbook_bytes(workbook)
    names, zone = names or {}, timezone or ZoneInfo("UTC")
    append_row(sheet, [])
    append_row(sheet, [label("document.assessment.signed_by"), names.get(record.signed_by_id or 0)])
    append_row(sheet, [label("document.assessment.signed_at"), _time(record.signed_at, zone)])
    findings = workbook.create_sheet(label("document.assessment.findings_sheet")[:31])
    append_row(
        findings,
        [
            label("document.score.vendor"),
            label("document.assessment.finding"),
            label("document.assessment.found_by"),
            label("document.assessment.found_at"),
        ],
    )
    for finding in sorted(record.findings, key=lambda f: (f.vendor.name, f.id)):
        append_row(
            findings,
            [
                finding.vendor.name,
                finding.text,
                names.get(finding.added_by_id, ""),
                _time(finding.added_at, zone),
            ],
        )
    findings.column_dimensions["B"].width = 70
    print_workbook(workbook, label(PAGE_FOOTER))
    return workbook_bytes(workbook)
