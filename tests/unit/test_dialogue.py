"""The dialogue toolkit's parts that need no chat: typed access to what an update carries, and
the keyboards that last as long as their step."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.error import BadRequest

from bot.dialogue import keyboards
from bot.dialogue.updates import (
    MissingInUpdate,
    chat_id_of,
    member_of,
    message_of,
    pressed,
    query_of,
    text_of,
    user_of,
)
from procedures.complaints.actions import ChooseProduct

CHAT = Chat(42, Chat.PRIVATE)
USER = User(7, "Chen", is_bot=False)
NOW = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("P-1001", callback_data="x")]])


def text_update(text: str | None) -> Update:
    return Update(1, message=Message(10, NOW, CHAT, from_user=USER, text=text))


def press_update(message_id: int, data: str, markup: InlineKeyboardMarkup | None) -> Update:
    message = Message(message_id, NOW, CHAT, from_user=USER, text="?", reply_markup=markup)
    return Update(2, callback_query=CallbackQuery("q", USER, "i", message=message, data=data))


class Bot:
    """Records the keyboards taken off; refuses the messages in `gone`, as Telegram would."""

    def __init__(self, gone: frozenset[int] = frozenset()) -> None:
        self.edits: list[tuple[int, int, Any]] = []
        self.gone = gone

    async def edit_message_reply_markup(self, chat_id: int, message_id: int, **kw: Any) -> None:
        if message_id in self.gone:
            raise BadRequest("Message to edit not found")
        self.edits.append((chat_id, message_id, kw["reply_markup"]))


def test_the_accessors_give_what_the_update_carries() -> None:
    typed = text_update("12 盒")
    assert text_of(typed) == "12 盒"
    assert message_of(typed).message_id == 10
    assert chat_id_of(typed) == 42 and user_of(typed).id == 7
    assert text_of(text_update(None)) == ""

    data = ChooseProduct(product_id=3).pack()
    press = press_update(11, data, KEYBOARD)
    assert query_of(press).data == data
    assert pressed(press, ChooseProduct) == ChooseProduct(product_id=3)
    assert message_of(press).message_id == 11  # the message the button sits under


def test_an_update_without_what_the_handler_reads_names_it() -> None:
    with pytest.raises(MissingInUpdate, match="callback query"):
        query_of(text_update("hello"))
    with pytest.raises(MissingInUpdate, match="message"):
        message_of(Update(3))
    with pytest.raises(MissingInUpdate, match="chat"):
        chat_id_of(Update(3))
    with pytest.raises(MissingInUpdate, match="user"):
        user_of(Update(3))
    with pytest.raises(MissingInUpdate, match="member"):
        member_of(SimpleNamespace(member=None))  # type: ignore[arg-type]


def test_a_step_keeps_each_of_its_keyboards_once() -> None:
    state: dict[str, Any] = {}
    keyboards.keep(state, 5)
    keyboards.keep(state, 5)  # an album's acknowledgement, edited in place
    keyboards.keep(state, Message(6, NOW, CHAT))
    keyboards.keep(state, None)
    keyboards.keep(None, 7)  # no dialogue state (the organisation's step): nothing kept
    assert state[keyboards.KEYBOARDS] == [5, 6]


async def test_moving_on_takes_the_steps_keyboards_and_the_pressed_one_away() -> None:
    bot = Bot()
    state: dict[str, Any] = {keyboards.KEYBOARDS: [5, 6]}
    await keyboards.retire(press_update(6, "x", KEYBOARD), SimpleNamespace(bot=bot), state)  # type: ignore[arg-type]
    assert bot.edits == [(42, 6, None), (42, 5, None)]  # the pressed message once
    assert keyboards.KEYBOARDS not in state

    bot = Bot()
    await keyboards.retire(press_update(8, "x", None), SimpleNamespace(bot=bot), {})  # type: ignore[arg-type]
    assert bot.edits == []  # a message without buttons is left alone

    bot = Bot(gone=frozenset({5}))
    state = {keyboards.KEYBOARDS: [5, 6]}
    await keyboards.retire(text_update("P-1001"), SimpleNamespace(bot=bot), state)  # type: ignore[arg-type]
    assert bot.edits == [(42, 6, None)]  # a message Telegram will not edit keeps its buttons


async def test_a_new_acknowledgement_takes_the_buttons_of_the_one_before() -> None:
    bot = Bot()
    context = SimpleNamespace(bot=bot)
    state: dict[str, Any] = {keyboards.KEYBOARDS: [4, 5]}  # the question, the first photo's
    await keyboards.replace(text_update(None), context, state, 5, 5)  # type: ignore[arg-type]
    assert bot.edits == [] and state[keyboards.KEYBOARDS] == [4, 5]  # an album's, edited
    await keyboards.replace(text_update(None), context, state, 5, 6)  # type: ignore[arg-type]
    assert bot.edits == [(42, 5, None)] and state[keyboards.KEYBOARDS] == [4, 6]
    await keyboards.replace(text_update(None), context, state, None, 7)  # type: ignore[arg-type]
    assert bot.edits == [(42, 5, None)] and state[keyboards.KEYBOARDS] == [4, 6, 7]


async def test_an_answer_edited_in_place_is_not_taken_off_again() -> None:
    bot = Bot()
    state: dict[str, Any] = {keyboards.KEYBOARDS: [5, 6]}
    update = press_update(6, "x", KEYBOARD)
    await keyboards.retire(update, SimpleNamespace(bot=bot), state, pressed=False)  # type: ignore[arg-type]
    assert bot.edits == [(42, 5, None)]  # the pressed message's keyboard went with its edit


async def test_a_one_tap_button_goes_and_the_others_stay() -> None:
    bot = Bot()
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Acknowledge", callback_data="a:1")]],
    )
    both = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Acknowledge", callback_data="a:1"),
                InlineKeyboardButton("Repaired", callback_data="r:1"),
            ]
        ]
    )
    await keyboards.drop_pressed_button(press_update(9, "a:1", both), SimpleNamespace(bot=bot))  # type: ignore[arg-type]
    ((chat, message, kept),) = bot.edits
    assert (chat, message) == (42, 9)
    assert [[b.callback_data for b in row] for row in kept.inline_keyboard] == [["r:1"]]

    bot = Bot()
    await keyboards.drop_pressed_button(press_update(9, "a:1", markup), SimpleNamespace(bot=bot))  # type: ignore[arg-type]
    assert bot.edits == [(42, 9, None)]  # the last button: the whole keyboard goes


class Query:
    def __init__(self) -> None:
        self.answers: list[tuple[str | None, bool]] = []

    async def answer(self, text: str | None = None, show_alert: bool = False) -> None:
        self.answers.append((text, show_alert))


class Context:
    def __init__(self, user_data: dict[str, Any]) -> None:
        self.user_data = user_data
        self.replies: list[str] = []

    def text(self, key: str, **_: Any) -> str:
        return key

    async def reply(self, update: Any, key: str, **_: Any) -> None:
        self.replies.append(key)


async def test_a_staff_step_whose_dialogue_is_gone_ends_saying_so() -> None:
    from telegram.ext import ConversationHandler

    from bot.dialogue.steps import StaffDialogue

    steps = StaffDialogue("repair")
    seen: list[Any] = []

    @steps.step
    async def enter_note(update: Any, context: Any, state: Any) -> int:
        seen.append(state)
        return 3

    pressed_update, typed_update = (
        SimpleNamespace(callback_query=Query()),
        SimpleNamespace(callback_query=None),
    )
    context = Context({"repair": {"defect_id": 4}})
    assert await enter_note(pressed_update, context) == 3  # type: ignore[arg-type]
    assert seen == [{"defect_id": 4}] and pressed_update.callback_query.answers == [(None, False)]

    gone = Context({})
    assert await enter_note(pressed_update, gone) == ConversationHandler.END  # type: ignore[arg-type]
    assert pressed_update.callback_query.answers[-1] == ("error.stale_button", True)
    assert await enter_note(typed_update, gone) == ConversationHandler.END  # type: ignore[arg-type]
    assert gone.replies == ["error.dialogue_ended"] and len(seen) == 1
