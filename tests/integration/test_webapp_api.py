"""The Mini App's API through its ASGI application, on records the procedures' own use cases
filed: a quality head lists, filters, searches and opens complaints with their evidence and
form; whoever is not a person of the Mini App, or may not read a record type, is refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from bot.texts import Texts
from procedures.kernel import photos
from procedures.kernel.clock import ManualClock
from procedures.kernel.timeline import record_event
from procedures.returns import intake as return_intake
from storage.db import make_engine, make_session_factory, read_only_sessions
from storage.models import Defect, EquipmentAsset, Photo, User
from tests.conftest import SHANGHAI
from tests.unit.helpers import customer_of, file, ids, make_user
from webapp.app import STATIC_DIR, MiniApp, create_app
from webapp.auth import sign_init_data

TOKEN = "1000001:local-emulator-token"
JPEG = b"\xff\xd8\xff\xe0 the leaking bottle \xff\xd9"
TYPED = "<img src=x onerror=alert(1)>"


def init_data(person: User, clock: ManualClock, token: str = TOKEN) -> str:
    fields = {
        "query_id": "AAE1",
        "user": json.dumps({"id": person.telegram_id, "first_name": person.full_name}),
        "auth_date": str(int(clock.now().timestamp())),
    }
    return sign_init_data(fields, token)


def mini_app_on(services: Services, clock: ManualClock, sessions=None) -> MiniApp:  # type: ignore[no-untyped-def]
    assert services.file_store is not None
    return MiniApp(
        settings=services.settings,
        sessions=sessions or read_only_sessions(services.session_factory),
        clock=clock,
        texts=Texts(SHANGHAI, strict=True, clock=clock),
        file_store=services.file_store,
        bot_token=TOKEN,
        bot_username="after_sales_bot",
    )


def client_for(mini_app: MiniApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(mini_app))
    return httpx.AsyncClient(transport=transport, base_url="http://miniapp")


@pytest.fixture
async def client(services: Services, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(mini_app_on(services, clock)) as client:
        yield client


def as_person(person: User, clock: ManualClock) -> dict[str, str]:
    return {"X-Telegram-Init-Data": init_data(person, clock)}


async def keep_photo(services: Services, complaint_id: int, filer: User) -> str:
    """A photo kept on the complaint and stored, as the evidence fetcher stores it."""
    assert services.file_store is not None
    stored = services.file_store.put(JPEG)
    async with services.unit_of_work() as uow:
        actor = await uow.session.get(User, filer.id)
        assert actor is not None
        photos.add_photos(
            uow.session, "complaint", complaint_id, "filing", ["f1"], actor, uow.clock.now()
        )
        await uow.session.flush()
        kept = await uow.session.scalar(select(Photo).where(Photo.subject_id == complaint_id))
        assert kept is not None
        photos.record_stored(kept, stored.sha256, len(JPEG), "image/jpeg", uow.clock.now())
        await uow.commit()
    return stored.sha256


async def file_defect(services: Services, reporter: User) -> str:
    async with services.unit_of_work() as uow:
        asset_id = await uow.session.scalar(select(EquipmentAsset.id).limit(1))
        assert asset_id is not None
        uow.session.add(
            Defect(
                number="DF-2026-00001",
                status="open",
                asset_id=asset_id,
                description="pump noise",
                reported_by_id=reporter.id,
                reported_at=uow.clock.now(),
                rejections=0,
            )
        )
        await uow.commit()
    return "DF-2026-00001"


async def test_a_quality_head_lists_filters_searches_and_opens_complaints(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    head = await make_user(services, "quality_head", name="質量負責人王", language="zh-Hant")
    first = await file(services, organisation="C001", description=TYPED)
    sha256 = await keep_photo(services, first.id, head)
    clock.advance(dt.timedelta(days=10))  # the first complaint's deadlines are past
    second = await file(services, organisation="C002", description="cap cracked")
    headers = as_person(head, clock)

    me = (await client.get("/api/me", headers=headers)).json()
    assert me["name"] == "質量負責人王" and me["language"] == "zh-Hant"
    assert {"type": "complaint", "name": "顧客質量投訴"} in me["types"]
    assert "defect" not in {t["type"] for t in me["types"]}
    assert me["charts"] is True and me["bot_username"] == "after_sales_bot"

    listed = await client.get("/api/records?type=complaint", headers=headers)
    assert listed.status_code == 200
    assert listed.headers["cache-control"] == "no-store"
    assert listed.headers["x-content-type-options"] == "nosniff"
    page = listed.json()
    assert (page["total"], page["page"], page["pages"]) == (2, 1, 1)
    assert [item["number"] for item in page["items"]] == [second.number, first.number]
    assert {"key": "open", "name": "待質量管理部受理"} in page["statuses"]
    late_one = page["items"][1]
    assert late_one["late"] is True and late_one["late_text"].startswith("已逾期")
    assert late_one["step"] and late_one["due_text"] and late_one["holder"]
    assert page["items"][0]["late"] is False and page["items"][0]["late_text"].startswith("尚餘")

    late = (await client.get("/api/records?type=complaint&late=1", headers=headers)).json()
    assert [item["number"] for item in late["items"]] == [first.number]
    found = (await client.get("/api/records?type=complaint&q=C002", headers=headers)).json()
    assert [item["number"] for item in found["items"]] == [second.number]
    by_customer = (
        await client.get("/api/records?type=complaint&customer=C001", headers=headers)
    ).json()
    assert [item["number"] for item in by_customer["items"]] == [first.number]
    none_closed = (
        await client.get("/api/records?type=complaint&status=closed", headers=headers)
    ).json()
    assert none_closed["total"] == 0

    opened = await client.get(f"/api/records/complaint/{first.number}", headers=headers)
    assert opened.status_code == 200
    record = opened.json()
    assert record["number"] == first.number
    # what the customer typed comes back as the same text, to be shown as text
    assert {"label": "情況描述", "value": TYPED} in record["fields"]
    assert TYPED in opened.text or json.dumps(TYPED)[1:-1] in opened.text
    assert record["deadlines"] and record["deadlines"][0]["state"] == "open"
    assert record["timeline"] and record["timeline"][0]["what"]
    assert record["chat_link"] == f"https://t.me/after_sales_bot?start={first.number}"

    [photo] = record["files"]
    assert photo["kind"] == "photo" and sha256 in photo["url"]
    assert photo["name"] == f"{first.number}-1.jpg"
    served = await client.get(photo["url"])  # a link: no initData header needed
    assert served.status_code == 200 and served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"

    [form] = record["forms"]
    assert form["file_name"].endswith(".pdf")
    pdf = await client.get(form["url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    disposition = pdf.headers["content-disposition"]
    assert disposition.startswith("attachment; filename*=UTF-8''")
    assert unquote(disposition.split("''", 1)[1]) == form["file_name"]

    # a link forged or expired opens nothing
    assert (await client.get(photo["url"][:-4] + "0000")).status_code == 401
    clock.advance(dt.timedelta(seconds=services.settings.webapp_link_seconds + 1))
    assert (await client.get(photo["url"])).status_code == 401


async def test_a_customer_and_forged_or_stale_initdata_are_refused(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    customer = await make_user(services, "customer")
    head = await make_user(services, "quality_head")
    await file(services)
    for path in ("/api/me", "/api/records?type=complaint", "/api/charts"):
        refused = await client.get(path, headers=as_person(customer, clock))
        assert (refused.status_code, refused.json()) == (401, {"error": "unauthorized"})
        assert (await client.get(path)).status_code == 401
    forged = init_data(head, clock, token="1000002:another-bot")
    assert (
        await client.get("/api/me", headers={"X-Telegram-Init-Data": forged})
    ).status_code == 401
    stale = as_person(head, clock)
    clock.advance(dt.timedelta(seconds=services.settings.webapp_init_data_max_age + 1))
    assert (await client.get("/api/me", headers=stale)).status_code == 401
    assert (await client.get("/api/me", headers=as_person(head, clock))).status_code == 200


async def test_a_qc_member_may_not_list_nor_open_defects(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    member = await make_user(services, "quality")
    supervisor = await make_user(services, "equipment_supervisor")
    number = await file_defect(services, supervisor)

    listed = await client.get("/api/records?type=defect", headers=as_person(member, clock))
    assert (listed.status_code, listed.json()) == (403, {"error": "not_allowed"})
    opened = await client.get(f"/api/records/defect/{number}", headers=as_person(member, clock))
    missing = await client.get(
        "/api/records/defect/DF-2026-09999", headers=as_person(member, clock)
    )
    assert (opened.status_code, opened.json()) == (404, {"error": "not_found"})
    assert (missing.status_code, missing.json()) == (404, {"error": "not_found"})

    theirs = await client.get("/api/records?type=defect", headers=as_person(supervisor, clock))
    assert [item["number"] for item in theirs.json()["items"]] == [number]
    page = await client.get(f"/api/records/defect/{number}", headers=as_person(supervisor, clock))
    assert page.status_code == 200 and page.json()["title"].endswith("pump noise")


async def test_the_page_and_its_files_are_served_without_initdata(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    if not (STATIC_DIR / "index.html").is_file():  # the page ships beside the server
        assert page.status_code == 404
        return
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert (await client.get("/static/none.js")).status_code == 404


async def test_the_api_reads_through_a_select_only_role_on_postgresql(
    services: Services, samples: None, clock: ManualClock, engine: AsyncEngine
) -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if engine.dialect.name != "postgresql" or not url:
        pytest.skip("PostgreSQL only")
    head = await make_user(services, "quality_head")
    complaint = await file(services)
    async with engine.connect() as connection:
        schema = (await connection.execute(text("SHOW search_path"))).scalar_one()
    role = f"miniapp_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as connection:
        await connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'reader'"))
        await connection.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
        await connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {role}'))
    reader_url = engine.url.set(username=role, password="reader")
    reader = make_engine(
        reader_url.render_as_string(hide_password=False),
        connect_args={"server_settings": {"search_path": schema}},
    )
    try:
        mini_app = mini_app_on(services, clock, read_only_sessions(make_session_factory(reader)))
        async with client_for(mini_app) as client:
            listed = await client.get("/api/records?type=complaint", headers=as_person(head, clock))
            assert [i["number"] for i in listed.json()["items"]] == [complaint.number]
            opened = await client.get(
                f"/api/records/complaint/{complaint.number}", headers=as_person(head, clock)
            )
            assert opened.status_code == 200
        async with reader.connect() as connection:
            with pytest.raises(Exception, match="permission denied"):
                await connection.execute(text("DELETE FROM complaints"))
    finally:
        await reader.dispose()
        async with engine.begin() as connection:
            await connection.execute(
                text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {role}')
            )
            await connection.execute(text(f'REVOKE USAGE ON SCHEMA "{schema}" FROM {role}'))
            await connection.execute(text(f"DROP ROLE {role}"))


async def test_behind_a_proxy_under_a_path_the_links_keep_the_path(
    services: Services, samples: None, clock: ManualClock
) -> None:
    head = await make_user(services, "quality_head")
    complaint = await file(services)
    await keep_photo(services, complaint.id, head)
    # uvicorn --root-path /app behind Caddy's handle_path /app/*
    transport = httpx.ASGITransport(app=create_app(mini_app_on(services, clock)), root_path="/app")
    async with httpx.AsyncClient(transport=transport, base_url="http://miniapp") as client:
        opened = await client.get(
            f"/app/api/records/complaint/{complaint.number}", headers=as_person(head, clock)
        )
        [photo] = opened.json()["files"]
        assert photo["url"].startswith("/app/api/files/complaint/")
        assert (await client.get(photo["url"])).content == JPEG


async def test_every_record_type_lists_and_opens_for_its_readers(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    reader = await make_user(
        services,
        "after_sales_head",
        "quality_head",
        "equipment_manager",
        name="Reader",
        language="en",
    )
    numbers = await one_of_each(services, reader)
    headers = as_person(reader, clock)
    me = (await client.get("/api/me", headers=headers)).json()
    assert {t["type"] for t in me["types"]} == set(numbers)
    assert me["language"] == "en"
    for subject_type, key in numbers.items():
        listed = await client.get(f"/api/records?type={subject_type}&status=all", headers=headers)
        assert listed.status_code == 200, (subject_type, listed.text)
        assert [item["key"] for item in listed.json()["items"]] == [key], subject_type
        opened = await client.get(f"/api/records/{subject_type}/{key}", headers=headers)
        assert opened.status_code == 200, (subject_type, opened.text)
        page = opened.json()
        assert page["title"] and page["fields"] and page["status"]["name"], subject_type
        assert all(not field["label"].startswith("miniapp.") for field in page["fields"])
        if subject_type == "consumer_complaint":
            assert [(e["who"], e["what"]) for e in page["timeline"]] == [
                ("Reader", "passed to the business head")
            ]


async def one_of_each(services: Services, filer: User) -> dict[str, str]:
    """One record of each type the overview lists, by its type: its key."""
    from storage.models import (
        Assessment,
        Complaint,
        ConsumerComplaint,
        Organisation,
        Rectification,
        ReturnRequest,
        Vendor,
    )

    await file_defect(services, filer)
    async with services.unit_of_work() as uow:
        session, now = uow.session, uow.clock.now()
        organisation_id = await session.scalar(select(Organisation.id).limit(1))
        vendor_id = await session.scalar(select(Vendor.id).limit(1))
        assert organisation_id and vendor_id
        session.add_all(
            [
                Complaint(
                    number="QC-2026-00901",
                    status="open",
                    organisation_id=organisation_id,
                    quantity=1,
                    description="leaks",
                    channel="chat",
                    locality="local",
                    complainant_name="Chen",
                    filed_by_id=filer.id,
                    received_at=now,
                ),
                ReturnRequest(
                    number="RT-2026-00901",
                    organisation_id=organisation_id,
                    reason="quality",
                    status="awaiting_after_sales",
                    created_at=now,
                ),
                ConsumerComplaint(
                    number="CC-2026-00901",
                    status="open",
                    channel="phone",
                    consumer_name="Lin",
                    contact="13800000000",
                    product_text="a lid",
                    description="the lid broke",
                    filed_by_id=filer.id,
                    received_at=now,
                ),
                Rectification(
                    number="RN-2026-00901",
                    vendor_id=vendor_id,
                    description="late visits",
                    rung="written",
                    status="open",
                    due_at=now + dt.timedelta(days=7),
                    raised_by_id=filer.id,
                    raised_at=now,
                ),
                Assessment(year=2026, half=2, status="open", opened_at=now),
            ]
        )
        await session.flush()
        consumer_complaint_id = await session.scalar(select(ConsumerComplaint.id))
        assert consumer_complaint_id is not None
        record_event(
            session,
            subject_type="consumer_complaint",
            subject_id=consumer_complaint_id,
            action="escalated",
            at=now,
            actor_id=filer.id,
        )
        await uow.commit()
    return {
        "complaint": "QC-2026-00901",
        "return": "RT-2026-00901",
        "consumer_complaint": "CC-2026-00901",
        "defect": "DF-2026-00001",
        "rectification": "RN-2026-00901",
        "assessment": "2026-H2",
    }


async def test_a_month_or_a_search_that_is_none_is_refused_naming_why(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    head = await make_user(services, "quality_head", language="zh-Hant")
    complaint = await file(services)
    headers = as_person(head, clock)
    this_month = (await client.get("/api/records?month=2026-11", headers=headers)).json()
    assert [item["number"] for item in this_month["items"]] == [complaint.number]
    other_month = (await client.get("/api/records?month=2026-10", headers=headers)).json()
    assert other_month["total"] == 0
    for query in ("month=9999-12", "month=2026-13", "month=soon", "q=a+b+c+d+e+f"):
        refused = await client.get(f"/api/records?type=complaint&{query}", headers=headers)
        assert refused.status_code == 400, query
        assert refused.json()["error"] == "bad_filter" and refused.json()["message"], query


async def keep_file(
    services: Services, complaint_id: int, filer: User, ref: str, content: bytes, mime_type: str
) -> None:
    """A file kept on the complaint (a photo by its file id, a document by its reference) and
    stored with the type the evidence fetcher found."""
    assert services.file_store is not None
    stored = services.file_store.put(content)
    async with services.unit_of_work() as uow:
        actor = await uow.session.get(User, filer.id)
        assert actor is not None
        photos.add_photos(
            uow.session, "complaint", complaint_id, "filing", [ref], actor, uow.clock.now()
        )
        await uow.session.flush()
        kept = await uow.session.scalar(
            select(Photo).where(Photo.subject_id == complaint_id, Photo.sha256.is_(None))
        )
        assert kept is not None
        photos.record_stored(kept, stored.sha256, len(content), mime_type, uow.clock.now())
        await uow.commit()


async def test_a_complaint_reads_as_people_say_it_and_offers_a_report_to_download(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    head = await make_user(services, "quality_head", language="zh-Hant")
    complaint = await file(services, organisation="C001", product="P-1001", quantity=30)
    filer = await customer_of(services, "C001")
    await keep_file(services, complaint.id, filer, "f-photo", JPEG, "image/jpeg")
    # a report sent as a photo's file but stored as a PDF: no picture to show
    await keep_file(services, complaint.id, filer, "f-scan", b"%PDF-1.4 report", "application/pdf")
    await keep_file(
        services, complaint.id, filer, photos.document_ref("f-doc"), b"%PDF-1.7", "application/pdf"
    )
    clock.advance(dt.timedelta(days=3))  # the verification's deadline is past
    record = (
        await client.get(
            f"/api/records/complaint/{complaint.number}", headers=as_person(head, clock)
        )
    ).json()

    fields = {field["label"]: field["value"] for field in record["fields"]}
    # the product P-1001 is counted in 盒
    assert fields["數量"] == "30盒"
    assert fields["收到時間"] == "11月26日09:00"
    filed = record["timeline"][0]
    assert filed["at_text"] == "11月26日09:00"
    assert "涉及30盒" in filed["what"]
    assert [(f["kind"], f["name"]) for f in record["files"]] == [
        ("photo", f"{complaint.number}-1.jpg"),
        ("document", f"{complaint.number}-2.pdf"),
        ("document", f"{complaint.number}-3.pdf"),
    ]
    verification = record["deadlines"][0]
    assert verification["state"] == "open" and verification["overdue"] is True
    assert verification["state_text"].startswith("已逾期")
    assert record["deadlines"][-1]["overdue"] is False

    # a year on, the year is named
    clock.advance(dt.timedelta(days=365))
    later = (
        await client.get(
            f"/api/records/complaint/{complaint.number}", headers=as_person(head, clock)
        )
    ).json()
    assert later["timeline"][0]["at_text"] == "2026年11月26日09:00"


async def test_the_month_filter_offers_the_configured_zones_months(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    head = await make_user(services, "quality_head", language="zh-Hant")
    # 1 December, 01:00 in Shanghai: still 30 November in UTC
    clock.set(dt.datetime(2026, 12, 1, 1, 0, tzinfo=SHANGHAI))
    page = (await client.get("/api/records?type=complaint", headers=as_person(head, clock))).json()
    assert page["months"][:2] == [
        {"key": "2026-12", "name": "2026年12月"},
        {"key": "2026-11", "name": "2026年11月"},
    ]
    assert len(page["months"]) == 24
    # a type without a month filter is offered none
    assessments = (
        await client.get("/api/records?type=assessment", headers=as_person(head, clock))
    ).json()
    assert assessments.get("months", []) == []


async def test_a_returns_goods_read_line_by_line_in_their_units_and_yuan(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    head = await make_user(services, "business_head", language="zh-Hant")
    organisation_id, _, batch_id = await ids(services, "C003", "P-1001", "L20260301")
    buyer = await customer_of(services, "C003")
    draft = return_intake.ReturnDraft(
        organisation_id, "quality", lines=[{"batch_id": batch_id, "quantity": 20}]
    )
    async with services.unit_of_work() as uow:
        actor = await uow.session.get(User, buyer.id)
        assert actor is not None
        filed = await return_intake.file_return(uow, actor, draft, timezone=SHANGHAI)
    record = (
        await client.get(
            f"/api/records/return/{filed.request.number}", headers=as_person(head, clock)
        )
    ).json()
    fields = {field["label"]: field["value"] for field in record["fields"]}
    assert fields["貨物"] == "• 一次性使用無菌注射器 5ml，批號L20260301：數量20盒，金額360.00元"
    assert fields["金額"] == "360.00元"
    assert record["timeline"][0]["what"] == "填寫（聊天）：質量問題，數量20盒，金額360.00元"


async def test_each_other_buyers_deadline_is_named_by_the_buyer(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    from procedures.complaints import handling
    from tests.unit.helpers import act, verify

    head = await make_user(services, "quality_head", language="zh-Hant")
    qc = await make_user(services, "quality")
    complaint = await file(services, organisation="C001", product="P-1001", lot="L20260301")
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "nonconforming")
    record = (
        await client.get(
            f"/api/records/complaint/{complaint.number}", headers=as_person(head, clock)
        )
    ).json()
    told = [d["name"] for d in record["deadlines"] if d["name"].startswith("通知其他購貨方")]
    # the lot went to C002 and C003 as well: a deadline each, told apart as /ticket tells them
    assert len(told) >= 2 and len(set(told)) == len(told)
    assert all(name.startswith("通知其他購貨方暫停銷售（") for name in told)


async def test_a_rectification_keeps_no_trace_of_its_row_number_once_it_has_its_own(
    services: Services, samples: None, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    from procedures.vendors import rectifications
    from storage.models import Vendor
    from tests.unit.helpers import act

    manager = await make_user(services, "equipment_manager", language="zh-Hant")
    async with services.session_factory() as session:
        vendor_id = await session.scalar(select(Vendor.id).limit(1))
    raised = await act(
        services,
        rectifications.raise_rectification,
        manager,
        vendor_id,
        "門機異響未及時處理",
        clock.now() + dt.timedelta(days=2),
    )
    clock.advance(dt.timedelta(days=3))
    notice = await act(services, rectifications.issue_written_notice, manager, raised.id)
    record = (
        await client.get(
            f"/api/records/rectification/{notice.number}", headers=as_person(manager, clock)
        )
    ).json()
    # the verbal rung's deadline was opened as #N, before the notice gave it RN-…
    assert [d["name"] for d in record["deadlines"]] == ["整改", "整改"]
    assert [d["state"] for d in record["deadlines"]] == ["late", "open"]
