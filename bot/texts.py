"""Message catalogues (zh-Hant, zh-Hans, en) and rendering of a text id with parameters."""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from procedures import people

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = people.LANGUAGES


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
    catalogues = {}
    for language in LANGUAGES:
        with (directory / f"{language}.toml").open("rb") as file:
            catalogues[language] = _flatten(tomllib.load(file))
    return catalogues


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class MissingText(KeyError):
    """A text id the language's catalogue lacks."""


class Texts:
    """Renders text ids in a language; parameters may be times or other text ids.

    A parameter `{"$time": iso}` is shown in the configured time zone, `{"$text": id}` is
    translated (with its own `"params"`, if any), and a list is joined with the language's list
    separator.

    A text id a catalogue lacks is shown in English, else as the id itself, and logged once;
    with `strict` set (the tests set it) it raises MissingText instead.
    """

    def __init__(
        self,
        timezone: ZoneInfo,
        default_language: str = "zh-Hant",
        catalogues: dict[str, dict[str, str]] | None = None,
        *,
        strict: bool = False,
    ) -> None:
        self.timezone = timezone
        self.default_language = default_language
        self.catalogues = catalogues if catalogues is not None else load_catalogues()
        self.strict = strict
        # (language, id) of every text id asked for and not found, each logged once
        self.missing: set[tuple[str, str]] = set()

    def language_for(self, preferred: str | None, telegram_code: str | None = None) -> str:
        """The user's chosen language, else a guess from Telegram's language code."""
        if preferred in self.catalogues:
            return preferred  # type: ignore[return-value]
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
        return template.format_map(_Params(rendered))

    def _missing(self, language: str, key: str) -> str:
        if (language, key) not in self.missing:
            self.missing.add((language, key))
            logger.error("text id %r is missing from the %s catalogue", key, language)
        if self.strict:
            raise MissingText(f"text id {key!r} is missing from the {language} catalogue")
        return self.catalogues["en"].get(key, key)

    def format_time(self, moment: dt.datetime) -> str:
        return moment.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")

    def _value(self, language: str, value: Any) -> Any:
        if isinstance(value, dict):
            if "$time" in value:
                return self.format_time(dt.datetime.fromisoformat(value["$time"]))
            if "$text" in value:
                return self.get(language, value["$text"], **value.get("params", {}))
        if isinstance(value, dt.datetime):
            return self.format_time(value)
        if isinstance(value, list | tuple):
            separator = "、" if language.startswith("zh") else ", "
            return separator.join(str(self._value(language, item)) for item in value)
        return value
