"""The Mini App's web application: the page's static files and the JSON API the page reads
(routes and answers as the Mini App's contract says), built by `create_app` from the services
it reads through, so that the bot's process and `python -m webapp` serve the same one."""

from __future__ import annotations

import asyncio
import datetime as dt
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.commands import command
from bot.documents import reader_context
from bot.texts import Texts
from core.config import Settings
from procedures.kernel.clock import Clock
from procedures.kernel.errors import InvalidInput, NotFound
from procedures.kernel.text_input import clean_text
from procedures.overview.kinds import KINDS, kinds_for
from procedures.overview.lists import ListFilters, list_records
from procedures.overview.records import evidence_file, record_form, record_page
from procedures.overview.rules import MINI_APP_ROLES
from procedures.people.queries import User
from procedures.search import MAX_QUERY, MAX_WORDS, parse_query
from reports.form_documents import BUILDERS
from reports.forms import form_pdf
from storage.files import FileStore

from .auth import (
    Unauthorized,
    check_init_data,
    check_link_token,
    link_token,
    person_of,
    telegram_language,
)
from .charts import chart_payload, charts_of
from .views import View

STATIC_DIR = Path(__file__).parent / "static"
INIT_DATA_HEADER = "X-Telegram-Init-Data"
# pictures a browser shows as pictures; every other stored type is offered as a download, so
# that an uploaded page or script is never rendered in the Mini App's origin
SHOWN_INLINE = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# The chat sends a complaint's and a defect's files with the record itself (/ticket, /defect) to
# whoever reads it; another type's files only to those who may ask /files for them.
FILES_WITH_THE_RECORD = frozenset({"complaint", "defect"})
# Requests that read the database at once. The Mini App shares the bot's connection pool when
# it runs beside the bot: a burst of list requests waits here, never takes every connection
# the bot needs to write.
READERS_AT_ONCE = 4


def _error(status: int, error: str, **more: Any) -> JSONResponse:
    return JSONResponse({"error": error, **more}, status_code=status)


@dataclass(frozen=True)
class MiniApp:
    """What the routes read through: the settings, the database, the clock, the texts, the file
    store, and the bot's token (initData and links are signed with it) and username."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    texts: Texts
    file_store: FileStore
    bot_token: str
    bot_username: str | None = None
    readers: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(READERS_AT_ONCE), compare=False
    )

    def now(self) -> dt.datetime:
        return self.clock.now()

    def person_id(self, request: Request) -> int:
        return check_init_data(
            request.headers.get(INIT_DATA_HEADER),
            self.bot_token,
            now=self.now(),
            max_age=dt.timedelta(seconds=self.settings.webapp_init_data_max_age),
        )

    def view(self, person: User, request: Request) -> View:
        """Renders in the person's language; one who never chose one reads their Telegram
        app's, as in the chat (the initData's, or a form link's `lang`)."""
        telegram_code = (
            telegram_language(request.headers.get(INIT_DATA_HEADER))
            if INIT_DATA_HEADER in request.headers
            else request.query_params.get("lang")
        )
        return View(self.texts, self.texts.language_for(person.language, telegram_code), self.now())

    def link(self, request: Request, person: User, path: str) -> str:
        """The URL of `path` (under /api/) with a token that opens it for this person."""
        expires = self.now() + dt.timedelta(seconds=self.settings.webapp_link_seconds)
        token = link_token(self.bot_token, person.telegram_id, path, expires)
        root = request.scope.get("root_path", "").rstrip("/")
        return f"{root}/api/{quote(path)}?t={token}"


Handler = Callable[[Request, MiniApp, AsyncSession, User], Awaitable[Response]]


