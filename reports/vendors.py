"""P3 documents as XLSX workbooks: the written rectification notice (不合格項整改單), the service
quality evaluation form (分承包方服務質量檢查評價表), the monthly vendor score sheet
(合格維保單位考核評分表) and the half-yearly vendor assessment with its findings and signature.

Every title comes from the caller's `label` function (the reader's catalogue)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from procedures.vendors.queries import Assessment, Rectification, VendorScore

from .cells import (
    PAGE_FOOTER,
    TextFunction,
    active_sheet,
    append_row,
    fit_to_page_width,
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


def _form(title: str, fields: Sequence[tuple[Any, ...]]) -> bytes:
    """A form: a bold title, then label | value rows (a row may carry more columns)."""
    workbook = Workbook()
    sheet = active_sheet(workbook)
    sheet.title = title[:31]
    append_row(sheet, [title])
    sheet["A1"].font = Font(bold=True, size=14)
    for name, value, *more in fields:
        append_row(sheet, [name, "" if value is None else value, *more])
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 70 if sheet.max_column <= 2 else 16
    for letter, width in (("C", 10), ("D", 60)):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        row[min(len(row), 4) - 1].alignment = Alignment(wrap_text=True, vertical="top")
    fit_to_page_width(sheet)
    return workbook_bytes(workbook)


def _time(moment: dt.datetime | None, timezone: ZoneInfo) -> str:
    return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M") if moment else ""


def rectification_notice(rectification: Rectification, label: Label, timezone: ZoneInfo) -> bytes:
    """不合格項整改單: the written notice the vendor receives."""
    return _form(
        label("document.notice.title"),
        [
            (label("document.notice.number"), rectification.number),
            (label("document.notice.vendor"), rectification.vendor.name),
            (label("document.notice.issue"), rectification.description),
            (label("document.notice.raised_at"), _time(rectification.raised_at, timezone)),
            (label("document.notice.written_at"), _time(rectification.written_at, timezone)),
            (label("document.notice.due_at"), _time(rectification.due_at, timezone)),
            (label("document.notice.instruction"), label("document.notice.instruction_text")),
        ],
    )


def evaluation_form(
    rectification: Rectification, engineer: str, label: Label, timezone: ZoneInfo
) -> bytes:
    """分承包方服務質量檢查評價表: the engineer's evaluation after the ladder failed."""
    return _form(
        label("document.evaluation.title"),
        [
            (label("document.notice.number"), rectification.number),
            (label("document.notice.vendor"), rectification.vendor.name),
            (label("document.notice.issue"), rectification.description),
            (label("document.evaluation.findings"), rectification.evaluation),
            (label("document.evaluation.score"), rectification.evaluation_score),
            (label("document.evaluation.engineer"), engineer),
            (label("document.evaluation.date"), _time(rectification.evaluated_at, timezone)),
            # the seed: issued by the engineer, reviewed by the equipment manager (審核),
            # approved by the management office (審批); signed by hand on the printed form
            (label("document.evaluation.reviewed_by"), ""),
            (label("document.evaluation.reviewed_at"), _time(rectification.reviewed_at, timezone)),
            (label("document.evaluation.approved_by"), ""),
            (label("document.evaluation.approved_at"), _time(rectification.decided_at, timezone)),
        ],
    )


def _measured_value(name: str, value: Any, label: Label) -> Any:
    if value is None:
        return "-"
    if name == "highest_rung":
        return label(f"rectification.rung.{value}")
    return value


def passes(total: float, pass_mark: int) -> bool:
    return total >= pass_mark


def score_sheet(
    score: VendorScore, manager: str, label: Label, timezone: ZoneInfo, pass_mark: int = 60
) -> bytes:
    """合格維保單位考核評分表 for one vendor and month: what was measured, each judged criterion
    with its weight and standard, the total against the pass mark and its conclusion (合格 /
    不合格), remarks and who scored it. The seed has the equipment manager fill it in and no one
    approve it, so it carries no approval lines."""
    fields: list[tuple[Any, ...]] = [
        (label("document.score.vendor"), score.vendor.name),
        (label("document.score.period"), score.period),
    ]
    fields += [
        (label(f"document.measured.{name}"), _measured_value(name, score.measured.get(name), label))
        for name in MEASURED
    ]
    weight = 100 // max(len(score.judged), 1)
    fields.append(
        (
            label("document.score.criterion"),
            label("document.score.judged"),
            label("document.score.weight"),
            label("document.score.standard"),
        )
    )
    fields += [
        (
            label(f"score.criterion.{name}"),
            value,
            f"{weight}%",
            label(f"document.standard.{name}"),
        )
        for name, value in score.judged.items()
    ]
    conclusion = "document.score.pass" if passes(score.total, pass_mark) else "document.score.fail"
    rung = score.measured.get("highest_rung")
    remarks = [
        label(
            "document.score.remark_late",
            responses=score.measured.get("late_responses") or 0,
            repairs=score.measured.get("late_repairs") or 0,
        )
    ]
    if rung:
        remarks.append(label(f"rectification.rung.{rung}"))
    fields += [
        (label("document.score.total"), score.total),
        (label("document.score.pass_mark"), pass_mark),
        (label("document.score.conclusion"), label(conclusion)),
        (label("document.score.remarks"), "；".join(remarks)),
        (label("document.score.scored_by"), manager),
        (label("document.score.scored_at"), _time(score.scored_at, timezone)),
    ]
    return _form(label("document.score.title"), fields)


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
