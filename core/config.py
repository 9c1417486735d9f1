"""The deployment's configuration from the environment or `.env`, declared with pydantic-settings;
a bad value stops start-up with one clear line.

Only what the deployment decides lives here: the token, the database, the file store, the webhook,
Telegram's pace, the admins, the language and time zone. The settings that change a record type's
rules (its deadlines' windows and the like) are that record type's policy section, beside its rules
(`procedures/<type>/policy.py`), read from the same environment by the wiring.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from annotated_types import Ge, Le, MaxLen
from pydantic import AliasGenerator, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.files import DEFAULT_FILE_STORE

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.db"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
# the languages of the message catalogues (bot/locales); a test keeps them the users' choices
Language = Literal["zh-Hant", "zh-Hans", "en"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

# WORKING_HOURS, "08:30-18:00" (the hours with two digits, so that they compare as text), and
# WORKING_DAYS, "1-5" or "1,2,3,4,5,6" (procedures.kernel.working_hours reads them)
WORKING_SPAN = re.compile(
    r"^([01]\d:[0-5]\d|2[0-3]:[0-5]\d)-([01]\d:[0-5]\d|2[0-3]:[0-5]\d|24:00)$"
)
WORKING_DAYS = re.compile(r"^(?:[1-7]-[1-7]|[1-7](?:,[1-7])*)$")

# S3's rules for a bucket's name (which every compatible server accepts)
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


# How every section reads its variables: by their upper-case names, exactly; an empty value
# counts as unset; a list or a table is written as the README shows it, never as JSON.
CONFIG = SettingsConfigDict(
    env_file=".env",
    case_sensitive=True,
    env_ignore_empty=True,
    enable_decoding=False,
    extra="ignore",
    frozen=True,
    arbitrary_types_allowed=True,
    validate_by_name=True,
    alias_generator=AliasGenerator(validation_alias=str.upper),
)


class Settings(BaseSettings):
    """The deployment's settings; each field's variable is its name in upper case."""

    model_config = CONFIG

    bot_token: str | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    admin_telegram_ids: tuple[Annotated[int, Ge(1)], ...] = ()
    timezone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    default_language: Language = "zh-Hant"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: Annotated[int, Ge(1), Le(65535)] = 8443
    emulator_port: Annotated[int, Ge(0), Le(65535)] = 8081
    load_samples: bool = True
    run_scheduler: bool = True
    # urgent fan-out (stop-sales notices, overdue alerts) with Telegram's allow_paid_broadcast:
    # up to 1,000 messages a second, paid in Telegram Stars
    paid_broadcast: bool = False
    # the outbox sender's pace; Telegram allows a bot about 30 a second, so with several
    # processes sending for one bot, each takes its share (two workers: 15)
    outbox_messages_per_second: Annotated[int, Ge(1), Le(30)] = 30
    # the pace of every message this process sends (replies and the outbox alike), as Telegram
    # limits them: overall, per private chat (with a short burst) and per group; 0 lifts one.
    # Other requests (button answers, file downloads, getUpdates) are not limited.
    telegram_messages_per_second: Annotated[float, Ge(0), Le(1000)] = 30.0
    telegram_chat_messages_per_second: Annotated[float, Ge(0), Le(30)] = 1.0
    telegram_chat_burst: Annotated[int, Ge(1), Le(30)] = 3
    telegram_group_messages_per_minute: Annotated[float, Ge(0), Le(1000)] = 20.0
    # how often the deadline sweep runs
    sweep_interval_seconds: Annotated[int, Ge(1), Le(3600)] = 60
    # when routine reminders may reach people (in TIMEZONE, on ISO weekdays: 1 is Monday);
    # outside them a reminder waits for the next start, and each person may set their own
    # hours of the day with /hours. Urgent ones and overdue alerts go at once.
    working_hours: str = "08:30-18:00"
    working_days: str = "1-5"
    # the company named in the title row of every ledger and report
    company_name: Annotated[str, MaxLen(100)] = "售後服務部"
    # a vendor's monthly score (out of 100) at or above this is 合格, below it 不合格
    vendor_pass_mark: Annotated[int, Ge(0), Le(100)] = 60
    # where the evidence files are kept, each under its SHA-256: a folder, or s3://bucket/prefix
    file_store: str = DEFAULT_FILE_STORE
    # an S3-compatible server of one's own (MinIO, Ceph, …); unset: AWS S3
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # how long a ledger, report or notice document may take to render; a rendering still
    # running then is given up (its worker replaced) so that it holds nothing else up
    rendering_timeout_seconds: Annotated[float, Ge(0.01), Le(3600)] = 300.0
    log_level: LogLevel = "INFO"
    # the heads' Mini App (python -m webapp, or beside the bot): the public address the bot's
    # buttons open (unset without a token: the local one below), where it listens (port 0: not
    # started beside the bot), how old a Telegram initData may be, how long a link to a file or
    # a form opens it, and the database it reads (a SELECT-only role in deployment; unset: the
    # bot's DATABASE_URL)
    webapp_url: str | None = None
    webapp_host: str = "127.0.0.1"
    webapp_port: Annotated[int, Ge(0), Le(65535)] = 8082
    webapp_init_data_max_age: Annotated[int, Ge(60), Le(30 * 86400)] = 86400
    webapp_link_seconds: Annotated[int, Ge(10), Le(86400)] = 600
    webapp_database_url: str | None = None

    @field_validator("working_hours")
    @classmethod
    def _working_hours(cls, span: str) -> str:
        match = WORKING_SPAN.match(span)
        if match is None or not match.group(1) < match.group(2) <= "24:00":
            raise ValueError(f"is not a span of the day like 08:30-18:00: {span!r}")
        return span

    @field_validator("working_days")
    @classmethod
    def _working_days(cls, days: str) -> str:
        if not WORKING_DAYS.match(days):
            raise ValueError(f"are not ISO weekdays like 1-5 or 1,2,3,4,5,6: {days!r}")
        return days

    @property
    def uses_emulator(self) -> bool:
        return self.bot_token is None

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
        environment says; reading the environment is start-up's (core.config.read_section)."""
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _trimmed(cls, values: Any) -> Any:
        return trimmed(values)

    @field_validator("bot_token")
    @classmethod
    def _token(cls, token: str | None) -> str | None:
        if token is not None and ":" not in token:
            raise ValueError("does not look like a bot token (it has no ':')")
        return token

    @field_validator("telegram_api_url", "s3_endpoint_url", "webapp_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"must be an http(s) URL, got {url!r}")
        return url

    @field_validator("database_url", "webapp_database_url")
    @classmethod
    def _database_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            raise ValueError(f"is not a database URL: {url!r}") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"must be SQLite or PostgreSQL, got {backend!r}")
        return url

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _ids(cls, ids: Any) -> Any:
        """'11, 22,' -> (11, 22)"""
        if isinstance(ids, str):
            return tuple(part.strip() for part in ids.split(",") if part.strip())
        return ids

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, zone: Any) -> Any:
        if isinstance(zone, str):
            try:
                return ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"is not a known time zone: {zone!r}") from None
        return zone

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith("https://"):
            raise ValueError(f"must be an https URL, got {url!r}")
        return url

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, level: Any) -> Any:
        return level.upper() if isinstance(level, str) else level

    @field_validator("file_store")
    @classmethod
    def _file_store(cls, store: str) -> str:
        """A folder (made on first use), or an S3-compatible bucket `s3://bucket[/prefix]`."""
        if "://" in store:
            scheme, rest = store.split("://", 1)
            if scheme.lower() == "file":
                store = rest
            elif scheme.lower() == "s3":
                return _s3_location(rest)
            else:
                raise ValueError(f"must be a folder or s3://bucket/prefix, got {store!r}")
        path = Path(store)
        if path.exists() and not path.is_dir():
            raise ValueError(f"must be a folder, but {store!r} is a file")
        return store

    @field_validator("s3_region")
    @classmethod
    def _region(cls, region: str | None) -> str | None:
        if region is not None and not re.fullmatch(r"[a-z0-9-]{1,40}", region):
            raise ValueError(f"must look like eu-central-1, got {region!r}")
        return region

    @model_validator(mode="after")
    def _together(self) -> Settings:
        """Settings that only make sense with another."""
        if self.webhook_url is not None:
            secret = self.webhook_secret
            if not secret:
                raise ValueError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
            if not all(c.isalnum() or c in "_-" for c in secret) or not 1 <= len(secret) <= 256:
                raise ValueError(
                    "WEBHOOK_SECRET may only hold A-Z, a-z, 0-9, _ and - (1-256 chars)"
                )
        for name in ("s3_endpoint_url", "s3_region"):
            if getattr(self, name) is not None and not self.file_store.startswith("s3://"):
                raise ValueError(f"{name.upper()} is set, but FILE_STORE is not an s3:// bucket")
        if self.webapp_url is None and self.uses_emulator and self.webapp_port:
            # the demo's Mini App, beside the bot on this machine (the settings are frozen once
            # made: this is their making)
            object.__setattr__(self, "webapp_url", f"http://127.0.0.1:{self.webapp_port}/")
        return self

    @property
    def webapp_database(self) -> str:
        """The database the Mini App reads."""
        return self.webapp_database_url or self.database_url


