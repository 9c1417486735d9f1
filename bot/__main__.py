"""`python -m bot`: run the bot; `python -m bot import KIND FILE`: import master data."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from telegram.error import InvalidToken, NetworkError

from core.config import ConfigError, Settings, load_settings
from core.database import DatabaseUnavailable, engine_for, prepare_database
from core.logging import configure_logging
from procedures import masterdata, roles
from procedures.errors import ProcedureError

from .services import build_services

if TYPE_CHECKING:
    from .app import BackgroundJobsFactory

logger = logging.getLogger("bot")
EMULATOR_TOKEN = "1000001:local-emulator-token"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (default)")
    importer = sub.add_parser("import", help="import master data from a CSV or XLSX file")
    importer.add_argument("kind", choices=masterdata.KINDS)
    importer.add_argument("file", type=Path)
    stickers = sub.add_parser("stickers", help="write a PDF of QR stickers, one per asset")
    stickers.add_argument("--out", type=Path, default=Path("data/stickers.pdf"))
    stickers.add_argument("--bot", help="bot username (default: asked from the Bot API)")
    backup = sub.add_parser("backup", help="write a consistent copy of the database")
    backup.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    redact = configure_logging(settings.log_level, secrets=[settings.bot_token])
    try:
        return _command(args, settings)
    except DatabaseUnavailable as error:
        print(f"database error: {redact(str(error))}", file=sys.stderr)
        return 1
    except InvalidToken:
        print("configuration error: the Bot API refused BOT_TOKEN", file=sys.stderr)
        return 2
    except NetworkError as error:
        print(
            f"network error: the Bot API cannot be reached: {redact(str(error))}", file=sys.stderr
        )
        return 1


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "stickers":
        bot_username, codes = asyncio.run(_sticker_assets(settings, args.bot))
        from reports.stickers import stickers_pdf

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(stickers_pdf(bot_username, codes))
        print(f"{len(codes)} stickers for @{bot_username} written to {args.out}")
        return 0
    if args.command == "backup":
        return asyncio.run(_backup(settings, args.out))
    if args.command == "import":
        return asyncio.run(_import(settings, args.kind, args.file.name, args.file.read_bytes()))
    return _run(settings)


async def _backup(settings: Settings, out: Path) -> int:
    from core.backup import BackupFailed, backup

    engine = engine_for(settings)
    try:
        print(await backup(engine, settings.database_url, out))
    except BackupFailed as error:
        print(f"backup error: {error}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


async def _import(settings: Settings, kind: str, filename: str, content: bytes) -> int:
    from .handlers.masterdata import render_rejection_lines

    engine = engine_for(settings)
    services = build_services(settings, engine)
    try:
        await prepare_database(services, engine)
        rows = masterdata.read_table(filename, content)
        async with services.unit_of_work() as uow:
            result = await masterdata.import_rows(uow, kind, rows, actor_id=None)
    except masterdata.ImportRejected as rejected:
        language = settings.default_language
        print(
            "\n".join(render_rejection_lines(services.texts, language, rejected)), file=sys.stderr
        )
        return 1
    except ProcedureError as error:
        print(
            services.texts.get(settings.default_language, error.text_key, **error.params),
            file=sys.stderr,
        )
        return 1
    finally:
        await engine.dispose()
    text = services.texts.get(
        settings.default_language,
        "import.done",
        kind=kind,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    print(text)
    return 0


async def _sticker_assets(settings: Settings, bot_username: str | None) -> tuple[str, list[str]]:
    """The bot's username and every asset code, for the sticker sheet."""
    from sqlalchemy import select

    from storage.models import EquipmentAsset

    if bot_username is None:
        bot_username = await _bot_username(settings)
    engine = engine_for(settings)
    services = build_services(settings, engine)
    try:
        await prepare_database(services, engine)
        async with services.session_factory() as session:
            codes = list(
                await session.scalars(select(EquipmentAsset.code).order_by(EquipmentAsset.code))
            )
    finally:
        await engine.dispose()
    return bot_username, codes


async def _bot_username(settings: Settings) -> str:
    """The username the stickers' links name: Telegram's answer, or the local emulator's bot."""
    if settings.uses_emulator:
        from emulator.server import TOKEN_PATTERN, bot_username_for

        match = TOKEN_PATTERN.match(EMULATOR_TOKEN)
        assert match is not None
        return bot_username_for(int(match.group(1)))
    from telegram import Bot

    async with Bot(settings.bot_token, base_url=settings.telegram_api_url) as bot:  # type: ignore[arg-type]
        return bot.username


def background_jobs_for(settings: Settings) -> BackgroundJobsFactory | None:
    """The scheduler on the bot's event loop, unless RUN_SCHEDULER=false leaves the jobs to
    `python -m scheduler`."""
    if not settings.run_scheduler:
        return None
    from scheduler.runtime import scheduler_for

    return scheduler_for


def _run(settings: Settings) -> int:
    from .app import ALLOWED_UPDATES, build_application, webhook_options

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    engine = engine_for(settings)
    services = build_services(settings, engine)
    loop.run_until_complete(prepare_database(services, engine))

    emulator = None
    if settings.uses_emulator:
        from emulator.server import BotApiEmulator

        emulator = BotApiEmulator()
        port = loop.run_until_complete(emulator.start(settings.emulator_port))
        token, base_url = EMULATOR_TOKEN, emulator.base_url
        loop.run_until_complete(_print_emulator_help(services, port))
    else:
        token, base_url = settings.bot_token, settings.telegram_api_url  # type: ignore[assignment]

    application = build_application(
        services, token, base_url=base_url, background_jobs=background_jobs_for(settings)
    )
    try:
        if settings.webhook_url and not settings.uses_emulator:
            application.run_webhook(**webhook_options(settings), close_loop=False)
        else:
            application.run_polling(allowed_updates=ALLOWED_UPDATES, close_loop=False)
    finally:
        if emulator is not None:
            loop.run_until_complete(emulator.stop())
        loop.run_until_complete(engine.dispose())
        loop.close()
    return 0


async def _print_emulator_help(services, port: int) -> None:  # type: ignore[no-untyped-def]
    """Without a token: a first admin invitation, and how to chat with the bot locally."""
    from procedures import people
    from procedures.outbox import users_with_roles

    async with services.unit_of_work() as uow:
        code = None
        if not await users_with_roles(uow.session, [roles.ADMIN]):
            code = (await people.create_bootstrap_invitation(uow, roles.ADMIN)).code
    lines = [
        "",
        f"No BOT_TOKEN set: the bot talks to the local Bot API emulator on http://127.0.0.1:{port}",
        "Chat with it from another terminal:",
        f"    .venv/bin/python -m emulator chat --port {port} --user 1001 --name Alice",
    ]
    if code:
        lines.append(f"Become the first admin by sending:   /start {code}")
    lines.append("")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
