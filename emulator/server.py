"""A local Telegram Bot API: the bot side over HTTP, a user side for tests and people.

The bot side answers the methods the bot uses, checks every call against the published API
(unknown methods or fields, missing required fields, text over 4096 characters, callback data
over 64 bytes) and enforces Telegram's flood limits with 429 and `retry_after`. The user side
sends messages, button presses, photos, documents and locations as any user and reads what the
bot sent; Python callers use the methods of `BotApiEmulator`, others the `/_emulator/` routes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import tornado.httpserver
import tornado.netutil
import tornado.web

from .ids import PersistentCounter
from .spec import Spec, SpecViolation, UploadedFile

logger = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"^(\d+):[A-Za-z0-9_-]+$")
COMMAND_PATTERN = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
SENDING_METHODS = frozenset({"sendmessage", "senddocument", "sendphoto", "sendmediagroup"})
# what the emulator's sendMediaGroup groups: photos together, documents only with documents
# (Telegram also groups videos with photos, and audio; the bot sends neither)
ALBUM_FAMILIES = {"photo": "photo", "document": "document"}
# The emulator answers only this machine: requests naming another host (a DNS-rebound name) and
# webhooks pointing elsewhere are refused.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
BOT_TOKEN_IN_PATH = re.compile(r"^(/(?:file/)?bot)[^/]+/")
# what a browser says of a request another site's page made (a link, an image, a form)
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})


def is_local_url(url: str) -> bool:
    """Whether `url` is an http(s) address on this machine."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and hostname in LOCAL_HOSTS


def _web_app_url_allowed(url: str) -> bool:
    """Telegram opens Mini Apps over HTTPS only; the emulator also opens this machine's http."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return False
    return scheme == "https" or is_local_url(url)


def bot_username_for(bot_id: int) -> str:
    """The username the emulator gives the bot with this id."""
    return f"after_sales_{bot_id}_bot"


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class FloodLimits:
    """Token buckets: about 30 messages a second overall and 1 a second per chat.

    `chat_burst` lets a handler answer with two or three messages at once, as Telegram does
    in practice; set it to 1 for the strict limit.
    """

    overall_per_second: float = 30.0
    overall_burst: float = 30.0
    chat_per_second: float = 1.0
    chat_burst: float = 3.0
    # messages sent with allow_paid_broadcast count against this instead of the overall limit
    paid_per_second: float = 1000.0
    paid_burst: float = 1000.0


class _Bucket:
    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def take(self, now: float) -> float:
        """Take one token; return 0, or the seconds until one would be there."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class EmulatedUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def as_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return data

    def private_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def file_path(self) -> str:
        return f"files/{self.file_unique_id}"


@dataclass
class BotState:
    """Everything one bot token sees: its updates, the chats' messages, its files."""

    token: str
    bot_id: int
    username: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    confirmed_update_id: int = 0
    # chat id -> messages in order, both directions; the bot's carry "from_bot": True
    chats: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    messages_by_id: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)  # default scope, any language
    # every menu set: (scope as JSON, language code) -> commands
    command_menus: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    webhook_deleted: int = 0
    # set by setWebhook: updates are then POSTed there instead of waiting for getUpdates
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_failures: list[tuple[int, int]] = field(default_factory=list)  # (update_id, status)
    # every Bot API call as (monotonic time, method in lower case, HTTP status of the answer)
    call_log: list[tuple[float, str, int]] = field(default_factory=list)
    # chat id -> the reply keyboard the bot last sent there (until it removes it)
    reply_keyboards: dict[int, dict[str, Any]] = field(default_factory=dict)
    # setChatMenuButton: the bot's default (None: never set) and each private chat's own
    default_menu_button: dict[str, Any] | None = None
    menu_buttons: dict[int, dict[str, Any]] = field(default_factory=dict)

    def as_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "After-sales",
            "username": self.username,
        }


