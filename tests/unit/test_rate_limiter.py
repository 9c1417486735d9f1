"""The bot's rate limiter holds back messages at Telegram's pace and nothing else."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.runtime.rate_limiter import MessageRateLimiter, is_message

# a chat's or the bot's bucket that refills once in 1,000 s: a request that must wait for it
# is still waiting when the test looks
NEVER_AGAIN = 0.001


async def request(
    limiter: MessageRateLimiter,
    endpoint: str,
    data: dict[str, Any] | None = None,
    answer: Any = True,
) -> Any:
    async def callback() -> Any:
        if isinstance(answer, Exception):
            raise answer
        return answer

    return await limiter.process_request(callback, (), {}, endpoint, data or {}, None)


async def waits(call: Any) -> bool:
    """Whether the request is held back: not done after the loop had every chance to run it."""
    task = asyncio.ensure_future(call)
    for _ in range(20):
        await asyncio.sleep(0)  # a turn of the event loop, no time passes
    if task.done():
        task.result()
        return False
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return True


@pytest.mark.parametrize(
    "endpoint",
    [
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessages",
        "editMessageText",
        "editMessageReplyMarkup",
    ],
)
def test_sending_and_editing_are_messages(endpoint: str) -> None:
    assert is_message(endpoint)


@pytest.mark.parametrize(
    "endpoint",
    [
        "answerCallbackQuery",
        "getUpdates",
        "getFile",
        "setMyCommands",
        "getMe",
        "getChat",
        "sendChatAction",
        "deleteMessage",
        "setWebhook",
    ],
)
def test_answers_downloads_and_settings_are_not_messages(endpoint: str) -> None:
    assert not is_message(endpoint)


async def test_a_chats_messages_wait_for_its_share_while_other_chats_and_requests_go() -> None:
    limiter = MessageRateLimiter(per_second=0, chat_per_second=NEVER_AGAIN, chat_burst=1)
    assert await request(limiter, "sendMessage", {"chat_id": 1001})
    assert await waits(request(limiter, "sendMessage", {"chat_id": 1001}))
    assert await waits(request(limiter, "editMessageText", {"chat_id": 1001, "message_id": 5}))
    assert await waits(request(limiter, "sendDocument", {"chat_id": "1001"}))  # id as text
    # another chat has its own share; what is not a message never waits
    assert not await waits(request(limiter, "sendMessage", {"chat_id": 1002}))
    assert not await waits(request(limiter, "sendChatAction", {"chat_id": 1001}))
    assert not await waits(request(limiter, "getChat", {"chat_id": 1001}))
    assert not await waits(request(limiter, "answerCallbackQuery", {"callback_query_id": "7"}))
    assert not await waits(request(limiter, "getFile", {"file_id": "abc"}))


async def test_the_bots_overall_rate_holds_messages_to_every_chat_but_not_button_answers() -> None:
    limiter = MessageRateLimiter(per_second=1, chat_per_second=0)
    assert await request(limiter, "sendMessage", {"chat_id": 2001})
    assert await waits(request(limiter, "sendMessage", {"chat_id": 2002}))
    assert await waits(request(limiter, "sendPhoto", {"chat_id": 2003}))
    assert not await waits(request(limiter, "answerCallbackQuery", {"callback_query_id": "1"}))
    assert not await waits(request(limiter, "setMyCommands", {"commands": []}))


async def test_a_group_gets_its_per_minute_limit() -> None:
    limiter = MessageRateLimiter(per_second=0, chat_per_second=0, group_per_minute=1)
    assert await request(limiter, "sendMessage", {"chat_id": -100123})
    assert await waits(request(limiter, "sendMessage", {"chat_id": -100123}))
    assert not await waits(request(limiter, "sendMessage", {"chat_id": -100456}))


async def test_lifted_rates_hold_nothing_back() -> None:
    limiter = MessageRateLimiter(per_second=0, chat_per_second=0, group_per_minute=0)
    for _ in range(50):
        assert not await waits(request(limiter, "sendMessage", {"chat_id": 3001}))


async def test_after_a_429_messages_wait_but_button_answers_and_downloads_do_not() -> None:
    limiter = MessageRateLimiter(per_second=0, chat_per_second=0)
    refused = RetryAfter(dt.timedelta(seconds=1000))
    held = asyncio.ensure_future(request(limiter, "sendMessage", {"chat_id": 4001}, refused))
    await asyncio.sleep(0)
    assert await waits(request(limiter, "sendMessage", {"chat_id": 4002}))
    assert not await waits(request(limiter, "answerCallbackQuery", {"callback_query_id": "2"}))
    assert not await waits(request(limiter, "getFile", {"file_id": "x"}))
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)
