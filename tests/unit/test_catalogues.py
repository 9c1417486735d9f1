"""Every text id the code can use, literal or built from known values, exists in zh-Hant, zh-Hans
and English; the catalogues agree on keys and placeholders; a missing id is never silent."""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import get_args

import pytest

import procedures.rules
from bot.commands import COMMANDS, MENU_COMMANDS
from bot.handlers import return_confirm
from bot.texts import LANGUAGES, MissingParameter, MissingText, Texts, load_catalogues, placeholders
from procedures import personal_records
from procedures.complaints import handling, nonconforming
from procedures.complaints.common import SUBJECT as COMPLAINT_SUBJECT
from procedures.complaints.intake import CHANNELS, HOLD_SCOPES, VERIFICATION_WINDOW, ComplaintDraft
from procedures.complaints.ledger import REMARK_ACTIONS
from procedures.complaints.rules import ComplaintStatus
from procedures.consumer_complaints import common
from procedures.consumer_complaints.rules import ConsumerComplaintStatus
from procedures.equipment.defects import REPAIR_SEATS, SEVERITIES
from procedures.equipment.rules import EQUIPMENT_SYSTEMS, DefectStatus
from procedures.kernel import deadlines, roles
from procedures.masterdata import kinds, table
from procedures.overview import kinds as overview_kinds
from procedures.overview import records as overview_records
from procedures.returns import common as return_common
from procedures.returns import goods as return_goods
from procedures.returns import queries as return_queries
from procedures.returns import review as return_review
from procedures.returns import rules as return_rules
from procedures.returns import slips as return_slips
from procedures.returns.rules import ReturnReason, ReturnStatus, Slot
from procedures.vendors.rectifications import RUNGS
from procedures.vendors.rules import AssessmentStatus, RectificationStatus
from procedures.vendors.scores import SCORE_CRITERIA
from reports.complaints import LEDGER_COLUMNS
from reports.consumer_complaints import FIGURES, STEP_COLUMNS, SUMMARY_COLUMNS
from reports.registry import REPORTS
from reports.vendors import MEASURED
from tests.conftest import SHANGHAI
from webapp import charts as miniapp_charts
from webapp import views as miniapp_views

ROOT = Path(__file__).parents[2]
SOURCE_FOLDERS = ("bot", "procedures", "reports", "scheduler", "webapp")
TEXT_ID = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)+$")
VALUE = "{}"  # stands for each interpolated value in an id built with an f-string
# Functions that take a text id, and where: an f-string there is an id even without a section.
TEXT_ARGUMENT = {"as_text": 0, "text": 0, "t": 0, "label": 0, "button": 0, "get": 1, "reply": 1}


@dataclass(frozen=True)
class TextIdUse:
    where: str  # path:line
    text_id: str  # a literal id, or an f-string's id with VALUE for each interpolated value


@cache
def _sources(folders: tuple[str, ...] = SOURCE_FOLDERS) -> tuple[tuple[str, ast.Module], ...]:
    return tuple(
        (str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8")))
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
    )


def text_id_uses(sections: set[str]) -> Iterator[TextIdUse]:
    """Every string constant shaped like a text id whose first segment is a catalogue section or
    that is handed to a text function, and every f-string that starts with `section.` or is
    handed to one: whatever the code gives context.reply/text, texts.get, button(), as_text, an
    error class or a notification."""
    for path, tree in _sources():
        in_fstrings: set[int] = set()
        text_arguments: set[int] = set()
        for node in ast.walk(tree):  # breadth first: a call and an f-string come before parts
            if isinstance(node, ast.Call) and _name(node.func) in TEXT_ARGUMENT:
                position = TEXT_ARGUMENT[_name(node.func)]  # type: ignore[index]
                text_arguments.update(id(a) for a in node.args[position : position + 1])
                text_arguments.update(id(k.value) for k in node.keywords if k.arg == "text_key")
            elif isinstance(node, ast.JoinedStr):
                in_fstrings.update(id(part) for part in node.values)
                head = node.values[0] if node.values else None
                starts_with_section = (
                    isinstance(head, ast.Constant)
                    and "." in head.value
                    and head.value.split(".")[0] in sections
                )
                if starts_with_section or id(node) in text_arguments:
                    text_id = "".join(
                        part.value if isinstance(part, ast.Constant) else VALUE
                        for part in node.values
                    )
                    yield TextIdUse(f"{path}:{node.lineno}", text_id)
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in in_fstrings
                and TEXT_ID.match(node.value)
                and (node.value.split(".")[0] in sections or id(node) in text_arguments)
            ):
                yield TextIdUse(f"{path}:{node.lineno}", node.value)


