"""P1 issue 15: waived visits, unknown localities, the out-of-town handling deadline, complaints
about goods not on file, product holds and their confirmations, the supplier's answer, buyers
without a chat contact, the nonconforming-goods hand-off and the business head's reading."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from functools import partial

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.services import Services
from core.config import ConfigError
from core.services import load_policies
from procedures.complaints import handling, intake, nonconforming, queries
from procedures.complaints.intake import ComplaintDraft
from procedures.complaints.policy import ComplaintPolicy
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, NotAllowed, WrongState
from procedures.kernel.timeline import events_of
from reports import complaints as complaint_reports
from storage.models import BuyerNoticeTask, Complaint, Organisation, User
from tests.conftest import SHANGHAI

from .helpers import act, customer_of, file, ids, make_user, outbox_rows, verify

HOUR = dt.timedelta(hours=1)


async def deadline_of(services: Services, complaint_id: int, kind: str):  # type: ignore[no-untyped-def]
    async with services.session_factory() as session:
        (found,) = [d for d in await queries.deadlines_of(session, complaint_id) if d.kind == kind]
    return found


async def stored(services: Services, complaint_id: int) -> Complaint:
    async with services.session_factory() as session:
        return await session.get(Complaint, complaint_id)


async def sweep(services: Services) -> None:
    async with services.unit_of_work() as uow:
        await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
        await uow.commit()


async def staff_file(
    services: Services,
    filer: User,
    organisation: str = "C001",
    *,
    product: str | None = "P-1001",
    product_text: str | None = None,
    lot: str | None = None,
    lot_text: str | None = None,
    hold_scope: str = "product",
) -> Complaint:
    async with services.session_factory() as session:
        organisation_id = await session.scalar(
            select(Organisation.id).where(Organisation.code == organisation)
        )
    product_id = batch_id = None
    if product:
        _, product_id, batch_id = await ids(services, organisation, product, lot or "")
    draft = ComplaintDraft(
        organisation_id=organisation_id,
        channel="phone",
        complainant_name="Zhao",
        product_id=product_id,
        batch_id=batch_id,
        product_text=product_text,
        lot_text=lot_text,
        quantity=3,
        description="cracked housing",
    )
    configured = replace(services, policies=load_policies({"HOLD_SCOPE": hold_scope}))
    async with configured.unit_of_work() as uow:
        actor = await uow.session.get(User, filer.id)
        filed = await intake.file_complaint(uow, actor, draft)
    return filed.complaint


async def verify_waived(services: Services, qc: User, complaint_id: int, result: str):  # type: ignore[no-untyped-def]
    return await act(
        services,
        handling.record_verification,
        qc,
        complaint_id,
        result=result,
        on_site=False,
        notes="same lot verified last week",
        timezone=SHANGHAI,
    )


# --- point 1 --------------------------------------------------------------------------------


async def test_a_waived_visit_is_a_recorded_decision_closed_as_waived_and_reported_apart(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality", name="Qiu QC")
    await make_user(services, "quality_head")
    complaint = await file(services, "C001")
    await act(services, handling.take_complaint, qc, complaint.id)
    clock.advance(2 * HOUR)
    await verify_waived(services, qc, complaint.id, "conforming")

    on_site = await deadline_of(services, complaint.id, "on_site_verification")
    assert (on_site.closed_as, on_site.met_late, on_site.met_at) == ("waived", None, clock.now())
    async with services.session_factory() as session:
        (waiver,) = [
            e
            for e in await events_of(session, "complaint", complaint.id)
            if e.action == "visit_waived"
        ]
    assert waiver.actor_id == qc.id and waiver.after == {"reason": "same lot verified last week"}
    clock.advance(48 * HOUR)
    await sweep(services)
    overdue = await outbox_rows(services, text_key="deadline.overdue")
    assert all("on_site" not in r.params["kind"]["$text"] for r in overdue)

    async with services.session_factory() as session:
        rows = await queries.ledger_rows(session)
    assert (rows[0].visit_waived, rows[0].verification_on_time) == (True, None)
    buffer = io.BytesIO()
    await complaint_reports.write_quarterly(
        rows, buffer, partial(services.texts.get, "en"), SHANGHAI, "2026 Q4"
    )
    summary = load_workbook(buffer).worksheets[0]
    figures = {row[0].value: row[1].value for row in summary.iter_rows(min_row=2, max_row=17)}
    assert figures["Verifications in time"] == "0/0"
    assert figures["Visits waived (not counted as in time)"] == 1


async def test_a_buyer_whose_locality_is_not_set_gets_24_hours_and_quality_is_told(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    async with services.unit_of_work() as uow:
        organisation = await uow.session.scalar(
            select(Organisation).where(Organisation.code == "C004")
        )
        organisation.locality = None
        await uow.commit()
    complaint = await file(services, "C004", lot="L20250610", quantity=2)
    assert (await deadline_of(services, complaint.id, "on_site_verification")).due_at == (
        clock.now() + 24 * HOUR
    )
    (notice,) = await outbox_rows(services, text_key="complaint.new_for_qc", user_id=qc.id)
    assert notice.params["locality"] == {"$text": "complaint.locality.unknown"}
    assert notice.params["locality_note"] == {"$text": "complaint.note.locality_unknown"}
    text = services.texts.get("en", notice.text_key, **notice.params)
    assert "(locality not on file, 24 h)" in text
    assert "locality (local or out of town) is not in the master data" in text


# --- point 2 --------------------------------------------------------------------------------


async def test_an_out_of_town_complaint_has_7_days_to_be_handled_completely_not_only_visited(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    warehouse = await make_user(services, "warehouse")
    complaint = await file(services, "C003")
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "conforming")
    await act(services, handling.record_disposition, qc, complaint.id, "labels reprinted")
    handling_deadline = await deadline_of(services, complaint.id, "handling_complete")
    assert handling_deadline.met_at is None  # visited and answered, but the hold is not lifted

    clock.advance(8 * 24 * HOUR)
    await act(services, handling.lift_hold, warehouse, complaint.id)
    handling_deadline = await deadline_of(services, complaint.id, "handling_complete")
    assert (handling_deadline.met_at, handling_deadline.met_late) == (clock.now(), True)
    assert (await stored(services, complaint.id)).status == "closed"
    async with services.session_factory() as session:
        (row,) = await queries.ledger_rows(session)
    assert (row.verification_on_time, row.handling_on_time) == (True, False)


# --- point 3 --------------------------------------------------------------------------------


async def test_staff_record_a_complaint_about_a_lot_not_on_file_and_what_is_known_is_held(
    services: Services, samples: None
) -> None:
    after_sales = await make_user(services, "after_sales")
    qc = await make_user(services, "quality")
    c002 = await customer_of(services, "C002")
    complaint = await staff_file(services, after_sales, lot_text="L2099-X")
    assert (complaint.batch_id, complaint.lot_text, complaint.shipment_on_file) == (
        None,
        "L2099-X",
        False,
    )
    (notice,) = await outbox_rows(services, text_key="complaint.new_for_qc")
    assert notice.params["shipment_note"] == {"$text": "complaint.note.shipment_not_on_file"}
    async with services.session_factory() as session:
        _, _, other_lot = await ids(services, "C004", "P-1001", "L20250610")
        assert await queries.is_on_hold(session, complaint.product_id, other_lot)
        (row,) = await queries.ledger_rows(session)
    assert (row.lot, row.shipment_on_file) == ("L2099-X", False)

    await act(services, handling.take_complaint, qc, complaint.id)
    outcome = await verify(services, qc, complaint.id, "nonconforming")
    # every other buyer of the product, whatever lot it bought
    assert outcome.suspension_sent_to == ("C002",)
    assert outcome.suspension_without_contact == ("C003", "C004")
    assert [n.user_id for n in await outbox_rows(services, text_key="complaint.suspend_sales")] == [
        c002.id
    ]


async def test_a_product_not_in_the_master_data_is_recorded_as_typed_but_cannot_be_held(
    services: Services, samples: None
) -> None:
    qc = await make_user(services, "quality")
    warehouse = await make_user(services, "warehouse")
    complaint = await staff_file(
        services, qc, product=None, product_text="Infusion pump IP-9", lot_text="X1"
    )
    assert (complaint.product_label, complaint.lot_label) == ("Infusion pump IP-9", "X1")
    assert await outbox_rows(services, user_id=warehouse.id) == []
    (notice,) = await outbox_rows(services, text_key="complaint.new_for_qc")
    assert notice.params["product_note"] == {"$text": "complaint.note.product_unknown"}


async def test_a_customer_still_complains_only_about_what_was_shipped_to_them(
    services: Services, samples: None
) -> None:
    customer = await customer_of(services, "C001")
    organisation_id, product_id, _ = await ids(services, "C001", "P-1001", "")
    draft = ComplaintDraft(
        organisation_id=organisation_id,
        product_id=product_id,
        lot_text="L2099-X",
        quantity=1,
        description="leaks",
    )
    with pytest.raises(InvalidInput, match="batch_not_shipped"):
        await act(services, intake.file_complaint, customer, draft)
    assert "after-sales can record your complaint for you" in services.texts.get(
        "en", "complaint.batch_not_shipped", lot="L2099-X"
    )


# --- point 4 --------------------------------------------------------------------------------


@pytest.mark.parametrize(("scope", "other_lot_held"), [("product", True), ("lot", False)])
async def test_the_hold_covers_the_product_unless_the_deployment_narrows_it_to_the_lot(
    services: Services, samples: None, scope: str, other_lot_held: bool
) -> None:
    after_sales = await make_user(services, "after_sales")
    await make_user(services, "warehouse")
    complaint = await staff_file(services, after_sales, lot="L20260301", hold_scope=scope)
    _, _, other_lot = await ids(services, "C004", "P-1001", "L20250610")
    async with services.session_factory() as session:
        assert await queries.is_on_hold(session, complaint.product_id, complaint.batch_id)
        assert await queries.is_on_hold(session, complaint.product_id, other_lot) is other_lot_held
    (notice,) = await outbox_rows(services, text_key=f"complaint.hold_placed_{scope}")
    assert notice.params["lot"] == "L20260301"


def test_the_hold_scope_setting_is_product_by_default_and_checked() -> None:
    def policy(env: dict[str, str]) -> ComplaintPolicy:
        return load_policies(env).of(ComplaintPolicy)

    assert policy({}).hold_scope == "product"
    assert policy({"HOLD_SCOPE": "Lot"}).hold_scope == "lot"
    with pytest.raises(ConfigError, match="HOLD_SCOPE must be product or lot"):
        policy({"HOLD_SCOPE": "batch"})
    assert policy({"SUPPLIER_ANSWER_DAYS": "10"}).supplier_answer_within == dt.timedelta(days=10)


async def test_the_warehouse_and_business_head_confirm_the_stop_each_within_its_deadline(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    warehouse = await make_user(services, "warehouse")
    business = await make_user(services, "business_head")
    complaint = await file(services, "C001")
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "nonconforming")

    (to_warehouse,) = await outbox_rows(services, text_key="complaint.nonconforming_warehouse")
    assert [b["data"] for row in to_warehouse.buttons for b in row] == [
        f"wh:out:{complaint.id}",
        f"wh:label:{complaint.id}",
        f"nc:handoff:{complaint.id}",
    ]
    (to_business,) = await outbox_rows(services, text_key="complaint.nonconforming_business")
    assert to_business.buttons[0][0]["data"] == f"bh:stop:{complaint.id}"
    for kind in ("outbound_stop", "goods_labelled", "sales_stop"):
        assert (await deadline_of(services, complaint.id, kind)).due_at == clock.now() + 24 * HOUR

    with pytest.raises(NotAllowed):
        await act(services, nonconforming.confirm_sales_stopped, warehouse, complaint.id)
    clock.advance(25 * HOUR)
    await sweep(services)
    late = await outbox_rows(services, text_key="deadline.overdue", user_id=business.id)
    assert {r.params["kind"]["$text"] for r in late} == {
        "deadline.kind.sales_stop",
        "deadline.kind.outbound_stop",  # the warehouse answers to the business head
        "deadline.kind.goods_labelled",
    }
    await act(services, nonconforming.confirm_outbound_stopped, warehouse, complaint.id)
    await act(services, nonconforming.confirm_goods_labelled, warehouse, complaint.id)
    await act(services, nonconforming.confirm_sales_stopped, business, complaint.id)
    with pytest.raises(WrongState, match="already_confirmed"):
        await act(services, nonconforming.confirm_sales_stopped, business, complaint.id)
    assert (await deadline_of(services, complaint.id, "sales_stop")).met_late is True
    async with services.session_factory() as session:
        hold = await queries.hold_of(session, complaint.id)
    assert hold.sales_stopped_by_id == business.id and hold.labelled_at == clock.now()


async def test_a_nonconforming_complaint_closes_only_when_every_step_is_done(
    services: Services, samples: None
) -> None:
    qc = await make_user(services, "quality")
    warehouse = await make_user(services, "warehouse")
    business = await make_user(services, "business_head")
    after_sales = await make_user(services, "after_sales")
    buyers = [await customer_of(services, reachable) for reachable in ("C002", "C003")]
    complaint = await file(services, "C001")
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "nonconforming")
    await act(services, handling.record_disposition, qc, complaint.id, "return the goods")
    await act(services, nonconforming.confirm_outbound_stopped, warehouse, complaint.id)
    await act(services, nonconforming.confirm_goods_labelled, warehouse, complaint.id)
    await act(services, nonconforming.confirm_sales_stopped, business, complaint.id)
    assert (await stored(services, complaint.id)).status == "nonconforming"
    async with services.session_factory() as session:
        tasks = {
            t.organisation.code: t
            for t in await nonconforming.buyer_tasks_of(session, complaint.id)
        }
    await act(services, nonconforming.confirm_buyer_told, after_sales, tasks["C004"].id, "phone")
    # the buyers with a chat contact confirm with their notice's button, each its own
    for buyer, code in zip(buyers, ("C002", "C003"), strict=True):
        assert (await stored(services, complaint.id)).status == "nonconforming"
        await act(services, nonconforming.acknowledge_suspension, buyer, tasks[code].id)
    assert (await stored(services, complaint.id)).status == "nonconforming"
    await act(
        services,
        nonconforming.record_handoff,
        warehouse,
        complaint.id,
        "quarantined",
        "Wu took 12 boxes to the nonconforming area, shelf N3",
    )
    assert (await stored(services, complaint.id)).status == "closed"


# --- point 5 --------------------------------------------------------------------------------


async def test_a_supplier_query_nobody_received_is_not_recorded_as_sent_and_quality_is_told(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    complaint = await file(services, "C001")
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "nonconforming")

    assert (await stored(services, complaint.id)).supplier_query_at is None
    (told,) = await outbox_rows(services, text_key="complaint.supplier_unreachable")
    assert told.user_id == qc.id and told.params["supplier"] == "S001"
    assert services.texts.get("zh-Hant", told.text_key, **told.params).startswith(
        f"投訴{complaint.number}：供貨企業S001沒有聊天聯繫人，"
    )
    answer_due = await deadline_of(services, complaint.id, "supplier_answer")
    assert answer_due.due_at == clock.now() + 7 * 24 * HOUR

    clock.advance(HOUR)
    await act(
        services,
        nonconforming.record_supplier_answer,
        qc,
        complaint.id,
        "S001 (by phone): seal ring supplier changed in March; lots after L20260301 fixed.",
    )
    answered = await stored(services, complaint.id)
    assert answered.supplier_answer.startswith("S001 (by phone)")
    assert (await deadline_of(services, complaint.id, "supplier_answer")).met_at == clock.now()


async def test_the_supplier_answers_with_the_button_on_its_query_and_only_its_own(
    services: Services, samples: None
) -> None:
    qc = await make_user(services, "quality")
    supplier = await customer_of(services, "S001")
    other_supplier = await customer_of(services, "S002")
    async with services.unit_of_work() as uow:
        for user_id in (supplier.id, other_supplier.id):
            (await uow.session.get(User, user_id)).roles[0].role = "supplier"
        await uow.commit()
    complaint = await file(services, "C001")
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "nonconforming")

    (query,) = await outbox_rows(services, text_key="complaint.supplier_query")
    assert query.user_id == supplier.id
    assert query.buttons[0][0]["data"] == f"sp:answer:{complaint.id}"
    assert (await stored(services, complaint.id)).supplier_query_at is not None
    with pytest.raises(NotAllowed):
        await act(services, nonconforming.record_supplier_answer, other_supplier, complaint.id, "x")
    await act(services, nonconforming.record_supplier_answer, supplier, complaint.id, "We recall.")
    (heard,) = await outbox_rows(services, text_key="complaint.supplier_answered")
    assert heard.user_id == qc.id and heard.params["answer"] == "We recall."


async def test_quality_records_its_contacts_with_the_manufacturer_on_the_timeline(
    services: Services, samples: None
) -> None:
    qc = await make_user(services, "quality")
    customer = await customer_of(services, "C001")
    complaint = await file(services, "C001")
    await act(services, nonconforming.record_technical_support, qc, complaint.id, "Asked S001 QA")
    with pytest.raises(NotAllowed):
        await act(services, nonconforming.record_technical_support, customer, complaint.id, "x")
    async with services.session_factory() as session:
        (event,) = [
            e
            for e in await events_of(session, "complaint", complaint.id)
            if e.action == "technical_support"
        ]
    assert (event.actor_id, event.after) == (qc.id, {"notes": "Asked S001 QA"})


# --- point 6 --------------------------------------------------------------------------------


async def test_a_buyer_without_a_chat_contact_is_a_task_for_after_sales_with_a_deadline(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    after_sales = await make_user(services, "after_sales")
    head = await make_user(services, "after_sales_head")
    for reachable in ("C002", "C003"):
        await customer_of(services, reachable)
    complaint = await file(services, "C001")
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "nonconforming")

    (task_notice,) = await outbox_rows(services, text_key="complaint.buyer_task")
    assert task_notice.user_id == after_sales.id
    assert (task_notice.params["code"], task_notice.params["contact"]) == (
        "C004",
        "趙立新 010-6650-7720",
    )
    async with services.session_factory() as session:
        tasks = await nonconforming.buyer_tasks_of(session, complaint.id)
    (task,) = [t for t in tasks if t.organisation.code == "C004"]
    assert [b["data"] for b in task_notice.buttons[0]] == [
        f"as:told:{task.id}:phone",
        f"as:told:{task.id}:email",
        f"as:told:{task.id}:visit",
    ]
    clock.advance(25 * HOUR)
    await sweep(services)
    alerts = await outbox_rows(services, text_key="deadline.overdue")
    assert {(a.user_id, a.params["subject"]) for a in alerts if a.user_id != qc.id} >= {
        (after_sales.id, f"{complaint.number} C004"),
        (head.id, f"{complaint.number} C004"),
    }
    await act(services, nonconforming.confirm_buyer_told, after_sales, task.id, "visit")
    with pytest.raises(WrongState, match="buyer_already_told"):
        await act(services, nonconforming.confirm_buyer_told, after_sales, task.id, "phone")
    async with services.session_factory() as session:
        done = await session.get(BuyerNoticeTask, task.id)
    assert (done.told_how, done.told_by_id, done.told_at) == ("visit", after_sales.id, clock.now())


# --- point 7 --------------------------------------------------------------------------------


async def test_the_hand_off_to_the_nonconforming_goods_procedure_is_tracked_in_the_ledger(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    warehouse = await make_user(services, "warehouse")
    customer = await customer_of(services, "C001")
    complaint = await file(services, "C001")
    with pytest.raises(NotAllowed):
        await act(services, nonconforming.record_handoff, customer, complaint.id, "destroyed", "x")
    with pytest.raises(WrongState, match="not_nonconforming"):
        await act(services, nonconforming.record_handoff, warehouse, complaint.id, "destroyed", "x")
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "nonconforming")
    handoff_due = await deadline_of(services, complaint.id, "nonconforming_handoff")
    assert handoff_due.due_at == clock.now() + 3 * 24 * HOUR
    await act(
        services,
        nonconforming.record_handoff,
        warehouse,
        complaint.id,
        "returned_to_supplier",
        "12 boxes to S001",
    )
    with pytest.raises(WrongState, match="already_handed_off"):
        await act(services, nonconforming.record_handoff, qc, complaint.id, "destroyed", "again")
    async with services.session_factory() as session:
        (row,) = await queries.ledger_rows(session)
    assert (row.handoff_at, row.handoff_outcome) == (clock.now(), "returned_to_supplier")


# --- point 8 --------------------------------------------------------------------------------


async def test_the_business_head_receives_the_quarterly_report_and_reads_every_complaint(
    services: Services, samples: None, clock: ManualClock
) -> None:
    business = await make_user(services, "business_head")
    complaint = await file(services, "C001")
    async with services.session_factory() as session:
        viewer = await session.get(User, business.id)
        assert (await queries.complaint_for_viewer(session, viewer, complaint.number)).id == (
            complaint.id
        )
    clock.set(dt.datetime(2027, 1, 1, 8, tzinfo=SHANGHAI))
    async with services.unit_of_work() as uow:
        await queries.queue_quarterly_report(uow.session, now=uow.clock.now(), timezone=SHANGHAI)
        await uow.commit()
    (report,) = await outbox_rows(services, text_key="report.quarterly_ready")
    assert report.user_id == business.id
