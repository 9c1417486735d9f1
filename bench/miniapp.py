"""The Mini App's lists at scale: 100,000 complaints on file (a fifth of them open, each open
one with an open deadline, some past), the first page of the open complaints and of filtered
lists timed through the ASGI application, as a quality head asks for them.

`python -m bench miniapp [--full]` (small: 10,000; --full: 100,000); BENCH_DATABASE_URL adds
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert, text

from bot.texts import Texts
from core.config import Settings
from procedures.kernel.clock import ManualClock
from storage.db import make_engine, make_session_factory, read_only_sessions
from storage.files import LocalFileStore
from storage.models import Batch, Complaint, Deadline, Organisation, Product, User, UserRole
from webapp.app import MiniApp, create_app
from webapp.auth import sign_init_data

from .common import backends, database, load

TOKEN = "1000001:local-emulator-token"
ZONE = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=730)  # the complaints came in over two years
BATCH = 5000
CUSTOMERS = 50
PRODUCTS = 20
HEAD_TELEGRAM_ID = 9_000_001
ROUNDS = 15
LISTS = {
    "open, first page": "type=complaint",
    "late only": "type=complaint&late=1",
    "one customer": "type=complaint&customer=C0011",
    "search a lot": "type=complaint&q=L20260011",
    "all statuses, page 100": "type=complaint&status=all&page=100",
}


async def seed(url: str, count: int) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Organisation),
            [
                {"id": c, "code": f"C{c:04d}", "name": f"康寧醫藥連鎖{c}號店", "kind": "customer"}
                for c in range(1, CUSTOMERS + 1)
            ],
        )
        await connection.execute(
            insert(Product),
            [
                {"id": p, "code": f"P-{p:04d}", "name": f"一次性使用無菌注射器{p}ml"}
                for p in range(1, PRODUCTS + 1)
            ],
        )
        await connection.execute(
            insert(Batch),
            [
                {"id": p, "product_id": p, "lot_number": f"L2026{p:04d}"}
                for p in range(1, PRODUCTS + 1)
            ],
        )
        await connection.execute(
            insert(User),
            [
                {
                    "id": 1,
                    "telegram_id": HEAD_TELEGRAM_ID,
                    "full_name": "質量負責人",
                    "language": "zh-Hant",
                    "active": True,
                    "created_at": NOW - SPAN,
                }
            ],
        )
        await connection.execute(insert(UserRole), [{"user_id": 1, "role": "quality_head"}])
    for first in range(1, count + 1, BATCH):
        complaints, deadlines = [], []
        for i in range(first, min(first + BATCH, count + 1)):
            received = NOW - SPAN + SPAN * i / (count + 1)
            product = i % PRODUCTS + 1
            is_open = i % 5 == 0
            number = f"QC-{received.year}-{i:06d}"
            complaints.append(
                {
                    "id": i,
                    "number": number,
                    "status": "investigating" if is_open else "closed",
                    "organisation_id": i % CUSTOMERS + 1,
                    "product_id": product,
                    "batch_id": product,
                    "quantity": 1 + i % 7,
                    "description": "包裝破損，針頭彎曲",
                    "channel": "chat",
                    "locality": "local",
                    "complainant_name": "陳",
                    "filed_by_id": 1,
                    "received_at": received,
                    "taken_by_id": 1 if is_open else None,
                }
            )
            due = received + dt.timedelta(hours=72)
            deadlines.append(
                {
                    "subject_type": "complaint",
                    "subject_id": i,
                    "subject_label": number,
                    "kind": "disposition_opinion",
                    "responsible_role": "quality",
                    "opened_at": received,
                    "due_at": due,
                    "remind_at": due,
                    "next_check_at": due,
                    "met_at": None if is_open else received + dt.timedelta(hours=20),
                    "closed_as": None if is_open else "met",
                    "met_late": None if is_open else False,
                    "alert_count": 0,
                }
            )
        async with engine.begin() as connection:
            await connection.execute(insert(Complaint), complaints)
            await connection.execute(insert(Deadline), deadlines)
    if engine.dialect.name == "postgresql":
        # what autovacuum does after a load this size: the planner's statistics
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    await engine.dispose()


async def time_lists(url: str) -> dict[str, tuple[float, float, int]]:
    """Each list's median and slowest answer (ms) over ROUNDS, and its total."""
    engine = make_engine(url)
    clock = ManualClock(NOW)
    with tempfile.TemporaryDirectory() as folder:
        mini_app = MiniApp(
            settings=Settings(timezone=ZONE, file_store=folder),
            sessions=read_only_sessions(make_session_factory(engine)),
            clock=clock,
            texts=Texts(ZONE, "zh-Hant", strict=True, clock=clock),
            file_store=LocalFileStore(folder),
            bot_token=TOKEN,
            bot_username="after_sales_bot",
        )
        user = json.dumps({"id": HEAD_TELEGRAM_ID, "first_name": "Head"})
        headers = {
            "X-Telegram-Init-Data": sign_init_data(
                {"user": user, "auth_date": str(int(NOW.timestamp()))}, TOKEN
            )
        }
        figures = {}
        transport = httpx.ASGITransport(app=create_app(mini_app))
        async with httpx.AsyncClient(transport=transport, base_url="http://miniapp") as client:
            for name, query in LISTS.items():
                await client.get(f"/api/records?{query}", headers=headers)  # warm the caches
                times, total = [], 0
                for _ in range(ROUNDS):
                    began = time.perf_counter()
                    answer = await client.get(f"/api/records?{query}", headers=headers)
                    times.append((time.perf_counter() - began) * 1000)
                    assert answer.status_code == 200, answer.text
                    total = answer.json()["total"]
                figures[name] = (statistics.median(times), max(times), total)
    await engine.dispose()
    return figures


async def run(full: bool) -> None:
    count = 100_000 if full else 10_000
    for backend in backends():
        async with database(backend, "miniapp") as url:
            began = time.perf_counter()
            await seed(url, count)
            print(f"{backend}: {count:,} complaints seeded in {time.perf_counter() - began:.0f} s")
            for name, (median, slowest, total) in (await time_lists(url)).items():
                print(
                    f"  {name:<24} {median:6.1f} ms median, {slowest:6.1f} ms slowest "
                    f"({total:,} found; {load()})",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(run("--full" in sys.argv))
