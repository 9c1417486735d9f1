"""Configuration from the environment or `.env`; a bad value stops start-up with one clear line."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from procedures.complaints.intake import HOLD_SCOPES
from procedures.consumer_complaints.common import DEFAULT_ANSWER_WITHIN, DEFAULT_DECISION_WITHIN
from procedures.equipment.defects import DEFAULT_REPAIR_HOURS, SEVERITIES
from procedures.people.users import LANGUAGES
from procedures.vendors.scores import DEFAULT_SCORE_DUE_DAY
from storage.files import DEFAULT_FILE_STORE

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.db"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    bot_token: str | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    admin_telegram_ids: tuple[int, ...] = ()
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    default_language: str = "zh-Hant"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    emulator_port: int = 8081
    invitation_validity: dt.timedelta = dt.timedelta(days=7)
    load_samples: bool = True
    run_scheduler: bool = True
    # urgent fan-out (stop-sales notices, overdue alerts) with Telegram's allow_paid_broadcast:
    # up to 1,000 messages a second, paid in Telegram Stars
    paid_broadcast: bool = False
    # the outbox sender's pace; Telegram allows a bot about 30 a second, so with several
    # processes sending for one bot, each takes its share (two workers: 15)
    outbox_messages_per_second: float = 30.0
    # the pace of every message this process sends (replies and the outbox alike), as Telegram
    # limits them: overall, per private chat (with a short burst) and per group; 0 lifts one.
    # Other requests (button answers, file downloads, getUpdates) are not limited.
    telegram_messages_per_second: float = 30.0
    telegram_chat_messages_per_second: float = 1.0
    telegram_chat_burst: int = 3
    telegram_group_messages_per_minute: float = 20.0
    # how often the deadline sweep runs
    sweep_interval_seconds: int = 60
    # reporting limit for a possible medical-device adverse event (醫療器械不良事件)
    adverse_event_report_within: dt.timedelta = dt.timedelta(days=20)
    # 暫停發貨 of a complained product: the whole product (the seed's 該產品) or only the lot
    hold_scope: str = "product"
    # days the supplier has to answer a quality query before quality is chased
    supplier_answer_within: dt.timedelta = dt.timedelta(days=7)
    # days to complete the corrective action a return's company fault opens
    corrective_action_within: dt.timedelta = dt.timedelta(days=30)
    # local hour at which technicians hear of assets still unpatrolled today
    patrol_reminder_hour: int = 17
    # periodic inspections: equipment system -> every how many months
    inspection_months: dict[str, int] = field(default_factory=lambda: {"elevator": 1})
    # hours a vendor has to repair a defect, by the severity the technician gave it
    repair_hours: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_REPAIR_HOURS))
    # day of the month by whose end the manager's monthly vendor scores are due
    score_due_day: int = DEFAULT_SCORE_DUE_DAY
    # the company named in the title row of every ledger and report
    company_name: str = "售後服務部"
    # a vendor's monthly score (out of 100) at or above this is 合格, below it 不合格
    vendor_pass_mark: int = 60
    # where the evidence files are kept, each under its SHA-256: a folder, or s3://bucket/prefix
    file_store: str = DEFAULT_FILE_STORE
    # an S3-compatible server of one's own (MinIO, Ceph, …); unset: AWS S3
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # a consumer complaint's first answer by after-sales (and its answer after a decision)
    consumer_answer_within: dt.timedelta = DEFAULT_ANSWER_WITHIN
    # the business head's decision on a consumer complaint after-sales could not resolve
    consumer_decision_within: dt.timedelta = DEFAULT_DECISION_WITHIN
    log_level: str = "INFO"

    @property
    def uses_emulator(self) -> bool:
        return self.bot_token is None


def _int(name: str, raw: str, low: int = 0, high: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _rate(name: str, raw: str, high: float) -> float:
    """A rate from 0 (no limit) to `high`; decimals allowed (0.5 a second)."""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not 0 <= value <= high:  # also refuses nan
        raise ConfigError(f"{name} must be between 0 and {high:g}, got {raw}")
    return value


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _http_url(name: str, raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw


def _inspection_months(raw: str) -> dict[str, int]:
    """'elevator:1,fire_protection:3' -> {'elevator': 1, 'fire_protection': 3}"""
    months = {}
    for part in raw.split(","):
        system, _, count = part.strip().partition(":")
        if not system or not count:
            raise ConfigError(f"INSPECTION_MONTHS must look like 'elevator:1,power:6', got {raw!r}")
        months[system.strip()] = _int("INSPECTION_MONTHS", count.strip(), 1, 120)
    return months


def _repair_hours(raw: str) -> dict[str, int]:
    """'urgent:4,normal:48,low:168' -> hours by severity; a severity left out keeps its default."""
    hours = dict(DEFAULT_REPAIR_HOURS)
    for part in raw.split(","):
        severity, _, count = part.strip().partition(":")
        severity = severity.strip()
        if not severity or not count:
            raise ConfigError(
                f"REPAIR_HOURS must look like 'urgent:4,normal:48,low:168', got {raw!r}"
            )
        if severity not in SEVERITIES:
            raise ConfigError(
                f"REPAIR_HOURS: severity must be one of {', '.join(SEVERITIES)}, got {severity!r}"
            )
        hours[severity] = _int("REPAIR_HOURS", count.strip(), 1, 24 * 365)
    return hours


# S3's rules for a bucket's name (which every compatible server accepts)
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _file_store(raw: str) -> str:
    """A folder (made on first use), or an S3-compatible bucket `s3://bucket[/prefix]`."""
    if "://" in raw:
        scheme, rest = raw.split("://", 1)
        if scheme.lower() == "file":
            raw = rest
        elif scheme.lower() == "s3":
            return _s3_location(rest)
        else:
            raise ConfigError(f"FILE_STORE must be a folder or s3://bucket/prefix, got {raw!r}")
    path = Path(raw)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"FILE_STORE must be a folder, but {raw!r} is a file")
    return raw


def _s3_location(rest: str) -> str:
    bucket, _, prefix = rest.partition("/")
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        raise ConfigError(
            "FILE_STORE: a bucket's name is 3-63 lower-case letters, digits, dots and hyphens, "
            f"got {bucket!r}"
        )
    if any(ord(c) < 32 for c in prefix) or len(prefix) > 512:
        raise ConfigError("FILE_STORE: the prefix after the bucket must be printable, 512 at most")
    if importlib.util.find_spec("boto3") is None:
        raise ConfigError(
            "FILE_STORE=s3://… needs the S3 client: install the bot with its s3 extra "
            "(pip install '.[s3]')"
        )
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


def settings_from(env: Mapping[str, str]) -> Settings:
    """Build settings from a mapping of variables; empty values count as unset."""
    values = {k: v.strip() for k, v in env.items() if v is not None and v.strip()}
    kwargs: dict[str, object] = {}

    if token := values.get("BOT_TOKEN"):
        if ":" not in token:
            raise ConfigError("BOT_TOKEN does not look like a bot token (it has no ':')")
        kwargs["bot_token"] = token
    if api_url := values.get("TELEGRAM_API_URL"):
        kwargs["telegram_api_url"] = _http_url("TELEGRAM_API_URL", api_url)
    if database_url := values.get("DATABASE_URL"):
        try:
            backend = make_url(database_url).get_backend_name()
        except ArgumentError:
            raise ConfigError(f"DATABASE_URL is not a database URL: {database_url!r}") from None
        if backend not in ("sqlite", "postgresql"):
            raise ConfigError(f"DATABASE_URL must be SQLite or PostgreSQL, got {backend!r}")
        kwargs["database_url"] = database_url
    if admins := values.get("ADMIN_TELEGRAM_IDS"):
        ids = []
        for part in admins.split(","):
            if part.strip():
                ids.append(_int("ADMIN_TELEGRAM_IDS", part.strip(), low=1))
        kwargs["admin_telegram_ids"] = tuple(ids)
    if zone := values.get("TIMEZONE"):
        try:
            kwargs["timezone"] = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"TIMEZONE is not a known time zone: {zone!r}") from None
    if language := values.get("DEFAULT_LANGUAGE"):
        if language not in LANGUAGES:
            raise ConfigError(
                f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, got {language!r}"
            )
        kwargs["default_language"] = language
    if webhook_url := values.get("WEBHOOK_URL"):
        if not webhook_url.startswith("https://"):
            raise ConfigError(f"WEBHOOK_URL must be an https URL, got {webhook_url!r}")
        kwargs["webhook_url"] = webhook_url
        secret = values.get("WEBHOOK_SECRET")
        if not secret:
            raise ConfigError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
        if not all(c.isalnum() or c in "_-" for c in secret) or not 1 <= len(secret) <= 256:
            raise ConfigError("WEBHOOK_SECRET may only hold A-Z, a-z, 0-9, _ and - (1-256 chars)")
        kwargs["webhook_secret"] = secret
    if listen := values.get("WEBHOOK_LISTEN"):
        kwargs["webhook_listen"] = listen
    if port := values.get("WEBHOOK_PORT"):
        kwargs["webhook_port"] = _int("WEBHOOK_PORT", port, 1, 65535)
    if port := values.get("EMULATOR_PORT"):
        kwargs["emulator_port"] = _int("EMULATOR_PORT", port, 0, 65535)
    if days := values.get("INVITATION_VALID_DAYS"):
        kwargs["invitation_validity"] = dt.timedelta(
            days=_int("INVITATION_VALID_DAYS", days, 1, 365)
        )
    if samples := values.get("LOAD_SAMPLES"):
        kwargs["load_samples"] = _bool("LOAD_SAMPLES", samples)
    if run_scheduler := values.get("RUN_SCHEDULER"):
        kwargs["run_scheduler"] = _bool("RUN_SCHEDULER", run_scheduler)
    if interval := values.get("SWEEP_INTERVAL_SECONDS"):
        kwargs["sweep_interval_seconds"] = _int("SWEEP_INTERVAL_SECONDS", interval, 1, 3600)
    if rate := values.get("OUTBOX_MESSAGES_PER_SECOND"):
        kwargs["outbox_messages_per_second"] = float(
            _int("OUTBOX_MESSAGES_PER_SECOND", rate, 1, 30)
        )
    for name, high in (
        ("TELEGRAM_MESSAGES_PER_SECOND", 1000.0),
        ("TELEGRAM_CHAT_MESSAGES_PER_SECOND", 30.0),
        ("TELEGRAM_GROUP_MESSAGES_PER_MINUTE", 1000.0),
    ):
        if rate := values.get(name):
            kwargs[name.lower()] = _rate(name, rate, high)
    if burst := values.get("TELEGRAM_CHAT_BURST"):
        kwargs["telegram_chat_burst"] = _int("TELEGRAM_CHAT_BURST", burst, 1, 30)
    if paid := values.get("PAID_BROADCAST"):
        kwargs["paid_broadcast"] = _bool("PAID_BROADCAST", paid)
    if days := values.get("ADVERSE_EVENT_REPORT_DAYS"):
        kwargs["adverse_event_report_within"] = dt.timedelta(
            days=_int("ADVERSE_EVENT_REPORT_DAYS", days, 1, 365)
        )
    if scope := values.get("HOLD_SCOPE"):
        if scope.lower() not in HOLD_SCOPES:
            raise ConfigError(f"HOLD_SCOPE must be product or lot, got {scope!r}")
        kwargs["hold_scope"] = scope.lower()
    if days := values.get("SUPPLIER_ANSWER_DAYS"):
        kwargs["supplier_answer_within"] = dt.timedelta(
            days=_int("SUPPLIER_ANSWER_DAYS", days, 1, 365)
        )
    if days := values.get("CORRECTIVE_ACTION_DAYS"):
        kwargs["corrective_action_within"] = dt.timedelta(
            days=_int("CORRECTIVE_ACTION_DAYS", days, 1, 365)
        )
    if hour := values.get("PATROL_REMINDER_HOUR"):
        kwargs["patrol_reminder_hour"] = _int("PATROL_REMINDER_HOUR", hour, 0, 23)
    if inspections := values.get("INSPECTION_MONTHS"):
        kwargs["inspection_months"] = _inspection_months(inspections)
    if repair := values.get("REPAIR_HOURS"):
        kwargs["repair_hours"] = _repair_hours(repair)
    if day := values.get("SCORE_DUE_DAY"):
        kwargs["score_due_day"] = _int("SCORE_DUE_DAY", day, 1, 28)
    if company := values.get("COMPANY_NAME"):
        if len(company) > 100:
            raise ConfigError("COMPANY_NAME must be at most 100 characters")
        kwargs["company_name"] = company.strip()
    if mark := values.get("VENDOR_PASS_MARK"):
        kwargs["vendor_pass_mark"] = _int("VENDOR_PASS_MARK", mark, 0, 100)
    if store := values.get("FILE_STORE"):
        kwargs["file_store"] = _file_store(store)
    for name in ("S3_ENDPOINT_URL", "S3_REGION"):
        if name in values and not str(kwargs.get("file_store", "")).startswith("s3://"):
            raise ConfigError(f"{name} is set, but FILE_STORE is not an s3:// bucket")
    if endpoint := values.get("S3_ENDPOINT_URL"):
        kwargs["s3_endpoint_url"] = _http_url("S3_ENDPOINT_URL", endpoint)
    if region := values.get("S3_REGION"):
        if not re.fullmatch(r"[a-z0-9-]{1,40}", region):
            raise ConfigError(f"S3_REGION must look like eu-central-1, got {region!r}")
        kwargs["s3_region"] = region
    if hours := values.get("CONSUMER_ANSWER_HOURS"):
        kwargs["consumer_answer_within"] = dt.timedelta(
            hours=_int("CONSUMER_ANSWER_HOURS", hours, 1, 24 * 30)
        )
    if days := values.get("CONSUMER_DECISION_DAYS"):
        kwargs["consumer_decision_within"] = dt.timedelta(
            days=_int("CONSUMER_DECISION_DAYS", days, 1, 90)
        )
    if level := values.get("LOG_LEVEL"):
        if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
        kwargs["log_level"] = level.upper()
    return Settings(**kwargs)  # type: ignore[arg-type]


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Settings from `.env` (if present) overlaid by the process environment."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return settings_from(merged)
