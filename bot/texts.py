"""Message catalogues (zh-Hant, zh-Hans, en) and rendering of a text id with parameters."""

from __future__ import annotations

import datetime as dt
import logging
import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from procedures.kernel.clock import Clock
from procedures.people import users

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = users.LANGUAGES


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = str(value)
    return flat


def load_catalogues(directory: Path = LOCALES_DIR) -> dict[str, dict[str, str]]:
    catalogues: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        with (directory / f"{language}.toml").open("rb") as file:
            catalogues[language] = _flatten(tomllib.load(file))
    return catalogues


# `{count, plural, one {# photo} other {# photos}}`: ICU's plural, in the two forms English
# needs; `#` is the number. Chinese has no plural and writes `{count}張`.
_PLURAL = re.compile(r"\{(\w+), plural, one \{([^{}]*)\} other \{([^{}]*)\}\}")


def _plurals(template: str, params: Mapping[str, Any]) -> str:
    def choose(match: re.Match[str]) -> str:
        name, one, other = match.groups()
        if name not in params:
            return "{" + name + "}"
        count = params[name]
        return (one if str(count) == "1" else other).replace("#", str(count))

    return _PLURAL.sub(choose, template)


def placeholders(template: str) -> set[str]:
    """The names a template inserts, a plural's count included."""
    plain = _PLURAL.sub(lambda match: "{" + match.group(1) + "}", template)
    return {name for _, name, _, _ in string.Formatter().parse(plain) if name}


# where a name divides into names of the same thing: parentheses, list separators
_NAME_PARTS = re.compile(r"[（）()、,，]")


def _squeezed(text: str) -> str:
    """Text as compared with a name: no case, no spaces."""
    return "".join(text.split()).casefold()


def is_chinese_language(language: str) -> bool:
    return language.startswith("zh")


# How the items of a list are joined: `list` names things (EL-01、EL-02), `clauses` joins
# findings that are each a phrase with its own comma or enumeration comma (A：異常；B：15mm),
# `lines` puts each on a line of its own.
JOINERS = {"list": ("、", ", "), "clauses": ("；", "; "), "lines": ("\n", "\n")}


def join_list(language: str, items: Iterable[str], joiner: str = "list") -> str:
    """The items joined with the language's mark: `EL-01、EL-02` in Chinese, `EL-01, EL-02`."""
    chinese, other = JOINERS[joiner]
    return (chinese if is_chinese_language(language) else other).join(items)


# the deadline a person would say: a midnight deadline is the whole day before it
_DEADLINE_DAY = {
    "zh-Hant": ("{month}月{day}日當天內", "{month}月{day}日{time}前"),
    "zh-Hans": ("{month}月{day}日当天内", "{month}月{day}日{time}前"),
    "en": ("by the end of {day} {month_name}", "by {time} on {day} {month_name}"),
}
_YEAR = {"zh-Hant": "{year}年", "zh-Hans": "{year}年", "en": " {year}"}


def deadline_phrase(
    language: str, moment: dt.datetime, timezone: ZoneInfo, now: dt.datetime | None = None
) -> str:
    """A deadline as people say it, in the time zone: `1月2日12:00前`, and at midnight the day
    before, whole (`12月31日當天內`, not 1月1日00:00 nor 12月31日24:00); `by 12:00 on
    2 January`, `by the end of 31 December`. The year is named only when it is not `now`'s."""
    local = moment.astimezone(timezone)
    whole_day = local.time() == dt.time()
    day = local.date() - dt.timedelta(days=1) if whole_day else local.date()
    templates = _DEADLINE_DAY.get(language, _DEADLINE_DAY["en"])
    text = templates[0 if whole_day else 1].format(
        month=day.month,
        day=day.day,
        month_name=day.strftime("%B"),
        time=local.strftime("%H:%M"),
    )
    if now is not None and day.year != now.astimezone(timezone).year:
        year = _YEAR.get(language, _YEAR["en"]).format(year=day.year)
        text = year + text if is_chinese_language(language) else text + year
    return text


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class _StrictParams(dict[str, Any]):
    """The parameters of a text in strict mode: one the text names and the call did not pass
    fails, instead of showing `{name}` to the reader."""

    def __init__(self, values: dict[str, Any], key: str) -> None:
        super().__init__(values)
        self.key = key

    def __missing__(self, name: str) -> str:
        raise MissingParameter(f"text {self.key!r} names {{{name}}}, which was not given")


class MissingText(KeyError):
    """A text id the language's catalogue lacks."""


class MissingParameter(KeyError):
    """A parameter a text names that its caller did not give."""


