"""Polling confirms only committed updates, and what it fetched before is not parsed again."""

from __future__ import annotations

import asyncio
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
    # a fetch beside an update being handled goes at once, unless a test waits for its commit
    from bot.runtime import updates

    monkeypatch.setattr(updates, "BUSY_FETCH_PAUSE_SECONDS", 0)
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


async def test_a_fetch_waits_for_the_updates_being_handled_instead_of_fetching_them_again(
    polling: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram answers at once while any update is unconfirmed: asked while one is being
    handled, it would send it back (decoded for nothing, and with one user at a time a second
    getUpdates for every step). The fetch waits for its commit first, a moment at most."""
    from bot.runtime import updates

    monkeypatch.setattr(updates, "BUSY_FETCH_PAUSE_SECONDS", 60)  # the commit comes first
    bot, queue = polling["bot"], polling["queue"]
    polling["answer"] = [_raw(5)]
    (first,) = await bot.get_updates(offset=5)
    await queue.put(first)  # being handled
    polling["answer"] = [_raw(6)]

    fetch = asyncio.create_task(bot.get_updates(offset=6))
    await asyncio.sleep(0)
    assert len(polling["sent"]) == 1  # not asked again while 5 is being handled
    queue.finished(first)

    assert [u.update_id for u in await fetch] == [6]
    assert polling["sent"][-1]["offset"] == 6  # 5 confirmed by this fetch


async def test_a_fetch_waits_no_longer_than_a_moment_for_a_long_update(
    polling: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other users' new updates are not held back behind one update that takes long."""
    from bot.runtime import updates

    monkeypatch.setattr(updates, "BUSY_FETCH_PAUSE_SECONDS", 0)
    bot, queue = polling["bot"], polling["queue"]
    await queue.put(Update.de_json(_raw(5), bot))  # being handled, for long
    polling["answer"] = [_raw(5), _raw(6)]

    assert [u.update_id for u in await bot.get_updates(offset=6)] == [6]
    assert polling["sent"][-1]["offset"] == 5


async def test_a_fetch_told_to_stop_as_an_update_is_committed_stops(
    polling: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The polling is stopped by cancelling its fetch; when that cancel comes in the same turn
    as the commit it waits for, the fetch must still stop, not go on to a getUpdates that the
    bot's shutdown then cuts (a traceback in the log at every such stop)."""
    from bot.runtime import updates

    monkeypatch.setattr(updates, "BUSY_FETCH_PAUSE_SECONDS", 60)
    bot, queue = polling["bot"], polling["queue"]
    polling["answer"] = [_raw(5)]
    (first,) = await bot.get_updates(offset=5)
    await queue.put(first)  # being handled
    fetch = asyncio.create_task(bot.get_updates(offset=6))
    await asyncio.sleep(0)  # the fetch waits for update 5's commit

    queue.finished(first)
    fetch.cancel()

    with pytest.raises(asyncio.CancelledError):
        await fetch
    assert len(polling["sent"]) == 1  # Telegram was not asked again
