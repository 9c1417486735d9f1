"""P2 records as files: the month's consumer complaint summary and analysis (4.3.4), and each
person's monthly record (獎罰辦法), as XLSX workbooks.

Titles, column names and values come from the caller's `label` function (the reader's
catalogue), so this module holds no user-facing text.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from procedures.consumer_complaints.common import CAUSES, REMEDIES, Verdict
from procedures.consumer_complaints.queries import ConsumerComplaint, MonthlyReview
from procedures.personal_records import OUTCOMES, Step

from .cells import (
    PAGE_FOOTER,
    TextFunction,
    active_sheet,
    append_row,
    print_workbook,
    workbook_bytes,
)

Label = TextFunction  # a text id with parameters, in the reader's language

SUMMARY_COLUMNS = (
    "number",
    "received_at",
    "channel",
    "consumer",
    "product",
    "description",
    "cause",
    "verdict",
    "escalated",
    "remedy",
    "answered_at",
    "first_answer_on_time",
    "return_number",
)
FIGURES = (
    "total",
    "standing",
    "not_standing",
    "pending",
    "standing_rate",
    "escalated",
    "first_answers_on_time",
)


@dataclass(frozen=True)
class MonthFigures:
    """The figures of a month's consumer complaints, as the summary sheet shows them."""

    total: int
    standing: int
    not_standing: int
    pending: int
    escalated: int
    first_answers_on_time: int
    first_answers: int
    remedies: dict[str, int]
    by_product: dict[str, tuple[int, int]]  # product -> (complaints, standing)
    by_cause: dict[str, tuple[int, int]]  # cause -> (complaints, standing)

    @property
    def standing_rate(self) -> float | None:
        """Standing among those judged (decided, for the escalated), or None if none were."""
        judged = self.standing + self.not_standing
        return self.standing / judged if judged else None


def month_figures(
    complaints: list[ConsumerComplaint], first_answers: dict[int, bool | None]
) -> MonthFigures:
    """`first_answers`: by complaint, whether its first answer was in time (None: neither)."""
    verdicts = Counter(c.final_verdict for c in complaints)
    answered = [t for c in complaints if (t := first_answers.get(c.id)) is not None]

    def by(key: Callable[[ConsumerComplaint], str]) -> dict[str, tuple[int, int]]:
        counts = Counter(key(c) for c in complaints)
        standing = Counter(key(c) for c in complaints if c.final_verdict == Verdict.STANDING)
        return {k: (n, standing[k]) for k, n in sorted(counts.items())}

    return MonthFigures(
        total=len(complaints),
        standing=verdicts[Verdict.STANDING],
        not_standing=verdicts[Verdict.NOT_STANDING],
        pending=verdicts[None],
        escalated=sum(c.verdict == Verdict.UNRESOLVED for c in complaints),
        first_answers_on_time=sum(answered),
        first_answers=len(answered),
        remedies={r: n for r in REMEDIES if (n := sum(c.remedy == r for c in complaints))},
        by_product=by(lambda c: c.product_label),
        by_cause=by(lambda c: c.cause or ""),
    )


def _bold_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    append_row(sheet, values)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _time(value: dt.datetime | None, timezone: ZoneInfo) -> str:
    return value.astimezone(timezone).strftime("%Y-%m-%d %H:%M") if value else ""


def _yes_no(value: bool | None, label: Label) -> str:
    return "" if value is None else label("report.yes" if value else "report.no")


