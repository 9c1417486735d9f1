"""A record type's policy: the settings that change its rules, as one section of the
configuration declared beside its rules (`procedures/<type>/policy.py`).

A deadline whose rule names a setting gets its field from the rule itself (`window`): the
variable is the rule's `setting`, the default the rule's window, the unit the one the variable's
name ends in (`_DAYS`, `_HOURS`). Use cases read their record type's section from the unit of work
(`uow.policy(ReturnPolicy)`), which holds the sections the process loaded, by type; the kernel
never names a record type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import AliasGenerator, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from procedures.kernel.rules import DeadlineRule

UNITS = {"DAYS": "days", "HOURS": "hours"}


class PolicySection(BaseSettings):
    """One record type's settings, read from the environment or `.env` by their upper-case
    names, exactly; an empty value counts as unset; a table is written as the README shows it."""

    model_config = SettingsConfigDict(
        env_file=".env",
        case_sensitive=True,
        env_ignore_empty=True,
        enable_decoding=False,
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=str.upper),
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Made in code, a section holds what it is given and its defaults, whatever the
        environment says; reading the environment is start-up's."""
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _trimmed(cls, values: Any) -> Any:
        if not isinstance(values, Mapping):
            return values
        return {
            key: value.strip() if isinstance(value, str) else value
            for key, value in values.items()
            if not (isinstance(value, str) and not value.strip())
        }

    @field_validator("*", mode="before")
    @classmethod
    def _windows(cls, value: Any, info: ValidationInfo) -> Any:
        """A window's variable is a whole number of its unit."""
        if info.field_name is None or not isinstance(value, str | int):
            return value
        extra = cls.model_fields[info.field_name].json_schema_extra
        if not isinstance(extra, dict) or "unit" not in extra:
            return value
        most = extra["most"]
        assert isinstance(most, int)  # set by `window` below
        count = whole(value, 1, most)
        return dt.timedelta(**{str(extra["unit"]): count})


def window(rule: DeadlineRule, *, most: int) -> Any:
    """The field of a deadline rule's configurable window: the variable is the rule's setting,
    a whole number (1 to `most`) of the unit its name ends in; the default is the rule's window."""
    if rule.setting is None or rule.window is None:
        raise TypeError(f"{rule.kind}: only a rule with a window and a setting has a window field")
    unit = UNITS.get(rule.setting.rsplit("_", 1)[-1])
    if unit is None:
        raise TypeError(f"{rule.setting}: a window's setting ends in _DAYS or _HOURS")
    return Field(
        default=rule.window,
        validation_alias=rule.setting,
        json_schema_extra={"unit": unit, "most": most, "deadline": str(rule.kind)},
    )


def whole(raw: str | int, low: int, high: int) -> int:
    """A whole number from `low` to `high`; the error is the rest of a sentence naming it."""
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high}, got {value}")
    return value


Section = TypeVar("Section", bound=PolicySection)


class Policies:
    """The policy sections a process loaded, by type; a section not loaded has its defaults."""

    def __init__(self, sections: Iterable[PolicySection] = ()) -> None:
        self._sections: dict[type[PolicySection], PolicySection] = {
            type(section): section for section in sections
        }

    def of(self, section: type[Section]) -> Section:
        found = self._sections.get(section)
        if found is None:
            found = self._sections[section] = section()
        assert isinstance(found, section)
        return found

    def __iter__(self) -> Any:
        return iter(self._sections.values())
