"""Each person's monthly record: the steps of P1, P2 and P3 they closed in the month, in time or
late, and the steps still open at its end, for the head of their department."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook

from bot.documents import document_context
from bot.services import Services
from procedures import personal_records
from procedures.complaints import handling
from procedures.consumer_complaints import handling as consumer_handling
from procedures.consumer_complaints import intake as consumer_intake
from procedures.consumer_complaints.common import ConsumerComplaintDraft
from procedures.kernel.calendar import month_bounds
from procedures.kernel.clock import ManualClock
from reports.documents import render
from tests.conftest import SHANGHAI

from .helpers import act, file, make_user, outbox_rows, verify


def test_each_head_reads_the_roles_they_head_and_the_business_head_also_after_sales() -> None:
    assert personal_records.roles_read_by("quality_head") == {"quality", "supplier"}
    assert personal_records.roles_read_by("after_sales_head") == {
        "customer",
        "consumer",
        "after_sales",
        "driver",
    }
    assert personal_records.roles_read_by("business_head") == {
        "warehouse",
        "market_sales",
        "marketing_statistician",
        "marketing_clerk",
        "after_sales",
    }
    assert "company_leader" in personal_records.HEADS
    assert "equipment_manager" in personal_records.HEADS


async def test_the_record_names_who_closed_each_step_in_time_or_late_and_what_stayed_open(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality", name="Qiu QC")
    after_sales = await make_user(services, "after_sales", name="An After-sales")
    consumer = await make_user(services, "consumer", name="Xu Consumer")
    heads = {
        role: await make_user(services, role, name=role, language="en")
        for role in ("quality_head", "business_head", "after_sales_head")
    }
    complaint = await file(services)  # 2026-11-26 09:00
    await act(services, handling.take_complaint, qc, complaint.id)
    clock.advance(dt.timedelta(hours=2))
    await verify(services, qc, complaint.id, "conforming")  # in time; the hold lift opens
    clock.advance(dt.timedelta(days=3))
    await act(services, handling.record_disposition, qc, complaint.id, "fine", "")  # late
    filed = await act(
        services,
        consumer_intake.file_consumer_complaint,
        consumer,
        ConsumerComplaintDraft(product_text="a cuff", description="torn", contact="138"),
    )
    await act(
        services,
        consumer_handling.answer_not_standing,
        after_sales,
        filed.complaint.id,
        cause="usage",
        answer="Hand wash only.",
    )

    start, end = month_bounds("2026-11", SHANGHAI)
    async with services.session_factory() as session:
        quality_steps = await personal_records.steps_of_month(
            session, start, end, personal_records.roles_read_by("quality_head")
        )
        business_steps = await personal_records.steps_of_month(
            session, start, end, personal_records.roles_read_by("business_head")
        )
    assert [(s.person, s.kind, s.outcome) for s in quality_steps] == [
        ("Qiu QC", "on_site_verification", "on_time"),
        ("Qiu QC", "disposition_opinion", "late"),
    ]
    assert [(s.person, s.responsible_role, s.kind, s.outcome) for s in business_steps] == [
        ("An After-sales", "after_sales", "consumer_first_answer", "on_time"),
        ("", "warehouse", "hold_lift", "not_done"),
    ]
    # December's record does not repeat November's closed steps, only what is still open
    async with services.session_factory() as session:
        december = await personal_records.steps_of_month(
            session,
            *month_bounds("2026-12", SHANGHAI),
            personal_records.roles_read_by("business_head"),
        )
    assert [(s.kind, s.outcome) for s in december] == [("hold_lift", "not_done")]

    clock.set(dt.datetime(2026, 12, 1, 8, 30, tzinfo=SHANGHAI))
    async with services.unit_of_work() as uow:
        queued = await personal_records.queue_personal_records(
            uow.session, now=uow.clock.now(), timezone=SHANGHAI
        )
        again = await personal_records.queue_personal_records(
            uow.session, now=uow.clock.now(), timezone=SHANGHAI
        )
        await uow.commit()
    assert (queued, again) == (3, 0)
    (to_quality_head,) = await outbox_rows(
        services, text_key="record.ready", user_id=heads["quality_head"].id
    )
    async with services.session_factory() as session:
        document = await render(
            session, to_quality_head.attachment, document_context(services, "en")
        )
    assert document.file_name == "personal-record-quality head-2026-11.xlsx"
    workbook = load_workbook(io.BytesIO(document.content))
    people = list(workbook["People"].iter_rows(values_only=True))
    title = "售後服務部 · Each person's record, 2026-11 (quality head) (printed on 2026-12-01)"
    assert people[0] == (title,) + (None,) * 4
    assert people[1:] == [
        ("Person", "in time", "late", "waived", "not done by the month's end"),
        ("Qiu QC", 1, 1, 0, 0),
    ]
    steps = list(workbook["Steps"].iter_rows(values_only=True))
    assert steps[1][:4] == ("Qiu QC", "quality control", complaint.number, "on-site verification")
