"""The web chat: a page on the emulator where one person plays every user, in a browser.

The page (`static/`, plain HTML, CSS and JavaScript, no build step) lists the emulated people
with their unread counts and shows a chat with the bot as Telegram would: edits in place,
inline and reply keyboards, photos, albums, files to download, the bot's command menu, and the
answers to button presses as toasts, the chat's menu button. A web_app button (the menu button
or an inline one) opens its Mini App in a panel, with initData signed by the bot's token as
Telegram signs it (`web_app.py`); the panel hears the Mini App's postMessage events as Telegram's
web clients do (a link back to this bot is sent as `/start …`, a close closes it). It is told of
every change through server-sent events.

The page's API answers only the page: each request carries the token the page was served with
(in the `X-Web-Chat-Token` header; as `?token=` where a browser cannot set one, for the event
stream and the files an image or a link shows), and requests naming another host, from another
origin, or made by another site's page are refused with 403. A page on any other site the
demo's user opens can neither drive the chat nor read it.

The page's words (`static/words.json`, in each language the bot speaks) follow the chosen
person's Telegram language; before anyone is chosen, the language `WebChat.language` names.
Below a tablet's width the people are a drawer over the chat.

The emulator knows nothing of the bot it serves. What only the bot's side knows comes in
through hooks set by whoever starts the emulator for a demo: `WebChat.clock` lets the page show
the demo time and move it forward; `WebChat.language` is the deployment's default language.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tornado.iostream
import tornado.web

from .server import ApiError, BotApiEmulator, BotState
from .web_app import init_data, launch_url

STATIC_DIR = Path(__file__).resolve().parent / "static"
# a new person added from the page gets an id above everyone the emulator knows, from here
FIRST_WEB_USER_ID = 7_000_001
PRESS_ANSWER_WAIT = 10.0
KEEPALIVE_SECONDS = 15.0
TOKEN_HEADER = "X-Web-Chat-Token"
TOKEN_PLACEHOLDER = b"{{web_chat_token}}"


@dataclass
class ClockHook:
    """The demo clock, as the bot's side lends it: its time (aware, in the zone to show) and
    how to move it forward (running whatever falls due on the way)."""

    now: Callable[[], dt.datetime]
    advance_to: Callable[[dt.datetime], Awaitable[object]]


class WebChat:
    """The page's state beside the emulator's: who has read what, and the clock hook."""

    def __init__(self, emulator: BotApiEmulator, token: str | None = None) -> None:
        self.emulator = emulator
        self.token = token  # the bot shown; by default the first that called the emulator
        self.clock: ClockHook | None = None
        # the page's language before a person is chosen (a Telegram language code)
        self.language: str | None = None
        self.read: dict[int, int] = {}  # user id -> bot messages read
        # served in the page, asked of every call of its API: another site's page cannot read it
        self.page_token = secrets.token_urlsafe(32)
        self._advancing = asyncio.Lock()

    def routes(self) -> list[Any]:
        """The tornado rules to hand `BotApiEmulator.start(extra_routes=...)`."""
        args = {"web": self}
        return [
            (r"/", _PageHandler, args),
            (r"/favicon\.ico", _FaviconHandler, args),
            (r"/web/static/(.*)", _StaticHandler, {"path": str(STATIC_DIR), "web": self}),
            (r"/web/api/events", _EventsHandler, args),
            (r"/web/api/([a-z]+)", _ApiHandler, args),
            (r"/web/file/([A-Za-z0-9_]+)", _WebFileHandler, args),
        ]

    # --- what the page reads -----------------------------------------------------------------

    def bot(self) -> BotState | None:
        if self.token is not None:
            return self.emulator.bot(self.token)
        return next(iter(self.emulator.bots.values()), None)

    def state(self) -> dict[str, Any]:
        bot = self.bot()
        people = []
        for user in self.emulator.users.values():
            received = len(self.emulator.bot_messages(bot.token, user.id)) if bot else 0
            people.append(
                {
                    "id": user.id,
                    "name": " ".join(filter(None, (user.first_name, user.last_name))),
                    "language": user.language_code,
                    "unread": max(0, received - self.read.get(user.id, 0)),
                }
            )
        return {
            "bot": {"username": bot.username, "name": bot.as_user()["first_name"]} if bot else None,
            "people": people,
            "language": self.language,
            "clock": self.clock_state(),
            "version": self.emulator.version,
        }

    def clock_state(self) -> dict[str, Any] | None:
        if self.clock is None:
            return None
        now = self.clock.now()
        return {
            "now": now.isoformat(timespec="seconds"),
            "zone": str(now.tzinfo),
            "isoweekday": now.isoweekday(),  # the page names it in its language
        }

    def chat(self, user_id: int, *, mark_read: bool) -> dict[str, Any]:
        bot = self.bot()
        if bot is None:
            return {"messages": [], "commands": [], "reply_keyboard": None, "menu_button": None}
        messages = bot.chats.get(user_id, [])
        if mark_read:
            self.read[user_id] = len(self.emulator.bot_messages(bot.token, user_id))
        user = self.emulator.users.get(user_id)
        return {
            "messages": messages,
            "commands": self.commands(bot, user_id, user.language_code if user else None),
            "reply_keyboard": bot.reply_keyboards.get(user_id),
            "menu_button": self.emulator.menu_button(bot.token, user_id),
        }

    @staticmethod
    def commands(bot: BotState, chat_id: int, language: str | None) -> list[dict[str, str]]:
        """The command menu Telegram would show in this private chat (narrowest scope first)."""
        scopes = [
            {"type": "chat", "chat_id": chat_id},
            {"type": "all_private_chats"},
            {"type": "default"},
        ]
        languages = [(language or "").split("-")[0].lower(), ""]
        for scope in scopes:
            for code in languages:
                menu = bot.command_menus.get((json.dumps(scope, sort_keys=True), code))
                if menu is not None:
                    return menu
        return bot.commands

    # --- what the page does ------------------------------------------------------------------

    def add_person(self, name: str, language: str | None) -> int:
        user_id = max([FIRST_WEB_USER_ID - 1, *self.emulator.users]) + 1
        self.emulator.add_user(user_id, name, language_code=language or None)
        return user_id

    async def press(self, user_id: int, message_id: int, data: str) -> dict[str, Any] | None:
        """Press the button; return the bot's answer (a toast, or an alert) once it comes."""
        bot = self._require_bot()
        update = await self.emulator.press_button(bot.token, user_id, message_id, data)
        query_id = update["callback_query"]["id"]
        try:
            answer: dict[str, Any] | None = await self.emulator.wait_until(
                lambda: bot.callback_answers.get(query_id), PRESS_ANSWER_WAIT
            )
            return answer
        except TimeoutError:
            return None

    async def advance(self, body: dict[str, Any]) -> dict[str, Any] | None:
        if self.clock is None:
            raise ApiError(400, "this emulator runs without a demo clock")
        async with self._advancing:
            now = self.clock.now()
            if "to" in body:
                target = dt.datetime.fromisoformat(body["to"])
                if target.tzinfo is None:
                    target = target.replace(tzinfo=now.tzinfo)
            else:
                target = now + dt.timedelta(
                    hours=float(body.get("hours", 0)), days=float(body.get("days", 0))
                )
            if target <= now:
                raise ApiError(400, "the demo clock only moves forward")
            await self.clock.advance_to(target)
        return self.clock_state()

    def open_web_app(self, user_id: int, url: str) -> str:
        """The address the panel opens for a web_app button the bot gave this person (the menu
        button or an inline one in their chat), with initData signed as Telegram signs it."""
        bot = self._require_bot()
        if url not in self.offered_web_apps(bot, user_id):
            raise ApiError(400, "the bot offered this person no web_app button with that URL")
        user = self.emulator.users[user_id]
        person: dict[str, Any] = {"id": user.id, "first_name": user.first_name}
        for name in ("last_name", "username", "language_code"):
            if getattr(user, name):
                person[name] = getattr(user, name)
        person["allows_write_to_pm"] = True
        signed = init_data(
            bot.token,
            person,
            auth_date=self.emulator.unix_time(),
            query_id=f"AAE{secrets.token_urlsafe(12)}",
        )
        return launch_url(url, signed)

    def offered_web_apps(self, bot: BotState, user_id: int) -> set[str]:
        offered = set()
        menu = self.emulator.menu_button(bot.token, user_id)
        if menu.get("type") == "web_app":
            offered.add(menu["web_app"]["url"])
        for message in bot.chats.get(user_id, []):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                offered.update(b["web_app"]["url"] for b in row if "web_app" in b)
        return offered

    def _require_bot(self) -> BotState:
        bot = self.bot()
        if bot is None:
            raise ApiError(409, "no bot has connected to the emulator yet")
        return bot


