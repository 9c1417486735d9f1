"""A bare python-telegram-bot echo bot: the floor the after-sales bot is measured against.

`python -m bench.echo_bot` with BOT_TOKEN and TELEGRAM_API_URL; polls like the after-sales bot,
with the same concurrency bound and the same rate limiter (`MessageRateLimiter`, from the same
TELEGRAM_* settings), and answers every text with itself.
"""

from __future__ import annotations

import logging
import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.runtime.rate_limiter import MessageRateLimiter
from bot.runtime.update_processor import DEFAULT_CONCURRENT_UPDATES
from core.config import settings_from


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


def main() -> None:
    logging.basicConfig(level=logging.INFO)  # "Application started" tells the bench it runs
    logging.getLogger("httpx").setLevel(logging.WARNING)
    application = (
        ApplicationBuilder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"])
        .rate_limiter(MessageRateLimiter.from_settings(settings_from(os.environ)))
        .concurrent_updates(DEFAULT_CONCURRENT_UPDATES)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(poll_interval=0, timeout=10)


if __name__ == "__main__":
    main()
