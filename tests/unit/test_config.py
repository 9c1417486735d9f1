"""Configuration: defaults that need no set-up, and one clear line naming a bad value."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ConfigError, Settings, load_settings, settings_from
from core.services import load_policies
from procedures.consumer_complaints.policy import ConsumerComplaintPolicy
from procedures.equipment.policy import EquipmentPolicy
from procedures.kernel.policy import Policies
from procedures.people.policy import PeoplePolicy
from procedures.returns.policy import ReturnPolicy
from procedures.vendors.policy import VendorPolicy


def configuration_from(env: dict[str, str]) -> Policies:
    """What start-up reads: the deployment's settings, then every record type's policy."""
    settings_from(env)
    return load_policies(env)


def test_an_empty_environment_runs_on_sqlite_and_the_emulator() -> None:
    settings = settings_from({})
    assert settings.uses_emulator
    assert settings.database_url == "sqlite+aiosqlite:///data/bot.db"
    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    assert str(settings.timezone) == "Asia/Shanghai"
    assert settings.default_language == "zh-Hant"
    assert load_policies({}).of(PeoplePolicy).invitation_validity == dt.timedelta(days=7)


def test_values_are_read_and_trimmed() -> None:
    settings = settings_from(
        {
            "BOT_TOKEN": " 123:abc ",
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/bot",
            "DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1/test",
            "ADMIN_TELEGRAM_IDS": "11, 22,",
            "TIMEZONE": "Asia/Taipei",
            "DEFAULT_LANGUAGE": "en",
        }
    )
    assert settings.bot_token == "123:abc" and not settings.uses_emulator
    assert settings.admin_telegram_ids == (11, 22)
    assert str(settings.timezone) == "Asia/Taipei"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BOT_TOKEN", "no-colon", "BOT_TOKEN does not look like a bot token"),
        ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL must be an http(s) URL"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must be SQLite or PostgreSQL"),
        ("DATABASE_URL", "not a url", "DATABASE_URL is not a database URL"),
        ("ADMIN_TELEGRAM_IDS", "12,abc", "ADMIN_TELEGRAM_IDS must be a whole number"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE is not a known time zone"),
        ("DEFAULT_LANGUAGE", "fr", "DEFAULT_LANGUAGE must be one of zh-Hant, zh-Hans, en"),
        ("WEBHOOK_URL", "http://insecure", "WEBHOOK_URL must be an https URL"),
        ("INVITATION_VALID_DAYS", "0", "INVITATION_VALID_DAYS must be between 1 and 365"),
        ("REPAIR_HOURS", "urgent=4", "REPAIR_HOURS must look like 'urgent:4,normal:48,low:168'"),
        ("REPAIR_HOURS", "critical:2", "REPAIR_HOURS: severity must be one of urgent, normal, low"),
        ("REPAIR_HOURS", "urgent:0", "REPAIR_HOURS must be between 1 and 8760"),
        ("REPAIR_HOURS", "low:soon", "REPAIR_HOURS must be a whole number"),
        ("SCORE_DUE_DAY", "31", "SCORE_DUE_DAY must be between 1 and 28"),
        ("CONSUMER_ANSWER_HOURS", "0", "CONSUMER_ANSWER_HOURS must be between 1 and 720"),
        ("CONSUMER_ANSWER_HOURS", "a day", "CONSUMER_ANSWER_HOURS must be a whole number"),
        ("CONSUMER_DECISION_DAYS", "91", "CONSUMER_DECISION_DAYS must be between 1 and 90"),
        ("TELEGRAM_MESSAGES_PER_SECOND", "fast", "TELEGRAM_MESSAGES_PER_SECOND must be a number"),
        ("TELEGRAM_MESSAGES_PER_SECOND", "-1", "must be between 0 and 1000, got -1"),
        ("TELEGRAM_CHAT_MESSAGES_PER_SECOND", "nan", "must be between 0 and 30, got nan"),
        ("TELEGRAM_GROUP_MESSAGES_PER_MINUTE", "inf", "must be between 0 and 1000"),
        ("TELEGRAM_CHAT_BURST", "0", "TELEGRAM_CHAT_BURST must be between 1 and 30"),
    ],
)
def test_a_bad_value_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        configuration_from({name: value})


def test_repair_hours_by_severity_default_and_override_one_at_a_time() -> None:
    assert load_policies({}).of(EquipmentPolicy).repair_hours == {
        "urgent": 4,
        "normal": 48,
        "low": 168,
    }
    assert load_policies({"REPAIR_HOURS": " urgent:2 , low:72"}).of(
        EquipmentPolicy
    ).repair_hours == {
        "urgent": 2,
        "normal": 48,
        "low": 72,
    }


def test_the_monthly_scores_are_due_by_the_fifth_unless_configured() -> None:
    assert load_policies({}).of(VendorPolicy).score_due_day == 5
    assert load_policies({"SCORE_DUE_DAY": "10"}).of(VendorPolicy).score_due_day == 10


def test_consumer_complaints_are_answered_in_24_hours_and_decided_in_3_days_unless_configured() -> (
    None
):
    defaults = load_policies({}).of(ConsumerComplaintPolicy)
    assert defaults.answer_within == dt.timedelta(hours=24)
    assert defaults.decision_within == dt.timedelta(days=3)
    configured = load_policies({"CONSUMER_ANSWER_HOURS": "8", "CONSUMER_DECISION_DAYS": "5"}).of(
        ConsumerComplaintPolicy
    )
    assert configured.answer_within == dt.timedelta(hours=8)
    assert configured.decision_within == dt.timedelta(days=5)


def test_telegrams_pace_is_the_default_and_each_rate_a_setting() -> None:
    default = settings_from({})
    assert (
        default.telegram_messages_per_second,
        default.telegram_chat_messages_per_second,
        default.telegram_chat_burst,
        default.telegram_group_messages_per_minute,
    ) == (30.0, 1.0, 3, 20.0)
    three_workers = settings_from(
        {"TELEGRAM_MESSAGES_PER_SECOND": "10", "TELEGRAM_CHAT_MESSAGES_PER_SECOND": "0.5"}
    )
    assert three_workers.telegram_messages_per_second == 10.0
    assert three_workers.telegram_chat_messages_per_second == 0.5
    assert settings_from({"TELEGRAM_MESSAGES_PER_SECOND": "0"}).telegram_messages_per_second == 0


def test_a_webhook_needs_a_secret_token() -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET is required"):
        settings_from({"BOT_TOKEN": "1:a", "WEBHOOK_URL": "https://bot.example.com/hook"})


def test_start_up_stops_with_one_line_naming_the_setting(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={"TIMEZONE": "Nowhere/Land", "PYTHONPATH": str(Path(__file__).parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: TIMEZONE is not a known time zone: 'Nowhere/Land'"
    ]


@pytest.mark.parametrize("program", ["bot", "scheduler"])
def test_a_bad_policy_value_stops_either_process_with_one_line(
    tmp_path: Path, program: str
) -> None:
    """The record types' policies are read at start-up too, from the .env file as well."""
    (tmp_path / ".env").write_text("REPAIR_HOURS=urgent:4,critical:1\n")
    result = subprocess.run(
        [sys.executable, "-m", program],
        cwd=tmp_path,
        env={"PYTHONPATH": str(Path(__file__).parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: REPAIR_HOURS: severity must be one of urgent, normal, low, "
        "got 'critical'"
    ]


def test_company_name_and_vendor_pass_mark_are_settings() -> None:
    assert settings_from({}).vendor_pass_mark == 60
    settings = settings_from({"COMPANY_NAME": " 康華醫藥有限公司 ", "VENDOR_PASS_MARK": "75"})
    assert (settings.company_name, settings.vendor_pass_mark) == ("康華醫藥有限公司", 75)
    with pytest.raises(ConfigError, match="VENDOR_PASS_MARK must be between 0 and 100"):
        settings_from({"VENDOR_PASS_MARK": "101"})


def _report_command(tmp_path: Path, kind: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot report KIND ...` on a fresh SQLite database with the samples, in English."""
    env = {
        "PYTHONPATH": str(Path(__file__).parents[2]),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        "LOG_LEVEL": "WARNING",
        "DEFAULT_LANGUAGE": "en",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "report", kind, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_report_command_writes_the_workbook_and_the_chart(tmp_path: Path) -> None:
    result = _report_command(
        tmp_path, "deadline_on_time", "--out", str(tmp_path / "q3.xlsx"), "--period", "2026-q3"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"deadlines-2026-Q3.xlsx written to {tmp_path / 'q3.xlsx'}",
        f"deadlines-2026-Q3.png written to {tmp_path / 'q3.png'}",
    ]
    assert (tmp_path / "q3.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    wrong = _report_command(
        tmp_path, "deadline_on_time", "--out", str(tmp_path / "x.xlsx"), "--period", "2026-11"
    )
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (
        "deadline_on_time is a quarter report: give a period like 2026-Q3"
    )


def test_the_report_command_writes_the_exchange_ratios_and_their_chart(tmp_path: Path) -> None:
    result = _report_command(
        tmp_path, "exchange_ratio", "--period", "2026-10", "--out", str(tmp_path / "ratios.xlsx")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"exchange-ratio-2026-10.xlsx written to {tmp_path / 'ratios.xlsx'}",
        f"exchange-ratio-2026-10.png written to {tmp_path / 'ratios.png'}",
    ]
    assert (tmp_path / "ratios.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    from openpyxl import load_workbook

    rows = list(load_workbook(tmp_path / "ratios.xlsx").active.iter_rows(values_only=True))
    by_first = {row[0]: row[1:] for row in rows}
    # the sample customers at the end of October: C002 bought 4,800.00 on 10-08, no exchanges
    assert by_first["C002 康健藥房連鎖"][3:8] == (0.0, 4800.0, "0.00%", "3.00%", "no")


def test_start_up_reads_the_env_file_under_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "TIMEZONE=Asia/Taipei\nLOG_LEVEL=debug\nCORRECTIVE_ACTION_DAYS=14\nOTHER=x\n"
    )
    monkeypatch.setenv("LOG_LEVEL", "warning")
    monkeypatch.setenv("CORRECTIVE_ACTION_DAYS", "")  # empty: unset, the file's value holds
    settings = load_settings(env_file)
    assert (str(settings.timezone), settings.log_level) == ("Asia/Taipei", "WARNING")
    policies = load_policies(env_file=env_file)
    assert policies.of(ReturnPolicy).corrective_action_within == dt.timedelta(days=14)
    # made in code, settings hold what they are given, whatever the environment says
    assert Settings().log_level == "INFO"
    assert ReturnPolicy().corrective_action_within == dt.timedelta(days=30)