def summary_workbook(
    complaints: list[ConsumerComplaint],
    first_answers: dict[int, bool | None],
    title: str,
    label: Label,
    timezone: ZoneInfo,
    reviews: Sequence[MonthlyReview] = (),
) -> bytes:
    """The month's figures, remedies, and the analysis by product and by cause; the
    after-sales head's improvement proposals (the month before's, then the month's own) and the
    hand-over to the business head; then the complaints one row each."""
    figures = month_figures(complaints, first_answers)
    workbook = Workbook()
    summary = active_sheet(workbook)
    summary.title = label("report.monthly.sheet.summary")[:31]
    _bold_row(summary, [title])
    rate = figures.standing_rate
    values = {
        "total": figures.total,
        "standing": figures.standing,
        "not_standing": figures.not_standing,
        "pending": figures.pending,
        "standing_rate": "" if rate is None else f"{rate:.0%}",
        "escalated": figures.escalated,
        "first_answers_on_time": f"{figures.first_answers_on_time}/{figures.first_answers}",
    }
    for key in FIGURES:
        append_row(summary, [label(f"report.monthly.figure.{key}"), values[key]])
    append_row(summary, [])
    _bold_row(summary, [label("report.monthly.column.remedy"), label("report.monthly.count")])
    for remedy, count in figures.remedies.items():
        append_row(summary, [label(f"consumer.remedy.{remedy}"), count])
    for heading, rows, name in (
        ("report.monthly.column.product", figures.by_product, lambda k: k),
        (
            "report.monthly.column.cause",
            figures.by_cause,
            lambda k: label(f"consumer.cause.{k}" if k in CAUSES else "report.monthly.no_cause"),
        ),
    ):
        append_row(summary, [])
        _bold_row(
            summary,
            [label(heading), label("report.monthly.count"), label("report.monthly.standing")],
        )
        for key, (count, standing) in rows.items():
            append_row(summary, [name(key), count, standing])
    _write_reviews(summary, reviews, label, timezone)
    summary.column_dimensions["A"].width = 40

    sheet = workbook.create_sheet(label("report.monthly.sheet.complaints")[:31])
    _bold_row(sheet, [label(f"report.monthly.column.{c}") for c in SUMMARY_COLUMNS])
    for c in complaints:
        append_row(
            sheet,
            [
                c.number,
                _time(c.received_at, timezone),
                label(f"consumer.channel.{c.channel}"),
                f"{c.consumer_name} {c.contact}",
                c.product_label,
                c.description,
                label(f"consumer.cause.{c.cause}") if c.cause else "",
                label(f"consumer.verdict.{c.final_verdict}") if c.final_verdict else "",
                _yes_no(c.verdict == Verdict.UNRESOLVED, label),
                label(f"consumer.remedy.{c.remedy}") if c.remedy else "",
                _time(c.answered_at, timezone),
                _yes_no(first_answers.get(c.id), label),
                c.return_number or "",
            ],
        )
    sheet.freeze_panes = "A2"
    print_workbook(workbook, label(PAGE_FOOTER))
    return workbook_bytes(workbook)


def _write_reviews(
    sheet: Worksheet, reviews: Sequence[MonthlyReview], label: Label, timezone: ZoneInfo
) -> None:
    """Each month's improvement proposals (改善辦法和方案) with who wrote them when, and who
    passed the summary on to the business head when."""
    append_row(sheet, [])
    _bold_row(
        sheet,
        [
            label("report.monthly.column.proposals_period"),
            label("report.monthly.column.proposals"),
            label("report.monthly.column.proposed_by"),
            label("report.monthly.column.proposed_at"),
            label("report.monthly.column.forwarded_by"),
            label("report.monthly.column.forwarded_at"),
        ],
    )
    for review in reviews:
        append_row(
            sheet,
            [
                review.period,
                review.proposals or label("report.monthly.no_proposals"),
                review.proposed_by or "",
                _time(review.proposed_at, timezone),
                review.forwarded_by or "",
                _time(review.forwarded_at, timezone),
            ],
        )


# --- each person's monthly record ----------------------------------------------------------

STEP_COLUMNS = ("person", "role", "subject", "kind", "due_at", "closed_at", "outcome")


def personal_record_workbook(
    steps: list[Step], title: str, label: Label, timezone: ZoneInfo
) -> bytes:
    """Per person: steps closed in time, late, waived; then every step, and those not done by
    the month's end under their role."""
    workbook = Workbook()
    people = active_sheet(workbook)
    people.title = label("record.sheet.people")[:31]
    _bold_row(people, [title])
    _bold_row(
        people,
        [label("record.column.person"), *(label(f"record.outcome.{o}") for o in OUTCOMES)],
    )
    counts: dict[str, Counter[str]] = {}
    for step in steps:
        who = step.person or label("record.no_person")
        counts.setdefault(who, Counter())[step.outcome] += 1
    for who, outcomes in counts.items():
        append_row(people, [who, *(outcomes[o] for o in OUTCOMES)])
    people.column_dimensions["A"].width = 30

    sheet = workbook.create_sheet(label("record.sheet.steps")[:31])
    _bold_row(sheet, [label(f"record.column.{c}") for c in STEP_COLUMNS])
    for step in steps:
        append_row(
            sheet,
            [
                step.person or label("record.no_person"),
                label(f"role.{step.responsible_role}"),
                step.subject,
                label(f"deadline.kind.{step.kind}"),
                _time(step.due_at, timezone),
                _time(step.closed_at, timezone),
                label(f"record.outcome.{step.outcome}"),
            ],
        )
    sheet.freeze_panes = "A2"
    print_workbook(workbook, label(PAGE_FOOTER))
    return workbook_bytes(workbook)
