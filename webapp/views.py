"""The overview's lists and record pages as the API answers them: JSON, every word in the
person's language from the catalogues, every text a user typed passed on as it is."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.texts import Texts, join_list, placeholders
from procedures.kernel.calendar import recent_periods
from procedures.kernel.deadlines import span
from procedures.kernel.quantities import as_money, as_quantity
from procedures.kernel.queries import Deadline, TimelineEvent
from procedures.kernel.rules import Outcome, outcome
from procedures.overview.kinds import RecordKind
from procedures.overview.lists import Listed, ListPage
from procedures.overview.records import RecordPage

# the deep link back to a record in the chat: /start QC-2026-00001 (the chat's deep links)
CHAT_LINKED = frozenset({"complaint", "return", "consumer_complaint", "defect", "rectification"})
# what a timeline entry's details name by a key of ours, translated before the entry is shown
DETAIL_TEXTS = {
    "kind": "deadline.kind.{}",
    "channel": "{type}.channel.{}",
    "reason": "return.reason.{}",
    # a complaint's entries, as its chat view (bot/handlers/tickets.py) names their details
    "result": "{type}.status.{}",
    "scope": "{type}.hold_scope.{}",
    "how": "{type}.told_how.{}",
    "outcome": "{type}.handoff_outcome.{}",
    "step": "{type}.hold_step.{}",
}
TIMELINE_TYPES = {"consumer_complaint": "consumer"}
# an amount an entry's text already names the currency of (金額{amount}元)
CURRENCY = re.compile(r"\{amount\}\s*(元|yuan)")
# the months the list's month filter offers, the running one first (two years' worth)
MONTHS_OFFERED = 24
DEADLINE_STATES = {
    Outcome.OPEN: "open",
    Outcome.ON_TIME: "met",
    Outcome.LATE: "late",
    Outcome.WAIVED: "waived",
}


# the marks that turn the direction of the text after them (U+202A-U+202E embed and override,
# U+2066-U+2069 isolate)
DIRECTION_MARKS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def isolated(part: str) -> str:
    """A title's part that carries direction marks, kept to itself (FSI…PDI): a customer's
    name with a right-to-left override turns no other part of the title around."""
    return f"\u2068{part}\u2069" if DIRECTION_MARKS.search(part) else part


class View:
    """Renders for one person: their language, the configured zone, the moment of asking."""

    def __init__(self, texts: Texts, language: str, now: dt.datetime) -> None:
        self.texts = texts
        self.language = language
        self.now = now

    def text(self, key: str, **params: Any) -> str:
        return self.texts.get(self.language, key, **params)

    def part(self, value: Any) -> str:
        """A title's or a field's part: a time, a text id (with its parameters), or text."""
        if isinstance(value, dt.datetime):
            return self.moment(value)
        if isinstance(value, dict) and "$list" in value:
            items = (self.part(item) for item in value["$list"])
            return join_list(self.language, items, value.get("joiner", "list"))
        if isinstance(value, dict):
            return self.text(value["$text"], **value.get("params", {}))
        return str(value)

    def moment(self, at: dt.datetime) -> str:
        """A time as people say it in the configured zone, as the deadlines are said
        (11月28日14:18), the year named only when it is not the current one."""
        local = at.astimezone(self.texts.timezone)
        this_year = local.year == self.now.astimezone(self.texts.timezone).year
        month = f"month_{local.month}"
        return self.text(
            "miniapp.when.this_year" if this_year else "miniapp.when.other_year",
            year=local.year,
            month={"$text": f"miniapp.when.{month}"},
            day=local.day,
            time=local.strftime("%H:%M"),
        )

    def months(self) -> list[dict[str, str]]:
        """The month filter's choices on the configured zone's calendar, named as the charts
        name their months (2026年11月, Nov 2026), the running month first."""
        found = recent_periods("month", self.now, self.texts.timezone, MONTHS_OFFERED, running=True)
        return [{"key": month, "name": self.month_name(month)} for month in found]

    def month_name(self, month: str) -> str:
        year, number = month.split("-")
        word = f"month_{int(number)}"
        return self.text(f"miniapp.chart.{word}", year=year)

    def title(self, parts: list[Any]) -> str:
        return " · ".join(isolated(self.part(part)) for part in parts)

    def status(self, kind: RecordKind, status: str) -> dict[str, str]:
        return {"key": status, "name": self.text(kind.status_prefix + status)}

    def lateness(self, due_at: dt.datetime) -> str:
        if due_at < self.now:
            return self.text("miniapp.late", span=span(self.now - due_at))
        return self.text("miniapp.remaining", span=span(due_at - self.now))

    def item(self, kind: RecordKind, listed: Listed) -> dict[str, Any]:
        deadline = listed.deadline
        holder = listed.holder
        if holder is None and deadline is not None:
            holder = self.text(f"role.{deadline.responsible_role}")
        return {
            "type": listed.type,
            "key": listed.key,
            "number": listed.number,
            "title": self.title(listed.title),
            "status": self.status(kind, listed.status),
            "step": self.text(f"deadline.kind.{deadline.kind}") if deadline else None,
            "holder": holder,
            "due_at": deadline.due_at.isoformat() if deadline else None,
            "due_text": self.texts.deadline(self.language, deadline.due_at) if deadline else None,
            "late": bool(deadline and deadline.due_at < self.now),
            "late_text": self.lateness(deadline.due_at) if deadline else None,
            "received_at": listed.received_at.isoformat(),
            "received_text": self.moment(listed.received_at),
        }

    def page(self, kind: RecordKind, found: ListPage) -> dict[str, Any]:
        return {
            "type": kind.type,
            "total": found.total,
            "page": found.page,
            "pages": found.pages,
            "statuses": [self.status(kind, status) for status in kind.statuses],
            "filters": kind.filters,
            "items": [self.item(kind, listed) for listed in found.items],
            "months": self.months() if "month" in kind.filters else [],
        }

    def deadline(self, deadline: Deadline, number: str | None = None) -> dict[str, Any]:
        state = DEADLINE_STATES[outcome(deadline)]
        name = self.text(f"deadline.kind.{deadline.kind}")
        # one deadline per party (each other buyer to tell) is named by its party, as the
        # chat's /ticket names it: the label after the record's number
        label = deadline.subject_label
        party = label.removeprefix(number).strip() if number and label.startswith(number) else ""
        if party:
            name = self.text("ticket.deadline_for", kind=name, who=party)
        if state == "open":
            state_text = self.lateness(deadline.due_at)
        else:
            state_text = self.text(f"miniapp.deadline_state.{state}")
        return {
            "name": name,
            "due_text": self.texts.deadline(self.language, deadline.due_at),
            "state": state,
            "state_text": state_text,
            # an open one already past reads as the list's late ones do (已逾期, in red)
            "overdue": state == "open" and deadline.due_at < self.now,
        }

    def event(
        self,
        subject_type: str,
        event: TimelineEvent,
        names: dict[int, str],
        unit: str | None = None,
    ) -> dict[str, str]:
        return {
            "at": event.at.isoformat(),
            "at_text": self.moment(event.at),
            "who": names.get(event.actor_id or 0) or self.text("timeline.system"),
            "what": self.action(subject_type, event, unit),
        }

    def action(self, subject_type: str, event: TimelineEvent, unit: str | None = None) -> str:
        """What an entry says, as the chat's record views say it where the catalogue has the
        entry and every detail it names; else the entry's own words. A complaint's quantity is
        said in `unit`, its product's (涉及30盒), else the generic counter."""
        prefix = TIMELINE_TYPES.get(subject_type, subject_type)
        # looked up, not required: an entry the catalogue lacks is shown by its own name
        key = ".".join(("timeline", prefix, event.action))
        template = self.texts.catalogues.get(self.language, {}).get(key)
        details: dict[str, Any] = {
            name: value
            for name, value in (event.after or {}).items()
            if isinstance(value, str | int) and not isinstance(value, bool)
        }
        for name, pattern in DETAIL_TEXTS.items():
            if isinstance(details.get(name), str):
                translated = pattern.format(details[name], type=prefix)
                if translated in self.texts.catalogues.get(self.language, {}):
                    details[name] = {"$text": translated}
        # a complaint counts one product (the generic counter when its unit is unknown); a
        # return's total is said in a unit only when all its lines share one
        if isinstance(details.get("quantity"), int) and (subject_type == "complaint" or unit):
            details["quantity"] = as_quantity(details["quantity"], unit)
        if isinstance(details.get("amount"), str) and not (template and CURRENCY.search(template)):
            try:
                details["amount"] = as_money(Decimal(details["amount"]))
            except InvalidOperation:
                pass
        if isinstance(details.get("text_key"), str):  # a reply: the chat names it by its text
            details["what"] = {"$text": f"{details['text_key']}_name"}
        if template is None or not placeholders(template) <= set(details):
            # the record types whose chat views keep no timeline texts: the overview's names
            named = ".".join(("miniapp", "action", event.action))
            if named in self.texts.catalogues.get(self.language, {}):
                return self.text(named)
            return self.text("miniapp.event", action=event.action.replace("_", " "))
        return self.text(key, **details)

    def record(
        self,
        kind: RecordKind,
        found: RecordPage,
        files: list[dict[str, str]],
        forms: list[dict[str, str]],
        bot_username: str | None,
    ) -> dict[str, Any]:
        chat_link = None
        if bot_username and found.number and kind.type in CHAT_LINKED:
            chat_link = f"https://t.me/{bot_username}?start={found.number}"
        return {
            "type": kind.type,
            "key": found.key,
            "number": found.number or found.key,
            "title": self.title(found.title),
            "status": self.status(kind, found.status),
            "fields": [
                {"label": self.text(f"miniapp.field.{name}"), "value": self.part(value)}
                for name, value in found.fields
            ],
            "deadlines": [self.deadline(deadline, found.number) for deadline in found.deadlines],
            "timeline": [
                self.event(kind.type, event, found.names, found.unit) for event in found.events
            ],
            "files": files,
            "forms": forms,
            "chat_link": chat_link,
        }
