"""The bot's rate limiter: Telegram's flood limits are on messages, so only messages wait.

python-telegram-bot's `AIORateLimiter` (22.x) puts its overall limit on every request that names
a `chat_id` (editing, `getChat`, `sendChatAction` as much as sending), has no limit for a
private chat (only groups get one, 20 a minute), and after a 429 holds every request until the
`retry_after` has passed, `answerCallbackQuery` and `getFile` included. Telegram allows about 30
messages a second per bot, one a second per chat (a short burst is tolerated) and 20 a minute
per group; answering a button, fetching a file or setting the command menu is no message.

`MessageRateLimiter` keeps `AIORateLimiter`'s overall, group and paid-broadcast limits and its
retries for messages sent or edited, adds the per-chat limit for private chats, and passes every
other request straight through. The rates are settings (`TELEGRAM_MESSAGES_PER_SECOND`, …).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

from core.config import Settings

# A Bot API answer decoded from JSON, as python-telegram-bot's own (private) alias spells it.
JSONDict = dict[str, Any]

# Bot API methods that put a message into a chat or change one: what Telegram's limits count.
MESSAGE_METHOD_PREFIXES = ("send", "copyMessage", "forwardMessage", "editMessage")
# "send…" but no message: the "typing…" status
NOT_MESSAGES = frozenset({"sendChatAction"})
# a chat's limiter is forgotten once this many are kept and it has its full burst again
KEPT_CHAT_LIMITERS = 512
# Telegram counts a message when it arrives, the limiter when it leaves: at exactly Telegram's
# rate the jitter between the two makes 429s (seen in the intake benchmark), and a 429 holds
# every message for its retry_after. A little under the rate, as the outbox sender paces.
PACE_MARGIN = 0.95


def is_message(endpoint: str) -> bool:
    """Whether a Bot API method counts against Telegram's message limits."""
    return endpoint.startswith(MESSAGE_METHOD_PREFIXES) and endpoint not in NOT_MESSAGES


class MessageRateLimiter(AIORateLimiter):
    """Messages at Telegram's pace (5 % under it), overall and per chat; every other request
    at once.

    A rate of 0 lifts that limit (a local emulator with its flood limits lifted, a benchmark).
    """

    __slots__ = ("_chat_burst", "_chat_limiters", "_chat_per_second")

    def __init__(
        self,
        *,
        per_second: float = 30.0,
        chat_per_second: float = 1.0,
        chat_burst: int = 3,
        group_per_minute: float = 20.0,
        max_retries: int = 2,
    ) -> None:
        super().__init__(
            overall_max_rate=per_second,
            overall_time_period=1 / PACE_MARGIN,
            group_max_rate=group_per_minute,
            group_time_period=60 / PACE_MARGIN,
            max_retries=max_retries,
        )
        self._chat_per_second = chat_per_second
        self._chat_burst = chat_burst
        self._chat_limiters: dict[int, AsyncLimiter] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> MessageRateLimiter:
        return cls(
            per_second=settings.telegram_messages_per_second,
            chat_per_second=settings.telegram_chat_messages_per_second,
            chat_burst=settings.telegram_chat_burst,
            group_per_minute=settings.telegram_group_messages_per_minute,
        )

    def _chat_limiter(self, chat_id: object) -> AsyncLimiter | None:
        """A private chat's limiter (a group's is the base class's; its limit is lower)."""
        if not self._chat_per_second or not isinstance(chat_id, int) or chat_id < 0:
            return None
        if len(self._chat_limiters) > KEPT_CHAT_LIMITERS:
            for key, kept in list(self._chat_limiters.items()):
                if key != chat_id and kept.has_capacity(kept.max_rate):
                    del self._chat_limiters[key]
        limiter = self._chat_limiters.get(chat_id)
        if limiter is None:
            # a bucket of `burst` messages that refills at the chat's rate
            limiter = self._chat_limiters[chat_id] = AsyncLimiter(
                self._chat_burst, self._chat_burst / (self._chat_per_second * PACE_MARGIN)
            )
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if not is_message(endpoint):
            return await callback(*args, **kwargs)
        chat_id: Any = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        # a paid broadcast lifts the overall limit, not the chat's
        async with self._chat_limiter(chat_id) or contextlib.nullcontext():
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
