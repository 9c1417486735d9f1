"""python-telegram-bot persistence in the database, so dialogues survive a restart.

Conversation states and per-user/per-chat scratch data are written at the end of every update,
in the update's own transaction (bot/update_transaction.py), so a dialogue's step and the
record it wrote are committed together; two processes can share them. bot_data and callback
data are not kept: the records are the truth.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import BasePersistence, PersistenceInput

from storage.models import ChatScratchpad, ConversationState

from .update_transaction import session_in_update

ConversationDict = dict[tuple[str | int, ...], object]


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=True, user_data=True, callback_data=False
            ),
            # written by every update itself; the library's own periodic flush would only
            # compete with an update for the database
            update_interval=24 * 3600,
        )
        self._session_factory = session_factory

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
            row = await session.get(ConversationState, (name, encoded_key))
            if new_state is None:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(
                    ConversationState(
                        handler_name=name, conversation_key=encoded_key, state=new_state
                    )
                )
            else:
                row.state = new_state

    # --- user and chat scratch data ---

    async def _get_all(self, scope: str) -> dict[int, dict[Any, Any]]:
        async with self._session_factory() as session:
            rows = await session.scalars(
                select(ChatScratchpad).where(ChatScratchpad.scope == scope)
            )
            return {row.owner_id: dict(row.data) for row in rows}

    async def _put(self, scope: str, owner_id: int, data: dict[Any, Any]) -> None:
        snapshot = json.loads(json.dumps(data))  # as stored, detached from the live dict
        async with self._writing() as session:
            row = await session.get(ChatScratchpad, (scope, owner_id))
            if not snapshot:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(ChatScratchpad(scope=scope, owner_id=owner_id, data=snapshot))
            else:
                row.data = snapshot

    async def _drop(self, scope: str, owner_id: int) -> None:
        async with self._writing() as session:
            await session.execute(
                delete(ChatScratchpad).where(
                    ChatScratchpad.scope == scope, ChatScratchpad.owner_id == owner_id
                )
            )

    async def _refresh(self, scope: str, owner_id: int, data: dict[Any, Any]) -> None:
        """Another process may have handled this chat's last update: read what it stored."""
        async with session_in_update(self._session_factory) as (session, _own):
            row = await session.get(ChatScratchpad, (scope, owner_id), populate_existing=True)
            stored = dict(row.data) if row is not None else {}
        if stored != data:
            data.clear()
            data.update(stored)

    async def conversations_of(
        self, names: list[str], keys: list[tuple[int, ...]]
    ) -> dict[tuple[str, tuple[int, ...]], object]:
        """The stored states of these conversation keys, read in the update's session."""
        encoded = {json.dumps(list(key)): key for key in keys}
        async with session_in_update(self._session_factory) as (session, _own):
            rows = await session.execute(
                select(
                    ConversationState.handler_name,
                    ConversationState.conversation_key,
                    ConversationState.state,
                ).where(
                    ConversationState.handler_name.in_(names),
                    ConversationState.conversation_key.in_(list(encoded)),
                )
            )
            return {(name, encoded[key]): state for name, key, state in rows}

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
