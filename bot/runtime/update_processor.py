"""Per-chat order with cross-chat concurrency: python-telegram-bot's BaseUpdateProcessor.

Updates of one chat (and of one user) are handled strictly in the order they arrive, so a
dialogue sees its steps one after another; updates of different chats run at the same time, at
most `max_concurrent_updates` of them. A waiting update takes no slot of that bound: it queues
on its chat first, so ten quick messages of one user never hold up everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

DEFAULT_CONCURRENT_UPDATES = 32


def order_keys(update: object) -> list[tuple[str, int]]:
    """What an update must take turns on: its chat and its user (a user's scratch data and
    conversations follow them from chat to chat), in one global order so two updates that
    share both never wait on each other crosswise."""
    if not isinstance(update, Update):
        return []
    keys = set()
    if update.effective_chat is not None:
        keys.add(("chat", update.effective_chat.id))
    if update.effective_user is not None:
        keys.add(("user", update.effective_user.id))
    return sorted(keys)


class _Turns:
    """FIFO locks by key, dropped again when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, int], tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def holding(self, keys: list[tuple[str, int]]) -> AsyncIterator[None]:
        taken: list[tuple[str, int]] = []
        held: set[tuple[str, int]] = set()
        try:
            for key in keys:
                lock, users = self._locks.get(key, (None, 0))
                if lock is None:
                    lock = asyncio.Lock()
                self._locks[key] = (lock, users + 1)
                taken.append(key)
                await lock.acquire()  # asyncio.Lock serves waiters first come, first served
                held.add(key)
            yield
        finally:
            for key in reversed(taken):
                lock, users = self._locks[key]
                if key in held:
                    lock.release()
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Strict order within a chat and a user; different chats concurrently, within a bound."""

    def __init__(self, max_concurrent_updates: int = DEFAULT_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._turns = _Turns()

    # python-telegram-bot marks it final; the order of turn and slot is what this class changes
    async def process_update(  # type: ignore[misc]
        self, update: object, coroutine: Awaitable[Any]
    ) -> None:
        # The chat's turn first, then a slot: the base class would take the slot first and
        # let a chat's queued updates occupy the bound while they only wait.
        async with self._turns.holding(order_keys(update)):
            await super().process_update(update, coroutine)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def chats_in_turn(self) -> int:
        """How many chats or users have an update running or waiting (tests, metrics)."""
        return len(self._turns)
