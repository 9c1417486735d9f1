"""The local Bot API emulator answers only this machine's own page and programs: a page on any
other site the demo's user opens cannot drive the web chat or read it, a DNS-rebound name gets
nothing, and updates are never delivered off the machine."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from emulator.server import BotApiEmulator
from emulator.web import WebChat

TOKEN = "970001:origin-token"
USER = 970_002
ATTACKER = "https://attacker.example"


@dataclass
class Local:
    emulator: BotApiEmulator
    web: WebChat
    client: httpx.AsyncClient
    port: int


@pytest.fixture
async def local() -> AsyncIterator[Local]:
    emulator = BotApiEmulator()
    web = WebChat(emulator, TOKEN)
    port = await emulator.start(0, extra_routes=web.routes())
    await emulator.call(TOKEN, "getMe", {})
    emulator.add_user(USER, "Wang")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield Local(emulator, web, client, port)
    await emulator.stop()


def updates(local: Local) -> list[object]:
    return list(local.emulator.bot(TOKEN).updates)


async def test_the_page_is_served_with_its_token_and_its_api_answers_only_with_it(
    local: Local,
) -> None:
    page = await local.client.get("/")
    assert page.status_code == 200
    served = re.search(r'name="web-chat-token" content="([^"]+)"', page.text)
    assert served is not None and served.group(1) == local.web.page_token
    assert page.headers["X-Frame-Options"] == "DENY"

    # what another site's page can send without a preflight: text/plain, a form, no token
    forged = await local.client.post(
        "/web/api/send",
        content=f'{{"user": {USER}, "text": "/invite admin"}}',
        headers={"Content-Type": "text/plain", "Origin": ATTACKER},
    )
    assert forged.status_code == 403
    no_token = await local.client.post(
        "/web/api/send",
        content=f'{{"user": {USER}, "text": "/invite admin"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert no_token.status_code == 403 and "token" in no_token.json()["error"]
    upload = await local.client.post(
        "/web/api/upload",
        params={"user": USER, "kind": "document"},
        files={"file": ("masterdata.xlsx", b"PK", "application/octet-stream")},
    )
    assert upload.status_code == 403
    clock = await local.client.post("/web/api/clock", json={"days": 1})
    assert clock.status_code == 403
    reading = await local.client.get("/web/api/chat", params={"user": USER})
    assert reading.status_code == 403
    events = await local.client.get("/web/api/events")
    assert events.status_code == 403
    assert updates(local) == []

    # the page itself: its token in the header, its own origin
    token = {"X-Web-Chat-Token": served.group(1)}
    own = {**token, "Origin": f"http://127.0.0.1:{local.port}"}
    sent = await local.client.post("/web/api/send", json={"user": USER, "text": "hi"}, headers=own)
    assert sent.status_code == 200
    assert [u["message"]["text"] for u in updates(local)] == ["hi"]  # type: ignore[index]
    state = await local.client.get("/web/api/state", headers=token)
    assert state.status_code == 200 and state.json()["people"][0]["id"] == USER

    # the right token from another origin, or from another site's page, is still refused
    elsewhere = await local.client.post(
        "/web/api/send",
        json={"user": USER, "text": "again"},
        headers={**token, "Origin": ATTACKER},
    )
    other_port = await local.client.post(
        "/web/api/send",
        json={"user": USER, "text": "again"},
        headers={**token, "Origin": "http://127.0.0.1:1"},
    )
    cross_site = await local.client.get(
        "/web/api/state", headers={**token, "Sec-Fetch-Site": "cross-site"}
    )
    assert [elsewhere.status_code, other_port.status_code, cross_site.status_code] == [403] * 3
    assert len(updates(local)) == 1


async def test_a_request_naming_another_host_is_refused_everywhere(local: Local) -> None:
    """DNS rebinding: attacker.example resolved to 127.0.0.1 reaches the port with its own Host."""
    rebound = {"Host": "attacker.example"}
    token = {"X-Web-Chat-Token": local.web.page_token}
    for path in ("/", "/web/static/app.js", "/_emulator/bots", f"/bot{TOKEN}/getMe"):
        refused = await local.client.get(path, headers=rebound)
        assert refused.status_code == 403, path
        assert local.web.page_token not in refused.text
    state = await local.client.get("/web/api/state", headers={**rebound, **token})
    assert state.status_code == 403
    # this machine's other names are answered
    for host in (f"localhost:{local.port}", f"[::1]:{local.port}"):
        assert (await local.client.get("/", headers={"Host": host})).status_code == 200


async def test_updates_are_delivered_only_to_this_machine(local: Local) -> None:
    for url in (
        "https://attacker.example/hook",
        "http://attacker.example/hook",
        "http://127.0.0.1.attacker.example/hook",
        "http://localhost@attacker.example/hook",
    ):
        refused = await local.client.get(f"/bot{TOKEN}/setWebhook", params={"url": url})
        assert refused.status_code == 400, url
        assert "127.0.0.1, localhost or ::1" in refused.json()["description"]
    assert local.emulator.bot(TOKEN).webhook_url is None

    # an image on another site's page (a GET, no Origin) is refused before anything is read
    via_image = await local.client.get(
        f"/bot{TOKEN}/setWebhook",
        params={"url": "http://127.0.0.1:9/hook"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert via_image.status_code == 403
    assert local.emulator.bot(TOKEN).webhook_url is None

    for url in ("http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/hook"):
        accepted = await local.client.post(f"/bot{TOKEN}/setWebhook", json={"url": url})
        assert accepted.status_code == 200 and local.emulator.bot(TOKEN).webhook_url == url


async def test_the_user_side_routes_refuse_other_sites_pages(local: Local) -> None:
    body = f'{{"token": "{TOKEN}", "user_id": {USER}, "text": "/start"}}'
    for headers in ({"Origin": ATTACKER}, {"Sec-Fetch-Site": "cross-site"}):
        refused = await local.client.post(
            "/_emulator/text", content=body, headers={"Content-Type": "text/plain", **headers}
        )
        assert refused.status_code == 403
    assert updates(local) == []
    # a program on this machine (the terminal chat) sends no Origin: answered
    sent = await local.client.post("/_emulator/text", content=body)
    assert sent.status_code == 200 and len(updates(local)) == 1


async def test_the_access_log_holds_neither_the_pages_token_nor_the_bots(
    local: Local, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tornado.access")
    page_token = local.web.page_token
    await local.client.get(f"/web/file/nothing?token={page_token}")
    await local.client.get("/web/api/state", params={"token": page_token})
    await local.client.get(f"/bot{TOKEN}/getMe")
    await local.client.get("/_emulator/messages", params={"token": TOKEN, "chat_id": USER})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/web/api/state" in logged and "/bot…/getMe" in logged  # the lines are there
    assert page_token not in logged and TOKEN not in logged and "origin-token" not in logged
