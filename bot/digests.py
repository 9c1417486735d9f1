"""One message for a person's several deadlines: what the sender sends in place of a chat's
pending reminders and overdue alerts when more than one waits (procedures.kernel.deadlines
writes them one a deadline, the audience of each as its rule gives it).

The digest lists them grouped by record type, the most urgent first (the longest overdue, then
the soonest due), each number a button that opens its record; what does not fit ends in a
count and the button to /todo. A deadline reminded and then alerted while its messages waited
is listed once, as overdue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from procedures.kernel.daily_lists import DAILY_LIST
from procedures.kernel.deadlines import DIGEST_TEXT_KEYS, ShowWaiting, span
from procedures.kernel.outbox import as_deadline, button

from .texts import Texts

# the lines one message lists; the rest are counted (Telegram's 4,096 characters hold about 30
# lines of the longest kinds, and a list longer than a screen is not read anyway)
MAX_ITEMS = 15
BUTTONS_A_ROW = 3


class OutboxMessage(Protocol):
    """What a digest reads of an outbox row."""

    id: int
    text_key: str
    params: dict[str, Any]
    dedupe_key: str | None


@dataclass(frozen=True)
class Item:
    """One deadline as a list shows it."""

    deadline_id: int
    subject_type: str
    number: str
    about: dict[str, Any]
    kind: dict[str, Any]
    due: dt.datetime
    overdue: bool
    opens: str | None  # the callback data of the button that opens it (or takes its step)

    @property
    def urgency(self) -> tuple[int, dt.datetime]:
        return (0 if self.overdue else 1, self.due)


def digestible(row: OutboxMessage) -> bool:
    """A deadline's reminder or alert written with what a digest lists of it."""
    return row.text_key in DIGEST_TEXT_KEYS and isinstance(row.params.get("item"), dict)


def overtaken(row: OutboxMessage, now: dt.datetime) -> bool:
    """A deadline's reminder that did not go before its deadline (procedures.kernel.outbox
    OVERTAKEN): the overdue alert, not the reminder, is what the person should read now."""
    if not digestible(row) or row.params["item"]["overdue"]:
        return False
    return dt.datetime.fromisoformat(row.params["item"]["due"]) <= now


def _deadline_id(row: OutboxMessage) -> int:
    # the dedupe key names the deadline: deadline:<id>:<step>:u<user>
    parts = (row.dedupe_key or "").split(":")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else -row.id


def items_of(rows: Sequence[OutboxMessage]) -> list[Item]:
    """One item a deadline (its latest message: an alert over the reminder before it), most
    urgent first."""
    latest: dict[int, Item] = {}
    for row in sorted(rows, key=lambda r: r.id):
        params, item = row.params, row.params["item"]
        found = Item(
            deadline_id=_deadline_id(row),
            subject_type=str(item["type"]),
            number=str(params["number"]),
            about=params["about"],
            kind=params["kind"],
            due=dt.datetime.fromisoformat(item["due"]),
            overdue=bool(item["overdue"]),
            opens=item.get("opens"),
        )
        known = latest.get(found.deadline_id)
        if known is None or found.overdue or not known.overdue:
            latest[found.deadline_id] = found
    return sorted(latest.values(), key=lambda item: item.urgency)


def render_list(
    texts: Texts, language: str, items: Sequence[Item], now: dt.datetime
) -> tuple[str, list[list[dict[str, Any]]]]:
    """The list's text and its buttons (button dicts as the outbox keeps them): grouped by
    record type, the groups in the order of their most urgent item, at most MAX_ITEMS lines,
    then the count of the rest and the button to all of them."""
    items = sorted(items, key=lambda item: item.urgency)
    shown, rest = items[:MAX_ITEMS], items[MAX_ITEMS:]
    groups: dict[str, list[Item]] = {}
    for item in shown:
        groups.setdefault(item.subject_type, []).append(item)
    overdue = sum(1 for item in items if item.overdue)
    lines = [texts.get(language, "deadline.digest.header", count=len(items), overdue=overdue)]
    for subject_type, members in groups.items():
        group_key = f"deadline.digest.group.{subject_type}"
        if group_key not in texts.catalogues.get(language, {}):
            group_key = "deadline.digest.group.other"
        lines.append(texts.get(language, group_key))
        for item in members:
            lines.append(
                texts.get(
                    language,
                    "deadline.digest.overdue_line" if item.overdue else "deadline.digest.due_line",
                    number=item.number,
                    about=item.about,
                    kind=item.kind,
                    due_at=as_deadline(item.due),
                    span=span(now - item.due if item.overdue else item.due - now),
                )
            )
    if rest:
        lines.append(texts.get(language, "deadline.digest.more", count=len(rest)))
    # a record with several deadlines listed gets one button
    opening = {item.opens: item.number for item in shown if item.opens}
    opens = [
        {"text_key": "deadline.button.item", "params": {"number": number}, "data": data}
        for data, number in opening.items()
    ]
    keyboard = [opens[i : i + BUTTONS_A_ROW] for i in range(0, len(opens), BUTTONS_A_ROW)]
    if rest:
        keyboard.append([button("deadline.button.todo", ShowWaiting())])
    return "\n".join(lines), keyboard


def as_of(row: OutboxMessage, now: dt.datetime) -> dict[str, Any]:
    """A deadline message's parameters with how long is left (or how late) as of its delivery:
    one held for working hours goes hours after it was written."""
    item = row.params["item"]
    due = dt.datetime.fromisoformat(item["due"])
    return {**row.params, "span": span(now - due if item["overdue"] else due - now)}


def items_from(listed: Sequence[dict[str, Any]]) -> list[Item]:
    """The items a daily list was written with (procedures.kernel.daily_lists.item_of)."""
    return [
        Item(
            deadline_id=index,
            subject_type=str(item["type"]),
            number=str(item["number"]),
            about=item["about"],
            kind=item["kind"],
            due=dt.datetime.fromisoformat(item["due"]),
            overdue=bool(item["overdue"]),
            opens=item.get("opens"),
        )
        for index, item in enumerate(listed)
    ]


def render_daily(
    texts: Texts, language: str, row: OutboxMessage, now: dt.datetime
) -> tuple[str, list[list[dict[str, Any]]]]:
    """The first message of a working day: the greeting, then the list as /todo shows it."""
    text, buttons = render_list(texts, language, items_from(row.params["items"]), now)
    return f"{texts.get(language, DAILY_LIST)}\n{text}", buttons


def render_digest(
    texts: Texts, language: str, rows: Sequence[OutboxMessage], now: dt.datetime
) -> tuple[str, list[list[dict[str, Any]]]]:
    """A chat's pending deadline messages as one digest."""
    return render_list(texts, language, items_of(rows), now)