class _WebHandler(tornado.web.RequestHandler):
    # the page itself and its static files may be opened from a link; the API only by the page
    opened_from_links = False

    def initialize(self, web: WebChat) -> None:
        self.web = web
        self.emulator = web.emulator

    def prepare(self) -> None:
        refusal = self.emulator.foreign_request(self.request, navigation=self.opened_from_links)
        if refusal is None and not self.opened_from_links and not self._token_given():
            refusal = "Forbidden: the web chat's page token is missing or wrong"
        if refusal is not None:
            self.write_json({"error": refusal}, 403)

    def _request_summary(self) -> str:
        """The access log's line, without the query (the page's token may be in it)."""
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def _token_given(self) -> bool:
        given = self.request.headers.get(TOKEN_HEADER) or self.get_query_argument("token", "")
        return secrets.compare_digest(given.encode(), self.web.page_token.encode())

    def write_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body, ensure_ascii=False))


class _PageHandler(_WebHandler):
    opened_from_links = True

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        # no other site may frame the page (and so press on it); the page frames the Mini Apps
        # the bot's web_app buttons name, which it learns only after it is loaded (and the
        # emulator signs initData only for an address the bot gave that person)
        self.set_header("X-Frame-Options", "DENY")
        self.set_header(
            "Content-Security-Policy", "frame-ancestors 'none'; frame-src 'self' http: https:"
        )
        page = (STATIC_DIR / "index.html").read_bytes()
        self.finish(page.replace(TOKEN_PLACEHOLDER, self.web.page_token.encode()))