def _as_person(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The route for the person the initData names: 401 for anyone else."""

    async def endpoint(request: Request) -> Response:
        app: MiniApp = request.app.state.mini_app
        try:
            telegram_id = app.person_id(request)
            async with app.readers, app.sessions() as session:
                person = await person_of(session, telegram_id)
                return await handler(request, app, session, person)
        except Unauthorized:
            return _error(401, "unauthorized")

    return endpoint


def _by_link(handler: Handler, route: str, last: str) -> Callable[[Request], Awaitable[Response]]:
    """The route for the person a link's token was made for (a file or a form): 401 for a
    forged or expired one, or a person who no longer opens the Mini App. The token signs the
    route and its parameters (`route`/type/key/`last`), wherever the app is served."""

    async def endpoint(request: Request) -> Response:
        app: MiniApp = request.app.state.mini_app
        params = request.path_params
        path = f"{route}/{params['type']}/{params['key']}/{params[last]}"
        try:
            telegram_id = check_link_token(
                request.query_params.get("t"),
                app.bot_token,
                path,
                now=app.now(),
            )
            async with app.readers, app.sessions() as session:
                person = await person_of(session, telegram_id)
                return await handler(request, app, session, person)
        except Unauthorized:
            return _error(401, "unauthorized")

    return endpoint


def reads_files(person: User, subject_type: str) -> bool:
    """Whether the person is given a record's files where they may read the record, as the
    chat gives them (FILES_WITH_THE_RECORD, else /files)."""
    asks_files = command("files").roles or frozenset()
    return subject_type in FILES_WITH_THE_RECORD or bool(person.role_names & asks_files)


async def me(request: Request, app: MiniApp, session: AsyncSession, person: User) -> Response:
    view = app.view(person, request)
    roles = sorted(person.role_names & MINI_APP_ROLES)
    return JSONResponse(
        {
            "name": person.full_name,
            "language": view.language,
            "roles": [{"key": role, "name": view.text(f"role.{role}")} for role in roles],
            "types": [
                {"type": kind.type, "name": view.text(f"miniapp.type.{kind.type}")}
                for kind in kinds_for(person.role_names)
            ],
            # whoever reads at least one chart (the charts' own reader sets): the page offers
            # its charts exactly when GET /api/charts has some to give
            "charts": bool(charts_of(person.role_names)),
            "bot_username": app.bot_username,
        }
    )


def _page_number(given: str | None) -> int:
    """The page asked for: a page number as digits; anything else (-1, abc, ², a thousand
    digits) the first page. A page past the last is the last (the list clamps it)."""
    if given is None or not given.isascii() or not given.isdigit() or len(given) > 9:
        return 1
    return int(given)


def _filters(request: Request, app: MiniApp) -> ListFilters:
    """The list's filters from the query string; InvalidInput for a search or a month that is
    none, or for more words than /find takes (a filter the record type does not have is
    ignored by the list)."""
    given = request.query_params

    def typed(name: str) -> str | None:
        # what no database column holds (NUL and the other control characters) never reaches
        # the query: PostgreSQL refuses a NUL in a text parameter
        return clean_text(given.get(name) or "").strip()[:MAX_QUERY] or None

    def words(name: str) -> str | None:
        # each word is a condition of its own: as many as /find takes
        found = typed(name)
        if found is not None and len(found.split()) > MAX_WORDS:
            raise InvalidInput("find.too_many_words", limit=MAX_WORDS)
        return found

    q = typed("q")
    return ListFilters(
        status=typed("status"),
        late=given.get("late") in ("1", "true"),
        customer=words("customer"),
        product=words("product"),
        vendor=words("vendor"),
        asset=words("asset"),
        month=typed("month"),
        query=parse_query(q, app.settings.timezone) if q else None,
    )


async def records(request: Request, app: MiniApp, session: AsyncSession, person: User) -> Response:
    kind = KINDS.get(request.query_params.get("type", "complaint"))
    if kind is None:
        return _error(404, "not_found")
    if not person.role_names & kind.readers:
        return _error(403, "not_allowed")
    view = app.view(person, request)
    try:
        filters = _filters(request, app)
        if filters.status not in (None, "all", *kind.statuses):
            filters = replace(filters, status=None)  # a status T does not have: its open ones
        found = await list_records(
            session,
            kind,
            filters,
            _page_number(request.query_params.get("page")),
            now=app.now(),
            timezone=app.settings.timezone,
        )
    except InvalidInput as refused:
        return _error(400, "bad_filter", message=view.text(refused.text_key, **refused.params))
    return JSONResponse(view.page(kind, found))


async def record(request: Request, app: MiniApp, session: AsyncSession, person: User) -> Response:
    subject_type, key = request.path_params["type"], request.path_params["key"]
    kind = KINDS.get(subject_type)
    if kind is None:
        return _error(404, "not_found")
    try:
        found = await record_page(session, person, subject_type, key)
    except NotFound:
        return _error(404, "not_found")
    view = app.view(person, request)
    files = [
        {
            "url": app.link(request, person, f"files/{subject_type}/{found.key}/{kept.sha256}"),
            # a picture the page can show; any other file (a PDF sent as a document) to save
            "kind": "photo" if kept.mime_type in SHOWN_INLINE else "document",
            "name": _file_name(found.key, index, kept.mime_type),
            "caption": view.text("miniapp.file_caption", index=index, count=len(found.files)),
        }
        for index, kept in enumerate(found.files, start=1)
        if reads_files(person, subject_type)
    ]
    context = reader_context(app.settings, app.texts, view.language, app.now())
    forms = [
        {
            "name": view.text(form.title_key),
            "file_name": context.file_name(
                "file_name.form", "pdf", name=view.text(form.title_key), number=form.number
            ),
            # the PDF in the language of this page (the link cannot carry the initData)
            "url": app.link(request, person, f"forms/{subject_type}/{found.key}/{form.form}")
            + f"&lang={view.language}",
        }
        for form in found.forms
    ]
    return JSONResponse(view.record(kind, found, files, forms, app.bot_username))


def _file_name(key: str, index: int, mime_type: str | None) -> str:
    """A stored file's name for a download: the record's key, its place, the type's extension."""
    extension = mimetypes.guess_extension(mime_type or "") or ""
    return f"{key.lstrip('#')}-{index}{extension}"


async def file(request: Request, app: MiniApp, session: AsyncSession, person: User) -> Response:
    params = request.path_params
    if not reads_files(person, params["type"]):
        return _error(404, "not_found")
    try:
        kept = await evidence_file(session, person, params["type"], params["key"], params["sha256"])
    except NotFound:
        return _error(404, "not_found")
    assert kept.sha256 is not None  # only stored files are found
    content = await asyncio.to_thread(app.file_store.get, kept.sha256)
    inline = kept.mime_type in SHOWN_INLINE
    return Response(
        content,
        # any other type (text/html, image/svg+xml, a PDF) as bytes to save: no browser or
        # web view renders it in the Mini App's origin, whatever it ignores of the headers
        media_type=kept.mime_type if inline else "application/octet-stream",
        headers={
            "Content-Disposition": f"{'inline' if inline else 'attachment'}; "
            f'filename="{kept.sha256[:16]}"',
            # even opened on its own, a stored file runs nothing and loads nothing
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


async def form(request: Request, app: MiniApp, session: AsyncSession, person: User) -> Response:
    params = request.path_params
    try:
        found = await record_form(session, person, params["type"], params["key"], params["form"])
    except NotFound:
        return _error(404, "not_found")
    view = app.view(person, request)
    context = reader_context(app.settings, app.texts, view.language, app.now())
    filled = await BUILDERS[found.form](session, found.record_id, context)
    # laying out the PDF takes a while: not on the event loop the bot shares
    content = await asyncio.to_thread(form_pdf, filled)
    name = context.file_name("file_name.form", "pdf", name=filled.name, number=filled.number)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


async def charts(request: Request, app: MiniApp, session: AsyncSession, person: User) -> Response:
    view = app.view(person, request)
    payload = await chart_payload(
        session, person.role_names, view.language, app.texts, now=app.now()
    )
    return JSONResponse(payload)


# What the page may load: its own files and API, and Telegram's script inside Telegram; no
# plugin, no <base>. A text that slipped into the page as markup still could not run or send.
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' https://telegram.org",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
    )
)


async def index(request: Request) -> Response:
    page = STATIC_DIR / "index.html"
    if not page.is_file():
        return Response(status_code=404)
    return FileResponse(
        page,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": PAGE_POLICY},
    )


class SecurityHeaders(BaseHTTPMiddleware):
    """No answer of the API is kept by a cache; no answer is sniffed into another type."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if "/api/" in request.url.path:
            response.headers["Cache-Control"] = "no-store"
        return response


def create_app(mini_app: MiniApp) -> Starlette:
    """The Mini App's ASGI application."""

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/api/me", _as_person(me)),
            Route("/api/records", _as_person(records)),
            Route("/api/records/{type}/{key}", _as_person(record)),
            Route("/api/files/{type}/{key}/{sha256}", _by_link(file, "files", "sha256")),
            Route("/api/forms/{type}/{key}/{form}", _by_link(form, "forms", "form")),
            Route("/api/charts", _as_person(charts)),
            Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
    )
    app.state.mini_app = mini_app
    return app
