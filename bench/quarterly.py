"""The quarterly complaint report at scale: a quarter of N complaints, each with its three
deadlines and a timeline, rendered streaming; time and peak memory of the rendering process.

`python -m bench.quarterly seed DB N` fills a new SQLite file; `python -m bench.quarterly render
DB OUT` renders the report and prints seconds and peak RSS. Each runs in its own process, so the
peak is that of rendering alone (the interpreter and imports included).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.texts import Texts, load_catalogues
from procedures.kernel.clock import ManualClock
from reports.documents import DocumentContext, quarterly_report
from storage.db import make_engine, migrate
from storage.models import (
    Batch,
    Complaint,
    Deadline,
    Organisation,
    Product,
    TimelineEvent,
    User,
)

QUARTER_START = dt.datetime(2026, 6, 30, 16, tzinfo=dt.UTC)  # 2026-07-01 00:00 in Shanghai
QUARTER_SECONDS = 92 * 24 * 3600
BATCH = 5000
PRODUCTS = 20


async def seed(url: str, count: int) -> None:
    engine = make_engine(url)
    await migrate(engine)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Organisation),
            [
                {
                    "id": 1,
                    "code": "C001",
                    "name": "康寧醫藥連鎖有限公司",
                    "kind": "customer",
                    "locality": "local",
                    "contact_name": "陳經理",
                    "contact_phone": "0571-8888",
                },
                {
                    "id": 2,
                    "code": "S001",
                    "name": "康華醫療器械有限公司",
                    "kind": "supplier",
                    "locality": None,
                    "contact_name": None,
                    "contact_phone": None,
                },
            ],
        )
        await connection.execute(
            insert(User),
            [
                {
                    "id": 1,
                    "telegram_id": 1,
                    "full_name": "Qiu Quality",
                    "active": True,
                    "created_at": QUARTER_START,
                }
            ],
        )
        await connection.execute(
            insert(Product),
            [
                {
                    "id": p,
                    "code": f"P-{p:04d}",
                    "name": f"一次性使用無菌注射器 {p}ml",
                    "supplier_id": 2,
                    "specification": f"{p}ml 帶針",
                    "manufacturer": "康華",
                    "registration_number": f"國械注準2019314{p:04d}",
                }
                for p in range(1, PRODUCTS + 1)
            ],
        )
        await connection.execute(
            insert(Batch),
            [
                {
                    "id": p,
                    "product_id": p,
                    "lot_number": f"L2026{p:04d}",
                    "expiry_date": dt.date(2029, 2, 28),
                }
                for p in range(1, PRODUCTS + 1)
            ],
        )
    for first in range(1, count + 1, BATCH):
        ids = range(first, min(first + BATCH, count + 1))
        complaints, deadlines, events = [], [], []
        for i in ids:
            received = QUARTER_START + dt.timedelta(seconds=(i * QUARTER_SECONDS) // (count + 1))
            product = i % PRODUCTS + 1
            number = f"QC-2026-{i:06d}"
            complaints.append(
                {
                    "id": i,
                    "number": number,
                    "status": "closed",
                    "organisation_id": 1,
                    "product_id": product,
                    "batch_id": product,
                    "shipment_on_file": True,
                    "quantity": 1 + i % 7,
                    "description": "包裝破損，針頭彎曲",
                    "channel": "chat",
                    "locality": "local",
                    "complainant_name": "陳",
                    "filed_by_id": 1,
                    "received_at": received,
                    "taken_by_id": 1,
                    "taken_at": received,
                    "on_site": True,
                    "verification_result": "conforming",
                    "verified_by_id": 1,
                    "verified_at": received + dt.timedelta(hours=20),
                    "disposition": "恢復銷售",
                    "disposition_by_id": 1,
                    "disposition_at": received + dt.timedelta(days=1),
                    "closed_at": received + dt.timedelta(days=2),
                }
            )
            for kind, hours in (("on_site_verification", 24), ("disposition_opinion", 72)):
                due = received + dt.timedelta(hours=hours)
                deadlines.append(
                    {
                        "subject_type": "complaint",
                        "subject_id": i,
                        "subject_label": number,
                        "kind": kind,
                        "responsible_role": "quality",
                        "opened_at": received,
                        "due_at": due,
                        "remind_at": due,
                        "next_check_at": due,
                        "met_at": received + dt.timedelta(hours=20),
                        "closed_as": "met",
                        "met_late": i % 10 == 0,
                        "alert_count": 0,
                    }
                )
            for action, after in (
                ("filed", {"number": number}),
                ("verified", {"result": "conforming"}),
                ("reply_to_complainant", {"text_key": "complaint.resume_sales", "recipients": 1}),
            ):
                events.append(
                    {
                        "subject_type": "complaint",
                        "subject_id": i,
                        "action": action,
                        "actor_id": 1,
                        "at": received + dt.timedelta(hours=20),
                        "after": after,
                    }
                )
        async with engine.begin() as connection:
            await connection.execute(insert(Complaint), complaints)
            await connection.execute(insert(Deadline), deadlines)
            await connection.execute(insert(TimelineEvent), events)
    await engine.dispose()


async def render(url: str) -> tuple[float, float, int, bytes]:
    engine = make_engine(url)
    zone = ZoneInfo("Asia/Shanghai")
    texts = Texts(zone, "zh-Hant", load_catalogues(), strict=True)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    clock = ManualClock(dt.datetime(2026, 10, 1, 1, tzinfo=dt.UTC))
    context = DocumentContext(
        timezone=zone,
        now=clock.now(),
        text=partial(texts.get, "zh-Hant"),
        company="康華醫藥有限公司",
    )
    began, cpu = time.perf_counter(), time.process_time()
    async with sessions() as session:
        document, figures = await quarterly_report(session, 2026, 3, context)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    await engine.dispose()
    return elapsed, cpu, figures.rows, document.content


def measure(count: int, folder: Path) -> tuple[float, float, float]:
    """Seed and render `count` complaints, each step in a process of its own."""
    database = folder / f"quarter-{count}.db"
    url = f"sqlite+aiosqlite:///{database}"
    subprocess.run([sys.executable, "-m", "bench.quarterly", "seed", url, str(count)], check=True)
    result = subprocess.run(
        [sys.executable, "-m", "bench.quarterly", "render", url, str(folder / f"q-{count}.xlsx")],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, cpu, peak_mib, rows = result.stdout.split()
    assert int(rows) == count, (rows, count)
    print(
        f"quarterly report, {count:,} complaints (3 timeline events, 2 deadlines each): "
        f"{float(seconds):.1f} s ({float(cpu):.1f} s CPU), peak RSS {float(peak_mib):.0f} MiB, "
        f"xlsx {(folder / f'q-{count}.xlsx').stat().st_size / 1e6:.1f} MB"
    )
    return float(seconds), float(cpu), float(peak_mib)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        small = measure(10_000, Path(folder))
        large = measure(100_000, Path(folder))
    print(
        f"100,000 / 10,000: time x{large[0] / small[0]:.1f}, CPU x{large[1] / small[1]:.1f} "
        f"(linear: x10), peak memory x{large[2] / small[2]:.2f}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        asyncio.run(seed(sys.argv[2], int(sys.argv[3])))
    elif sys.argv[1:2] == ["render"]:
        seconds, cpu, rows, content = asyncio.run(render(sys.argv[2]))
        Path(sys.argv[3]).write_bytes(content)
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"{seconds:.3f} {cpu:.3f} {peak_kib / 1024:.1f} {rows}")
    else:
        main()
