"""`python -m bot`: run the bot; `python -m bot import KIND FILE`: import master data;
`python -m bot report KIND --period 2026-Q3 --out FILE`: write a report;
`python -m bot export --from DATE --to DATE --out DIR`: the inspector's export of a period."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url
from telegram.error import InvalidToken, NetworkError

from core.config import ConfigError, Settings, load_settings
from core.database import DatabaseUnavailable, DemoRefused, engine_for, prepare_database
from core.demo import EMULATOR_TOKEN
from core.logging import configure_logging
from core.services import load_policies
from procedures.kernel import roles
from procedures.kernel.errors import ProcedureError
from procedures.kernel.policy import Policies
from procedures.masterdata import importing, kinds, table
from procedures.people import invitations

from .services import build_services

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from emulator.server import BotApiEmulator
    from emulator.web import WebChat
    from procedures.kernel.clock import Clock

    from .runtime.application import BackgroundJobsFactory
    from .services import Services

logger = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (default)")
    importer = sub.add_parser("import", help="import master data from a CSV or XLSX file")
    importer.add_argument("kind", choices=table.KINDS)
    importer.add_argument("file", type=Path)
    stickers = sub.add_parser("stickers", help="write a PDF of QR stickers, one per asset")
    stickers.add_argument("--out", type=Path, default=Path("data/stickers.pdf"))
    stickers.add_argument("--bot", help="bot username (default: asked from the Bot API)")
    backup = sub.add_parser("backup", help="write a consistent copy of the database")
    backup.add_argument("--out", type=Path, required=True)
    export = sub.add_parser(
        "export", help="write every record of a period with its timeline and files, for an audit"
    )
    export.add_argument("--from", dest="start", type=_date, required=True, help="YYYY-MM-DD")
    export.add_argument("--to", dest="end", type=_date, required=True, help="YYYY-MM-DD, included")
    export.add_argument("--out", type=Path, required=True, help="a new or empty folder")
    report = sub.add_parser("report", help="write a report's workbook (and its chart beside it)")
    report.add_argument("kind", help="complaint_ledger, complaint_quarterly, vendor_scores, …")
    report.add_argument("--period", required=True, help="2026-11, 2026-Q3 or 2026-H2")
    report.add_argument("--out", type=Path, required=True, help="the .xlsx file to write")
    report.add_argument("--lang", choices=("zh-Hant", "zh-Hans", "en"), help="default: configured")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
        policies = load_policies()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    redact = configure_logging(settings.log_level, secrets=[settings.bot_token])
    try:
        return _command(args, settings, policies)
    except DatabaseUnavailable as error:
        print(f"database error: {redact(str(error))}", file=sys.stderr)
        return 1
    except DemoRefused as error:
        print(f"database refused: {error}", file=sys.stderr)
        return 2
    except InvalidToken:
        print("configuration error: the Bot API refused BOT_TOKEN", file=sys.stderr)
        return 2
    except NetworkError as error:
        print(
            f"network error: the Bot API cannot be reached: {redact(str(error))}", file=sys.stderr
        )
        return 1


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {raw!r}") from None


def _command(args: argparse.Namespace, settings: Settings, policies: Policies) -> int:
    if args.command == "export":
        if args.end < args.start:
            print("export: --to is before --from", file=sys.stderr)
            return 2
        if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
            print(f"export: {args.out} must be a new or empty folder", file=sys.stderr)
            return 2
        return asyncio.run(_export(settings, policies, args.start, args.end, args.out))
    if args.command == "stickers":
        bot_username, assets = asyncio.run(_sticker_assets(settings, policies, args.bot))
        from reports.stickers import stickers_pdf

        codes = [code for code, _ in assets]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(stickers_pdf(bot_username, codes, [name for _, name in assets]))
        print(f"{len(codes)} stickers for @{bot_username} written to {args.out}")
        return 0
    if args.command == "backup":
        return asyncio.run(_backup(settings, args.out))
    if args.command == "report":
        return _report(args, settings, policies)
    if args.command == "import":
        return asyncio.run(
            _import(settings, policies, args.kind, args.file.name, args.file.read_bytes())
        )
    return _run(settings, policies)


async def _schema_at_head(engine: AsyncEngine) -> bool:
    """Whether the database's schema is the code's newest, read without taking a write lock."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config, make_session_factory, read_only_sessions

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    sessions = read_only_sessions(make_session_factory(engine))
    async with sessions() as session:
        connection = await session.connection()
        current = await connection.run_sync(
            lambda sync: set(MigrationContext.configure(sync).get_current_heads())
        )
    return current == heads


