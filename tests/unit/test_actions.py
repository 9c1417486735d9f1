"""Button actions: every kind of button a procedure or a handler can emit packs, unpacks, and is
answered by a handler of the real Application; no handler waits for data no action packs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from telegram.ext import BaseHandler, CallbackQueryHandler, ConversationHandler

from bot.app import build_application
from bot.handlers.common import stale_button
from bot.services import Services
from procedures.complaints import intake
from procedures.complaints.actions import ChooseChannel, TakeComplaint
from procedures.consumer_complaints import common
from procedures.consumer_complaints.actions import (
    ChooseConsumerCause,
    ChooseConsumerRemedy,
    ChooseConsumerVerdict,
)
from procedures.equipment.rules import EQUIPMENT_SYSTEMS
from procedures.kernel.actions import CallbackAction, InvalidAction
from procedures.kernel.outbox import button
from procedures.people import users
from procedures.people.actions import ChooseLanguage, InviteForSystem
from procedures.vendors import scores as vendor_scores
from procedures.vendors.actions import BeginScore, JudgeCriterion

ACTIONS = sorted(CallbackAction.registry.values(), key=lambda cls: cls.__name__)
# a value for each narrowed field; plain ids and Literals are enumerated from their types
NARROWED_EXAMPLES = {
    r"\d{6}": "202405",
    r"[a-z_]+": "response",
    r"[^:]+": "x",
    r"[1-5]": "5",
    r"\d{4}-[0-9QH]\d": "2026-Q3",
    r"\d{4}-\d{2}": "2026-11",
    r"(?:QC|RT|DF)-\d{4}-\d{5,6}": "DF-2026-100000",
    r"QC-\d{4}-\d{5,6}": "QC-2026-100000",
}


def examples(action: type[CallbackAction]) -> list[CallbackAction]:
    """Instances covering every Literal choice, with large ids to exercise the size limit."""
    choices = []
    for spec in action.fields():
        if spec.choices is not None:
            choices.append(spec.choices)
        elif spec.regex == r"\d+":
            choices.append((1, 2_000_000_000))
        else:
            choices.append((spec.kind(NARROWED_EXAMPLES[spec.regex]),))
    names = [spec.name for spec in action.fields()]
    return [
        action(**dict(zip(names, values, strict=True))) for values in itertools.product(*choices)
    ]


def callback_handlers(handlers: list[BaseHandler[Any, Any, Any]]) -> Iterator[CallbackQueryHandler]:
    for handler in handlers:
        if isinstance(handler, CallbackQueryHandler):
            yield handler
        elif isinstance(handler, ConversationHandler):
            yield from callback_handlers(handler.entry_points)
            for state in handler.states.values():
                yield from callback_handlers(state)
            yield from callback_handlers(handler.fallbacks)


@pytest.fixture
def application_handlers(services: Services) -> list[CallbackQueryHandler]:
    application = build_application(services, "1:token", base_url="http://127.0.0.1:9/bot")
    return [h for group in application.handlers.values() for h in callback_handlers(group)]


def test_the_registry_knows_every_action_and_each_name_is_unique() -> None:
    assert len(ACTIONS) >= 40
    assert len({cls.pattern().pattern for cls in ACTIONS}) == len(ACTIONS)


@pytest.mark.parametrize("action", ACTIONS, ids=lambda cls: cls.__name__)
def test_every_action_packs_within_64_bytes_and_unpacks_to_itself(
    action: type[CallbackAction],
) -> None:
    for example in examples(action):
        data = example.pack()
        assert len(data.encode()) <= 64
        assert action.pattern().fullmatch(data)
        assert action.unpack(data) == example
        # no other action claims the same data
        assert [cls for cls in ACTIONS if cls.pattern().fullmatch(data)] == [action]


def test_the_data_strings_are_those_buttons_already_in_chats_carry() -> None:
    assert TakeComplaint(complaint_id=12).pack() == "qc:take:12"
    assert BeginScore.for_month(3, "2024-05").pack() == "vs:go:3:202405"
    assert BeginScore.unpack("vs:go:3:202405").month == "2024-05"
    assert JudgeCriterion.unpack("vs:c:response:4") == JudgeCriterion("response", 4)
    assert button("language.name.en", ChooseLanguage(language="en"))["data"] == "lang:en"


def test_the_fixed_choices_are_the_procedures_own() -> None:
    assert set(ChooseChannel.fields()[0].choices or ()) == set(intake.CHANNELS)
    assert set(ChooseLanguage.fields()[0].choices or ()) == set(users.LANGUAGES)
    assert set(ChooseConsumerVerdict.fields()[0].choices or ()) == set(common.Verdict)
    assert set(ChooseConsumerCause.fields()[0].choices or ()) == set(common.CAUSES)
    assert set(ChooseConsumerRemedy.fields()[0].choices or ()) == set(common.REMEDIES)
    assert set(InviteForSystem.fields()[1].choices or ()) == {*EQUIPMENT_SYSTEMS, "none"}
    for criterion in vendor_scores.SCORE_CRITERIA:
        assert JudgeCriterion(criterion=criterion, value=5).pack()


@pytest.mark.parametrize(
    "data",
    [
        "",
        "qc:take",
        "qc:take:",
        "qc:take:x",
        "qc:take:-1",
        "qc:take:1:2",
        "qc:take:1\n",
        "QC:TAKE:1",
        "pt:maybe:0",
        "vs:go:3:2024-05",
        "vs:c:response_time:6",
        "lang:xx-forged",
        "cp:submit:now",
    ],
)
def test_garbled_or_forged_data_unpacks_to_nothing_and_only_the_stale_answer_takes_it(
    data: str, application_handlers: list[CallbackQueryHandler]
) -> None:
    with pytest.raises(InvalidAction):
        TakeComplaint.unpack(data)
    takers = [h for h in application_handlers if h.pattern is None or h.pattern.search(data)]
    assert [h.callback for h in takers] == [stale_button]


def test_packing_refuses_what_no_handler_could_read() -> None:
    for bad in (
        lambda: TakeComplaint(complaint_id=-1).pack(),
        lambda: TakeComplaint(complaint_id=True).pack(),
        lambda: TakeComplaint(complaint_id="12").pack(),  # type: ignore[arg-type]
        lambda: ChooseChannel(channel="fax").pack(),  # type: ignore[arg-type]
        lambda: JudgeCriterion(criterion="a:b", value=3).pack(),
        lambda: JudgeCriterion(criterion="quality", value=9).pack(),
        lambda: JudgeCriterion(criterion="x" * 80, value=3).pack(),
    ):
        with pytest.raises(InvalidAction):
            bad()


@pytest.mark.parametrize("action", ACTIONS, ids=lambda cls: cls.__name__)
def test_a_handler_of_the_application_answers_every_kind_of_button(
    action: type[CallbackAction], application_handlers: list[CallbackQueryHandler]
) -> None:
    for example in examples(action):
        data = example.pack()
        answering = [h for h in application_handlers if h.pattern and h.pattern.search(data)]
        assert answering, f"no handler answers {data!r} ({action.__name__})"


def test_every_callback_pattern_in_the_application_is_an_actions_pattern(
    application_handlers: list[CallbackQueryHandler],
) -> None:
    patterns = {cls.pattern() for cls in ACTIONS}
    stray = [
        (h.callback.__name__, h.pattern)
        for h in application_handlers
        if h.pattern is not None and h.pattern not in patterns
    ]
    assert not stray
    catch_all = [h.callback for h in application_handlers if h.pattern is None]
    assert catch_all == [stale_button]