def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


# --- the values the code interpolates into ids, where no constant lists them ---


def _calls(name: str) -> Iterator[tuple[dict[str, str], ast.Call]]:
    """Calls of `name` in procedures/, with the module's string constants to resolve names."""
    for _, tree in _sources(("procedures",)):
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if _name(node.func) == name:
                    yield constants, node


def _keyword(constants: dict[str, str], call: ast.Call, name: str) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            if isinstance(keyword.value, ast.Constant):
                return keyword.value.value
            if isinstance(keyword.value, ast.Name):
                return constants.get(keyword.value.id)
    return None


def told_complainant() -> set[str]:
    """The text ids a complaint's or a return's timeline keeps as `text_key` of a reply to the
    complainant or the customer."""
    return {
        argument.value
        for name in ("tell_complainant", "tell_customer")
        for _, call in _calls(name)
        if isinstance(argument := call.args[2], ast.Constant)
    }


def timeline_actions(subject: str) -> set[str]:
    """Actions recorded on `subject`; the deadline sweep records on `deadline.subject_type`,
    so its actions may land on every subject that has deadlines."""
    with_deadlines = {
        _keyword(constants, call, "subject_type") for constants, call in _calls("open_deadline")
    }
    actions = set()
    for _constants, call in _calls("record_change"):
        # record_change(session, record, action, now): the record's variable names its subject
        record, action_node = call.args[1], call.args[2]
        if (
            isinstance(record, ast.Name)
            and record.id == subject
            and isinstance(action_node, ast.Constant)
        ):
            actions.add(action_node.value)
    for constants, call in _calls("record_event"):
        action = _keyword(constants, call, "action")
        on = _keyword(constants, call, "subject_type")
        of_a_deadline = any(
            k.arg == "subject_type"
            and isinstance(k.value, ast.Attribute)
            and k.value.attr == "subject_type"
            for k in call.keywords
        )
        if action is not None and (on == subject or (of_a_deadline and subject in with_deadlines)):
            actions.add(action)
    return actions


# every step one person may hold only one of (procedures.kernel.separation)
SEATS = set(return_common.RETURN_SEATS) | set(handling.COMPLAINT_SEATS) | set(REPAIR_SEATS)


