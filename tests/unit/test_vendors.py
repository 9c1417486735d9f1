"""P3 vendor rules: the rectification ladder's transitions and deadlines, and the measured
parts of the monthly score."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.services import Services
from core.services import load_policies
from procedures.kernel import calendar
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound, WrongState
from procedures.kernel.outbox import as_deadline
from procedures.masterdata import importing, table
from procedures.vendors import assessments, rectifications
from procedures.vendors import scores as vendor_scores
from storage.models import Assessment, Deadline, Rectification, TimelineEvent, Vendor
from tests.conftest import SHANGHAI

from .helpers import act, make_user, outbox_rows
from .test_patrols import draft_for, patrol, vendor_user

DAY = dt.timedelta(days=1)


async def vendor_id(services: Services, code: str) -> int:
    async with services.session_factory() as session:
        return await session.scalar(select(Vendor.id).where(Vendor.code == code))


async def prompt(services: Services) -> int:
    async with services.unit_of_work() as uow:
        prompted = await rectifications.prompt_overdue_rectifications(
            uow.session, now=uow.clock.now()
        )
        await uow.commit()
    return prompted


async def test_the_ladder_climbs_from_a_verbal_request_to_an_approved_evaluation(
    services: Services, samples: None, clock: ManualClock
) -> None:
    manager = await make_user(services, "equipment_manager")
    engineer = await make_user(services, "equipment_engineer")
    office = await make_user(services, "management_office")
    staff = await vendor_user(services, "V002")
    v002 = await vendor_id(services, "V002")

    with pytest.raises(NotAllowed):
        await act(
            services, rectifications.raise_rectification, engineer, v002, "x", clock.now() + DAY
        )
    with pytest.raises(InvalidInput, match="due_in_past"):
        await act(services, rectifications.raise_rectification, manager, v002, "x", clock.now())
    rectification = await act(
        services,
        rectifications.raise_rectification,
        manager,
        v002,
        "Pump room not cleaned after service",
        clock.now() + 3 * DAY,
    )
    rid = rectification.id
    (verbal,) = await outbox_rows(services, text_key="rectification.verbal")
    assert verbal.user_id == staff.id

    assert await prompt(services) == 0  # not due yet
    clock.advance(3 * DAY)
    assert await prompt(services) == 1 and await prompt(services) == 0  # once per rung
    (prompt_written,) = await outbox_rows(services, text_key="rectification.prompt_written")
    assert [b["data"] for b in prompt_written.buttons[0]] == [f"rn:write:{rid}", f"rn:ok:{rid}"]

    with pytest.raises(WrongState):
        await act(services, rectifications.escalate_to_evaluation, manager, rid)  # not written yet
    written = await act(services, rectifications.issue_written_notice, manager, rid)
    assert written.number == "RN-2026-00001" and written.due_at == clock.now() + 7 * DAY
    (notice,) = await outbox_rows(services, text_key="rectification.written")
    assert notice.user_id == staff.id
    assert notice.attachment == {"kind": "rectification_notice", "params": {"id": rid}}
    await act(
        services,
        rectifications.add_follow_up,
        manager,
        rid,
        "Partly cleaned; drain still blocked",
        ["p1"],
    )

    clock.advance(7 * DAY)
    assert await prompt(services) == 1
    (prompt_evaluation,) = await outbox_rows(services, text_key="rectification.prompt_evaluation")
    assert prompt_evaluation.buttons[0][0]["data"] == f"rn:eval:{rid}"
    await act(services, rectifications.escalate_to_evaluation, manager, rid)
    (request,) = await outbox_rows(services, text_key="rectification.evaluation_requested")
    assert request.user_id == engineer.id

    await act(
        services, rectifications.submit_evaluation, engineer, rid, "Repeated hygiene failures", 55
    )
    await act(services, rectifications.review_evaluation, manager, rid, forward=True)
    (to_office,) = await outbox_rows(services, text_key="rectification.approve_form")
    assert to_office.user_id == office.id
    assert to_office.attachment == {"kind": "evaluation_form", "params": {"id": rid}}
    await act(services, rectifications.decide_evaluation, office, rid, approve=False)  # returned
    with pytest.raises(WrongState):
        await act(services, rectifications.decide_evaluation, office, rid, approve=True)
    await act(
        services,
        rectifications.submit_evaluation,
        engineer,
        rid,
        "Repeated hygiene failures; no logbook",
        50,
    )
    await act(services, rectifications.review_evaluation, manager, rid, forward=True)
    await act(services, rectifications.decide_evaluation, office, rid, approve=True)

    async with services.session_factory() as session:
        final = await session.get(Rectification, rid)
        deadlines = list(
            await session.scalars(
                select(Deadline)
                .where(Deadline.subject_type == "rectification", Deadline.subject_id == rid)
                .order_by(Deadline.id)
            )
        )
    assert (final.status, final.rung, final.evaluation_score) == ("approved", "evaluation", 50)
    # one deadline per rung with a deadline: the verbal request's, then the written notice's
    assert [d.due_at - d.opened_at for d in deadlines] == [3 * DAY, 7 * DAY]
    assert all(d.met_at is not None for d in deadlines)


async def test_a_request_confirmed_fixed_in_time_ends_the_ladder(
    services: Services, samples: None, clock: ManualClock
) -> None:
    manager = await make_user(services, "equipment_manager")
    rectification = await act(
        services,
        rectifications.raise_rectification,
        manager,
        await vendor_id(services, "V001"),
        "Logbook missing",
        clock.now() + 3 * DAY,
    )
    clock.advance(DAY)
    await act(services, rectifications.confirm_conforming, manager, rectification.id)
    clock.advance(5 * DAY)
    assert await prompt(services) == 0
    with pytest.raises(WrongState):
        await act(services, rectifications.issue_written_notice, manager, rectification.id)


async def test_the_monthly_score_prefills_what_was_measured(
    services: Services, samples: None, clock: ManualClock
) -> None:
    from procedures.equipment import defects

    technician = await make_user(services, "technician")
    manager = await make_user(services, "equipment_manager")
    staff = await vendor_user(services, "V001")
    clock.set(dt.datetime(2026, 10, 10, 9, tzinfo=SHANGHAI))
    first = (
        await patrol(
            services, technician, await draft_for(services, "EL-01", abnormal="EL-DOOR", photos=1)
        )
    ).defect
    second = (
        await patrol(
            services, technician, await draft_for(services, "EL-02", abnormal="EL-ALARM", photos=1)
        )
    ).defect
    clock.advance(dt.timedelta(minutes=30))
    await act(services, defects.acknowledge_defect, staff, first.id)
    clock.advance(dt.timedelta(minutes=60))
    await act(services, defects.acknowledge_defect, staff, second.id)
    await act(services, defects.record_repair, staff, first.id, "fixed", [])
    await act(services, defects.verify_repair, technician, first.id, accept=False, reason="no")
    await act(
        services,
        rectifications.raise_rectification,
        manager,
        await vendor_id(services, "V001"),
        "Slow response",
        clock.now() + 3 * DAY,
    )

    clock.set(dt.datetime(2026, 11, 1, 9, tzinfo=SHANGHAI))
    async with services.session_factory() as session:
        measured = await vendor_scores.measured_figures(
            session,
            await vendor_id(services, "V001"),
            calendar.previous_month(clock.now(), SHANGHAI),
            SHANGHAI,
        )
    assert measured == {
        "defects": 2,
        "open_defects": 2,
        "median_response_minutes": 60,
        "worst_response_minutes": 90,
        "median_repair_minutes": 90,
        "worst_repair_minutes": 90,
        "rejected_repairs": 1,
        "rectifications": 1,
        "highest_rung": "verbal",
        # against V001's maintenance contracts of the samples (1 h response, 24 h repair,
        # 2 visits a month for each of its two lifts)
        "promised_response_hours": 1,
        "late_responses": 1,
        "promised_repair_hours": 24,
        "late_repairs": 1,
        "visits": 0,
        "promised_visits": 4,
    }

    async with services.unit_of_work() as uow:
        await vendor_scores.request_monthly_scores(uow, timezone=SHANGHAI)
        await uow.commit()
    requests = await outbox_rows(services, text_key="score.request")
    assert len(requests) == 3 and requests[0].params["period"] == "2026-10"
    judged = dict.fromkeys(vendor_scores.SCORE_CRITERIA, 4)
    score = await act(
        services,
        vendor_scores.record_vendor_score,
        manager,
        await vendor_id(services, "V001"),
        "2026-10",
        judged,
        SHANGHAI,
    )
    assert score.total == 80 and score.measured["rejected_repairs"] == 1
    (sheet,) = await outbox_rows(services, text_key="score.sheet")
    assert sheet.attachment == {"kind": "vendor_score", "params": {"id": score.id}}
    with pytest.raises(WrongState, match="already_scored"):
        await act(
            services,
            vendor_scores.record_vendor_score,
            manager,
            await vendor_id(services, "V001"),
            "2026-10",
            judged,
            SHANGHAI,
        )


def test_half_years_and_months_follow_the_local_calendar() -> None:
    assert calendar.half_year_before(dt.datetime(2027, 1, 15, 10, tzinfo=SHANGHAI), SHANGHAI) == (
        2026,
        2,
    )
    assert calendar.half_year_before(dt.datetime(2026, 7, 15, 10, tzinfo=SHANGHAI), SHANGHAI) == (
        2026,
        1,
    )
    assert calendar.half_year_periods(2026, 2) == [
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
        "2026-12",
    ]
    assert (
        calendar.previous_month(dt.datetime(2026, 12, 31, 17, tzinfo=dt.UTC), SHANGHAI) == "2026-12"
    )
    start, end = calendar.month_bounds("2026-12", SHANGHAI)
    assert (start, end) == (
        dt.datetime(2026, 12, 1, tzinfo=SHANGHAI),
        dt.datetime(2027, 1, 1, tzinfo=SHANGHAI),
    )


async def test_the_half_year_assessment_gathers_findings_is_signed_and_goes_to_the_client(
    services: Services, samples: None, clock: ManualClock
) -> None:
    import io

    from openpyxl import load_workbook

    from bot.documents import document_context
    from reports.documents import render

    manager = await make_user(services, "equipment_manager", name="Ma Manager")
    office = await make_user(services, "management_office")
    client = await make_user(services, "client_authority")
    engineer = await make_user(services, "equipment_engineer", name="Eng Engineer")
    v001, v002 = await vendor_id(services, "V001"), await vendor_id(services, "V002")
    for month, value in ((7, 5), (8, 4), (12, 3)):
        clock.set(dt.datetime(2026, month, 2, 9, tzinfo=SHANGHAI))
        await act(
            services,
            vendor_scores.record_vendor_score,
            manager,
            v001,
            f"2026-{month:02d}",
            dict.fromkeys(vendor_scores.SCORE_CRITERIA, value),
            SHANGHAI,
        )
    await act(
        services,
        vendor_scores.record_vendor_score,
        manager,
        v002,
        "2026-12",
        dict.fromkeys(vendor_scores.SCORE_CRITERIA, 2),
        SHANGHAI,
    )

    # the twice-yearly job opens the assessment of the half that ended and reminds the manager
    clock.set(dt.datetime(2027, 1, 15, 10, tzinfo=SHANGHAI))
    for _ in range(2):
        async with services.unit_of_work() as uow:
            await assessments.open_half_year_assessment(
                uow.session, now=uow.clock.now(), timezone=SHANGHAI
            )
            await uow.commit()
    (organise,) = await outbox_rows(services, text_key="assessment.organise")
    assert organise.user_id == manager.id
    assert organise.params == {
        "year": 2026,
        "half": 2,
        "due_at": as_deadline(clock.now() + 30 * DAY),
    }
    (asked,) = await outbox_rows(services, text_key="assessment.opened")
    assert asked.user_id == engineer.id and len(asked.buttons) == 3  # a button per vendor
    assert await outbox_rows(services, text_key="assessment.report") == []
    async with services.session_factory() as session:
        assessment = await session.scalar(select(Assessment))
    view = await act(services, assessments.open_assessment, manager, 2026, 2, SHANGHAI)
    assert not view.created and view.assessment.id == assessment.id

    with pytest.raises(WrongState, match="no_findings"):
        await act(services, assessments.sign_assessment, manager, assessment.id)
    with pytest.raises(NotAllowed):
        await act(services, assessments.add_finding, office, assessment.id, v001, "x")
    await act(
        services,
        assessments.add_finding,
        engineer,
        assessment.id,
        v001,
        "Machine rooms tidy; two door faults took over a day to repair.",
    )
    with pytest.raises(NotAllowed):
        await act(services, assessments.sign_assessment, engineer, assessment.id)
    signed = await act(services, assessments.sign_assessment, manager, assessment.id)
    assert signed.authorities == 1 and signed.findings == 1
    with pytest.raises(WrongState, match="already_signed"):
        await act(services, assessments.sign_assessment, manager, assessment.id)
    with pytest.raises(WrongState, match="already_signed"):
        await act(services, assessments.add_finding, engineer, assessment.id, v001, "late")
    rows = await outbox_rows(services, text_key="assessment.report")
    assert sorted(r.user_id for r in rows) == sorted([client.id, office.id, manager.id])
    assert rows[0].params["manager"] == "Ma Manager"

    async with services.session_factory() as session:
        document = await render(session, rows[0].attachment, document_context(services, "en"))
    assert document.file_name == "vendor-assessment-2026-H2.xlsx"
    sheet = load_workbook(io.BytesIO(document.content)).active
    table = list(sheet.iter_rows(min_row=2, values_only=True))
    assert table[0][:8] == (
        "Vendor",
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
        "2026-12",
        "Mean score",
    )
    # an empty cell for a month without a sheet
    assert table[1][:8] == ("清源水務工程公司", None, None, None, None, None, 40, 40.0)
    assert table[2][:8] == ("迅達電梯維保有限公司", 100, 80, None, None, None, 60, 80.0)
    assert table[-1][0] == "Signed at" and table[-2][:2] == (
        "Signed by (equipment manager)",
        "Ma Manager",
    )
    findings = load_workbook(io.BytesIO(document.content))["Findings"]
    assert list(findings.iter_rows(min_row=2, values_only=True)) == [
        (
            "迅達電梯維保有限公司",
            "Machine rooms tidy; two door faults took over a day to repair.",
            "Eng Engineer",
            "2027-01-15 10:00",
        )
    ]


async def test_the_manager_escalates_a_vendor_matter_to_the_clients_competent_department(
    services: Services, samples: None
) -> None:
    manager = await make_user(services, "equipment_manager", name="Ma Manager")
    with pytest.raises(NotFound, match="unknown_target"):
        await act(services, assessments.escalate, manager, "V999", "x")
    nobody = await act(services, assessments.escalate, manager, "v001", "Lifts stop daily.")
    assert nobody.authorities == 0 and nobody.subject == "V001"
    client = await make_user(services, "client_authority")
    with pytest.raises(NotAllowed):
        await act(services, assessments.escalate, client, "V001", "x")
    rectification = await act(
        services,
        rectifications.raise_rectification,
        manager,
        await vendor_id(services, "V002"),
        "Pump room left dirty",
        dt.datetime(2026, 12, 10, tzinfo=SHANGHAI),
    )
    async with services.unit_of_work() as uow:  # as if the written notice had been issued
        stored = await uow.session.get(Rectification, rectification.id)
        stored.number = "RN-2026-00007"
        await uow.commit()
    for _ in range(2):  # two escalations about the same notice: two messages
        sent = await act(
            services, assessments.escalate, manager, "rn-2026-00007", "Still dirty after notice."
        )
        assert sent.authorities == 1 and sent.vendor.code == "V002"
    notices = await outbox_rows(services, text_key="escalation.notice")
    assert [n.user_id for n in notices] == [client.id, client.id]
    assert notices[0].params == {
        "vendor": "清源水務工程公司",
        "subject": "RN-2026-00007",
        "text": "Still dirty after notice.",
        "manager": "Ma Manager",
    }
    async with services.session_factory() as session:
        escalated = list(
            await session.scalars(
                select(TimelineEvent.subject_type).where(TimelineEvent.action == "escalated")
            )
        )
    assert escalated == ["vendor", "rectification", "rectification"]


async def test_rectification_messages_are_keyed_by_step_and_round_never_by_time(
    services: Services, samples: None, clock: ManualClock
) -> None:
    """A step that can happen more than once (the form sent back and submitted again) gets one
    key per round, so a rerun of the same round queues nothing new."""
    manager = await make_user(services, "equipment_manager")
    engineer = await make_user(services, "equipment_engineer")
    office = await make_user(services, "management_office")
    v002 = await vendor_id(services, "V002")
    rid = (
        await act(
            services, rectifications.raise_rectification, manager, v002, "x", clock.now() + DAY
        )
    ).id
    await act(services, rectifications.issue_written_notice, manager, rid)
    await act(services, rectifications.escalate_to_evaluation, manager, rid)
    for _ in range(2):
        clock.advance(DAY)
        await act(services, rectifications.submit_evaluation, engineer, rid, "findings", 60)
        clock.advance(DAY)
        await act(services, rectifications.review_evaluation, manager, rid, forward=False)
    await act(services, rectifications.submit_evaluation, engineer, rid, "findings", 60)
    await act(services, rectifications.review_evaluation, manager, rid, forward=True)
    clock.advance(DAY)
    await act(services, rectifications.decide_evaluation, office, rid, approve=False)
    await act(services, rectifications.submit_evaluation, engineer, rid, "findings", 60)
    await act(services, rectifications.review_evaluation, manager, rid, forward=True)

    def keys(text_key: str, rows: list) -> list[str]:
        return [r.dedupe_key for r in rows if r.text_key == text_key]

    rows = await outbox_rows(services)
    prefix = f"rectification:{rid}"
    assert keys("rectification.evaluation_requested", rows) == [f"{prefix}:evaluate:u{engineer.id}"]
    assert keys("rectification.review_form", rows) == [
        f"{prefix}:review:{n}:u{manager.id}" for n in (1, 2, 3, 4)
    ]
    assert keys("rectification.approve_form", rows) == [
        f"{prefix}:approve:{n}:u{office.id}" for n in (1, 2)
    ]
    assert keys("rectification.form_returned", rows) == [
        f"{prefix}:evaluation_sent_back:1:u{engineer.id}",
        f"{prefix}:evaluation_sent_back:2:u{engineer.id}",
        f"{prefix}:evaluation_returned:1:u{engineer.id}",
    ]


async def test_a_rectification_raised_from_a_defects_notice_is_linked_to_the_defect(
    services: Services, samples: None, clock: ManualClock
) -> None:
    from procedures.equipment.actions import RectifyDefect
    from procedures.kernel.errors import NotFound
    from procedures.kernel.timeline import events_of

    technician = await make_user(services, "technician")
    manager = await make_user(services, "equipment_manager")
    engineer = await make_user(services, "equipment_engineer")
    draft = await draft_for(services, "EL-01", abnormal="EL-DOOR", photos=1)
    defect = (await patrol(services, technician, draft)).defect
    (notice,) = await outbox_rows(services, text_key="defect.reported_manager")
    assert notice.user_id == manager.id
    assert notice.buttons == [
        [{"text_key": "defect.button.rectify", "params": {}, "data": f"df:rectify:{defect.id}"}]
    ]
    pressed = RectifyDefect.unpack(notice.buttons[0][0]["data"])

    async with services.session_factory() as session:
        for user, refusal in ((engineer, NotAllowed), (manager, None)):
            check = rectifications.defect_for_rectification(session, user, pressed.defect_id)
            if refusal:
                with pytest.raises(refusal):
                    await check
            else:
                assert (await check).vendor_id == defect.vendor_id
        with pytest.raises(NotFound):  # a forged button
            await rectifications.defect_for_rectification(session, manager, defect.id + 999)

    due = clock.now() + 3 * DAY
    raise_ = rectifications.raise_rectification
    with pytest.raises(NotAllowed):  # the role is checked again when the request is recorded
        await act(services, raise_, engineer, defect.vendor_id, "x", due, defect_id=defect.id)
    with pytest.raises(InvalidInput, match="defect_of_other_vendor"):
        await act(services, raise_, manager, await vendor_id(services, "V002"), "x", due, defect.id)
    rectification = await act(
        services,
        raise_,
        manager,
        defect.vendor_id,
        "Door operator faults keep coming back",
        due,
        defect_id=pressed.defect_id,
    )
    async with services.session_factory() as session:
        stored = await session.get(Rectification, rectification.id)
        assert stored.defect_id == defect.id
        (raised,) = await events_of(session, "rectification", stored.id)
        assert (raised.after["defect_id"], raised.after["defect"]) == (defect.id, defect.number)
        on_defect = await events_of(session, "defect", defect.id)
        assert [e.action for e in on_defect] == ["reported", "rectification_requested"]
        assert on_defect[-1].after["rectification_id"] == stored.id


async def test_contracts_are_imported_and_the_score_compares_the_month_with_their_promises(
    services: Services, samples: None, clock: ManualClock
) -> None:
    from procedures.equipment import defects, maintenance
    from storage.models import Contract

    reversed_period = (
        "number,kind,vendor_code,asset_code,starts_on,ends_on,response_hours\n"
        "MC-9,maintenance,V002,,2026-12-31,2026-01-01,3\n"
        "MC-10,lease,V002,,2026-01-01,2026-12-31,3\n"
    )
    rows = table.read_table("contracts.csv", reversed_period.encode())
    async with services.unit_of_work() as uow:
        with pytest.raises(table.ImportRejected) as rejected:
            await importing.import_rows(uow, "contracts", rows, actor_id=None)
    assert [(e.line, e.text_key) for e in rejected.value.errors] == [
        (2, "import.ends_before_start"),
        (3, "import.not_one_of"),
    ]
    async with services.session_factory() as session:
        samples = list(await session.scalars(select(Contract).order_by(Contract.number)))
    assert [c.number for c in samples][:2] == ["MC-2026-001", "MC-2026-002"]
    assert (samples[0].response_hours, samples[0].repair_hours, samples[0].visits_per_month) == (
        1,
        24,
        2,
    )

    technician = await make_user(services, "technician")
    staff = await vendor_user(services, "V003")
    other = await vendor_user(services, "V001")
    clock.set(dt.datetime(2026, 10, 10, 9, tzinfo=SHANGHAI))
    # HV-01: the maintenance contract promises a 2 h response and a 48 h repair
    defect = (
        await patrol(
            services,
            technician,
            await draft_for(services, "HV-01", readings={"HV-SUPPLY": "15"}, photos=1),
        )
    ).defect
    clock.advance(dt.timedelta(hours=3))
    await act(services, defects.acknowledge_defect, staff, defect.id)
    clock.advance(dt.timedelta(hours=20))
    await act(services, defects.record_repair, staff, defect.id, "Refrigerant topped up", [])

    with pytest.raises(NotAllowed, match="not_your_asset"):
        await act(services, maintenance.record_visit, other, "HV-01", "", SHANGHAI)
    with pytest.raises(NotAllowed, match="role_required"):
        await act(services, maintenance.record_visit, technician, "HV-01", "", SHANGHAI)
    visit = await act(
        services, maintenance.record_visit, staff, "hv-01", " Monthly service ", SHANGHAI
    )
    # declared, not yet confirmed: it does not count until the technician confirms it
    assert (visit.confirmed, visit.promised, visit.visit.note) == (0, 1, "Monthly service")
    await act(services, maintenance.verify_visit, technician, visit.visit.id, confirm=True)

    async with services.session_factory() as session:
        measured = await vendor_scores.measured_figures(
            session, await vendor_id(services, "V003"), "2026-10", SHANGHAI
        )
    assert {
        k: measured[k] for k in measured if "promised" in k or "late" in k or k == "visits"
    } == {
        "promised_response_hours": 2,
        "late_responses": 1,
        "promised_repair_hours": 48,
        "late_repairs": 0,
        "visits": 1,
        "promised_visits": 1,
    }
    async with services.session_factory() as session:
        november = await vendor_scores.measured_figures(
            session, await vendor_id(services, "V003"), "2026-11", SHANGHAI
        )
    assert (november["visits"], november["promised_visits"]) == (0, 1)


async def test_a_monthly_score_not_given_by_the_fifth_is_chased_with_the_managers_head(
    services: Services, samples: None, clock: ManualClock
) -> None:
    from .test_deadlines import sweep

    manager = await make_user(services, "equipment_manager")
    office = await make_user(services, "management_office")

    async def run(job, env=None, **kwargs) -> None:
        configured = replace(services, policies=load_policies(env or {}))
        async with configured.unit_of_work() as uow:
            await job(uow, **kwargs)
            await uow.commit()

    clock.set(dt.datetime(2026, 11, 1, 9, tzinfo=SHANGHAI))
    await run(vendor_scores.request_monthly_scores, timezone=SHANGHAI)
    await run(vendor_scores.request_monthly_scores, timezone=SHANGHAI)  # a repeated run
    async with services.session_factory() as session:
        chased = list(await session.scalars(select(Deadline).where(Deadline.kind == "score")))
    assert sorted(d.subject_label for d in chased) == [
        "V001 2026-10",
        "V002 2026-10",
        "V003 2026-10",
    ]
    due = dt.datetime(2026, 11, 6, tzinfo=SHANGHAI)  # the end of the 5th
    assert {d.due_at for d in chased} == {due}

    judged = dict.fromkeys(vendor_scores.SCORE_CRITERIA, 4)
    v001 = await vendor_id(services, "V001")
    await act(
        services, vendor_scores.record_vendor_score, manager, v001, "2026-10", judged, SHANGHAI
    )
    clock.set(dt.datetime(2026, 11, 5, 9, tzinfo=SHANGHAI))  # past 75 % of the window
    await sweep(services)
    reminders = await outbox_rows(services, text_key="deadline.reminder")
    assert sorted(r.params["subject"] for r in reminders) == ["V002 2026-10", "V003 2026-10"]
    assert {r.user_id for r in reminders} == {manager.id}
    assert reminders[0].params["kind"] == {"$text": "deadline.kind.score"}

    clock.set(due + dt.timedelta(minutes=1))
    await sweep(services)
    alerts = await outbox_rows(services, text_key="deadline.overdue")
    assert sorted((a.params["subject"], a.user_id) for a in alerts) == sorted(
        (label, user.id) for label in ("V002 2026-10", "V003 2026-10") for user in (manager, office)
    )
    await act(
        services,
        vendor_scores.record_vendor_score,
        manager,
        await vendor_id(services, "V002"),
        "2026-10",
        judged,
        SHANGHAI,
    )
    async with services.session_factory() as session:
        met = {
            d.subject_label: d.met_late
            for d in await session.scalars(select(Deadline).where(Deadline.kind == "score"))
        }
    assert met == {"V001 2026-10": False, "V002 2026-10": True, "V003 2026-10": None}

    # next month's request opens next month's deadlines; October's stays open for V003
    clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=SHANGHAI))
    await run(vendor_scores.request_monthly_scores, {"SCORE_DUE_DAY": "3"}, timezone=SHANGHAI)
    async with services.session_factory() as session:
        december = await session.scalar(
            select(Deadline).where(Deadline.subject_label == "V003 2026-11")
        )
    assert december.due_at == dt.datetime(2026, 12, 4, tzinfo=SHANGHAI)