class BotApiEmulator:
    def __init__(
        self,
        *,
        flood_limits: FloodLimits | None = None,
        spec: Spec | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        id_file: Path | None = None,
    ) -> None:
        self.spec = spec or Spec()
        self.flood_limits = flood_limits or FloodLimits()
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self.bots: dict[str, BotState] = {}
        self.users: dict[int, EmulatedUser] = {}
        self.files: dict[str, StoredFile] = {}
        self.violations: list[str] = []
        self.calls: deque[tuple[str, dict[str, Any]]] = deque(maxlen=10_000)
        self._changed = asyncio.Condition()
        # with a file, ids continue above the highest ever given, across restarts
        self._ids: Iterator[int] = PersistentCounter(id_file) if id_file else itertools.count(1)
        self.version = 0  # counts changes, for whoever shows them live
        self._overall_bucket: dict[str, _Bucket] = {}
        self._paid_bucket: dict[str, _Bucket] = {}
        self._chat_buckets: dict[tuple[str, int], _Bucket] = {}
        # A test can make the next calls fail, e.g. {"sendmessage": [ApiError(502, ...)]}.
        self.injected_failures: dict[str, list[ApiError]] = {}
        # ...or answer them late: method -> seconds to hold each of the next calls
        self.injected_delays: dict[str, list[float]] = {}
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port: int | None = None

    # --- life cycle --------------------------------------------------------------------------

    async def start(
        self, port: int = 0, host: str = "127.0.0.1", extra_routes: list[Any] | None = None
    ) -> int:
        """Serve the Bot API; `extra_routes` (tornado rules) add pages, such as the web chat."""
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([A-Za-z]+)", _BotApiHandler, {"emulator": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"emulator": self}),
                (r"/_emulator/(.*)", _UserSideHandler, {"emulator": self}),
                *(extra_routes or []),
            ]
        )
        sockets = tornado.netutil.bind_sockets(port, host)
        self._server = tornado.httpserver.HTTPServer(app, max_body_size=60 * 1024 * 1024)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        return self.port

    def local_names(self) -> frozenset[str]:
        """The Host headers this emulator answers: this machine's names with its port."""
        assert self.port is not None, "the emulator was never started"
        names = {f"[{h}]" if ":" in h else h for h in LOCAL_HOSTS}
        with_port = {f"{name}:{self.port}" for name in names}
        return frozenset(with_port | names) if self.port == 80 else frozenset(with_port)

    def foreign_request(self, request: Any, *, navigation: bool = False) -> str | None:
        """Why a request comes from elsewhere than this machine's own pages and programs (its
        Host, its Origin, or what the browser says of the page that made it), or None.
        `navigation`: a page opened by following a link from another site is let through."""
        if request.host.lower() not in self.local_names():
            return f"Forbidden: this emulator answers only {', '.join(sorted(self.local_names()))}"
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() not in {
            f"http://{name}" for name in self.local_names()
        }:
            return "Forbidden: requests from other origins are refused"
        fetch_site = request.headers.get("Sec-Fetch-Site", "").lower()
        if not navigation and fetch_site in FOREIGN_FETCH_SITES:
            return "Forbidden: requests made by another site's page are refused"
        return None

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    # --- fault injection: what a test makes the Bot API do wrong -----------------------------

    def fail_next(
        self,
        method: str,
        status: int = 502,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` fail with `status` (a 429 may carry retry_after)
        before anything is done, as Telegram refuses a call it did not carry out."""
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else f"injected failure {status}"
            )
        failures = self.injected_failures.setdefault(method.lower(), [])
        failures.extend(ApiError(status, description, retry_after) for _ in range(times))

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls of `method` are held `seconds` and then carried out: a client
        that gave up earlier does not know whether the call took effect."""
        self.injected_delays.setdefault(method.lower(), []).extend([seconds] * times)

    def clear_faults(self) -> None:
        self.injected_failures.clear()
        self.injected_delays.clear()

    async def refuse_connections(self) -> None:
        """Stop listening, keeping every chat and update: connections are refused until
        `accept_connections` opens the same port again."""
        await self.stop()

    async def accept_connections(self) -> None:
        assert self.port is not None, "the emulator was never started"
        if self._server is None:
            await self.start(self.port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- state helpers -----------------------------------------------------------------------

    def bot(self, token: str) -> BotState:
        state = self.bots.get(token)
        if state is None:
            match = TOKEN_PATTERN.match(token)
            if match is None:
                raise ApiError(401, "Unauthorized")
            bot_id = int(match.group(1))
            state = BotState(token=token, bot_id=bot_id, username=bot_username_for(bot_id))
            self.bots[token] = state
        return state

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> EmulatedUser:
        user = EmulatedUser(user_id, first_name, last_name, username, language_code)
        self.users[user_id] = user
        return user

    def _user(self, user_id: int) -> EmulatedUser:
        if user_id not in self.users:
            self.add_user(user_id, f"User {user_id}")
        return self.users[user_id]

    def _now(self) -> int:
        return int(self._wall_clock())

    def unix_time(self) -> int:
        """The emulator's time, as it dates messages (a demo clock, where one is lent)."""
        return self._now()

    async def _notify(self) -> None:
        self.version += 1
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked on every change); return its value."""
        async with self._changed:
            result = predicate()
            if result:
                return result
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            return predicate()

    def store_file(
        self, content: bytes, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        unique = hashlib.sha1(content).hexdigest()[:16]
        file_id = f"F{next(self._ids)}_{unique}"
        stored = StoredFile(file_id, unique, content, file_name, mime_type)
        self.files[file_id] = stored
        return stored

    # --- user side ---------------------------------------------------------------------------

    async def _push_update(
        self, bot: BotState, kind: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        update = {"update_id": next(self._ids), kind: payload}
        if bot.webhook_url:
            await self._post_to_webhook(bot, update)
        else:
            bot.updates.append(update)
        await self._notify()
        return update

    async def _post_to_webhook(self, bot: BotState, update: dict[str, Any]) -> None:
        """Deliver as Telegram does: a JSON POST carrying the secret token header, if one is set."""
        assert bot.webhook_url is not None  # only a bot with a webhook is posted to
        headers = {"Content-Type": "application/json"}
        if bot.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = bot.webhook_secret
        async with httpx.AsyncClient(timeout=10) as client:
            try:
                reply = await client.post(
                    bot.webhook_url, content=json.dumps(update), headers=headers
                )
                status = reply.status_code
            except httpx.HTTPError:
                status = 0
        if status != 200:
            bot.webhook_failures.append((update["update_id"], status))

    def _user_message(self, bot: BotState, user: EmulatedUser, **content: Any) -> dict[str, Any]:
        message = {
            "message_id": next(self._ids),
            "from": user.as_api(),
            "chat": user.private_chat(),
            "date": self._now(),
            **content,
        }
        bot.chats.setdefault(user.id, []).append(message)
        bot.messages_by_id[(user.id, message["message_id"])] = message
        return message

    async def send_text(self, token: str, user_id: int, text: str) -> dict[str, Any]:
        """The user types `text` in their private chat with the bot."""
        bot, user = self.bot(token), self._user(user_id)
        content: dict[str, Any] = {"text": text}
        entities = _command_entities(text)
        if entities:
            content["entities"] = entities
        return await self._push_update(bot, "message", self._user_message(bot, user, **content))

    async def send_photo(
        self,
        token: str,
        user_id: int,
        content: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        bot, user = self.bot(token), self._user(user_id)
        stored = self.store_file(content, None, "image/jpeg")
        extra: dict[str, Any] = {"photo": _photo_sizes(stored)}
        if caption:
            extra["caption"] = caption
        if media_group_id:
            extra["media_group_id"] = media_group_id
        return await self._push_update(bot, "message", self._user_message(bot, user, **extra))

    async def send_document(
        self,
        token: str,
        user_id: int,
        content: bytes,
        file_name: str,
        *,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
    ) -> dict[str, Any]:
        bot, user = self.bot(token), self._user(user_id)
        stored = self.store_file(content, file_name, mime_type)
        extra: dict[str, Any] = {"document": _document_of(stored)}
        if caption:
            extra["caption"] = caption
        return await self._push_update(bot, "message", self._user_message(bot, user, **extra))

    async def send_location(
        self, token: str, user_id: int, latitude: float, longitude: float
    ) -> dict[str, Any]:
        bot, user = self.bot(token), self._user(user_id)
        location = {"latitude": latitude, "longitude": longitude}
        return await self._push_update(
            bot, "message", self._user_message(bot, user, location=location)
        )

    async def press_button(
        self, token: str, user_id: int, message_id: int, data: str, *, forge: bool = False
    ) -> dict[str, Any]:
        """The user taps the button carrying `data` under one of the bot's messages.

        With `forge`, the data need not be on the message: a crafted callback, as a malicious
        client could send.
        """
        bot, user = self.bot(token), self._user(user_id)
        message = bot.messages_by_id.get((user_id, message_id))
        if message is None or not message.get("from", {}).get("is_bot"):
            raise ApiError(400, "Bad Request: no such bot message in this chat")
        if not forge:
            buttons = [
                b.get("callback_data")
                for row in message.get("reply_markup", {}).get("inline_keyboard", [])
                for b in row
            ]
            if data not in buttons:
                raise ApiError(400, f"Bad Request: the message has no button with data {data!r}")
        query = {
            "id": str(next(self._ids)),
            "from": user.as_api(),
            "message": _public_message(message),
            "chat_instance": str(user_id),
            "data": data,
        }
        return await self._push_update(bot, "callback_query", query)

    def bot_messages(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        """What the bot sent to the chat, oldest first, as currently shown (edits applied)."""
        return [m for m in self.bot(token).chats.get(chat_id, []) if m["from"].get("is_bot")]

    async def wait_for_bot_messages(
        self, token: str, chat_id: int, count: int, *, after: int = 0, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot has sent `count` messages to the chat beyond the first `after`."""

        def ready() -> list[dict[str, Any]] | None:
            messages = self.bot_messages(token, chat_id)[after:]
            return messages if len(messages) >= count else None

        try:
            messages: list[dict[str, Any]] = await self.wait_until(ready, timeout)
            return messages
        except TimeoutError:
            got = [
                m.get("text") or m.get("caption") for m in self.bot_messages(token, chat_id)[after:]
            ]
            raise AssertionError(
                f"expected {count} bot message(s) in chat {chat_id} after {after}, got {got}"
            ) from None

    # --- bot side ----------------------------------------------------------------------------

    async def call(
        self,
        token: str,
        method: str,
        params: dict[str, Any],
        attachments: dict[str, UploadedFile] | None = None,
    ) -> Any:
        """Run one Bot API method as the bot with `token`; raise ApiError as Telegram would.

        `attachments` are the uploads that the media of an album name as `attach://<name>`."""
        bot = self.bot(token)
        key = method.lower()
        self.calls.append((method, params))
        try:
            result = await self._call(bot, key, method, params, attachments or {})
        except ApiError as error:
            bot.call_log.append((self._monotonic(), key, error.code))
            raise
        bot.call_log.append((self._monotonic(), key, 200))
        return result

    async def _call(
        self,
        bot: BotState,
        key: str,
        method: str,
        params: dict[str, Any],
        attachments: dict[str, UploadedFile],
    ) -> Any:
        token = bot.token
        try:
            self.spec.check_call(method, params)
        except SpecViolation as violation:
            self.violations.append(str(violation))
            logger.error("Bot API violation: %s", violation)
            raise ApiError(400, f"Bad Request: {violation}") from None
        if attachments and isinstance(params.get("media"), list):
            # checked as the strings they are sent as; handled as the files they name
            params = {**params, "media": [_attach(item, attachments) for item in params["media"]]}
        delays = self.injected_delays.get(key)
        if delays:
            await asyncio.sleep(delays.pop(0))
        failures = self.injected_failures.get(key)
        if failures:
            raise failures.pop(0)
        handler = getattr(self, f"_api_{key}", None)
        if handler is None:
            self.violations.append(f"{method}: not implemented by the emulator")
            raise ApiError(501, f"Not Implemented: {method} is not emulated")
        if key in SENDING_METHODS:
            self._check_flood(
                token, _chat_id(params), paid=bool(params.get("allow_paid_broadcast"))
            )
        result = await handler(bot, params)
        await self._notify()
        return result

    def _check_flood(self, token: str, chat_id: int, paid: bool = False) -> None:
        now = self._monotonic()
        limits = self.flood_limits
        if paid:
            overall = self._paid_bucket.setdefault(
                token, _Bucket(limits.paid_per_second, limits.paid_burst, now)
            )
        else:
            overall = self._overall_bucket.setdefault(
                token, _Bucket(limits.overall_per_second, limits.overall_burst, now)
            )
        chat = self._chat_buckets.setdefault(
            (token, chat_id), _Bucket(limits.chat_per_second, limits.chat_burst, now)
        )
        wait = max(overall.take(now), chat.take(now))
        if wait > 0:
            retry_after = max(1, int(wait + 0.999))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    async def _api_getme(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **bot.as_user(),
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_setwebhook(self, bot: BotState, params: dict[str, Any]) -> bool:
        url = params["url"]
        # Telegram would take any public https URL; the emulator's updates (every user's
        # messages) may go only to a bot on this machine.
        if not is_local_url(url):
            raise ApiError(
                400,
                "Bad Request: bad webhook: the local emulator delivers updates only to "
                "127.0.0.1, localhost or ::1",
            )
        bot.webhook_url, bot.webhook_secret = url, params.get("secret_token")
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        return True

    async def _api_deletewebhook(self, bot: BotState, params: dict[str, Any]) -> bool:
        bot.webhook_url = bot.webhook_secret = None
        bot.webhook_deleted += 1
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        return True

    async def _api_getwebhookinfo(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": bot.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }

    @staticmethod
    def _menu_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    async def _api_setmycommands(self, bot: BotState, params: dict[str, Any]) -> bool:
        key = self._menu_key(params)
        bot.command_menus[key] = list(params["commands"])
        if key == self._menu_key({}):
            bot.commands = list(params["commands"])
        return True

    async def _api_getmycommands(self, bot: BotState, params: dict[str, Any]) -> list[Any]:
        return bot.command_menus.get(self._menu_key(params), [])

    def command_menu(self, token: str, chat_id: int) -> list[str]:
        """The command names a user sees in the menu of their private chat with the bot."""
        menus = self.bot(token).command_menus
        chat_scope = json.dumps({"chat_id": chat_id, "type": "chat"}, sort_keys=True)
        menu = next((m for (scope, _), m in menus.items() if scope == chat_scope), None)
        return [c["command"] for c in (menu if menu is not None else self.bot(token).commands)]

    async def _api_setchatmenubutton(self, bot: BotState, params: dict[str, Any]) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if button["type"] == "web_app" and not _web_app_url_allowed(button["web_app"]["url"]):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        if "chat_id" not in params:
            bot.default_menu_button = None if button["type"] == "default" else button
            return True
        chat_id = _chat_id(params)
        if chat_id not in self.users:
            raise ApiError(400, "Bad Request: chat not found")
        if button["type"] == "default":
            bot.menu_buttons.pop(chat_id, None)
        else:
            bot.menu_buttons[chat_id] = button
        return True

    async def _api_getchatmenubutton(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params:
            return bot.default_menu_button or {"type": "commands"}
        chat_id = _chat_id(params)
        if chat_id not in self.users:
            raise ApiError(400, "Bad Request: chat not found")
        return self.menu_button(bot.token, chat_id)

    def menu_button(self, token: str, chat_id: int) -> dict[str, Any]:
        """The menu button a user sees in their private chat: the chat's own, else the bot's
        default, else the list of commands (Telegram's default)."""
        bot = self.bot(token)
        return bot.menu_buttons.get(chat_id) or bot.default_menu_button or {"type": "commands"}

    async def _api_close(self, bot: BotState, params: dict[str, Any]) -> bool:
        return True

    async def _api_sendchataction(self, bot: BotState, params: dict[str, Any]) -> bool:
        return True

    async def _api_getupdates(self, bot: BotState, params: dict[str, Any]) -> list[dict[str, Any]]:
        if bot.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            bot.updates = [u for u in bot.updates if u["update_id"] >= offset]

        def pending() -> list[dict[str, Any]]:
            return bot.updates[:limit]

        if not pending() and timeout > 0:
            try:
                await self.wait_until(pending, timeout)
            except TimeoutError:
                return []
        return pending()

    def _bot_message(self, bot: BotState, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = _chat_id(params)
        user = self.users.get(chat_id)
        if user is None:
            raise ApiError(400, "Bad Request: chat not found")
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "from": bot.as_user(),
            "chat": user.private_chat(),
            "date": self._now(),
            **content,
        }
        if "reply_markup" in params:
            markup = params["reply_markup"]
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
            elif "keyboard" in markup:
                bot.reply_keyboards[chat_id] = markup
            elif markup.get("remove_keyboard"):
                bot.reply_keyboards.pop(chat_id, None)
        bot.chats.setdefault(chat_id, []).append(message)
        bot.messages_by_id[(chat_id, message["message_id"])] = message
        return message

    async def _api_sendmessage(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        return _public_message(self._bot_message(bot, params, text=params["text"]))

    async def _api_senddocument(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {"document": _document_of(self._input_file(params["document"]))}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return _public_message(self._bot_message(bot, params, **content))

    async def _api_sendphoto(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {"photo": _photo_sizes(self._input_file(params["photo"]))}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return _public_message(self._bot_message(bot, params, **content))

    async def _api_sendmediagroup(
        self, bot: BotState, params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """An album: one message per item, all sharing a fresh media_group_id; an item's
        caption stays on its own message, as Telegram keeps it."""
        media = params["media"]  # 2-10 items, as the spec check made sure
        kinds = [item.get("type") for item in media]
        families = {ALBUM_FAMILIES.get(kind) for kind in kinds}
        if None in families:
            raise ApiError(400, f"Bad Request: media of types {kinds} are not emulated")
        if len(families) > 1:
            raise ApiError(
                400, "Bad Request: documents can be grouped in an album only with documents"
            )
        stored = [self._input_file(item["media"]) for item in media]
        group = str(next(self._ids))
        sent = []
        for item, file in zip(media, stored, strict=True):
            content: dict[str, Any] = (
                {"document": _document_of(file)}
                if item["type"] == "document"
                else {"photo": _photo_sizes(file)}
            )
            content["media_group_id"] = group
            if item.get("caption"):
                content["caption"] = item["caption"]
            sent.append(_public_message(self._bot_message(bot, params, **content)))
        return sent

    def _input_file(self, value: Any) -> StoredFile:
        if isinstance(value, UploadedFile):
            return self.store_file(value.content, value.filename, value.content_type)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        raise ApiError(400, "Bad Request: wrong file identifier or upload")

    def _editable(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: inline messages are not emulated")
        key = (_chat_id(params), int(params.get("message_id") or 0))
        message = bot.messages_by_id.get(key)
        if message is None or not message["from"].get("is_bot"):
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    async def _api_editmessagetext(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(bot, params)
        markup = params.get("reply_markup")
        if message.get("text") == params["text"] and message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = params["text"]
        _set_markup(message, markup)
        message["edit_date"] = self._now()
        return _public_message(message)

    async def _api_editmessagecaption(
        self, bot: BotState, params: dict[str, Any]
    ) -> dict[str, Any]:
        message = self._editable(bot, params)
        markup = params.get("reply_markup")
        caption = params.get("caption")
        if message.get("caption") == caption and message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        if caption:
            message["caption"] = caption
        else:
            message.pop("caption", None)
        _set_markup(message, markup)
        message["edit_date"] = self._now()
        return _public_message(message)

    async def _api_editmessagereplymarkup(
        self, bot: BotState, params: dict[str, Any]
    ) -> dict[str, Any]:
        message = self._editable(bot, params)
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        _set_markup(message, markup)
        message["edit_date"] = self._now()
        return _public_message(message)

    async def _api_deletemessage(self, bot: BotState, params: dict[str, Any]) -> bool:
        message = self._editable(bot, params)
        bot.chats[_chat_id(params)].remove(message)
        return True

    async def _api_answercallbackquery(self, bot: BotState, params: dict[str, Any]) -> bool:
        query_id = params["callback_query_id"]
        if query_id in bot.callback_answers:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        bot.callback_answers[query_id] = params
        return True

    async def _api_getfile(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(params["file_id"])
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }


def _photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
    """A photo as a message carries it: its sizes (the emulator keeps one)."""
    return [
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": 1280,
            "height": 960,
            "file_size": len(stored.content),
        }
    ]


def _document_of(stored: StoredFile) -> dict[str, Any]:
    document = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": stored.file_name,
        "mime_type": stored.mime_type,
        "file_size": len(stored.content),
    }
    return {k: v for k, v in document.items() if v is not None}


def _attach(item: Any, attachments: dict[str, UploadedFile]) -> Any:
    """An album item whose media is `attach://<name>`, with the upload of that name instead."""
    if isinstance(item, dict) and str(item.get("media", "")).startswith("attach://"):
        name = item["media"].removeprefix("attach://")
        if name in attachments:
            return {**item, "media": attachments[name]}
    return item


def _chat_id(params: dict[str, Any]) -> int:
    try:
        chat_id: Any = params.get("chat_id")
        return int(chat_id)
    except (TypeError, ValueError):
        raise ApiError(400, "Bad Request: chat not found") from None


def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
    if markup and markup.get("inline_keyboard"):
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


def _public_message(message: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(message))
    return copied


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _command_entities(text: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "bot_command",
            "offset": _utf16_length(text[: m.start()]),
            "length": _utf16_length(m.group()),
        }
        for m in COMMAND_PATTERN.finditer(text)
    ]


# --- HTTP --------------------------------------------------------------------------------------


class _BaseHandler(tornado.web.RequestHandler):
    def initialize(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator

    def prepare(self) -> None:
        refusal = self.emulator.foreign_request(self.request)
        if refusal is not None:
            self.write_json(403, {"ok": False, "error_code": 403, "description": refusal})

    def _request_summary(self) -> str:
        """The access log's line: no bot token (in the path) and no query (it may hold one)."""
        path = BOT_TOKEN_IN_PATH.sub(r"\1…/", self.request.path)
        return f"{self.request.method} {path} ({self.request.remote_ip})"

    def write_json(self, status: int, body: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))


class _BotApiHandler(_BaseHandler):
    async def get(self, token: str, method: str) -> None:
        await self.post(token, method)

    async def post(self, token: str, method: str) -> None:
        try:
            params, attachments = self._params(method)
            result = await self.emulator.call(token, method, params, attachments)
        except ApiError as error:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            self.write_json(error.code, body)
            return
        self.write_json(200, {"ok": True, "result": result})

    def _params(self, method: str) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        """The call's fields, and the uploads its album items name (`attach://<name>`)."""
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            return json.loads(self.request.body or b"{}"), {}
        try:
            self.emulator.spec.method(method)
        except SpecViolation:
            return {}, {}
        params: dict[str, Any] = {}
        for name, values in self.request.body_arguments.items():
            params[name] = self.emulator.spec.decode_form_value(method, name, values[-1].decode())
        for name, values in self.request.query_arguments.items():
            params.setdefault(
                name, self.emulator.spec.decode_form_value(method, name, values[-1].decode())
            )
        uploads = {
            name: UploadedFile(f[0].filename, f[0].body, f[0].content_type)
            for name, f in self.request.files.items()
        }
        for name, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[name] = uploads.pop(value.removeprefix("attach://"), value)
        named = {
            item["media"].removeprefix("attach://")
            for item in params.get("media") or []
            if isinstance(item, dict) and str(item.get("media", "")).startswith("attach://")
        }
        attachments = {name: uploads.pop(name) for name in named if name in uploads}
        params.update(uploads)  # an upload nothing names is an unknown field
        return params, attachments


class _FileHandler(_BaseHandler):
    async def get(self, token: str, path: str) -> None:
        self.emulator.bot(token)
        for stored in self.emulator.files.values():
            if stored.file_path == path:
                self.set_header("Content-Type", stored.mime_type or "application/octet-stream")
                self.finish(stored.content)
                return
        self.write_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})


class _UserSideHandler(_BaseHandler):
    """JSON routes for a web chat or a terminal: act as a user, read the bot's messages."""

    async def get(self, path: str) -> None:
        if path == "messages":
            token = self.get_argument("token")
            chat_id = int(self.get_argument("chat_id"))
            after = int(self.get_argument("after", "0"))
            wait = float(self.get_argument("wait", "0"))
            if wait > 0:
                try:
                    await self.emulator.wait_for_bot_messages(
                        token, chat_id, 1, after=after, timeout=wait
                    )
                except AssertionError:
                    pass
            self.write_json(200, {"messages": self.emulator.bot_messages(token, chat_id)[after:]})
        elif path == "bots":
            self.write_json(
                200,
                {
                    "bots": [
                        {"token": b.token, "username": b.username}
                        for b in self.emulator.bots.values()
                    ]
                },
            )
        elif path == "violations":
            self.write_json(200, {"violations": self.emulator.violations})
        else:
            self.write_json(404, {"error": "unknown route"})

    async def post(self, path: str) -> None:
        body = json.loads(self.request.body or b"{}")
        token = body["token"]
        user_id = int(body["user_id"])
        if "first_name" in body:
            self.emulator.add_user(
                user_id,
                body["first_name"],
                username=body.get("username"),
                language_code=body.get("language_code"),
            )
        try:
            if path == "text":
                update = await self.emulator.send_text(token, user_id, body["text"])
            elif path == "press":
                update = await self.emulator.press_button(
                    token, user_id, int(body["message_id"]), body["data"]
                )
            elif path == "document":
                update = await self.emulator.send_document(
                    token,
                    user_id,
                    base64.b64decode(body["content_base64"]),
                    body["file_name"],
                    caption=body.get("caption"),
                )
            elif path == "photo":
                update = await self.emulator.send_photo(
                    token,
                    user_id,
                    base64.b64decode(body["content_base64"]),
                    caption=body.get("caption"),
                    media_group_id=body.get("media_group_id"),
                )
            elif path == "location":
                update = await self.emulator.send_location(
                    token, user_id, float(body["latitude"]), float(body["longitude"])
                )
            else:
                self.write_json(404, {"error": "unknown route"})
                return
        except ApiError as error:
            self.write_json(400, {"error": error.description})
            return
        self.write_json(200, {"update_id": update["update_id"]})