def expansions() -> dict[str, set[str]]:
    """For each id the code builds with an f-string, the values it can be built from."""
    localities = set(VERIFICATION_WINDOW)
    return {
        "miniapp.type.{}": set(overview_kinds.KINDS),
        "miniapp.when.{}": {f"month_{number}" for number in range(1, 13)},
        # a chart's words: its period and months, its title and unit by its key, its notes
        "miniapp.chart.{}": {"span", "other"}
        | {f"month_{number}" for number in range(1, 13)}
        | {f"title.{key}" for key in miniapp_charts.UNITS}
        | {f"unit.{unit}" for unit in miniapp_charts.UNITS.values()}
        | {
            f"note.{note}"
            for note in ("pass_mark", "exchange_limit", "exchange_limits", "limit_of")
        },
        "miniapp.field.{}": set(overview_records.FIELD_NAMES),
        "miniapp.deadline_state.{}": set(miniapp_views.DEADLINE_STATES.values()),
        "cmd.{}": {c.name for c in COMMANDS} | set(MENU_COMMANDS),
        "role.{}": set(roles.ALL_ROLES),
        "language.name.{}": set(LANGUAGES),
        "complaint.status.{}": set(ComplaintStatus),
        "complaint.locality.{}": localities,
        "report.locality.{}": localities,
        "complaint.channel.{}": {*CHANNELS, ComplaintDraft.channel},
        "complaint.told_how.{}": {*nonconforming.TOLD_HOW, nonconforming.ACKNOWLEDGED},
        "complaint.handoff_outcome.{}": set(nonconforming.HANDOFF_OUTCOMES),
        "complaint.hold_step.{}": set(nonconforming.HOLD_STEPS),
        "complaint.hold_scope.{}": set(HOLD_SCOPES),
        "report.column.{}": set(LEDGER_COLUMNS),
        "report.remark.{}": set(REMARK_ACTIONS),
        "casework.ask_{}": {"reopen", "waiting"},
        "complaint.lift_releases_{}": set(HOLD_SCOPES),
        "verify.preview_{}": set(handling.RETURN_OUTLOOKS),
        "report.kind.{}": set(REPORTS),
        "report.period_usage.{}": {r.period_type for r in REPORTS.values()},
        "document.measured.{}": set(MEASURED),
        "score.criterion.{}": set(SCORE_CRITERIA),
        "document.standard.{}": set(SCORE_CRITERIA),
        "rectification.rung.{}": set(RUNGS),
        "rectification.status.{}": set(RectificationStatus),
        "defect.status.{}": set(DefectStatus),
        "defect.severity.{}": set(SEVERITIES),
        "defect.severity_button.{}": set(SEVERITIES),
        "system.{}": set(EQUIPMENT_SYSTEMS),
        "import.kind.{}": set(table.KINDS),
        "import.column.{}": {c for kind in table.KINDS for c in kinds.columns_of(kind)},
        "assessment.status.{}": set(AssessmentStatus),
        "deadline.kind.{}": set(procedures.rules.DEADLINES),
        "deadline.half.{}": {"1", "2"},
        "deadline.digest.group.{}": deadlines.described_subject_types() | {"other"},
        "timeline.complaint.{}": timeline_actions(COMPLAINT_SUBJECT),
        "timeline.defect.{}": timeline_actions("defect"),
        "{}_name": told_complainant(),
        "return.reason.{}": set(ReturnReason),
        "return.status.{}": set(ReturnStatus),
        "return.slot.{}": set(Slot),
        "separation.seat.{}": SEATS,
        "separation.step.{}": SEATS,
        "return.channel.{}": set(return_rules.CHANNELS),
        "return_view.finance_{}": set(return_rules.FINANCE_REVIEWS),
        "return.refusal.{}": {
            "over_limit",
            "no_limit",
            "no_purchases",
            "damaged",
            "customer_damage",
        },
        "return.confirm.{}": {*return_confirm.REPLIES, "exchange", "either"},
        "return.confirm.button_{}": set(return_confirm.REPLIES),
        "notice.step.{}": {step for step, _ in return_common.SETTLED_BY_STEP.values()}
        | {s for kinds in return_goods.SETTLEMENTS.values() for s in kinds},
        "return.result.{}": {r for results in return_goods.RESULTS.values() for r in results},
        "return.leader.{}": {"approved", "refused"},
        "return.button.leader_{}": set(return_review.LEADER_DECISIONS),
        "return.button.{}": {s for kinds in return_goods.SETTLEMENTS.values() for s in kinds},
        "return.button.slip_{}": set(return_slips.SLIP_CHANNELS),
        "return.reply.slip_sent_{}": set(return_slips.SLIP_CHANNELS),
        "return.slip_channel.{}": set(return_slips.SLIP_CHANNELS),
        "return.button.document_{}": set(get_args(return_queries.DocumentKind)),
        "return.document.{}": set(get_args(return_queries.DocumentKind)),
        "document.transport_order.{}": {
            "number",
            "station",
            "customer",
            "issued_by",
            "issued_at",
            "product",
            "lot",
            "quantity",
        },
        "document.booking_in.{}": {
            "number",
            "customer",
            "reason",
            "product",
            "lot",
            "quantity",
            "unit_price",
            "amount",
        },
        "return_qc.ask_notes_{}": {"damaged", "company_fault", "customer_damage"},
        "timeline.return.{}": timeline_actions("request") | {"deadline_overdue"},
        "document.return_slip.{}": {
            "number",
            "customer",
            "reason",
            "booked_in",
            "product",
            "lot",
            "quantity",
            "unit",
            "unit_price",
            "amount",
            "replacement",
            "total",
            "credit",
        },
        "document.return_stats.{}": {
            "reason",
            "returns",
            "quantity",
            "amount",
            "refused",
            "customer",
            "exchanged",
            "purchased",
            "ratio",
            "limit",
            "over_limit",
        },
        "consumer.status.{}": set(ConsumerComplaintStatus),
        "consumer.cause.{}": set(common.CAUSES),
        "consumer.remedy.{}": set(common.REMEDIES),
        "consumer.verdict.{}": set(common.Verdict),
        "consumer.verdict_button.{}": set(common.Verdict),
        "consumer.channel.{}": set(common.CHANNELS),
        "report.monthly.figure.{}": set(FIGURES),
        "report.monthly.column.{}": set(SUMMARY_COLUMNS),
        "record.column.{}": set(STEP_COLUMNS),
        "record.outcome.{}": set(personal_records.OUTCOMES),
    }