async def _prepare_for_command(services: Services, engine: AsyncEngine) -> None:
    """A command-line run beside a running bot: a database already at the newest schema is used
    as it is (migrating takes the write lock the bot's writers then wait for); only a new or
    older one is prepared as the bot prepares it."""
    with contextlib.suppress(Exception):  # unreachable, or no schema yet: prepared below
        if await _schema_at_head(engine):
            return
    await prepare_database(services, engine)


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


async def _import(
    settings: Settings, policies: Policies, kind: str, filename: str, content: bytes
) -> int:
    from .handlers.masterdata import render_rejection_lines

    engine = engine_for(settings)
    services = build_services(settings, engine, policies=policies)
    try:
        await _prepare_for_command(services, engine)
        rows = table.read_table(filename, content)
        async with services.unit_of_work() as uow:
            result = await importing.import_rows(uow, kind, rows, actor_id=None)
    except table.ImportRejected as rejected:
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
        kind=kinds.kind_named(kind),
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    print(text)
    return 0


def _report(args: argparse.Namespace, settings: Settings, policies: Policies) -> int:
    """Render one registered report: the workbook to --out, its chart beside it as .png."""
    from procedures.kernel.calendar import period_type
    from reports.registry import REPORTS

    found = REPORTS.get(args.kind)
    if found is None:
        print(f"unknown report {args.kind!r}; known: {', '.join(REPORTS)}", file=sys.stderr)
        return 2
    period = args.period.upper()
    if period_type(period) != found.period_type:
        example = {"month": "2026-11", "quarter": "2026-Q3", "half": "2026-H2"}
        print(
            f"{args.kind} is a {found.period_type} report: give a period like "
            f"{example[found.period_type]}",
            file=sys.stderr,
        )
        return 2
    language = args.lang or settings.default_language
    files = asyncio.run(_render_report(settings, policies, found, period, language))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(files.workbook.content)
    print(f"{files.workbook.file_name} written to {args.out}")
    if files.chart is not None:
        chart = args.out.with_suffix(".png")
        chart.write_bytes(files.chart.content)
        print(f"{files.chart.file_name} written to {chart}")
    return 0


async def _render_report(
    settings: Settings, policies: Policies, found: Any, period: str, language: str
) -> Any:
    from .documents import document_context

    engine = engine_for(settings)
    services = build_services(settings, engine, policies=policies)
    try:
        await _prepare_for_command(services, engine)
        async with services.session_factory() as session:
            return await found.render(session, period, document_context(services, language))
    finally:
        await engine.dispose()


async def _export(
    settings: Settings, policies: Policies, first: dt.date, last: dt.date, out: Path
) -> int:
    """The records opened from `first` to `last` (whole days in the configured zone)."""
    from reports.export import export_period

    from .documents import document_context

    zone = settings.timezone
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    engine = engine_for(settings)
    services = build_services(settings, engine, policies=policies)
    try:
        await _prepare_for_command(services, engine)
        assert services.file_store is not None
        summary = await export_period(
            services.session_factory,
            services.file_store,
            start,
            end,
            out,
            timezone=zone,
            now=services.clock.now(),
            # the forms as the procedures name them, in the deployment's language
            forms=document_context(services, settings.default_language),
        )
    finally:
        await engine.dispose()
    counts = ", ".join(f"{kind} {count}" for kind, count in summary.records.items() if count)
    print(f"exported {first} to {last} into {out}: {counts or 'no records'}; {summary.files} files")
    for missing in summary.missing_files:
        print(
            f"missing file: {missing['record']} (photo {missing['photo_id']}): {missing['error']}",
            file=sys.stderr,
        )
    return 0


async def _sticker_assets(
    settings: Settings, policies: Policies, bot_username: str | None
) -> tuple[str, list[tuple[str, str]]]:
    """The bot's username and every asset's code and name, for the sticker sheet."""
    from procedures.equipment.queries import asset_labels
    from storage.db import read_only_sessions

    if bot_username is None:
        bot_username = await _bot_username(settings)
    engine = engine_for(settings)
    services = build_services(settings, engine, policies=policies)
    try:
        await _prepare_for_command(services, engine)
        # only reads: no write lock a running bot's writers would wait for
        async with read_only_sessions(services.session_factory)() as session:
            assets = await asset_labels(session)
    finally:
        await engine.dispose()
    return bot_username, assets


