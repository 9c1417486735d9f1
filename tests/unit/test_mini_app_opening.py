"""Opening the Mini App: the emulator signs initData exactly as Telegram does, answers
setChatMenuButton and getChatMenuButton as the Bot API does, takes web_app buttons; /start tells a
record's number from an invitation code."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from bot.handlers.deep_links import is_record_number, normalised
from emulator.server import ApiError, BotApiEmulator
from emulator.spec import Spec, SpecViolation
from emulator.web import WebChat
from emulator.web_app import data_check_string, init_data, init_data_hash, launch_url
from procedures.people.users import CODE_BYTES

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
USER = {"id": 279058397, "first_name": "Vladislav", "language_code": "en"}


def test_the_hash_is_telegrams_hmac_of_the_sorted_fields() -> None:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(USER),
        "auth_date": "1662771648",
    }
    # computed here from Telegram's description, not through the emulator's helpers
    check = f"auth_date=1662771648\nquery_id=AAHdF6IQAAAAAN0XohDhrOrc\nuser={json.dumps(USER)}"
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()

    assert data_check_string({**fields, "hash": "ignored"}) == check
    assert init_data_hash(TOKEN, fields) == expected


def test_init_data_carries_the_user_and_checks_out_as_a_server_checks_it() -> None:
    raw = init_data(TOKEN, USER, auth_date=1_800_000_000, query_id="AAE1")

    fields = dict(parse_qsl(raw, strict_parsing=True))
    assert json.loads(fields["user"]) == USER
    assert fields["auth_date"] == "1800000000" and fields["query_id"] == "AAE1"
    given = fields.pop("hash")
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(given, hmac.new(secret, check.encode(), hashlib.sha256).hexdigest())
    assert init_data("654321:other", USER, auth_date=1_800_000_000, query_id="AAE1") != raw


def test_the_launch_parameters_are_the_addresss_fragment() -> None:
    raw = init_data(TOKEN, USER, auth_date=1_800_000_000, query_id="AAE1")
    url = launch_url("http://127.0.0.1:8082/?start=1#old", raw)

    parts = urlsplit(url)
    assert (parts.netloc, parts.query) == ("127.0.0.1:8082", "start=1")
    launch = parse_qs(parts.fragment)
    assert launch["tgWebAppData"] == [raw]
    assert launch["tgWebAppVersion"] == ["8.0"] and launch["tgWebAppPlatform"] == ["emulator"]


def test_an_inline_button_does_one_thing() -> None:
    spec = Spec()
    web_app = {"text": "Open", "web_app": {"url": "https://example.org/"}}
    spec.check_call(
        "sendMessage",
        {"chat_id": 1, "text": "hi", "reply_markup": {"inline_keyboard": [[web_app]]}},
    )
    both = {**web_app, "callback_data": "x"}
    with pytest.raises(SpecViolation, match="one action per button"):
        spec.check_call(
            "sendMessage",
            {"chat_id": 1, "text": "hi", "reply_markup": {"inline_keyboard": [[both]]}},
        )


async def test_the_menu_button_is_the_chats_own_else_the_bots_default_else_the_commands() -> None:
    emulator = BotApiEmulator()
    token, user = "970001:menu", 970_002
    emulator.add_user(user, "Lin")
    web_app = {"type": "web_app", "text": "Overview", "web_app": {"url": "http://127.0.0.1:8082/"}}

    assert await emulator.call(token, "getChatMenuButton", {"chat_id": user}) == {
        "type": "commands"
    }
    assert await emulator.call(
        token, "setChatMenuButton", {"chat_id": user, "menu_button": web_app}
    )
    assert await emulator.call(token, "getChatMenuButton", {"chat_id": user}) == web_app
    assert WebChat(emulator, token).chat(user, mark_read=False)["menu_button"] == web_app

    # the default taken back: the bot's default applies again
    await emulator.call(
        token, "setChatMenuButton", {"chat_id": user, "menu_button": {"type": "default"}}
    )
    assert await emulator.call(token, "getChatMenuButton", {"chat_id": user}) == {
        "type": "commands"
    }
    await emulator.call(token, "setChatMenuButton", {"menu_button": web_app})
    assert await emulator.call(token, "getChatMenuButton", {"chat_id": user}) == web_app
    await emulator.call(token, "setChatMenuButton", {})
    assert await emulator.call(token, "getChatMenuButton", {}) == {"type": "commands"}

    with pytest.raises(ApiError, match="chat not found"):
        await emulator.call(
            token, "setChatMenuButton", {"chat_id": 970_999, "menu_button": web_app}
        )
    remote = {**web_app, "web_app": {"url": "http://example.org/"}}
    with pytest.raises(ApiError, match="BUTTON_URL_INVALID"):
        await emulator.call(token, "setChatMenuButton", {"chat_id": user, "menu_button": remote})
    assert not emulator.violations


async def test_the_web_chat_signs_only_what_the_bot_offered_that_person() -> None:
    emulator = BotApiEmulator()
    token, user, other = "970011:offered", 970_012, 970_013
    emulator.add_user(user, "Lin", language_code="zh-hant")
    emulator.add_user(other, "Wu")
    web = WebChat(emulator, token)
    button = {"text": "Open", "web_app": {"url": "http://127.0.0.1:8082/"}}
    await emulator.call(
        token,
        "sendMessage",
        {"chat_id": user, "text": "hi", "reply_markup": {"inline_keyboard": [[button]]}},
    )

    opened = urlsplit(web.open_web_app(user, "http://127.0.0.1:8082/"))
    raw = parse_qs(opened.fragment)["tgWebAppData"][0]
    fields = dict(parse_qsl(raw))
    assert json.loads(fields["user"])["id"] == user
    assert fields["hash"] == init_data_hash(token, fields)
    with pytest.raises(ApiError, match="no web_app button"):
        web.open_web_app(other, "http://127.0.0.1:8082/")
    with pytest.raises(ApiError, match="no web_app button"):
        web.open_web_app(user, "http://127.0.0.1:9999/")


@pytest.mark.parametrize(
    "typed",
    [
        "QC-2026-00001",
        "qc-2026-00001",
        "ＱＣ－２０２６－０００１２",
        "RT-2026-00003",
        "CC-2026-00001",
        "DF-2026-000001",
        "RN-2026-00002",
    ],
)
def test_a_records_number_typed_any_way_is_a_record(typed: str) -> None:
    assert is_record_number(typed)
    assert normalised(typed).isascii()


def test_no_invitation_code_looks_like_a_records_number() -> None:
    for _ in range(2000):
        assert not is_record_number(secrets.token_urlsafe(CODE_BYTES))
    assert not is_record_number("QC-2026-1") and not is_record_number("XX-2026-00001")
