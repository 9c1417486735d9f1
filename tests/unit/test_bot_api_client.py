"""The Bot API client sends what python-telegram-bot gives it: its fields as a JSON body (which
the Bot API takes as it takes a form), files as multipart parts with their names and types, and
its errors as python-telegram-bot's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import NetworkError, TimedOut

from bot.runtime.bot_api_client import AiohttpRequest


@pytest.fixture
async def server() -> AsyncIterator[dict[str, Any]]:
    """A Bot API stand-in on a free port that keeps each request's fields and files."""
    seen: dict[str, Any] = {"requests": [], "delay": 0.0}

    async def method(request: web.Request) -> web.Response:
        await asyncio.sleep(seen["delay"])
        fields: dict[str, Any] = {}
        if request.content_type.startswith("multipart/"):
            async for part in await request.multipart():
                body = await part.read()  # type: ignore[union-attr]
                fields[part.name] = (  # type: ignore[union-attr]
                    part.filename,  # type: ignore[union-attr]
                    part.headers.get("Content-Type"),
                    body,
                )
        elif request.content_type == "application/json":
            fields = {"json": await request.json()}
        else:
            fields = dict(await request.post())
        seen["requests"].append((request.match_info["name"], request.headers, fields))
        if request.match_info["name"] == "getMe":
            me = {"id": 1, "is_bot": True, "first_name": "Bot", "username": "bot"}
            return web.json_response({"ok": True, "result": me})
        message = {"message_id": 5, "date": 0, "chat": {"id": 7, "type": "private"}}
        return web.json_response({"ok": True, "result": message})

    app = web.Application()
    app.router.add_post("/bot1:t/{name}", method)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    seen["base_url"] = f"http://127.0.0.1:{port}/bot"
    yield seen
    await runner.cleanup()


async def bot_on(server: dict[str, Any], request: AiohttpRequest) -> Bot:
    bot = Bot("1:t", base_url=server["base_url"], request=request)
    await bot.initialize()
    return bot


async def test_a_message_goes_as_one_json_body_with_the_library_s_user_agent(
    server: dict[str, Any],
) -> None:
    bot = await bot_on(server, AiohttpRequest())
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("提交", callback_data="submit")]])
    message = await bot.send_message(7, "收到，謝謝 🙂", reply_markup=keyboard)
    await bot.shutdown()

    assert message.message_id == 5
    name, headers, fields = server["requests"][-1]
    assert name == "sendMessage"
    assert fields["json"] == {
        "chat_id": 7,
        "text": "收到，謝謝 🙂",
        "reply_markup": {"inline_keyboard": [[{"text": "提交", "callback_data": "submit"}]]},
    }
    assert headers["User-Agent"] == AiohttpRequest.USER_AGENT


async def test_a_call_without_fields_has_no_body(server: dict[str, Any]) -> None:
    bot = await bot_on(server, AiohttpRequest())
    await bot.get_me()
    await bot.shutdown()

    name, headers, fields = server["requests"][-1]
    assert (name, fields, headers.get("Content-Length", "0")) == ("getMe", {}, "0")


async def test_a_document_goes_as_a_multipart_part_with_its_name_and_type(
    server: dict[str, Any],
) -> None:
    bot = await bot_on(server, AiohttpRequest())
    workbook = InputFile(b"PK\x03\x04 ledger", filename="質量投訴台賬.xlsx")
    await bot.send_document(7, workbook, caption="台賬")
    await bot.shutdown()

    name, _, fields = server["requests"][-1]
    assert name == "sendDocument"
    assert (fields["chat_id"][0], fields["chat_id"][2]) == (None, b"7")  # a field, not a file
    assert fields["caption"][2].decode() == "台賬"
    filename, mimetype, content = fields["document"]
    assert (filename, content) == ("質量投訴台賬.xlsx", b"PK\x03\x04 ledger")
    assert mimetype == workbook.mimetype


async def test_an_answer_later_than_the_read_timeout_is_timed_out(
    server: dict[str, Any],
) -> None:
    bot = await bot_on(server, AiohttpRequest(read_timeout=0.2))
    server["delay"] = 1.0
    with pytest.raises(TimedOut):
        await bot.send_message(7, "hello")
    await bot.shutdown()


async def test_a_refused_connection_is_a_network_error_naming_its_cause() -> None:
    request = AiohttpRequest(connect_timeout=1.0)
    await request.initialize()
    with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError"):
        await request.do_request("http://127.0.0.1:9/bot1:t/getMe", "POST")
    await request.shutdown()


async def test_after_shutdown_it_opens_again(server: dict[str, Any]) -> None:
    request = AiohttpRequest()
    bot = await bot_on(server, request)
    await bot.shutdown()
    await bot.initialize()
    assert (await bot.send_message(7, "again")).message_id == 5
    await bot.shutdown()


def test_the_environment_s_proxy_is_used_except_for_hosts_no_proxy_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert AiohttpRequest().proxy_for("https://api.telegram.org/bot1:t/getMe") is None

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    request = AiohttpRequest()
    assert request.proxy_for("https://api.telegram.org/bot1:t/getMe") == (
        "http://proxy.internal:3128"
    )
    assert request.proxy_for("https://127.0.0.1:8443/bot1:t/getMe") is None
    assert request.proxy_for("http://api.telegram.org/bot1:t/getMe") is None  # no HTTP_PROXY