def _expand(text_id: str, values: dict[str, set[str]]) -> list[str]:
    if VALUE not in text_id:
        return [text_id]
    return [text_id.replace(VALUE, value) for value in sorted(values[text_id])]


def test_every_text_id_the_code_can_use_exists_in_every_language() -> None:
    catalogues = load_catalogues()
    sections = {key.split(".")[0] for catalogue in catalogues.values() for key in catalogue}
    uses = list(text_id_uses(sections))
    values = expansions()
    assert all(values.values()), {t: v for t, v in values.items() if not v}

    unknown = sorted(
        f"{u.where}: {u.text_id}" for u in uses if VALUE in u.text_id and u.text_id not in values
    )
    assert not unknown, (
        f"ids built from values this test cannot list (add to expansions()): {unknown}"
    )

    checked, missing = set(), []
    for use in uses:
        for text_id in _expand(use.text_id, values):
            checked.add(text_id)
            missing += [
                f"{use.where}: {text_id} missing in {language}"
                for language in LANGUAGES
                if text_id not in catalogues[language]
            ]
    assert not missing, "\n".join(missing)
    assert len(checked) > 300, f"the scan found only {len(checked)} text ids"


# The sections that belong to one dialogue; a text two dialogues share lives under common.*
DIALOGUE_SECTIONS = {
    "complain": "bot/handlers/complaint_intake.py",
    "verify": "bot/handlers/complaint_work.py",
    "opinion": "bot/handlers/complaint_work.py",
    "queue": "bot/handlers/complaint_work.py",
    "ticket": "bot/handlers/tickets.py",
    "mytickets": "bot/handlers/tickets.py",
    "patrol": "bot/handlers/patrols.py",
    "score": "bot/handlers/vendors.py",
    "return_form": "bot/handlers/return_intake.py",
    "return_view": "bot/handlers/return_record.py",
    "return_qc": "bot/handlers/return_work.py",
    "return_exchange": "bot/handlers/return_work.py",
    "return_credit": "bot/handlers/return_work.py",
}


def test_a_dialogues_texts_are_used_by_that_dialogue_only() -> None:
    sections = set(DIALOGUE_SECTIONS)
    borrowed = [
        f"{use.where}: {use.text_id}"
        for use in text_id_uses(sections)
        if use.where.startswith("bot/")
        and (owner := DIALOGUE_SECTIONS.get(use.text_id.split(".")[0]))
        and not use.where.startswith(f"{owner}:")
    ]
    assert not borrowed, f"move these shared texts to common.*: {borrowed}"


def test_every_language_has_every_key() -> None:
    catalogues = load_catalogues()
    all_keys = set().union(*(set(c) for c in catalogues.values()))
    for language in LANGUAGES:
        missing = sorted(all_keys - set(catalogues[language]))
        assert not missing, f"{language} lacks {missing}"


def test_placeholders_agree_across_languages() -> None:
    catalogues = load_catalogues()

    def fields(template: str) -> set[str]:
        return placeholders(template)

    disagreeing = [
        (language, key, fields(catalogues[language][key]), fields(english))
        for key, english in catalogues["en"].items()
        for language in LANGUAGES
        if key in catalogues[language] and fields(catalogues[language][key]) != fields(english)
    ]
    assert not disagreeing, disagreeing