class Texts:
    """Renders text ids in a language; parameters may be times or other text ids.

    A plural (`{count, plural, one {# photo} other {# photos}}`) is chosen by its number.
    A parameter `{"$time": iso}` is shown in the configured time zone, `{"$deadline": iso}` as
    a deadline a person would say (`deadline_phrase`, naming the year when it is not the
    `clock`'s: read in December, a deadline in January is 2027年1月2日12:00前), `{"$text": id}`
    is translated (with its own `"params"`, if any), and a list (or `{"$list": [...],
    "joiner": "clauses"}`) is joined with the language's marks (`join_list`).

    A text id a catalogue lacks is shown in English, else as the id itself, and logged once;
    with `strict` set (the tests set it) it raises MissingText instead. So does a parameter the
    text names and the caller did not give: shown as `{name}` to a reader, MissingParameter in
    strict mode.
    """

    def __init__(
        self,
        timezone: ZoneInfo,
        default_language: str = "zh-Hant",
        catalogues: dict[str, dict[str, str]] | None = None,
        *,
        strict: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self.timezone = timezone
        self.clock = clock
        self.default_language = default_language
        self.catalogues = catalogues if catalogues is not None else load_catalogues()
        self.strict = strict
        # (language, id) of every text id asked for and not found, each logged once
        self.missing: set[tuple[str, str]] = set()
        # in strict mode, what MissingParameter was raised for (a caller may swallow it)
        self.unfilled: set[str] = set()

    def language_for(self, preferred: str | None, telegram_code: str | None = None) -> str:
        """The user's chosen language, else a guess from Telegram's language code."""
        if preferred is not None and preferred in self.catalogues:
            return preferred
        code = (telegram_code or "").lower()
        if code.startswith("zh"):
            return "zh-Hans" if code in ("zh", "zh-cn", "zh-sg", "zh-hans") else "zh-Hant"
        if code.startswith("en"):
            return "en"
        return self.default_language

    def get(self, language: str, key: str, **params: Any) -> str:
        catalogue = self.catalogues.get(language) or self.catalogues[self.default_language]
        template = catalogue.get(key)
        if template is None:
            template = self._missing(language, key)
        rendered = {name: self._value(language, value) for name, value in params.items()}
        if not self.strict:
            return _plurals(template, params).format_map(_Params(rendered))
        try:
            return _plurals(template, params).format_map(_StrictParams(rendered, key))
        except MissingParameter as error:
            self.unfilled.add(f"{language}: {error.args[0]}")
            raise

    def named(
        self,
        prefix: str,
        ids: tuple[str, ...] | frozenset[str],
        typed: str,
        *,
        aliases: str | None = None,
    ) -> str | None:
        """The id among `ids` that `typed` names: the id itself or its name (text `prefix` + id)
        in any language (`vendors`, `維保單位`, `Equipment vendors`), without case or spaces.
        A name with a part in parentheses names by each part too (`客戶（購貨單位）`: `客戶`,
        `購貨單位`); texts `aliases` + id list more names, separated by 、 or commas (`顧客`).
        A name that fits more than one id names none."""
        wanted = _squeezed(typed)
        found = [id_ for id_ in ids if wanted and wanted in self._names(prefix, id_, aliases)]
        return found[0] if len(found) == 1 else None

    def _names(self, prefix: str, id_: str, aliases: str | None) -> set[str]:
        names = {_squeezed(id_)}
        for catalogue in self.catalogues.values():
            name = catalogue.get(f"{prefix}{id_}", "")
            listed = catalogue.get(f"{aliases}{id_}", "") if aliases else ""
            names.add(_squeezed(name))
            names.update(_squeezed(part) for part in _NAME_PARTS.split(f"{name}、{listed}"))
        return names - {""}

    def _missing(self, language: str, key: str) -> str:
        if (language, key) not in self.missing:
            self.missing.add((language, key))
            logger.error("text id %r is missing from the %s catalogue", key, language)
        if self.strict:
            raise MissingText(f"text id {key!r} is missing from the {language} catalogue")
        return self.catalogues["en"].get(key, key)

    def deadline(self, language: str, moment: dt.datetime) -> str:
        """`deadline_phrase` in this renderer's time zone, against its clock's year."""
        now = self.clock.now() if self.clock is not None else None
        return deadline_phrase(language, moment, self.timezone, now)

    def format_time(self, moment: dt.datetime) -> str:
        return moment.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")

    def _value(self, language: str, value: Any) -> Any:
        if isinstance(value, dict):
            if "$time" in value:
                return self.format_time(dt.datetime.fromisoformat(value["$time"]))
            if "$deadline" in value:
                return self.deadline(language, dt.datetime.fromisoformat(value["$deadline"]))
            if "$text" in value:
                return self.get(language, value["$text"], **value.get("params", {}))
            if "$list" in value:
                items = (str(self._value(language, item)) for item in value["$list"])
                return join_list(language, items, value.get("joiner", "list"))
        if isinstance(value, dt.datetime):
            return self.format_time(value)
        if isinstance(value, list | tuple):
            return join_list(language, (str(self._value(language, item)) for item in value))
        return value