async def _bot_username(settings: Settings) -> str:
    """The username the stickers' links name: Telegram's answer, or the local emulator's bot."""
    if settings.uses_emulator:
        from emulator.server import TOKEN_PATTERN, bot_username_for

        match = TOKEN_PATTERN.match(EMULATOR_TOKEN)
        assert match is not None
        return bot_username_for(int(match.group(1)))
    from telegram import Bot

    assert settings.bot_token is not None  # not the emulator: a token
    async with Bot(settings.bot_token, base_url=settings.telegram_api_url) as bot:
        return bot.username


def background_jobs_for(settings: Settings) -> BackgroundJobsFactory | None:
    """The scheduler on the bot's event loop, unless RUN_SCHEDULER=false leaves the jobs to
    `python -m scheduler`."""
    if not settings.run_scheduler:
        return None
    from scheduler.runtime import scheduler_for

    return scheduler_for


def demo_state_dir(settings: Settings) -> Path:
    """Where the demo keeps its small files: next to a SQLite database, else in data/."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent
    return Path("data")


def demo_clock_for(settings: Settings) -> Clock | None:
    """Without a token the bot runs on the demo clock the web chat moves; else on real time."""
    if not settings.uses_emulator:
        return None
    from scheduler.demo import DemoClock

    return DemoClock(demo_state_dir(settings) / "demo-clock")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The bot's event loop: uvloop's (asyncio's interface on libuv), where a dialogue step
    costs a tenth fewer instructions than on asyncio's own (bench/README.md); asyncio's own
    where uvloop is not installed (it is not made for Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def keep_startup_out_of_collections() -> None:
    """What the bot built to start (modules, mappers, handlers, catalogues: most of its objects)
    lives as long as the process. Frozen out of the cyclic collector's reach, a full collection
    looks only at what came since: a few milliseconds instead of 120–180 ms of a stopped event
    loop, which every step in flight waited out (bench/README.md). Collected first, so no garbage
    is kept for ever; what start-up built and the bot lets go of later in a cycle stays until
    the stop, a bounded amount, as nothing made after the start is frozen."""
    gc.collect()
    gc.freeze()


def _run(settings: Settings, policies: Policies) -> int:
    from .app import build_application
    from .runtime.updates import ALLOWED_UPDATES, webhook_options

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    engine = engine_for(settings)
    services = build_services(settings, engine, demo_clock_for(settings), policies)
    try:
        loop.run_until_complete(prepare_database(services, engine, starting_bot=True))
    except BaseException:  # refused or unreachable: nothing started, nothing left open
        loop.run_until_complete(engine.dispose())
        loop.close()
        raise

    emulator = None
    background_jobs = background_jobs_for(settings)
    if settings.uses_emulator:
        emulator, web, background_jobs = loop.run_until_complete(start_demo(services))
        token, base_url = EMULATOR_TOKEN, emulator.base_url
        assert emulator.port is not None  # started
        loop.run_until_complete(_print_emulator_help(services, emulator.port, web))
    else:
        assert settings.bot_token is not None  # not the emulator: a token
        token, base_url = settings.bot_token, settings.telegram_api_url

    application = build_application(
        services, token, base_url=base_url, background_jobs=background_jobs
    )
    mini_app = (
        loop.run_until_complete(start_mini_app(services, token)) if settings.webapp_port else None
    )
    keep_startup_out_of_collections()
    try:
        if settings.webhook_url and not settings.uses_emulator:
            application.run_webhook(**webhook_options(settings), close_loop=False)
        else:
            application.run_polling(allowed_updates=ALLOWED_UPDATES, close_loop=False)
    finally:
        gc.unfreeze()  # the interpreter's last collection at exit is to see everything again
        if mini_app is not None:
            loop.run_until_complete(mini_app.stop())
        if emulator is not None:
            loop.run_until_complete(emulator.stop())
        loop.run_until_complete(engine.dispose())
        loop.close()
    return 0


async def _mini_app_bot_username(settings: Settings) -> str | None:
    """The username the Mini App's links back to the chat name; None (no links) while the Bot
    API cannot be reached."""
    try:
        return await _bot_username(settings)
    except NetworkError:
        return None


class RunningMiniApp:
    """The Mini App served in the bot's event loop, until the bot stops."""

    def __init__(self, server: Any, serving: asyncio.Task[None], engine: AsyncEngine | None):
        self.server, self.serving, self.engine = server, serving, engine

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(Exception):  # it failed at start: said so in the log then
            await self.serving
        if self.engine is not None:
            await self.engine.dispose()


async def _serve_beside_the_bot(server: Any) -> None:
    """Serve until told to exit; a port already taken leaves the bot running without the Mini
    App (uvicorn exits the process when it cannot listen)."""
    try:
        await server.serve()
    except SystemExit:
        logger.warning(
            "the Mini App could not listen on %s:%s; the bot runs without it",
            server.config.host,
            server.config.port,
        )


