"""The Mini App's charts, per role, with the reports' figures: who reads each chart is who may
ask for its report in the chat (the registry's recipients) or read its records; its figures come
from procedures.overview.charts, which reads them through the reports' own functions; its words
are the reader's, from the catalogues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import Texts, join_list
from procedures.equipment.rules import DEFECT_OVERSEERS
from procedures.overview import charts as figures
from reports.registry import REPORTS

# who reads each chart: the recipients of the report it draws from, or for the defects (no
# report counts them across vendors) those who read every vendor's defects in the chat
CHART_READERS: Final[Mapping[str, frozenset[str]]] = {
    figures.COMPLAINTS_BY_PRODUCT: REPORTS["complaint_quarterly"].recipients,
    figures.ON_TIME_BY_KIND: REPORTS["deadline_on_time"].recipients,
    # the month's returns by reason are the exchange-ratio report's first table
    figures.RETURNS_BY_REASON: REPORTS["exchange_ratio"].recipients,
    figures.EXCHANGE_RATIO: REPORTS["exchange_ratio"].recipients,
    figures.DEFECTS_BY_VENDOR: DEFECT_OVERSEERS,
    figures.REPAIR_TIME_BY_VENDOR: DEFECT_OVERSEERS,
    figures.VENDOR_SCORES: REPORTS["vendor_scores"].recipients,
}

UNITS: Final[Mapping[str, str]] = {
    figures.COMPLAINTS_BY_PRODUCT: "complaints",
    figures.ON_TIME_BY_KIND: "percent",
    figures.RETURNS_BY_REASON: "returns",
    figures.EXCHANGE_RATIO: "percent",
    figures.DEFECTS_BY_VENDOR: "defects",
    figures.REPAIR_TIME_BY_VENDOR: "hours",
    figures.VENDOR_SCORES: "points",
}

# the VENDOR_PASS_MARK default, for a caller that does not pass the deployment's
DEFAULT_PASS_MARK: Final = 60


def charts_of(role_names: frozenset[str]) -> list[str]:
    """The charts a person with these roles reads, in the overview's order."""
    return [key for key in figures.CHARTS if CHART_READERS[key] & role_names]


async def chart_payload(
    session: AsyncSession,
    role_names: frozenset[str],
    language: str,
    texts: Texts,
    *,
    now: dt.datetime,
    pass_mark: int = DEFAULT_PASS_MARK,
) -> dict[str, Any]:
    """The charts the roles read, as `GET /api/charts` answers them (the twelve months up to
    `now`, aware, in the configured zone; `pass_mark`: VENDOR_PASS_MARK)."""
    keys = charts_of(role_names)
    if not keys:
        return {"charts": []}
    found = await figures.chart_figures(
        session, keys, now=now, timezone=texts.timezone, pass_mark=pass_mark
    )
    span = figures.twelve_months(now, texts.timezone)
    words = _Words(texts, language)
    period = words.get("span", first=words.month(span.months[0]), last=words.month(span.months[-1]))
    day = now.astimezone(texts.timezone).date().isoformat()
    return {"charts": [_chart(chart, words, period, day) for chart in found]}


class _Words:
    """The reader's words for a chart's months, text ids and stored names."""

    def __init__(self, texts: Texts, language: str) -> None:
        self.texts, self.language = texts, language

    def get(self, key: str, /, **params: Any) -> str:
        return self.texts.get(self.language, f"miniapp.chart.{key}", **params)

    def month(self, value: str) -> str:
        year, number = value.split("-")
        return self.get(f"month_{int(number)}", year=year)

    def of(self, word: figures.Word) -> str:
        if word.kind == "month":
            return self.month(word.value)
        if word.kind == "text":
            return self.texts.get(self.language, word.value)
        return word.value


def _number(value: float) -> str:
    """A limit as a person reads it: 5, 3.5."""
    return f"{value:g}"


def _chart(chart: figures.ChartFigures, words: _Words, period: str, day: str) -> dict[str, Any]:
    return {
        "key": chart.key,
        "title": words.get(f"title.{chart.key}", period=period, day=day),
        "kind": chart.kind,
        "unit": words.get(f"unit.{UNITS[chart.key]}"),
        "categories": [words.of(word) for word in chart.categories],
        # the months as YYYY-MM too: the page's axis names each by its short name (8月, Aug)
        # where the whole "2026年8月" would not fit under its bar
        "months": (
            [word.value for word in chart.categories]
            if chart.categories and all(word.kind == "month" for word in chart.categories)
            else None
        ),
        "series": [
            {"name": words.of(series.name), "values": list(series.values)}
            for series in chart.series
        ],
        "limit": chart.limit,
        "note": _note(chart, words),
    }


def _note(chart: figures.ChartFigures, words: _Words) -> str | None:
    """What the limit line stands for, or each category's own limit where they differ."""
    if chart.key == figures.VENDOR_SCORES and chart.limit is not None:
        return words.get("note.pass_mark", mark=round(chart.limit))
    if chart.key != figures.EXCHANGE_RATIO:
        return None
    if chart.limit is not None:
        return words.get("note.exchange_limit", limit=_number(chart.limit))
    if not chart.limits:
        return None
    each = [
        words.get("note.limit_of", customer=words.of(customer), limit=_number(limit))
        for customer, limit in chart.limits
    ]
    return words.get("note.exchange_limits", limits=join_list(words.language, each))
