"""Opening a Mini App as Telegram opens it: the launch parameters in the address's fragment and
the initData, signed with the bot's token exactly as Telegram signs it, so the Mini App's
server checks the emulator's initData as it checks Telegram's."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

WEB_APP_VERSION = "8.0"
PLATFORM = "emulator"


def data_check_string(fields: Mapping[str, str]) -> str:
    """Every field but `hash` as key=value, sorted by key, one a line (Telegram's definition)."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def init_data_hash(bot_token: str, fields: Mapping[str, str]) -> str:
    """HMAC-SHA-256 of the data-check-string under the key HMAC-SHA-256("WebAppData", token)."""
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def init_data(bot_token: str, user: Mapping[str, Any], *, auth_date: int, query_id: str) -> str:
    """The raw initData string a Mini App reads from Telegram.WebApp.initData."""
    fields = {
        "query_id": query_id,
        "user": json.dumps(dict(user), ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(auth_date),
    }
    fields["hash"] = init_data_hash(bot_token, fields)
    return urlencode(fields, quote_via=quote)


def launch_url(url: str, raw_init_data: str) -> str:
    """The Mini App's address with Telegram's launch parameters as its fragment."""
    fragment = urlencode(
        {
            "tgWebAppData": raw_init_data,
            "tgWebAppVersion": WEB_APP_VERSION,
            "tgWebAppPlatform": PLATFORM,
        },
        quote_via=quote,
    )
    return urlunsplit(urlsplit(url)._replace(fragment=fragment))