class _FaviconHandler(_WebHandler):
    """The icon a browser asks of every site at /favicon.ico (the page's own link names it too)."""

    opened_from_links = True

    def get(self) -> None:
        self.set_header("Content-Type", "image/svg+xml")
        self.set_header("Cache-Control", "max-age=86400")
        self.finish((STATIC_DIR / "favicon.svg").read_bytes())


class _StaticHandler(tornado.web.StaticFileHandler):
    """The page's script and style, to this machine's names only."""

    def initialize(self, path: str, web: WebChat) -> None:  # type: ignore[override]
        super().initialize(path)
        self.web = web

    def prepare(self) -> None:
        refusal = self.web.emulator.foreign_request(self.request, navigation=True)
        if refusal is not None:
            raise tornado.web.HTTPError(403, refusal)


class _ApiHandler(_WebHandler):
    def get(self, name: str) -> None:
        if name == "state":
            self.write_json(self.web.state())
        elif name == "chat":
            user_id = int(self.get_argument("user"))
            mark_read = self.get_argument("read", "1") == "1"
            self.write_json(self.web.chat(user_id, mark_read=mark_read))
        else:
            self.write_json({"error": "unknown route"}, 404)

    async def post(self, name: str) -> None:
        try:
            result = await self._post(name)
        except ApiError as error:
            self.write_json({"error": error.description}, 400)
        except (KeyError, ValueError) as error:
            self.write_json({"error": f"bad request: {error}"}, 400)
        else:
            self.write_json(result)

    async def _post(self, name: str) -> dict[str, Any]:
        if name == "upload":
            return await self._upload()
        body = json.loads(self.request.body or b"{}")
        if name == "people":
            name_given = str(body["name"]).strip()
            if not name_given:
                raise ValueError("a person needs a name")
            return {"id": self.web.add_person(name_given[:64], body.get("language"))}
        if name == "clock":
            return {"clock": await self.web.advance(body)}
        token = self.web._require_bot().token
        user_id = int(body["user"])
        if name == "send":
            update = await self.emulator.send_text(token, user_id, str(body["text"]))
            return {"update_id": update["update_id"]}
        if name == "location":
            update = await self.emulator.send_location(
                token, user_id, float(body["latitude"]), float(body["longitude"])
            )
            return {"update_id": update["update_id"]}
        if name == "press":
            answer = await self.web.press(user_id, int(body["message_id"]), str(body["data"]))
            return {"answer": answer}
        if name == "webapp":
            return {"url": self.web.open_web_app(user_id, str(body["url"]))}
        raise KeyError(name)

    async def _upload(self) -> dict[str, Any]:
        """Photos (several at once make an album) or one document, from a multipart form."""
        token = self.web._require_bot().token
        user_id = int(self.get_argument("user"))
        kind = self.get_argument("kind")
        caption = self.get_argument("caption", "") or None
        files = self.request.files.get("file", [])
        if not files:
            raise ValueError("no file")
        if kind == "document":
            for upload in files:
                await self.emulator.send_document(
                    token,
                    user_id,
                    upload.body,
                    upload.filename,
                    caption=caption,
                    mime_type=upload.content_type or "application/octet-stream",
                )
                caption = None
            return {"sent": len(files)}
        album = f"web{secrets.token_hex(4)}" if len(files) > 1 else None
        for upload in files:
            await self.emulator.send_photo(
                token, user_id, upload.body, caption=caption, media_group_id=album
            )
            caption = None  # an album's caption is on its first photo
        return {"sent": len(files)}


class _WebFileHandler(_WebHandler):
    def get(self, file_id: str) -> None:
        stored = self.emulator.files.get(file_id)
        if stored is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", stored.mime_type or "application/octet-stream")
        if stored.file_name:
            self.set_header(
                "Content-Disposition",
                f"attachment; filename*=UTF-8''{quote(stored.file_name)}",
            )
        self.finish(stored.content)


class _EventsHandler(_WebHandler):
    """Server-sent events: the emulator's change counter, each time it moves."""

    def initialize(self, web: WebChat) -> None:
        super().initialize(web)
        self._gone = asyncio.Event()

    def on_connection_close(self) -> None:
        self._gone.set()

    async def get(self) -> None:
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-store")
        seen = -1
        while not self._gone.is_set():
            version = self.emulator.version
            try:
                if version != seen:
                    seen = version
                    self.write(f"data: {version}\n\n")
                else:
                    self.write(": keep-alive\n\n")
                await self.flush()
            except tornado.iostream.StreamClosedError:
                return

            def moved(seen: int = seen) -> bool:
                return self.emulator.version != seen

            changed = asyncio.ensure_future(self.emulator.wait_until(moved, KEEPALIVE_SECONDS))
            gone = asyncio.ensure_future(self._gone.wait())
            await asyncio.wait({changed, gone}, return_when=asyncio.FIRST_COMPLETED)
            for task in (changed, gone):
                task.cancel()
            await asyncio.gather(changed, gone, return_exceptions=True)
