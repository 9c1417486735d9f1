"""Each monthly, quarterly and half-year duty is a record of its period: a scheduler that was
down at the duty's hour makes it up when it starts, exactly once, whichever scheduler runs it,
and a duty that fails half-way leaves nothing behind and is done at the next run."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections import Counter

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.documents import document_context
from bot.services import Services
from procedures.kernel import roles
from procedures.kernel.clock import ManualClock
from procedures.kernel.outbox import as_deadline
from procedures.kernel.unit_of_work import UnitOfWork
from reports import documents
from scheduler import jobs, periodic
from scheduler.demo import DemoClock, DemoSchedule
from scheduler.leader import LeaderLock
from scheduler.runtime import build_scheduler
from scheduler.services import JobServices
from storage.models import PeriodicDuty
from tests.conftest import SHANGHAI

from .helpers import make_user, outbox_rows

MONTHLY = {
    "monthly_return_statistics",
    "consumer_complaint_summary",
    "personal_records",
    "vendor_scores",
}
# what each duty sends, by text id
SENT_BY = {
    "monthly_return_statistics": "return.statistics_ready",
    "consumer_complaint_summary": "consumer.summary_ready",
    "personal_records": "record.ready",
    "vendor_scores": "score.request",
    "quarterly_complaint_report": "report.quarterly_ready",
    "vendor_assessment": "assessment.organise",
}


def job_services(services: Services, clock: object | None = None) -> JobServices:
    return JobServices(services.session_factory, clock or services.clock, SHANGHAI)  # type: ignore[arg-type]


@pytest.fixture
async def readers(services: Services, samples: None) -> None:
    """Someone in every role the duties write to, each role on its own person."""
    for role in sorted(
        {
            roles.EQUIPMENT_MANAGER,
            roles.BUSINESS_HEAD,
            roles.FINANCE,
            roles.AFTER_SALES_HEAD,
            roles.QUALITY_HEAD,
            roles.QUALITY,
            *roles.HEAD_OF.values(),
        }
    ):
        await make_user(services, role, language="en")


async def duties_done(services: Services) -> list[tuple[str, str]]:
    async with services.session_factory() as session:
        rows = await session.execute(
            select(PeriodicDuty.kind, PeriodicDuty.period).order_by(
                PeriodicDuty.kind, PeriodicDuty.period
            )
        )
        return [(kind, period) for kind, period in rows]


async def sent(services: Services) -> Counter[str]:
    """How many messages each duty queued (and for which period), by text id and period."""
    return Counter(
        (row.text_key, str(row.params.get("period", f"{row.params.get('year')}")))
        for row in await outbox_rows(services)
        if row.text_key in SENT_BY.values()
    )


def cells_of(content: bytes) -> list[str]:
    workbook = load_workbook(io.BytesIO(content))
    return [
        str(cell)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]


async def test_down_across_the_first_and_started_on_the_sixth_does_the_months_duties_once(
    services: Services, readers: None, clock: ManualClock
) -> None:
    clock.set(dt.datetime(2027, 1, 6, 9, 30, tzinfo=SHANGHAI))

    ran = await jobs.do_periodic_duties(job_services(services))

    assert MONTHLY | {"quarterly_complaint_report"} <= set(ran)
    done = await duties_done(services)
    assert {(kind, "2026-12") for kind in MONTHLY} <= set(done)
    assert ("quarterly_complaint_report", "2026-Q4") in done
    # December's messages, one per reader (each vendor's score request once)
    messages = await sent(services)
    assert messages[("return.statistics_ready", "2026-12")] == 2  # business head, finance
    assert messages[("consumer.summary_ready", "2026-12")] == 1
    assert messages[("record.ready", "2026-12")] == len(set(roles.HEAD_OF.values()))
    score_requests = await outbox_rows(services, text_key="score.request")
    assert score_requests and {row.params["period"] for row in score_requests} == {"2026-12"}
    assert len({row.dedupe_key for row in score_requests}) == len(score_requests)

    # the after-sales head's time for the proposals runs from the 6th, when it was produced
    (summary,) = await outbox_rows(services, text_key="consumer.summary_ready")
    proposals_due = dt.datetime.fromisoformat(summary.params["proposals_due"]["$deadline"])
    assert proposals_due > dt.datetime(2027, 1, 6, 9, 30, tzinfo=SHANGHAI)

    # the quarter's report says the day it was produced, the 6th, not the quarter's end
    quality_head_copy = (await outbox_rows(services, text_key="report.quarterly_ready"))[0]
    async with services.session_factory() as session:
        report = await documents.render(
            session, quality_head_copy.attachment or {}, document_context(services, "en")
        )
    assert any("Printed on" in cell and "2027-01-06" in cell for cell in cells_of(report.content))
    assert not any("2026-12-31" in cell for cell in cells_of(report.content)[:3])
    # and so do the month's workbooks: the return statistics and the consumer summary
    for key in ("return.statistics_ready", "consumer.summary_ready"):
        row = (await outbox_rows(services, text_key=key))[0]
        async with services.session_factory() as session:
            monthly = await documents.render(
                session, row.attachment or {}, document_context(services, "en")
            )
        assert "(printed on 2027-01-06)" in cells_of(monthly.content)[0], key


async def test_a_restart_the_same_day_does_nothing_twice(
    services: Services, readers: None, clock: ManualClock
) -> None:
    clock.set(dt.datetime(2026, 12, 6, 9, 30, tzinfo=SHANGHAI))
    first = await jobs.do_periodic_duties(job_services(services))
    rows_after_first = len(await outbox_rows(services))
    assert MONTHLY <= set(first) and sum(first.values()) > 0

    clock.set(dt.datetime(2026, 12, 6, 16, 0, tzinfo=SHANGHAI))  # a new process, same day
    second = await jobs.do_periodic_duties(job_services(services))
    # and the old single jobs, run by hand, send nothing either
    by_hand = [
        await jobs.send_monthly_return_statistics(job_services(services)),
        await jobs.send_consumer_complaint_summary(job_services(services)),
        await jobs.send_personal_records(job_services(services)),
        await jobs.request_vendor_scores(job_services(services)),
    ]

    assert second == {} and by_hand == [0, 0, 0, 0]
    assert len(await outbox_rows(services)) == rows_after_first
    assert Counter(kind for kind, _ in await duties_done(services))["vendor_scores"] == 1


async def test_a_duty_waits_for_its_hour_on_the_first(
    services: Services, readers: None, clock: ManualClock
) -> None:
    clock.set(dt.datetime(2026, 12, 1, 7, 59, tzinfo=SHANGHAI))
    early = await jobs.do_periodic_duties(job_services(services))
    assert not MONTHLY & set(early)

    clock.set(dt.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI))
    at_eight = await jobs.do_periodic_duties(job_services(services))
    assert {"monthly_return_statistics", "consumer_complaint_summary"} <= set(at_eight)
    assert "personal_records" not in at_eight and "vendor_scores" not in at_eight  # 08:30, 09:00

    clock.set(dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    at_nine = await jobs.do_periodic_duties(job_services(services))
    assert set(at_nine) == {"personal_records", "vendor_scores"}


async def test_a_quarter_and_a_half_year_crossed_while_down_are_each_done_once(
    services: Services, readers: None, clock: ManualClock
) -> None:
    # down from before Christmas until after the 15th of January
    clock.set(dt.datetime(2027, 1, 20, 11, 0, tzinfo=SHANGHAI))
    await jobs.do_periodic_duties(job_services(services))
    clock.set(dt.datetime(2027, 1, 20, 11, 5, tzinfo=SHANGHAI))
    await jobs.do_periodic_duties(job_services(services))

    done = await duties_done(services)
    assert done.count(("quarterly_complaint_report", "2026-Q4")) == 1
    assert done.count(("vendor_assessment", "2026-H2")) == 1
    quarterly = await outbox_rows(services, text_key="report.quarterly_ready")
    assert {(row.chat_id, row.params["quarter"]) for row in quarterly} == {
        (row.chat_id, 4) for row in quarterly
    }
    assert len(quarterly) == len({row.chat_id for row in quarterly})  # once per reader
    organise = await outbox_rows(services, text_key="assessment.organise")
    # opened when the job ran, signed within 30 days of it
    assert len(organise) == 1 and organise[0].params == {
        "year": 2026,
        "half": 2,
        "due_at": as_deadline(dt.datetime(2027, 2, 19, 11, 0, tzinfo=SHANGHAI)),
    }


async def test_only_the_latest_month_is_made_up_after_months_down(
    services: Services, readers: None, clock: ManualClock
) -> None:
    clock.set(dt.datetime(2027, 3, 6, 9, 30, tzinfo=SHANGHAI))
    await jobs.do_periodic_duties(job_services(services))

    months = {period for kind, period in await duties_done(services) if kind in MONTHLY}
    assert months == {"2027-02"}
    requested = {
        row.params["period"] for row in await outbox_rows(services, text_key="score.request")
    }
    assert requested == {"2027-02"}


async def test_two_schedulers_at_once_do_each_duty_once(
    services: Services, readers: None, clock: ManualClock
) -> None:
    clock.set(dt.datetime(2027, 1, 6, 9, 30, tzinfo=SHANGHAI))
    one, other = job_services(services), job_services(services)

    results = await asyncio.gather(
        jobs.do_periodic_duties(one), jobs.do_periodic_duties(other), return_exceptions=True
    )

    assert not [r for r in results if isinstance(r, BaseException)]
    done = await duties_done(services)
    assert len(done) == len(set(done))
    assert {(kind, "2026-12") for kind in MONTHLY} <= set(done)
    keys = Counter(row.dedupe_key for row in await outbox_rows(services))
    assert keys and max(keys.values()) == 1
    for kind in MONTHLY:
        assert (SENT_BY[kind], "2026-12") in await sent(services)


async def test_a_duty_that_fails_half_way_leaves_nothing_and_is_done_at_the_next_run(
    services: Services, readers: None, clock: ManualClock
) -> None:
    clock.set(dt.datetime(2026, 12, 6, 9, 30, tzinfo=SHANGHAI))
    crash = RuntimeError("the process died here")

    async def statistics_then_crash(uow: UnitOfWork, now: dt.datetime, timezone: object) -> int:
        await periodic.RETURN_STATISTICS.work(uow, now, timezone)  # type: ignore[arg-type]
        await uow.session.flush()
        raise crash

    failing = periodic.Duty(
        periodic.RETURN_STATISTICS.kind, "month", dt.timedelta(hours=8), statistics_then_crash
    )
    with pytest.raises(RuntimeError):
        await periodic.run_duty(job_services(services), failing)
    assert await duties_done(services) == []
    assert await outbox_rows(services, text_key="return.statistics_ready") == []

    assert await periodic.run_duty(job_services(services), periodic.RETURN_STATISTICS) == 2
    assert await duties_done(services) == [("monthly_return_statistics", "2026-11")]


async def test_the_demo_clock_jumping_across_the_first_does_the_months_duties_once(
    services: Services, readers: None
) -> None:
    start = dt.datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)
    clock = DemoClock(system=ManualClock(start))
    template = build_scheduler(job_services(services, clock))  # never started
    demo = DemoSchedule(
        clock,
        [
            (job.id, job.trigger, (lambda job=job: job.func(*job.args)))
            for job in template.get_jobs()
            if job.id == "periodic_duties"
        ],
    )

    # the demo starts: October's duties, not done yet, are made up at once
    await jobs.do_periodic_duties(job_services(services, clock))
    before = set(await duties_done(services))

    try:
        await demo.advance_to(dt.datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI))
        await demo.advance_to(dt.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI))
    finally:
        await template.release_leadership()

    done = await duties_done(services)
    assert len(done) == len(set(done))
    assert sorted(set(done) - before) == sorted((kind, "2026-11") for kind in MONTHLY)
    statistics = [
        row
        for row in await outbox_rows(services, text_key="return.statistics_ready")
        if row.params["period"] == "2026-11"
    ]
    assert len(statistics) == 2
    # run at its hour on the 1st, not at the end of the jump
    assert all(
        dt.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
        <= row.created_at
        < dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
        for row in statistics
    )


async def test_the_jobs_due_at_start_all_run_in_the_process_that_takes_the_lead(
    engine: AsyncEngine,
) -> None:
    """On PostgreSQL the start's jobs ask for the lead at once; each must find it its own."""
    leader = LeaderLock(engine)
    try:
        asked = await asyncio.gather(*(leader.held() for _ in range(4)))
        assert asked == [True] * 4
        if leader.shared:  # another process stands by
            standby = LeaderLock(engine)
            assert await standby.held() is False
            await leader.release()
            assert await standby.held() is True
            await standby.release()
    finally:
        await leader.release()
