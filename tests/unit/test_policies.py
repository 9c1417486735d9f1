"""The record types' policies: built from their rules' settings, one line naming a bad value,
and reaching the use cases through the unit of work."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import get_args

import pytest

from core.config import ConfigError, Language, Settings, fields_by_variable
from core.services import load_policies
from procedures.kernel.clock import ManualClock
from procedures.kernel.policy import Policies
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.people import users
from procedures.policies import SECTIONS
from procedures.returns.policy import ReturnPolicy
from procedures.rules import DEADLINES

ROOT = Path(__file__).resolve().parents[2]


def policy_fields() -> dict[str, object]:
    """Every policy field by its variable."""
    return {
        variable: field for section in SECTIONS for variable, field in fields_by_variable(section)
    }


def test_every_setting_a_deadline_rule_names_is_a_policy_field_defaulting_to_its_window() -> None:
    fields = policy_fields()
    named = [rule for rule in DEADLINES.values() if rule.setting is not None]
    assert named, "some deadline rules name their setting"
    for rule in named:
        assert rule.setting in fields, f"{rule.kind}: {rule.setting} is no policy's field"
        if rule.window is not None:
            default = fields[rule.setting].get_default(call_default_factory=True)  # type: ignore[attr-defined]
            assert default == rule.window, f"{rule.setting} defaults to {default}, not the window"


def test_no_variable_belongs_to_two_sections() -> None:
    seen: dict[str, str] = {}
    for section in (Settings, *SECTIONS):
        for variable, _ in fields_by_variable(section):
            assert variable not in seen, f"{variable} in {seen.get(variable)} and {section}"
            seen[variable] = section.__name__


def test_a_window_is_read_in_the_unit_its_variable_names() -> None:
    policy = load_policies({"CORRECTIVE_ACTION_DAYS": "14"}).of(ReturnPolicy)
    assert policy.corrective_action_within == dt.timedelta(days=14)
    with pytest.raises(ConfigError, match=r"^CORRECTIVE_ACTION_DAYS must be between 1 and 365"):
        load_policies({"CORRECTIVE_ACTION_DAYS": "366"})
    with pytest.raises(ConfigError, match=r"^INSPECTION_MONTHS must look like 'elevator:1"):
        load_policies({"INSPECTION_MONTHS": "elevator"})
    with pytest.raises(
        ConfigError, match=r"^PATROL_REMINDER_HOUR must be between 0 and 23, got 24"
    ):
        load_policies({"PATROL_REMINDER_HOUR": "24"})


def test_the_unit_of_work_hands_the_loaded_policy_and_defaults_otherwise() -> None:
    clock = ManualClock(dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    loaded = load_policies({"CORRECTIVE_ACTION_DAYS": "14"})
    given = UnitOfWork(None, clock, policies=loaded)  # type: ignore[arg-type]
    assert given.policy(ReturnPolicy).corrective_action_within == dt.timedelta(days=14)
    bare = UnitOfWork(None, clock)  # type: ignore[arg-type]
    assert bare.policy(ReturnPolicy).corrective_action_within == dt.timedelta(days=30)
    assert Policies().of(ReturnPolicy) == ReturnPolicy()


def test_the_default_language_is_one_the_users_may_choose() -> None:
    assert get_args(Language) == users.LANGUAGES


def configured_variables() -> set[str]:
    return {
        variable for section in (Settings, *SECTIONS) for variable, _ in fields_by_variable(section)
    }


def test_env_example_lists_every_variable_and_no_other() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert listed == configured_variables()


def test_the_readmes_configuration_table_lists_every_variable_and_no_other() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    listed = {
        name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])
    }
    assert listed == configured_variables()