def test_every_role_has_a_name() -> None:
    keys = set(load_catalogues()["en"])
    assert {f"role.{r}" for r in roles.ALL_ROLES} <= keys


def test_rendering_translates_nested_texts_times_and_lists() -> None:
    import datetime as dt

    texts = Texts(SHANGHAI, strict=True)
    due = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
    rendered = texts.get(
        "zh-Hant",
        "deadline.reminder",
        number="QC-2026-00001",
        about={"$text": "deadline.about.return", "params": {"customer": "甲公司"}},
        kind={"$text": "deadline.kind.on_site_verification"},
        due_at={"$deadline": due.isoformat()},
        span={"$text": "deadline.span.days_hours", "params": {"days": 1, "hours": 2}},
    )
    assert rendered == (
        "提醒：QC-2026-00001（客戶甲公司）待辦「實地核實」，須11月27日09:00前完成（尚餘1天2小時）。"
    )
    assert texts.get(
        "en", "error.role_required", roles=[{"$text": "role.admin"}, {"$text": "role.quality_head"}]
    ) == ("This command is for administrator, quality head only. Nothing was changed.")
    assert texts.language_for(None, "zh-TW") == "zh-Hant"
    assert texts.language_for(None, "zh-hans") == "zh-Hans"
    assert texts.language_for(None, "de") == "zh-Hant"
    assert texts.language_for("en", "zh-TW") == "en"


def test_a_missing_text_falls_back_and_is_logged_once_or_raises_when_strict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalogues = load_catalogues()
    catalogues["zh-Hant"] = {k: v for k, v in catalogues["zh-Hant"].items() if k != "help.header"}
    texts = Texts(SHANGHAI, catalogues=catalogues)
    with caplog.at_level(logging.ERROR, logger="bot.texts"):
        assert texts.get("zh-Hant", "help.header") == catalogues["en"]["help.header"]
        assert texts.get("zh-Hant", "help.header") == catalogues["en"]["help.header"]
        assert texts.get("en", "no.such_text") == "no.such_text"
    assert [r.getMessage() for r in caplog.records] == [
        "text id 'help.header' is missing from the zh-Hant catalogue",
        "text id 'no.such_text' is missing from the en catalogue",
    ]

    texts.strict = True
    with pytest.raises(MissingText, match=r"help\.header"):
        texts.get("zh-Hant", "help.header")
    with pytest.raises(KeyError):
        texts.get("en", "no.such_text")


def test_a_parameter_left_out_shows_its_name_to_a_reader_and_raises_when_strict() -> None:
    """Every test runs strict (tests/conftest.py): a text rendered without a figure it names,
    even one nested in another text's parameter, fails the test that rendered it."""
    texts = Texts(SHANGHAI)
    refusal = {"$text": "return.refusal.over_limit"}  # its figures left out
    assert "{exchanged}" in texts.get(
        "en", "return.refused_to_customer", number="RT-1", refusal=refusal
    )

    texts.strict = True
    for language in ("zh-Hant", "zh-Hans", "en"):
        with pytest.raises(MissingParameter, match=r"over_limit.*\{exchanged\}"):
            texts.get(language, "return.refused_to_customer", number="RT-1", refusal=refusal)
    assert len(texts.unfilled) == 3
    figures = {
        "exchanged": "180.00",
        "purchased": "2700.00",
        "ratio": "6.67%",
        "limit": "5.00%",
        "window_days": "90",
    }
    filled = texts.get(
        "zh-Hant",
        "return.refused_to_customer",
        number="RT-1",
        refusal={**refusal, "params": figures},
    )
    assert "{" not in filled and "180.00" in filled


HAN = "\u3400-\u9fff\uf900-\ufaff"
FULL_WIDTH = "，：；？！（）。、「」《》"


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans"])
def test_chinese_texts_use_full_width_punctuation_and_no_spaces_around_values(
    language: str,
) -> None:
    half_width = re.compile(rf"[{HAN}][,:;?!()]|[,:;?!()][{HAN}]")
    spaced_value = re.compile(rf"[{HAN}{FULL_WIDTH}] +\{{|\}} +[{HAN}{FULL_WIDTH}]")
    catalogue = load_catalogues()[language]
    half = {k: v for k, v in catalogue.items() if half_width.search(v)}
    spaced = {k: v for k, v in catalogue.items() if spaced_value.search(v)}
    assert not half, f"half-width punctuation next to Chinese: {half}"
    assert not spaced, f"spaces around an inserted value in Chinese: {spaced}"


