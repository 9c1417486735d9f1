"""Every form of the procedures printed from a sample record: one A4 page under the company
and the form's name, the record's number, nothing under 8 pt, the names of who signed."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from bot.documents import document_context
from bot.services import Services
from procedures.complaints import handling
from procedures.consumer_complaints import handling as consumer_handling
from procedures.forms import forms_for_viewer
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import NotFound
from procedures.returns import slips
from procedures.vendors import rectifications
from procedures.vendors import scores as vendor_scores
from reports.documents import render
from tests.conftest import SHANGHAI
from tests.printing import read_pdf

from .helpers import act, customer_of, file, make_user, verify
from .test_consumer_complaints import file_as_consumer
from .test_return_slips import booked_in
from .test_returns import Staff
from .test_vendors import DAY, vendor_id

DOCS = Path(__file__).parents[2] / "docs" / "forms"


async def print_form(services: Services, form: str, record_id: int, language: str = "zh-Hant"):
    async with services.session_factory() as session:
        document = await render(
            session,
            {"kind": "form", "params": {"form": form, "id": record_id}},
            document_context(services, language),
        )
    if os.environ.get("WRITE_FORM_PICTURES") and language == "zh-Hant":
        # the README's pictures: `WRITE_FORM_PICTURES=1 pytest tests/unit/test_printed_forms.py`
        pdf = DOCS / f"{form}.pdf"
        DOCS.mkdir(parents=True, exist_ok=True)
        pdf.write_bytes(document.content)
        await asyncio.to_thread(
            subprocess.run,
            ["pdftoppm", "-png", "-r", "70", "-singlefile", str(pdf), str(DOCS / form)],
            check=True,
        )
        pdf.unlink()
    return document, read_pdf(document.content)


def check(printed, name: str, number: str, *names: str) -> None:
    assert printed.pages == 1
    assert printed.smallest >= 8, [s for s in printed.sizes if s[0] < 8][:3]
    assert "售後服務部" in printed.text and f"《{name}》" in printed.text
    assert number in printed.text
    for person in names:
        assert person in printed.text
    assert "第1頁，共1頁" in printed.text


async def test_the_complaint_record_prints_its_handling_and_who_handled_and_reviewed_it(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality", name="Qiu Quality")
    head = await make_user(services, "quality_head", name="Hu Head")
    complaint = await file(services, "C001", quantity=12, description='=HYPERLINK("x","漏液")')
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "conforming")
    await act(services, handling.record_disposition, head, complaint.id, "恢復銷售")

    document, printed = await print_form(services, "complaint_record", complaint.id)

    assert document.file_name == f"顧客質量投訴及處理記錄-{complaint.number}.pdf"
    check(printed, "顧客質量投訴及處理記錄", complaint.number, "Qiu Quality", "Hu Head")
    assert '=HYPERLINK("x","漏液")' in printed.text  # what the buyer typed, as typed
    assert "恢復銷售" in printed.text and "核實合格" in printed.text
    english, printed_en = await print_form(services, "complaint_record", complaint.id, "en")
    assert english.file_name.startswith("Customer quality complaint and handling record-QC-")
    assert printed_en.smallest >= 8
    # the heading and the number line take the reader's marks
    assert f"編號：{complaint.number}" in printed.text
    assert f"Number: {complaint.number}" in printed_en.text
    assert "《" not in printed_en.text and "《顧客質量投訴及處理記錄》" in printed.text


async def test_the_returns_four_forms_print_units_prices_amounts_and_signatures(
    services: Services, samples: None, clock: ManualClock
) -> None:
    staff = await Staff(services).make()
    filed = await booked_in(services, staff)
    statistician = await make_user(services, "marketing_statistician", name="Tong Tally")
    clerk = await make_user(services, "marketing_clerk", name="Wen Clerk")
    await act(services, slips.tally_return, statistician, filed.id, timezone=SHANGHAI)
    await act(services, slips.send_slip, clerk, filed.id, "chat")

    for form, name, people in (
        ("return_details", "調退貨明細表", []),
        ("transport_order", "退貨運輸單", ["貨運北站"]),
        ("booking_in", "退貨入庫單", []),
        ("return_slip", "退貨單", ["Tong Tally", "Wen Clerk"]),
    ):
        document, printed = await print_form(services, form, filed.id)
        assert document.file_name == f"{name}-{filed.number}.pdf"
        check(printed, name, filed.number, *people)
        assert "盒" in printed.text or "支" in printed.text or "件" in printed.text
    # the slip: units, unit price and amounts in 元, the total
    assert "單價（元）" in printed.text and "金額（元）" in printed.text and "90.00" in printed.text

    # who may have which: the staff every form issued, the customer the detail sheet and slip
    customer = await customer_of(services, "C003")
    for_other = await customer_of(services, "C001")
    async with services.session_factory() as session:
        for_staff = await forms_for_viewer(session, staff.head, filed.number.lower())
        for_customer = await forms_for_viewer(session, customer, filed.number)
        with pytest.raises(NotFound):
            await forms_for_viewer(session, for_other, filed.number)
    assert [f.form for f in for_staff] == [
        "return_details",
        "transport_order",
        "booking_in",
        "return_slip",
    ]
    assert [f.form for f in for_customer] == ["return_details", "return_slip"]


async def test_the_consumers_complaint_record_prints_the_answer_and_who_gave_it(
    services: Services, samples: None
) -> None:
    consumer = await make_user(services, "consumer", name="Xu Consumer")
    after_sales = await make_user(services, "after_sales", name="An After-sales")
    complaint = await file_as_consumer(services, consumer)
    await act(
        services,
        consumer_handling.answer_not_standing,
        after_sales,
        complaint.id,
        cause="usage",
        answer="護腕只可手洗。",
    )
    document, printed = await print_form(services, "consumer_record", complaint.id)
    assert document.file_name == f"顧客投訴記錄表-{complaint.number}.pdf"
    check(printed, "顧客投訴記錄表", complaint.number, "Xu Consumer", "An After-sales")
    assert "護腕只可手洗。" in printed.text
    async with services.session_factory() as session:
        assert [f.form for f in await forms_for_viewer(session, consumer, complaint.number)] == [
            "consumer_record"
        ]


async def test_the_vendors_three_forms_print_the_notice_evaluation_and_score(
    services: Services, samples: None, clock: ManualClock
) -> None:
    manager = await make_user(services, "equipment_manager", name="Ma Manager")
    engineer = await make_user(services, "equipment_engineer", name="Geng Engineer")
    office = await make_user(services, "management_office", name="Guan Office")
    v002 = await vendor_id(services, "V002")
    rectification = await act(
        services,
        rectifications.raise_rectification,
        manager,
        v002,
        "泵房維保後未清潔",
        clock.now() + 3 * DAY,
    )
    clock.advance(3 * DAY)
    written = await act(services, rectifications.issue_written_notice, manager, rectification.id)
    clock.advance(7 * DAY)
    await act(services, rectifications.escalate_to_evaluation, manager, rectification.id)
    await act(
        services, rectifications.submit_evaluation, engineer, rectification.id, "多次衛生不合格", 55
    )
    await act(services, rectifications.review_evaluation, manager, rectification.id, forward=True)
    await act(services, rectifications.decide_evaluation, office, rectification.id, approve=True)

    _, notice = await print_form(services, "rectification_notice", rectification.id)
    check(notice, "不合格項整改單", written.number, "Ma Manager", "泵房維保後未清潔")
    _, evaluation = await print_form(services, "evaluation", rectification.id)
    check(
        evaluation,
        "分承包方服務質量檢查評價表",
        written.number,
        "Geng Engineer",
        "Ma Manager",
        "Guan Office",
    )
    # the seed: the engineer issues it, the equipment manager reviews it (審核), the management
    # office approves it (審批)
    assert "設備專業工程師 Geng Engineer" in evaluation.text
    assert "審核（設備經理） Ma Manager" in evaluation.text
    assert "審批（管理處） Guan Office" in evaluation.text

    judged = dict.fromkeys(vendor_scores.SCORE_CRITERIA, 4)
    score = await act(
        services,
        vendor_scores.record_vendor_score,
        manager,
        await vendor_id(services, "V001"),
        "2026-11",
        judged,
        SHANGHAI,
    )
    document, sheet = await print_form(services, "vendor_score", score.id)
    assert document.file_name == "合格維保單位考核評分表-V001-2026-11.pdf"
    check(sheet, "合格維保單位考核評分表", "V001-2026-11", "Ma Manager", "合格")
