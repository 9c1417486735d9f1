"""The Mini App attacked as a stranger would: hostile query strings and keys, links replayed
elsewhere or after the person lost the right, stored files that are pages or scripts, other
methods and origins, and a burst of requests while the bot writes. Each is answered as the
contract says (200, 400, 401, 403, 404), never with a server error, and nobody reads more than
the chat lets them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from sqlalchemy import delete, event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands import command
from bot.services import Services
from procedures.consumer_complaints.rules import STAFF_VIEWERS as CONSUMER_COMPLAINT_READERS
from procedures.kernel import photos
from procedures.kernel.clock import ManualClock
from procedures.overview.kinds import kinds_for
from procedures.overview.rules import MINI_APP_ROLES
from storage.db import read_only_sessions
from storage.models import ConsumerComplaint, Defect, EquipmentAsset, Photo, User, UserRole
from tests.integration.test_webapp_api import (
    TOKEN,
    as_person,
    client_for,
    mini_app_on,
    one_of_each,
)
from tests.unit.helpers import file, make_user
from webapp.app import READERS_AT_ONCE, create_app
from webapp.auth import link_token, sign_init_data
from webapp.server import server_for

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
HTML = b"<html><body><script>fetch('/api/me')</script></body></html>"
JPEG = b"\xff\xd8\xff\xe0 a photo \xff\xd9"


@pytest.fixture
async def client(services: Services, clock: ManualClock) -> Any:
    async with client_for(mini_app_on(services, clock)) as client:
        yield client


async def keep_file(
    services: Services, subject_type: str, subject_id: int, content: bytes, mime_type: str
) -> str:
    """A file kept on the record and stored as the evidence fetcher stores it, of this type."""
    assert services.file_store is not None
    stored = services.file_store.put(content)
    async with services.unit_of_work() as uow:
        actor = await uow.session.scalar(select(User).limit(1))
        assert actor is not None
        photos.add_photos(
            uow.session,
            subject_type,
            subject_id,
            "intake",
            [stored.sha256[:8]],
            actor,
            uow.clock.now(),
        )
        await uow.session.flush()
        kept = await uow.session.scalar(
            select(Photo).where(
                Photo.subject_type == subject_type,
                Photo.subject_id == subject_id,
                Photo.sha256.is_(None),
            )
        )
        assert kept is not None
        photos.record_stored(kept, stored.sha256, len(content), mime_type, uow.clock.now())
        await uow.commit()
    return stored.sha256


def never_failed(answer: httpx.Response, *allowed: int) -> None:
    assert answer.status_code in allowed, (answer.status_code, answer.text[:200])
    assert answer.headers["content-type"].startswith("application/json")


async def test_hostile_pages_months_and_filters_are_answered_never_failed(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    head = await make_user(services, "quality_head", language="zh-Hant")
    complaint = await file(services, description="O'Brien said 50% _off_")
    headers = as_person(head, clock)

    for page in ("-1", "0", "abc", "²", "１", "1" * 5000, str(10**9), "1.5", ""):
        listed = await client.get(
            f"/api/records?type=complaint&page={quote(page)}", headers=headers
        )
        never_failed(listed, 200)
        assert listed.json()["page"] == 1 and listed.json()["total"] == 1, page

    for month in ("2026-13", "9999-01", "0001-01", "2026-00", "2026-1-1", "１２３４-01", "-1-1"):
        refused = await client.get(f"/api/records?month={quote(month)}", headers=headers)
        never_failed(refused, 400)
        assert refused.json()["error"] == "bad_filter" and refused.json()["message"], month

    # the wildcards of LIKE and quotes are characters: they find nothing that lacks them
    for typed in ("%", "_", "%%", "'", '"', "\\", "' OR '1'='1", "C001%", "\x00", "\u202e"):
        for name in ("q", "customer", "product"):
            found = await client.get(
                f"/api/records?type=complaint&{name}={quote(typed)}", headers=headers
            )
            never_failed(found, 200, 400)
            if found.status_code == 200 and typed.strip("\x00\u202e"):
                assert found.json()["total"] == 0, (name, typed)
    many = await client.get(
        "/api/records?type=complaint&customer=" + quote(" ".join("abcdefghij")), headers=headers
    )
    never_failed(many, 400)
    assert many.json()["message"]

    # a number typed in lower case, or in full-width characters, opens its record
    for key in (complaint.number.lower(), complaint.number.replace("-", "－")):
        opened = await client.get(f"/api/records/complaint/{quote(key)}", headers=headers)
        never_failed(opened, 200)
        assert opened.json()["key"] == complaint.number


@pytest.mark.parametrize(
    ("subject_type", "key"),
    [
        ("assessment", "9" * 5000 + "-H1"),
        ("assessment", "2026-H3"),
        ("assessment", "2026-h2-extra"),
        ("rectification", "#" + "9" * 30),
        ("rectification", "#" + "9" * 5000),
        ("rectification", "#-1"),
        ("complaint", "QC-2026-" + "0" * 5000),
        ("complaint", "%25"),
        ("complaint", "..%2F..%2Fetc%2Fpasswd"),
        ("nothing", "QC-2026-00001"),
    ],
)
async def test_a_key_of_any_shape_is_not_found(
    services: Services,
    samples: None,
    clock: ManualClock,
    client: httpx.AsyncClient,
    subject_type: str,
    key: str,
) -> None:
    reader = await make_user(services, "equipment_manager", "quality_head")
    opened = await client.get(
        f"/api/records/{subject_type}/{quote(key, safe='%')}", headers=as_person(reader, clock)
    )
    assert opened.status_code == 404, opened.text[:200]


async def test_a_link_opens_only_its_own_file_for_a_person_who_still_may(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    head = await make_user(services, "quality_head", "equipment_manager")
    first, second = await file(services), await file(services, organisation="C002")
    mine = await keep_file(services, "complaint", first.id, JPEG, "image/jpeg")
    other = await keep_file(services, "complaint", second.id, JPEG + b"2", "image/jpeg")
    opened = await client.get(
        f"/api/records/complaint/{first.number}", headers=as_person(head, clock)
    )
    [photo] = opened.json()["files"]
    url, token = photo["url"].split("?t=")
    assert (await client.get(photo["url"])).status_code == 200

    # the same token on another file, another record, a record type, or by another person
    for elsewhere in (
        url.replace(mine, other),
        url.replace(first.number, second.number).replace(mine, other),
        url.replace(first.number, first.number.lower()),
        url.replace("/complaint/", "/defect/"),
        url.replace("/files/", "/forms/"),
    ):
        assert (await client.get(f"{elsewhere}?t={token}")).status_code == 401, elsewhere
    someone = await make_user(services, "quality_head")
    theirs = token.replace(str(head.telegram_id), str(someone.telegram_id), 1)
    assert (await client.get(f"{url}?t={theirs}")).status_code == 401
    assert (await client.get(f"{url}?t={token[:40]}")).status_code == 401
    assert (await client.get(url)).status_code == 401

    # a person who keeps a Mini App role but no longer reads complaints: as no such record
    async with services.unit_of_work() as uow:
        await uow.session.execute(
            delete(UserRole).where(UserRole.user_id == head.id, UserRole.role == "quality_head")
        )
        await uow.commit()
    gone = await client.get(photo["url"])
    assert (gone.status_code, gone.json()) == (404, {"error": "not_found"})
    # ... and one who lost every Mini App role, or was deactivated: nobody
    async with services.unit_of_work() as uow:
        await uow.session.execute(delete(UserRole).where(UserRole.user_id == head.id))
        await uow.commit()
    assert (await client.get(photo["url"])).status_code == 401
    assert (await client.get("/api/me", headers=as_person(head, clock))).status_code == 401
    assert (await client.get("/api/me", headers=as_person(someone, clock))).status_code == 200
    async with services.unit_of_work() as uow:
        await uow.session.execute(update(User).where(User.id == someone.id).values(active=False))
        await uow.commit()
    assert (await client.get("/api/me", headers=as_person(someone, clock))).status_code == 401


async def test_a_stored_page_or_script_is_never_shown_only_saved(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    head = await make_user(services, "quality_head")
    complaint = await file(services)
    for content, mime_type in ((SVG, "image/svg+xml"), (HTML, "text/html"), (JPEG, "image/jpeg")):
        await keep_file(services, "complaint", complaint.id, content, mime_type)
    opened = await client.get(
        f"/api/records/complaint/{complaint.number}", headers=as_person(head, clock)
    )
    svg, html, jpeg = opened.json()["files"]
    assert svg["name"].endswith(".svg") and html["name"].endswith(".html")
    for shown in (svg, html):
        served = await client.get(shown["url"])
        assert served.status_code == 200 and served.content in (SVG, HTML)
        assert served.headers["content-type"] == "application/octet-stream"
        assert served.headers["content-disposition"].startswith("attachment;")
        assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["cache-control"] == "no-store"
    picture = await client.get(jpeg["url"])
    assert picture.headers["content-type"] == "image/jpeg"
    assert picture.headers["content-disposition"].startswith("inline;")
    assert picture.headers["cache-control"] == "no-store"


async def test_files_go_to_whom_the_chat_gives_them(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    """/ticket and /defect send a record's files to every reader; a consumer complaint's go
    only to those who may ask /files (after-sales staff read the complaint, not its files)."""
    staff = await make_user(services, "after_sales")
    head = await make_user(services, "after_sales_head")
    numbers = await one_of_each(services, head)
    async with services.session_factory() as session:
        complaint_id = await session.scalar(select(ConsumerComplaint.id))
    assert complaint_id is not None
    await keep_file(services, "consumer_complaint", complaint_id, JPEG, "image/jpeg")
    path = f"/api/records/consumer_complaint/{numbers['consumer_complaint']}"

    theirs = (await client.get(path, headers=as_person(head, clock))).json()
    [photo] = theirs["files"]
    assert (await client.get(photo["url"])).status_code == 200
    staffs = await client.get(path, headers=as_person(staff, clock))
    assert staffs.status_code == 200 and staffs.json()["files"] == []
    # a link the server made for them all the same opens nothing
    path = photo["url"].split("/api/", 1)[1].split("?")[0]
    expires = clock.now() + dt.timedelta(minutes=5)
    forged = f"/api/{path}?t={link_token(TOKEN, staff.telegram_id, path, expires)}"
    refused = await client.get(forged)
    assert (refused.status_code, refused.json()) == (404, {"error": "not_found"})

    # every reader of a defect is sent its photos with /defect
    technician = await make_user(services, "technician")
    async with services.session_factory() as session:
        defect_id = await session.scalar(select(Defect.id))
    assert defect_id is not None
    await keep_file(services, "defect", defect_id, JPEG + b"d", "image/jpeg")
    page = await client.get(
        f"/api/records/defect/{numbers['defect']}", headers=as_person(technician, clock)
    )
    assert len(page.json()["files"]) == 1


def test_each_role_lists_exactly_the_types_the_chat_shows_it() -> None:
    """The overview's reader sets against the chat's view commands (/ticket, /return,
    /defect, the consumer complaint's deep link, /rectifications, /assessment)."""
    chat = {
        "complaint": command("ticket").roles,
        "return": command("return").roles,
        "consumer_complaint": CONSUMER_COMPLAINT_READERS,
        "defect": command("defect").roles,
        "rectification": command("rectifications").roles,
        "assessment": command("assessment").roles,
    }
    for role in sorted(MINI_APP_ROLES):
        listed = {kind.type for kind in kinds_for(frozenset({role}))}
        assert listed == {t for t, readers in chat.items() if readers and role in readers}, role


async def test_other_methods_origins_and_paths_get_nothing(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    head = await make_user(services, "quality_head")
    headers = {**as_person(head, clock), "Origin": "https://evil.example"}
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        for path in ("/api/me", "/api/records?type=complaint", "/api/charts"):
            answer = await client.request(method, path, headers=headers)
            assert answer.status_code == 405, (method, path)
            assert "access-control-allow-origin" not in answer.headers
    preflight = await client.options(
        "/api/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    me = await client.get("/api/me", headers=headers)
    assert me.status_code == 200 and "access-control-allow-origin" not in me.headers
    assert me.headers["cache-control"] == "no-store"
    head_only = await client.head("/api/me", headers=headers)
    assert head_only.status_code == 200 and head_only.content == b""
    refused = await client.get("/api/me")
    assert refused.headers["cache-control"] == "no-store"

    for path in (
        "/static/../webapp/app.py",
        "/static/%2e%2e/app.py",
        "/static/%2e%2e%2fapp.py",
        "/static/..%5capp.py",
        "/static/....//app.py",
        "/api/files/complaint/QC-2026-00001/..%2f..%2f..%2fetc%2fpasswd?t=x",
        "/api/forms/complaint/..%2f..%2fQC/x?t=x",
    ):
        raw = httpx.Request("GET", "http://miniapp/")
        raw.url = httpx.URL("http://miniapp" + path)
        answer = await client.send(raw)
        assert answer.status_code in (401, 404), path
        assert b"import" not in answer.content and b"root:" not in answer.content


async def test_strange_names_and_an_unset_language_come_back_as_text(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    name = "\u202eevil\u200f 🙂 \x07" + "名" * 189  # full_name holds 200 characters
    person = await make_user(services, "equipment_manager", name=name, language=None)
    me = await client.get("/api/me", headers=as_person(person, clock))
    assert me.status_code == 200
    assert me.json()["name"] == name and me.json()["language"] == services.settings.default_language
    async with services.unit_of_work() as uow:
        asset_id = await uow.session.scalar(select(EquipmentAsset.id).limit(1))
        assert asset_id is not None
        uow.session.add(
            Defect(
                number="DF-2026-00002",
                status="open",
                asset_id=asset_id,
                description="\u202eoverride 🙂\nsecond line",
                reported_by_id=person.id,
                reported_at=uow.clock.now(),
                rejections=0,
            )
        )
        await uow.commit()
    listed = await client.get("/api/records?type=defect", headers=as_person(person, clock))
    [item] = listed.json()["items"]
    # the part with a right-to-left override is isolated: it turns no other part around
    assert item["title"].endswith("\u2068\u202eoverride 🙂\u2069")
    raw = json.loads(listed.content)
    assert raw["items"][0]["title"] == item["title"]


async def test_a_burst_of_reads_leaves_the_bot_connections_and_its_writes_go_on(
    services: Services, samples: None, clock: ManualClock, engine: AsyncEngine
) -> None:
    head = await make_user(services, "quality_head")
    for organisation in ("C001", "C002"):
        await file(services, organisation=organisation)
    checked_out = peak = 0

    def checkout(*_: Any) -> None:
        nonlocal checked_out, peak
        checked_out += 1
        peak = max(peak, checked_out)

    def checkin(*_: Any) -> None:
        nonlocal checked_out
        checked_out -= 1

    event.listen(engine.sync_engine.pool, "checkout", checkout)
    event.listen(engine.sync_engine.pool, "checkin", checkin)
    try:
        async with client_for(mini_app_on(services, clock)) as client:
            headers = as_person(head, clock)
            answers = await asyncio.gather(
                *(
                    client.get(
                        f"/api/records?type=complaint&status=all&q=C00{i % 3}", headers=headers
                    )
                    for i in range(40)
                )
            )
        assert {answer.status_code for answer in answers} == {200}
        assert peak <= READERS_AT_ONCE
    finally:
        event.remove(engine.sync_engine.pool, "checkout", checkout)
        event.remove(engine.sync_engine.pool, "checkin", checkin)

    # a read the Mini App holds open takes no write lock (SQLite: a deferred BEGIN in WAL), so
    # the bot's write goes on at once
    async with read_only_sessions(services.session_factory)() as reading:
        await reading.execute(select(User.id))
        async with services.unit_of_work() as uow:
            await uow.session.execute(update(User).where(User.id == head.id).values(language="en"))
            await asyncio.wait_for(uow.commit(), timeout=5)


async def test_the_charts_are_offered_exactly_to_those_who_read_some(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    # a technician reads the defects' charts (every vendor's defects), though no report of theirs
    technician = await make_user(services, "technician")
    warehouse = await make_user(services, "warehouse")
    for person, offered in ((technician, True), (warehouse, False)):
        me = (await client.get("/api/me", headers=as_person(person, clock))).json()
        charts = (await client.get("/api/charts", headers=as_person(person, clock))).json()
        assert me["charts"] is offered and bool(charts["charts"]) is offered, person.role_names


def test_the_server_does_not_name_itself(services: Services, clock: ManualClock) -> None:
    server = server_for(create_app(mini_app_on(services, clock)), "127.0.0.1", 0)
    assert server.config.server_header is False


async def test_a_person_who_never_chose_a_language_reads_their_telegram_apps(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    """As the chat answers them: their Telegram app's language, else the default."""
    person = await make_user(services, "quality_head", language=None)
    complaint = await file(services)
    fields = {
        "user": json.dumps({"id": person.telegram_id, "first_name": "Lin", "language_code": "en"}),
        "auth_date": str(int(clock.now().timestamp())),
    }
    headers = {"X-Telegram-Init-Data": sign_init_data(fields, TOKEN)}
    assert (await client.get("/api/me", headers=headers)).json()["language"] == "en"
    page = (await client.get(f"/api/records/complaint/{complaint.number}", headers=headers)).json()
    assert page["status"]["name"].isascii() and page["fields"][0]["label"] == "Customer"
    [form] = page["forms"]
    assert form["url"].endswith("&lang=en")
    pdf = await client.get(form["url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert unquote(pdf.headers["content-disposition"].split("''", 1)[1]) == form["file_name"]
    # a person who chose a language keeps it, whatever their Telegram app says
    chose = await make_user(services, "quality_head", language="zh-Hans")
    fields["user"] = json.dumps({"id": chose.telegram_id, "language_code": "en"})
    headers = {"X-Telegram-Init-Data": sign_init_data(fields, TOKEN)}
    assert (await client.get("/api/me", headers=headers)).json()["language"] == "zh-Hans"


async def test_the_page_runs_only_its_own_scripts_and_telegrams(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    if page.status_code == 404:  # the page ships beside the server
        return
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' https://telegram.org" in policy
    assert "object-src 'none'" in policy and "base-uri 'none'" in policy
