"""python-telegram-bot persistence in the database, so dialogues survive a restart.

Conversation states and per-user/per-chat scratch data are written at the end of every update,
in the update's own transaction (bot/runtime/update_transaction.py), so a dialogue's step and the
record it wrote are committed together; two processes can share them. bot_data and callback
data are not kept: the records are the truth.

An update reads its chat's and user's rows once, at its start (`load_for_update`: one statement
for the conversation states and the scratch data), and keeps what they hold in its session; the
refresh hooks and the writes at its end use that instead of asking again. The writes are plain
statements built once (an INSERT, UPDATE or DELETE of one row by its key), and a value that is
as stored is not written at all: the ORM's unit of work cost a tenth of a dialogue step to
write one or two rows.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import typing
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    String,
    Table,
    and_,
    bindparam,
    cast,
    false,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import BasePersistence, PersistenceInput

from storage.models import ChatScratchpad, ConversationState

from .update_transaction import session_in_update

ConversationDict = dict[tuple[str | int, ...], object]

# In a session's `info`: what the rows this update read or wrote hold, by key (a scratch pad's
# data, a conversation's state), _ABSENT where there is no row.
_ROWS = "persistence_rows"
RowKey = tuple[str, str, str | int]
_ABSENT = object()


def _rows(session: AsyncSession) -> dict[RowKey, Any]:
    rows: dict[RowKey, Any] = session.info.setdefault(_ROWS, {})
    return rows


class _RowStatements:
    """A table's row by its two-column key, read, inserted, updated and deleted by statements
    built once (a statement used again keeps its cache key)."""

    def __init__(self, table: Table, first: str, second: str, value: str) -> None:
        key = and_(
            table.c[first] == bindparam("key_first"), table.c[second] == bindparam("key_second")
        )
        self.names = (first, second, value)
        self.read = select(table.c[value]).where(key)
        self.insert = table.insert()
        self.update = table.update().where(key).values({value: bindparam("value")})
        self.delete = table.delete().where(key)

    async def stored(
        self, session: AsyncSession, cache_key: RowKey, first: object, second: object
    ) -> Any:
        """What the row holds as this update read or wrote it (`cache_key` in the session's
        rows), else as stored now; _ABSENT if there is none."""
        rows = _rows(session)
        if cache_key not in rows:
            found = await session.execute(self.read, {"key_first": first, "key_second": second})
            row = found.first()
            rows[cache_key] = _ABSENT if row is None else row[0]
        return rows[cache_key]

    async def erase(self, session: AsyncSession, first: object, second: object) -> None:
        await session.execute(self.delete, {"key_first": first, "key_second": second})

    async def write(
        self, session: AsyncSession, first: object, second: object, stored: Any, new: Any
    ) -> None:
        """Make the row hold `new` (_ABSENT: no row), given that it holds `stored`."""
        if new is _ABSENT:
            if stored is not _ABSENT:
                await self.erase(session, first, second)
        elif stored is _ABSENT:
            first_name, second_name, value_name = self.names
            row = {first_name: first, second_name: second, value_name: new}
            await session.execute(self.insert, row)
        elif new != stored:
            await session.execute(
                self.update, {"key_first": first, "key_second": second, "value": new}
            )


_CONVERSATIONS = _RowStatements(
    typing.cast(Table, ConversationState.__table__), "handler_name", "conversation_key", "state"
)
_SCRATCHPADS = _RowStatements(
    typing.cast(Table, ChatScratchpad.__table__), "scope", "owner_id", "data"
)


@functools.cache
def _dialogue_state_query(scratchpads: int) -> CompoundSelect[*tuple[Any, ...]]:
    """The conversation states of some handlers and keys and `scratchpads` scratch pads in one
    statement, built once for each number of pads: every update runs it, and a statement used
    again keeps its cache key, which SQLAlchemy would otherwise work out (as it would build the
    statement) anew each time."""
    conversations = select(
        literal("conversation").label("kind"),
        ConversationState.handler_name.label("name"),
        ConversationState.conversation_key.label("key"),
        ConversationState.state.label("value"),
    ).where(
        ConversationState.handler_name.in_(bindparam("names", expanding=True)),
        ConversationState.conversation_key.in_(bindparam("keys", expanding=True)),
    )
    wanted = [
        and_(
            ChatScratchpad.scope == bindparam(f"scope_{i}"),
            ChatScratchpad.owner_id == bindparam(f"owner_{i}"),
        )
        for i in range(scratchpads)
    ]
    pads = select(
        literal("scratch"),
        ChatScratchpad.scope,
        cast(ChatScratchpad.owner_id, String),
        ChatScratchpad.data,
    ).where(or_(*wanted) if wanted else false())
    return union_all(conversations, pads)


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        resolve: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=True, user_data=True, callback_data=False
            ),
            # written by every update itself; the library's own periodic flush would only
            # compete with an update for the database
            update_interval=24 * 3600,
        )
        self._session_factory = session_factory
        # scratch data as read, with the message ids of replies sent since it was written
        # (bot/runtime/replies.py): a dialogue keeps the ids its handlers were given
        self._resolve = resolve or (lambda data: data)

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        # In an update, the application writes its chat's and user's state one after another
        # into the update's session (AfterSalesApplication.persist_update) and fails the
        # update if a write fails; outside one (shutdown), each write commits on its own.
        async with session_in_update(self._session_factory) as (session, own):
            yield session
            if own:
                await session.commit()

    # --- conversations ---

    async def get_conversations(self, name: str) -> ConversationDict:
        async with self._session_factory() as session:
            rows = await session.scalars(
                select(ConversationState).where(ConversationState.handler_name == name)
            )
            return {tuple(json.loads(row.conversation_key)): row.state for row in rows}

    async def update_conversation(
        self, name: str, key: tuple[str | int, ...], new_state: object | None
    ) -> None:
        encoded_key = json.dumps(list(key))
        async with self._writing() as session:
            cache_key: RowKey = ("conversation", name, encoded_key)
            stored = await _CONVERSATIONS.stored(session, cache_key, name, encoded_key)
            new = _ABSENT if new_state is None else new_state
            await _CONVERSATIONS.write(session, name, encoded_key, stored, new)
            _rows(session)[cache_key] = new

    # --- user and chat scratch data ---

    async def _get_all(self, scope: str) -> dict[int, dict[Any, Any]]:
        async with self._session_factory() as session:
            rows = await session.scalars(
                select(ChatScratchpad).where(ChatScratchpad.scope == scope)
            )
            return {row.owner_id: dict(row.data) for row in rows}

    async def _stored_data(self, session: AsyncSession, scope: str, owner_id: int) -> Any:
        """The scratch pad's data as this update read it, else as stored now; _ABSENT if none."""
        return await _SCRATCHPADS.stored(session, ("scratch", scope, owner_id), scope, owner_id)

    async def _put(self, scope: str, owner_id: int, data: dict[Any, Any]) -> None:
        # as stored, detached from the live dict; an empty pad is no row
        snapshot = json.loads(json.dumps(data)) if data else _ABSENT
        async with self._writing() as session:
            stored = await self._stored_data(session, scope, owner_id)
            await _SCRATCHPADS.write(session, scope, owner_id, stored, snapshot)
            _rows(session)[("scratch", scope, owner_id)] = snapshot

    async def _drop(self, scope: str, owner_id: int) -> None:
        async with self._writing() as session:
            await _SCRATCHPADS.erase(session, scope, owner_id)
            _rows(session)[("scratch", scope, owner_id)] = _ABSENT

    async def _refresh(self, scope: str, owner_id: int, data: dict[Any, Any]) -> None:
        """Another process may have handled this chat's last update: read what it stored."""
        async with session_in_update(self._session_factory) as (session, _own):
            stored = await self._stored_data(session, scope, owner_id)
            # a deep copy: the handlers change nested dicts in place, and what is kept here
            # must stay what is stored, or the write at the update's end would find no change
            fresh = self._resolve(copy.deepcopy(stored)) if stored is not _ABSENT else {}
        if fresh != data:
            data.clear()
            data.update(fresh)

    async def load_for_update(
        self,
        names: list[str],
        conversation_keys: list[tuple[int, ...]],
        scratchpads: list[tuple[str, int]],
    ) -> dict[tuple[str, tuple[int, ...]], object]:
        """Read, in the update's session, the stored states of these conversation keys and
        these scratch pads ((scope, owner id)); returns the states, and keeps what every row
        holds (or its absence) for the refresh hooks and the writes at the update's end."""
        encoded = {json.dumps(list(key)): key for key in conversation_keys}
        async with session_in_update(self._session_factory) as (session, _own):
            rows = _rows(session)
            states: dict[tuple[str, tuple[int, ...]], object] = {}
            for name in names:
                for encoded_key in encoded:
                    rows[("conversation", name, encoded_key)] = _ABSENT
            wanted: dict[str, object] = {"names": names, "keys": list(encoded)}
            for i, (scope, owner_id) in enumerate(scratchpads):
                rows[("scratch", scope, owner_id)] = _ABSENT
                wanted[f"scope_{i}"], wanted[f"owner_{i}"] = scope, owner_id
            # one statement for both tables
            query = _dialogue_state_query(len(scratchpads))
            for kind, name, key, value in await session.execute(query, wanted):
                if kind == "conversation":
                    rows[("conversation", name, key)] = value
                    states[(name, encoded[key])] = value
                else:
                    rows[("scratch", name, int(key))] = value
            return states

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return await self._get_all("user")

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        await self._put("user", user_id, data)

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop("user", user_id)

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        await self._refresh("user", user_id, user_data)

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return await self._get_all("chat")

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        await self._put("chat", chat_id, data)

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._drop("chat", chat_id)

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        await self._refresh("chat", chat_id, chat_data)

    # --- not kept ---

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def get_callback_data(self) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def flush(self) -> None:
        return None  # every update is written as it happens