def _s3_location(rest: str) -> str:
    bucket, _, prefix = rest.partition("/")
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        raise ValueError(
            ": a bucket's name is 3-63 lower-case letters, digits, dots and hyphens, "
            f"got {bucket!r}"
        )
    if any(ord(c) < 32 for c in prefix) or len(prefix) > 512:
        raise ValueError(": the prefix after the bucket must be printable, 512 at most")
    if importlib.util.find_spec("boto3") is None:
        raise ValueError(
            "=s3://… needs the S3 client: install the bot with its s3 extra (pip install '.[s3]')"
        )
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


def trimmed(values: Any) -> Any:
    """Values with their surrounding blanks cut; a blank one counts as unset."""
    if not isinstance(values, Mapping):
        return values
    return {
        key: value.strip() if isinstance(value, str) else value
        for key, value in values.items()
        if not (isinstance(value, str) and not value.strip())
    }


# --- reading a section, and its errors as one line --------------------------------------------

Section = TypeVar("Section", bound=BaseSettings)


class _Given(EnvSettingsSource):
    """The variables of a mapping handed in, in place of the process environment."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str | None]) -> None:
        self._given = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._given, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def read_section(
    section: type[Section],
    env: Mapping[str, str | None] | None = None,
    *,
    env_file: Path | None = Path(".env"),
) -> Section:
    """A settings section from `env` alone, or (without it) from `env_file` overlaid by the process
    environment; a bad value raises ConfigError naming its variable."""
    sources: tuple[PydanticBaseSettingsSource, ...]
    if env is not None:
        sources = (_Given(section, env),)
    else:  # the process environment first, then the file
        found = env_file if env_file is not None and env_file.is_file() else None
        sources = (EnvSettingsSource(section), DotEnvSettingsSource(section, env_file=found))
    try:
        return section(_build_sources=(sources, {}))
    except ValidationError as error:
        raise config_error(section, error) from None


def config_error(section: type[BaseSettings], error: ValidationError) -> ConfigError:
    """Pydantic's report, several lines long, as one line naming the first bad variable."""
    first = error.errors(include_url=False)[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    if first["type"] == "value_error":  # a validator's own words, the rest of a sentence
        reason = str(first.get("ctx", {}).get("error", first["msg"]))
        return ConfigError(
            f"{name}{reason}" if not name or reason[:1] in ":=" else f"{name} {reason}"
        )
    field = _field(section, name)
    explain = _REASONS.get(first["type"])
    explained = explain(first, field) if explain is not None and field is not None else None
    return ConfigError(f"{name} {explained}" if explained else f"{name}: {first['msg']}")


def _bounds(error: ErrorDetails, field: FieldInfo) -> str:
    low = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
    high = next((m.le for m in field.metadata if isinstance(m, Le)), None)
    if low is None or high is None:  # a bound on the items of a list
        return f"must be at least {error.get('ctx', {}).get('ge', low)}, got {error['input']}"
    return f"must be between {low:g} and {high:g}, got {error['input']}"


# pydantic's error types, in the words of a sentence naming the variable
_REASONS: dict[str, Callable[[ErrorDetails, FieldInfo], str]] = {
    "int_parsing": lambda error, _: f"must be a whole number, got {error['input']!r}",
    "int_from_float": lambda error, _: f"must be a whole number, got {error['input']!r}",
    "float_parsing": lambda error, _: f"must be a number, got {error['input']!r}",
    "bool_parsing": lambda error, _: f"must be true or false, got {error['input']!r}",
    "literal_error": lambda error, field: (
        f"must be one of {', '.join(map(str, get_args(field.annotation)))}, got {error['input']!r}"
    ),
    "greater_than_equal": _bounds,
    "less_than_equal": _bounds,
    "string_too_long": lambda _, field: (
        f"must be at most {next(m.max_length for m in field.metadata if isinstance(m, MaxLen))} "
        "characters"
    ),
}


def _field(section: type[BaseSettings], name: str) -> FieldInfo | None:
    """The field whose variable is `name`."""
    return next(
        (field for variable, field in fields_by_variable(section) if variable == name), None
    )


def fields_by_variable(section: type[BaseSettings]) -> list[tuple[str, FieldInfo]]:
    """A section's fields, each with the name of its variable."""
    return [
        (str(field.validation_alias or name.upper()), field)
        for name, field in section.model_fields.items()
    ]


def settings_from(env: Mapping[str, str | None]) -> Settings:
    """Settings from a mapping of variables alone; empty values count as unset."""
    return read_section(Settings, env)


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Settings from `.env` (if present) overlaid by the process environment."""
    return read_section(Settings, env_file=env_file)