def test_zh_hant_keeps_the_seeds_register_and_one_name_for_one_thing() -> None:
    # regional variants and non-standard characters, each with the seed's word for it
    avoided = {
        "身分": "身份",
        "標志": "標誌",
        "標簽": "標籤",
        "分包方維保人員": "維保單位人員",
        "售后": "售後",
        "訊息": "消息",
        "帳號": "賬號",
        "檔案": "文件",
        "連結": "鏈接",
        "欄位": "列",
        "資料行": "數據行",
        "匯入": "導入",
        # one spelling, one register: the seed's 批準; 什麼, 聯繫, 電子郵件 throughout
        "批准": "批準",
        "甚麼": "什麼",
        "聯絡": "聯繫",
        "電郵": "電子郵件",
    }
    catalogue = load_catalogues()["zh-Hant"]
    found = [
        f"{key}: {word} (use {instead})"
        for key, value in catalogue.items()
        for word, instead in avoided.items()
        if word in value
    ]
    assert not found, found
    assert "維保單位人員" in catalogue["role.vendor"]


def test_the_request_and_the_slip_are_never_named_for_each_other() -> None:
    """P2: the customer's request is the 《調退貨明細表》, the warehouse's slip the 《退貨單》.
    A text about a request (its number, not finding it, how many) never calls it 退貨單; the
    company's corrective action on a return is 糾正和預防措施 (4.2.6)."""
    catalogue = load_catalogues()["zh-Hant"]
    request_texts = [
        "return.not_found",
        "complaint.return_started",
        "report.column.return_number",
        "document.return_stats.returns",
    ]
    for key in request_texts:
        assert "退貨單" not in catalogue[key] and "調退貨明細表" in catalogue[key], key
    slip_texts = ["document.return_slip.title", "return.slip_name", "deadline.kind.return_slip"]
    for key in slip_texts:
        assert "退貨單" in catalogue[key], key
    assert "糾正和預防措施" in catalogue["deadline.kind.corrective_action"]


def test_english_counts_take_a_real_plural_and_chinese_a_counter() -> None:
    texts = Texts(SHANGHAI, strict=True)
    assert texts.get("en", "common.photo_received", count=1) == (
        "Photo received (1 photo so far). Send more or press Done."
    )
    assert texts.get("en", "common.photo_received", count=3) == (
        "Photo received (3 photos so far). Send more or press Done."
    )
    assert texts.get("zh-Hant", "common.photo_received", count=3) == (
        "已收到照片（共3張）。可繼續發送或按「完成」。"
    )
    assert texts.get("en", "patrol.ask_asset", count=1).startswith("1 asset still to patrol")
    assert texts.get("en", "rectification.days", days=7) == "7 days"
    english = load_catalogues()["en"]
    assert not [k for k, v in english.items() if "(s)" in v]
    assert placeholders(english["common.photo_received"]) == {"count"}


def test_a_refused_read_only_command_does_not_speak_of_changes() -> None:
    texts = Texts(SHANGHAI, strict=True)
    for language in LANGUAGES:
        assert texts.get(language, "error.role_required_read", roles="x") not in (
            texts.get(language, "error.role_required", roles="x"),
        )
    assert texts.get("zh-Hant", "error.role_required_read", roles="質量負責人") == (
        "此命令僅限質量負責人使用。"
    )


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans"])
def test_no_chinese_text_says_a_word_twice_in_a_row(language: str) -> None:
    """`請暫停暫停發貨範圍內的出庫`: a phrase that already holds its verb, given the verb again."""
    doubled = re.compile(rf"([{HAN}]{{2,}})\1")
    catalogue = load_catalogues()[language]
    found = {k: m.group(0) for k, v in catalogue.items() if (m := doubled.search(v))}
    assert not found, found
    assert (
        "請停止暫停發貨範圍內貨物的出庫"
        in load_catalogues()["zh-Hant"]["complaint.nonconforming_warehouse"]
    )
