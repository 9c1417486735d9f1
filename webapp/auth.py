"""Who is asking: Telegram's initData checked as Telegram specifies, the person and their roles
from the database, and the signed links that open a record's files and forms (an <img> or a
download cannot carry the initData header)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from urllib.parse import parse_qsl, urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.overview.rules import opens_mini_app
from procedures.people.queries import User
from procedures.people.users import user_by_telegram_id

# a client's clock a little ahead of ours is not a forgery
FUTURE_LEEWAY = dt.timedelta(minutes=1)
# Telegram's initData is well under a kilobyte (a user with a photo URL, a signature); anything
# much longer is refused before it is parsed or hashed
MAX_INIT_DATA = 4096
# a link's token as the server writes it: telegram id, expiry, hex HMAC-SHA256
_LINK_TOKEN = re.compile(r"([1-9][0-9]{0,15})\.([1-9][0-9]{0,11})\.([0-9a-f]{64})")


class Unauthorized(Exception):
    """Missing, malformed, forged or stale credentials: answered 401 and nothing else."""


def _hex_hmac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _init_data_secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(fields.items()) if key != "hash")


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """initData as Telegram signs it (the emulator's and the tests' side of the check)."""
    signed = dict(fields)
    signed["hash"] = _hex_hmac(_init_data_secret(bot_token), _data_check_string(fields))
    return urlencode(signed)


def check_init_data(
    init_data: str | None, bot_token: str, *, now: dt.datetime, max_age: dt.timedelta
) -> int:
    """The Telegram id of the user the initData was signed for; Unauthorized unless it is
    signed with this bot's token, no older than `max_age` and not from the future."""
    if not init_data:
        raise Unauthorized("no initData")
    if len(init_data) > MAX_INIT_DATA:
        raise Unauthorized("initData too long")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise Unauthorized("malformed initData") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise Unauthorized("a field given twice")
    given = fields.get("hash", "")
    expected = _hex_hmac(_init_data_secret(bot_token), _data_check_string(fields))
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Unauthorized("initData not signed with this bot's token")
    try:
        if not fields["auth_date"].isascii() or not fields["auth_date"].isdigit():
            raise ValueError("auth_date is not a number of seconds")
        signed_at = dt.datetime.fromtimestamp(int(fields["auth_date"]), dt.UTC)
        user = json.loads(fields["user"])
        telegram_id = user["id"]
        # a Telegram id is a positive whole number: not "5", 5.0, true or a list
        if type(telegram_id) is not int or telegram_id <= 0:
            raise ValueError("the user's id is not a Telegram id")
    except (KeyError, ValueError, TypeError, OverflowError, OSError):
        raise Unauthorized("initData without its date or user") from None
    if now - signed_at > max_age:
        raise Unauthorized("stale initData")
    if signed_at - now > FUTURE_LEEWAY:
        raise Unauthorized("initData from the future")
    return telegram_id


def telegram_language(init_data: str | None) -> str | None:
    """The language code of the Telegram app the (checked) initData comes from, if it says."""
    fields = dict(parse_qsl(init_data or "", keep_blank_values=True))
    try:
        code = json.loads(fields.get("user", "{}")).get("language_code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


async def person_of(session: AsyncSession, telegram_id: int) -> User:
    """The enrolled, active person with this Telegram id who holds a Mini App role, with their
    roles; Unauthorized for anyone else."""
    person = await user_by_telegram_id(session, telegram_id)
    if person is None or not person.active or not opens_mini_app(person.role_names):
        raise Unauthorized("not a person of the Mini App")
    return person


# --- links to a record's files and forms -------------------------------------------------------


def _link_key(bot_token: str) -> bytes:
    return hmac.new(b"MiniAppLinks", bot_token.encode(), hashlib.sha256).digest()


def link_token(bot_token: str, telegram_id: int, path: str, expires_at: dt.datetime) -> str:
    """A token that opens `path` for this Telegram user until `expires_at`."""
    expiry = int(expires_at.timestamp())
    mac = _hex_hmac(_link_key(bot_token), f"{telegram_id}\n{path}\n{expiry}")
    return f"{telegram_id}.{expiry}.{mac}"


def check_link_token(token: str | None, bot_token: str, path: str, *, now: dt.datetime) -> int:
    """The Telegram id the token was made for, if it was made for `path` and has not expired;
    else Unauthorized."""
    # only the token's one spelling: `+5`, `05` or ` 5` name the same numbers but were never
    # written by the server
    written = _LINK_TOKEN.fullmatch(token or "")
    if written is None:
        raise Unauthorized("malformed link")
    telegram_id, expires, mac = int(written[1]), int(written[2]), written[3]
    expected = _hex_hmac(_link_key(bot_token), f"{telegram_id}\n{path}\n{expires}")
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        raise Unauthorized("forged link")
    if now.timestamp() >= expires:
        raise Unauthorized("expired link")
    return telegram_id
