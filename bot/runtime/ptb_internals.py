"""The one module that uses python-telegram-bot's private names, each for a stated reason.

An update commits its dialogue state in its own transaction (`AfterSalesApplication`), while
updates of other chats run beside it. python-telegram-bot has no public way to write one
update's share of what is pending for persistence, or to load one chat's conversation state
from the database before the update is handled: its `update_persistence` writes everything
pending, of every chat, and conversation states are read once, at start. The functions below do
both through the Application's private bookkeeping.

Every private name used here is listed in `PRIVATE_NAMES`; tests/unit/test_ptb_internals.py
fails, naming it, when an installed python-telegram-bot no longer has one, and fails when any
other module of ours uses a private name of the library.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from telegram.ext import Application
from telegram.ext._handlers.conversationhandler import PendingState
from telegram.ext._utils.trackingdict import TrackingDict

# A ConversationHandler's key: (chat id, user id), or one of them (per_chat/per_user only).
ConversationKey = tuple[int, ...]
Conversations = Mapping[str, MutableMapping[ConversationKey, object]]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]

# (module, name in it): every private name this module relies on, and the public names of the
# private classes it uses. A name may be an attribute path; an instance attribute counts when
# the class declares it in __slots__ or sets it in an __init__.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("telegram.ext._handlers.conversationhandler", "PendingState"),
    ("telegram.ext._handlers.conversationhandler", "PendingState.done"),
    ("telegram.ext._handlers.conversationhandler", "PendingState.resolve"),
    ("telegram.ext._handlers.conversationhandler", "PendingState.old_state"),
    ("telegram.ext._utils.trackingdict", "TrackingDict"),
    ("telegram.ext._utils.trackingdict", "TrackingDict.DELETED"),
    ("telegram.ext._utils.trackingdict", "TrackingDict.data"),
    ("telegram.ext._utils.trackingdict", "TrackingDict._write_access_keys"),
    ("telegram.ext", "Application._conversation_handler_conversations"),
    ("telegram.ext", "Application._chat_ids_to_be_updated_in_persistence"),
    ("telegram.ext", "Application._chat_ids_to_be_deleted_in_persistence"),
    ("telegram.ext", "Application._user_ids_to_be_updated_in_persistence"),
    ("telegram.ext", "Application._user_ids_to_be_deleted_in_persistence"),
    ("telegram", "Bot._post"),
)


def conversations(application: AnyApplication) -> Conversations:
    """The live states of the persistent conversations, by the ConversationHandler's name.

    Private: the Application keeps them (a `TrackingDict` each, which records the keys written
    since the last persistence run) so that it can persist them; no public accessor exists.
    Writing a key here marks it to be written back, as a conversation's step does.
    """
    return application._conversation_handler_conversations


def load_conversations(
    application: AnyApplication,
    keys: Iterable[ConversationKey],
    stored: Mapping[tuple[str, ConversationKey], object],
) -> None:
    """Set each conversation's state of these keys to the stored one ((name, key) -> state),
    or to none where nothing is stored, without marking it to be written back.

    Private: python-telegram-bot reads conversation states only at start; with several
    processes another one may have handled the chat's last update. `TrackingDict.data` is the
    plain dict beneath the tracking, so a state read from the database is not taken for a
    change.
    """
    keys = list(keys)
    for name, states in conversations(application).items():
        assert isinstance(states, TrackingDict)
        for key in keys:
            if (name, key) in stored:
                states.data[key] = stored[(name, key)]
            else:
                states.data.pop(key, None)


def take_conversation_writes(
    application: AnyApplication,
    own_ids: set[int],
) -> list[tuple[str, ConversationKey, object | None]]:
    """The conversation states left to be written for keys of these chat and user ids, as
    (name, key, state; None when the conversation ended), taken out of python-telegram-bot's
    pending writes so that its own persistence run does not write them again.

    Private: `TrackingDict._write_access_keys` is the only record of which keys changed, and
    `PendingState` is what a step that has not finished leaves as its state. Every step here
    blocks, so by the end of the update it is resolved.
    """
    writes: list[tuple[str, ConversationKey, object | None]] = []
    for name, states in conversations(application).items():
        assert isinstance(states, TrackingDict)
        mine = {key for key in states._write_access_keys if own_ids & set(key[:2])}
        states._write_access_keys -= mine
        for key in mine:
            state = states.get(key, TrackingDict.DELETED)
            if isinstance(state, PendingState):
                state = state.resolve() if state.done() else state.old_state
            writes.append((name, key, None if state is TrackingDict.DELETED else state))
    return writes


def take_data_write(
    application: AnyApplication,
    scope: Literal["chat", "user"],
    owner_id: int,
) -> Literal["drop", "update"] | None:
    """Whether this chat's (user's) scratch data is pending to be dropped or updated, the mark
    taken out of python-telegram-bot's pending writes; None when nothing is pending.

    Private: the Application keeps these marks in sets of ids, with no public accessor; its
    public `update_persistence` writes the marks of every chat at once.
    """
    to_drop: set[Any]
    to_update: set[Any]
    if scope == "chat":
        to_drop = application._chat_ids_to_be_deleted_in_persistence
        to_update = application._chat_ids_to_be_updated_in_persistence
    else:
        to_drop = application._user_ids_to_be_deleted_in_persistence
        to_update = application._user_ids_to_be_updated_in_persistence
    if owner_id in to_drop:
        to_drop.discard(owner_id)
        to_update.discard(owner_id)
        return "drop"
    if owner_id in to_update:
        to_update.discard(owner_id)
        return "update"
    return None


# while set, the ids of the messages Telegram's answers describe, in order (`MessageIdAnswers`)
_answer_ids: ContextVar[list[int] | None] = ContextVar("answer_ids", default=None)


@contextmanager
def message_ids_only() -> Iterator[list[int]]:
    """Within the block, a Bot API call that answers with a message returns True and adds the
    message's id to the list given here, instead of parsing the answer into a `Message`."""
    ids: list[int] = []
    token = _answer_ids.set(ids)
    try:
        yield ids
    finally:
        _answer_ids.reset(token)


class MessageIdAnswers:
    """A mixin for the Bot: the replies sent after an update's commit keep only the id of the
    message Telegram made (`message_ids_only`); parsing each answer into a `Message` was a
    twentieth of a dialogue step.

    Private: `Bot._post` is where every call's answer comes back as JSON, and the methods that
    send or edit a message (through `Bot._send_message`) return an answer of True as it is,
    without parsing it, as they do for an edit of an inline message.
    """

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, **kwargs)  # type: ignore[misc]
        ids = _answer_ids.get()
        if ids is not None and isinstance(result, dict) and "message_id" in result:
            ids.append(result["message_id"])
            return True
        return result
