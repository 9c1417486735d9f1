"""The rules as data: every deadline kind declared once with its owner, texts and setting, and the
one outcome every report reads."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

import procedures.rules
import scheduler.jobs  # noqa: F401 - the process that sweeps loads every record type's rules
from bot.texts import load_catalogues
from procedures.complaints import rules as complaint_rules
from procedures.consumer_complaints import rules as consumer_rules
from procedures.equipment import rules as equipment_rules
from procedures.kernel import roles
from procedures.kernel.errors import WrongState
from procedures.kernel.rules import DeadlineRule, Outcome, outcome_of
from procedures.returns import rules as return_rules
from procedures.returns.rules import ReturnStatus
from procedures.vendors import rules as vendor_rules

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


def test_the_sweeping_process_knows_the_rule_of_every_deadline_kind() -> None:
    assert set(DeadlineRule.registry) == set(procedures.rules.DEADLINES)


def test_each_rule_has_an_owner_role_a_name_in_every_language_and_a_documented_setting() -> None:
    catalogues = load_catalogues()
    documented = (ROOT / ".env.example").read_text(encoding="utf-8")
    for kind, rule in procedures.rules.DEADLINES.items():
        assert rule.owner in roles.ALL_ROLES, kind
        for language, catalogue in catalogues.items():
            assert catalogue.get(f"deadline.kind.{kind}"), (language, kind)
        if rule.setting is not None:
            assert f"{rule.setting}=" in documented, rule.setting


def test_a_company_internal_step_is_marked_so_in_its_rule() -> None:
    internal = {kind for kind, rule in procedures.rules.DEADLINES.items() if rule.internal}
    assert internal == {
        "corrective_action",
        "preventive_action",
        "return_inspection",
        "return_review",
        "return_approval",
        "return_pick_up",
        "return_booking_in",
        "return_transport_order",
        "return_tally",
        "return_receipt",
        "return_finance_review",
        "consumer_return_filed",
        "consumer_improvement_proposals",
        "consumer_summary_forwarded",
    }


def test_a_rule_with_a_window_gives_the_due_time_and_one_without_refuses_to_guess() -> None:
    hold_lift = procedures.rules.DEADLINES["hold_lift"]
    assert hold_lift.due(T0) == T0 + dt.timedelta(hours=24)
    with pytest.raises(ValueError):
        procedures.rules.DEADLINES["return_slip"].due(T0)


def test_a_second_rule_for_a_declared_kind_is_refused() -> None:
    hold_lift = procedures.rules.DEADLINES["hold_lift"]
    with pytest.raises(TypeError):
        DeadlineRule(hold_lift.kind, roles.QUALITY, window=dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("met_at", "late", "closed_as", "as_of", "expected"),
    [
        (None, None, None, None, Outcome.OPEN),
        (T0, False, "met", None, Outcome.ON_TIME),
        (T0, True, "met", None, Outcome.LATE),
        (T0, None, "waived", None, Outcome.WAIVED),
        (True, True, "met", None, Outcome.LATE),  # as a grouped query gives it
        (T0, False, "met", T0, Outcome.OPEN),  # closed at the end of the period: still open then
        (T0, False, "met", T0 + dt.timedelta(seconds=1), Outcome.ON_TIME),
    ],
)
def test_one_outcome_for_a_deadline(met_at, late, closed_as, as_of, expected) -> None:
    assert outcome_of(met_at, late, closed_as, as_of=as_of) == expected


LIFECYCLES = {
    "complaint": complaint_rules.LIFECYCLE,
    "return": return_rules.LIFECYCLE,
    "consumer complaint": consumer_rules.LIFECYCLE,
    "defect": equipment_rules.DEFECT_LIFECYCLE,
    "rectification": vendor_rules.RECTIFICATION_LIFECYCLE,
    "assessment": vendor_rules.ASSESSMENT_LIFECYCLE,
}


@pytest.mark.parametrize("name", sorted(LIFECYCLES))
def test_every_status_is_reachable_from_the_first_and_the_final_ones_are_the_procedures(
    name: str,
) -> None:
    lifecycle = LIFECYCLES[name]
    first = next(iter(lifecycle.moves))
    reached, frontier = {first}, [first]
    while frontier:
        for target in lifecycle.moves[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(lifecycle.moves)
    assert {str(s) for s in lifecycle.final()} <= {
        "closed",
        "rejected",
        "approved",
        "conforming",
        "signed",
    }


def test_a_move_the_table_does_not_allow_is_refused_with_the_record_types_words() -> None:
    request = SimpleNamespace(number="RT-2026-00001", status=ReturnStatus.DELIVERED)
    with pytest.raises(WrongState) as refused:
        return_rules.LIFECYCLE.move(request, ReturnStatus.SETTLED)
    assert (refused.value.text_key, refused.value.params["number"]) == (
        "return.wrong_step",
        "RT-2026-00001",
    )
    assert request.status == ReturnStatus.DELIVERED
    return_rules.LIFECYCLE.move(request, ReturnStatus.INSPECTED)
    assert request.status == ReturnStatus.INSPECTED


def test_statuses_change_only_through_their_lifecycle() -> None:
    """An assignment to a record's status outside the kernel would skip the table."""
    found = []
    for path in sorted((ROOT / "procedures").rglob("*.py")):
        if path.parent.name == "kernel":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno}"
                    for name in names
                    if isinstance(name, ast.Attribute) and name.attr == "status"
                ]
    assert not found, found


# --- who may read and act

RULES_MODULES = (complaint_rules, return_rules, consumer_rules, equipment_rules, vendor_rules)


def role_sets_of(module: object) -> dict[str, frozenset[str] | tuple[str, ...]]:
    return {
        name: value
        for name, value in vars(module).items()
        if name.isupper()
        and isinstance(value, frozenset | tuple)
        and value
        and all(isinstance(role, str) and role in roles.ALL_ROLES for role in value)
    }


def test_every_record_type_names_who_may_read_and_act_with_known_roles() -> None:
    for module in RULES_MODULES:
        sets = role_sets_of(module)
        assert sets, f"{module.__name__} names no roles"
        for name, members in sets.items():
            unknown = set(members) - set(roles.ALL_ROLES)
            assert not unknown, f"{module.__name__}.{name}: unknown roles {unknown}"


def test_role_sets_live_in_the_rules_not_beside_the_use_cases() -> None:
    """A module-level set of roles outside a record type's rules is a rule that slipped out of
    them: the next change of who may act would have to find it."""
    homes = {"procedures/kernel/roles.py", "procedures/personal_records.py"}
    homes |= {
        f"procedures/{p.parent.name}/rules.py" for p in (ROOT / "procedures").glob("*/rules.py")
    }
    found = []
    for path in sorted((ROOT / "procedures").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in homes:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            if value is None:
                continue
            source = ast.unparse(value)
            if source.startswith(("frozenset(", "{", "(")) and source.count("roles.") >= 1:
                found.append(f"{relative}:{node.lineno}: {source[:60]}")
    assert not found, "role sets outside the rules:\n" + "\n".join(found)


def test_the_commands_take_their_roles_from_the_rules() -> None:
    from bot.commands import command

    assert command("complain_for").roles == complaint_rules.FILING_STAFF
    assert command("return_for").roles == return_rules.FILING_STAFF
    assert command("consumer_for").roles == consumer_rules.FILING_STAFF
    assert command("patrol").roles == equipment_rules.TECHNICIANS
    assert command("rectify").roles == vendor_rules.MANAGERS
