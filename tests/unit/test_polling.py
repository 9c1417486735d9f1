"""Polling confirms only committed updates, and what it fetched before is not parsed again."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.runtime.updates import AfterSalesBot, ConfirmedAfterCommit


def _raw(update_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "Ann"},
            "text": f"step {update_id}",
        },
    }


class _Telegram(BaseRequest):
    """getUpdates' connection: answers with `seen["answer"]`, keeping what was asked."""

    def __init__(self, seen: dict[str, Any]) -> None:
        self.seen = seen

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_: Any
    ) -> tuple[int, bytes]:
        self.seen["sent"].append(dict(request_data.parameters if request_data else {}))
        return 200, json.dumps({"ok": True, "result": list(self.seen["answer"])}).encode()


@pytest.fixture
def polling(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A bot whose getUpdates answers with `answer`, counting the updates parsed."""
    seen: dict[str, Any] = {"answer": [], "sent": [], "parsed": []}
    real = Update.de_json.__func__  # type: ignore[attr-defined]

    def de_json(cls: type[Update], data: Any, bot: Any = None) -> Update:
        seen["parsed"].append(data["update_id"])
        return real(cls, data, bot)

    monkeypatch.setattr(Update, "de_json", classmethod(de_json))
    queue = ConfirmedAfterCommit()
    queue.confirm_by_offset = True  # polling: put returns at once
    bot = AfterSalesBot("1:test", confirmation=queue, get_updates_request=_Telegram(seen))
    seen["bot"], seen["queue"] = bot, queue
    return seen


async def test_updates_still_being_handled_are_fetched_but_not_parsed_again(
    polling: dict[str, Any],
) -> None:
    bot, queue = polling["bot"], polling["queue"]
    await queue.put(Update.de_json(_raw(5), bot))  # fetched before, not committed yet
    polling["parsed"].clear()
    polling["answer"] = [_raw(5), _raw(6), _raw(7)]

    updates = await bot.get_updates(offset=6)

    assert [u.update_id for u in updates] == [6, 7]
    assert polling["parsed"] == [6, 7]
    assert polling["sent"][-1]["offset"] == 5  # update 5 is not confirmed to Telegram


async def test_a_fetch_of_only_unconfirmed_updates_returns_none(polling: dict[str, Any]) -> None:
    bot, queue = polling["bot"], polling["queue"]
    await queue.put(Update.de_json(_raw(5), bot))
    polling["parsed"].clear()
    polling["answer"] = [_raw(5)]

    assert await bot.get_updates(offset=6) == ()
    assert polling["parsed"] == []


async def test_after_new_updates_came_with_unconfirmed_ones_the_next_fetch_waits_a_moment(
    polling: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram answers at once while any update is unconfirmed: asked again straight away, it
    would send back the same unconfirmed updates after every commit. A fetch that brought new
    updates beside unconfirmed ones makes the next one wait a moment first; one that brought
    none unconfirmed does not."""
    from bot.runtime import updates

    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(updates.asyncio, "sleep", sleep)
    bot, queue = polling["bot"], polling["queue"]
    polling["answer"] = [_raw(5)]
    (first,) = await bot.get_updates(offset=5)
    await queue.put(first)  # being handled
    polling["answer"] = [_raw(5), _raw(6)]

    assert [u.update_id for u in await bot.get_updates(offset=6)] == [6]
    assert pauses == []  # these two are handed over at once
    polling["answer"] = [_raw(5), _raw(6), _raw(7)]
    await bot.get_updates(offset=7)
    assert pauses == [updates.BUSY_FETCH_PAUSE_SECONDS]

    queue.finished(first)  # all committed: nothing unconfirmed comes back, no pause
    polling["answer"] = [_raw(8)]
    await bot.get_updates(offset=8)
    polling["answer"] = []
    await bot.get_updates(offset=9)
    assert pauses == [updates.BUSY_FETCH_PAUSE_SECONDS] * 2  # the one owed by the fetch of 5, 6, 7