async def start_mini_app(services: Services, token: str) -> RunningMiniApp:
    """The heads' Mini App on WEBAPP_HOST:WEBAPP_PORT beside the bot, on the bot's clock and
    texts, reading WEBAPP_DATABASE_URL when set (else the bot's database, read-only)."""
    from storage.db import make_engine, make_session_factory, read_only_sessions
    from webapp.app import MiniApp, create_app
    from webapp.server import server_for

    settings = services.settings
    engine = make_engine(settings.webapp_database_url) if settings.webapp_database_url else None
    sessions = make_session_factory(engine) if engine is not None else services.session_factory
    assert services.file_store is not None
    mini_app = MiniApp(
        settings=settings,
        sessions=read_only_sessions(sessions),
        clock=services.clock,
        texts=services.texts,
        file_store=services.file_store,
        bot_token=token,
        bot_username=await _mini_app_bot_username(settings),
    )
    server = server_for(
        create_app(mini_app), settings.webapp_host, settings.webapp_port, embedded=True
    )
    serving = asyncio.get_running_loop().create_task(_serve_beside_the_bot(server))
    logger.info("the Mini App at %s", settings.webapp_url or f"port {settings.webapp_port}")
    return RunningMiniApp(server, serving, engine)


async def start_demo(
    services: Services, port: int | None = None
) -> tuple[BotApiEmulator, WebChat, BackgroundJobsFactory | None]:
    """The local demo: the emulator with its web chat, the demo people (each greeted by the
    bot once it polls), and the scheduled jobs on the demo clock the page moves.

    The emulator knows nothing of the bot: this registers the clock hook it calls."""
    from core.demo import enrol_demo_people, known_people
    from emulator.server import BotApiEmulator
    from emulator.web import ClockHook, WebChat
    from scheduler.demo import DemoClock, DemoSchedule

    settings = services.settings
    clock = services.clock
    assert isinstance(clock, DemoClock), "the demo runs on the demo clock"
    state_dir = demo_state_dir(settings)
    # messages are dated in demo time, as the bot's records are
    emulator = BotApiEmulator(
        id_file=state_dir / "emulator-ids", wall_clock=lambda: clock.now().timestamp()
    )
    web = WebChat(emulator, EMULATOR_TOKEN)
    background_jobs: BackgroundJobsFactory | None = None
    advance_to: Callable[[dt.datetime], Awaitable[object]]
    if settings.run_scheduler:
        schedule = DemoSchedule.for_runtime(services)

        def demo_jobs(_: Any) -> DemoSchedule:
            return schedule

        background_jobs = demo_jobs
        advance_to = schedule.advance_to
    else:  # the jobs run in `python -m scheduler`, on its own clock: the page only moves time

        async def move_clock(moment: dt.datetime) -> None:
            clock.move_to(moment)

        advance_to = move_clock

    web.clock = ClockHook(
        now=lambda: clock.now().astimezone(settings.timezone), advance_to=advance_to
    )
    web.language = settings.default_language  # the demo people's, until one is chosen
    await emulator.start(
        settings.emulator_port if port is None else port, extra_routes=web.routes()
    )
    if settings.load_samples:
        await enrol_demo_people(services)
    for person in await known_people(services):
        language = person.language.lower() if person.language else None
        emulator.add_user(person.telegram_id, person.name, language_code=language)
        # waits in the emulator until the bot polls: the greeting lists what the role may do
        await emulator.send_text(EMULATOR_TOKEN, person.telegram_id, "/start")
    return emulator, web, background_jobs


async def _print_emulator_help(services: Services, port: int, web: WebChat) -> None:
    """Without a token: the web chat's address first, then a first admin invitation if no
    admin exists yet."""
    from procedures.kernel.outbox import users_with_roles

    async with services.unit_of_work() as uow:
        code = None
        if not await users_with_roles(uow.session, [roles.ADMIN]):
            code = (await invitations.create_bootstrap_invitation(uow, roles.ADMIN)).code
    lines = [
        "",
        f"Web chat: http://127.0.0.1:{port}/   (open it in a browser: every demo person, "
        "the demo clock)",
        f"No BOT_TOKEN set: the bot talks to the local Bot API emulator on http://127.0.0.1:{port}"
        " (not Telegram).",
    ]
    if code:
        lines.append(f"Become the first admin by sending:   /start {code}")
    if web.clock is not None:
        lines.append(f"Demo time: {web.clock.now():%Y-%m-%d %H:%M %Z}")
    lines.append("")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
