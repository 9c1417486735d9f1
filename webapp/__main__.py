"""`python -m webapp`: the heads' Mini App as its own process (deployment), on WEBAPP_HOST and
WEBAPP_PORT, reading WEBAPP_DATABASE_URL (a SELECT-only role; unset: DATABASE_URL)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from core.config import ConfigError, Settings, load_settings
from core.logging import configure_logging


async def bot_username(settings: Settings, token: str) -> str | None:
    """The bot's username for the links back to the chat: the Bot API's answer, the local
    emulator's bot without a token; None while the Bot API cannot be reached."""
    if settings.uses_emulator:
        from emulator.server import TOKEN_PATTERN, bot_username_for

        match = TOKEN_PATTERN.match(token)
        return bot_username_for(int(match.group(1))) if match else None
    from telegram import Bot
    from telegram.error import TelegramError

    try:
        async with Bot(token, base_url=settings.telegram_api_url) as bot:
            return bot.username
    except TelegramError:
        return None


async def serve(settings: Settings, root_path: str) -> None:
    from bot.texts import Texts
    from core.demo import EMULATOR_TOKEN
    from procedures.kernel.clock import SystemClock
    from storage.db import make_engine, make_session_factory, read_only_sessions
    from storage.files import file_store_for

    from .app import MiniApp, create_app
    from .server import server_for

    token = settings.bot_token or EMULATOR_TOKEN
    engine = make_engine(settings.webapp_database)
    mini_app = MiniApp(
        settings=settings,
        sessions=read_only_sessions(make_session_factory(engine)),
        clock=SystemClock(),
        texts=Texts(settings.timezone, settings.default_language),
        file_store=file_store_for(
            settings.file_store, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region
        ),
        bot_token=token,
        bot_username=await bot_username(settings, token),
    )
    server = server_for(
        create_app(mini_app),
        settings.webapp_host,
        settings.webapp_port or 8082,
        root_path=root_path,
    )
    try:
        await server.serve()
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp", description=__doc__)
    parser.add_argument(
        "--root-path", default="", help="the path a reverse proxy serves it under, e.g. /app"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, secrets=[settings.bot_token])
    asyncio.run(serve(settings, args.root_path.rstrip("/")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
