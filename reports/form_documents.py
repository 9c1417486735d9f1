"""Each of the procedures' forms, filled in from its record (one PDF a record, `reports.forms`).

The form's name is the procedure's (《退貨單》, 《顧客質量投訴及處理記錄》, …); every label comes
from the reader's catalogue, every name and time from the record: who signed which step in the
chat, and when. Registered as the document kind "form" (params: "form", "id"), which /form and
the inspector's export ask for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.queries import LedgerRow, ledger_row
from procedures.consumer_complaints.queries import consumer_complaint
from procedures.forms import FORM_KIND, FORM_TITLES
from procedures.people.users import names_of
from procedures.returns.queries import ReturnRequest, return_request
from procedures.returns.rules import SIGNATURE_ORDER
from procedures.vendors import queries as vendor_queries

from .forms import Form, Signature, Table, form_pdf
from .registry import DocumentContext, RenderedDocument, UnknownDocument, document
from .vendors import MEASURED, passes

Builder = Callable[[AsyncSession, int, DocumentContext], Awaitable[Form]]
BUILDERS: dict[str, Builder] = {}


def builds(form: str) -> Callable[[Builder], Builder]:
    def register(function: Builder) -> Builder:
        BUILDERS[form] = function
        return function

    return register


def form_name(form: str, context: DocumentContext) -> str:
    return context.label(FORM_TITLES[form])


@document(FORM_KIND)
async def form_document(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """The form `params["form"]` of the record `params["id"]`, named in the reader's language
    (退貨單-RT-2026-00001.pdf)."""
    builder = BUILDERS.get(str(params.get("form")))
    if builder is None:
        raise UnknownDocument(f"no form {params.get('form')!r}")
    form = await builder(session, int(params["id"]), context)
    name = context.file_name("file_name.form", "pdf", name=form.name, number=form.number)
    return RenderedDocument(name, form_pdf(form))


# --- shared ----------------------------------------------------------------------------------


def _time(moment: dt.datetime | None, context: DocumentContext) -> str:
    return moment.astimezone(context.timezone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _base(context: DocumentContext, form: str, number: str, **parts: Any) -> Form:
    """A form's title, number and footer, with the record's parts."""
    day = context.now.astimezone(context.timezone).date().isoformat()
    t = context.label
    return Form(
        company=context.company,
        name=form_name(form, context),
        heading=t("form.heading", name=form_name(form, context)),
        number=number,
        number_line=t("report.labelled", label=t("form.number"), value=number),
        footer=t("form.printed", date=day, page="{page}", pages="{pages}"),
        table_title=t("form.lines"),
        timeline_title=t("form.timeline"),
        timeline_headings=(t("form.time"), t("form.who"), t("form.what")),
        signatures_title=t("form.signatures"),
        signature_headings=(t("form.signed_for"), t("form.name_signed"), t("form.signed_at")),
        **parts,
    )


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:,.2f}"


def _signature(role: str, names: Mapping[int, str], who: int | None, at: str) -> Signature:
    return Signature(role, names.get(who, "") if who else "", at if who else "")


# --- P1: 顧客質量投訴及處理記錄 --------------------------------------------------------------


def _ledger_value(row: LedgerRow, column: str, context: DocumentContext) -> str:
    value = getattr(row, column)
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return _time(value, context)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return context.label("report.yes" if value else "report.no")
    if column in ("status", "result"):
        return context.label(f"complaint.status.{value}")
    if column == "channel":
        return context.label(f"complaint.channel.{value}")
    if column == "locality":
        return context.label(f"report.locality.{value}")
    if column == "handoff_outcome":
        return context.label(f"complaint.handoff_outcome.{value}")
    return str(value)


COMPLAINT_FIELDS = (
    "received_at",
    "organisation",
    "locality",
    "buyer_contact",
    "complainant",
    "channel",
    "product",
    "specification",
    "manufacturer",
    "registration_number",
    "lot",
    "expiry_date",
    "quantity",
    "description",
    "status",
    "result",
    "on_site",
    "disposition",
    "corrective_action",
    "return_number",
)
# the steps of the handling, in the order they happen, and who did each (a ledger column)
COMPLAINT_STEPS = (
    ("received_at", ""),
    ("verified_at", "handled_by"),
    ("disposition_at", ""),
    ("supplier_answer_at", ""),
    ("handoff_at", ""),
    ("closed_at", ""),
)


@builds("complaint_record")
async def complaint_record(session: AsyncSession, record_id: int, context: DocumentContext) -> Form:
    row = await ledger_row(session, record_id, timezone=context.timezone)
    if row is None:
        raise UnknownDocument(f"complaint {record_id} does not exist")
    t = context.label
    fields = [(t(f"report.column.{c}"), _ledger_value(row, c, context)) for c in COMPLAINT_FIELDS]
    timeline = [
        (
            _time(getattr(row, step), context),
            getattr(row, who) if who else "",
            t(f"report.column.{step}"),
        )
        for step, who in COMPLAINT_STEPS
        if getattr(row, step) is not None
    ]
    signatures = [
        Signature(t("report.column.handled_by"), row.handled_by, _time(row.verified_at, context)),
        Signature(t("report.column.reviewed_by"), row.reviewed_by),
    ]
    return _base(
        context,
        "complaint_record",
        row.number,
        fields=fields,
        timeline=timeline,
        signatures=signatures,
    )


# --- P2: the return's forms --------------------------------------------------------------------


def _lines(request: ReturnRequest, context: DocumentContext, *, prices: bool) -> Table:
    """The goods with their quantities in the product's unit, and (with `prices`) the unit
    price and amount in 元, with the totals."""
    t = context.label
    headings = [t("form.product"), t("form.lot"), t("form.quantity"), t("form.unit")]
    widths: list[float] = [38, 16, 10, 8]
    if prices:
        headings += [t("form.unit_price"), t("form.amount")]
        widths += [13, 15]
    rows = []
    for line in request.lines:
        row = [
            f"{line.product.code} {line.product.name}",
            line.batch.lot_number if line.batch else "",
            str(line.quantity),
            line.product.unit or "",
        ]
        if prices:
            unit_price = (line.amount / line.quantity).quantize(Decimal("0.01"))
            row += [_money(unit_price), _money(line.amount)]
        rows.append(row)
    quantity = sum(line.quantity for line in request.lines)
    units = {line.product.unit or "" for line in request.lines}
    totals = [t("form.total"), "", str(quantity), units.pop() if len(units) == 1 else ""]
    if prices:
        totals += ["", _money(sum((line.amount for line in request.lines), Decimal("0.00")))]
    return Table(headings, rows, widths, totals, right=frozenset({2, 4, 5}))


def _inspection(request: ReturnRequest, context: DocumentContext) -> str:
    """QC's result, with its notes where it gave any."""
    if request.inspection_result is None:
        return ""
    result = context.label(f"return.result.{request.inspection_result}")
    if not request.inspection_notes:
        return result
    return context.label("report.labelled", label=result, value=request.inspection_notes)


def _customer(request: ReturnRequest) -> str:
    return f"{request.organisation.code} {request.organisation.name}"


async def _return(session: AsyncSession, record_id: int) -> ReturnRequest:
    request = await return_request(session, record_id)
    if request is None:
        raise UnknownDocument(f"return {record_id} does not exist")
    return request


async def _return_names(session: AsyncSession, request: ReturnRequest) -> dict[int, str]:
    people = [s.signed_by_id for s in request.signatures] + [
        getattr(request, f"{step}_by_id") for step, _ in RETURN_STEPS
    ]
    return await names_of(session, [p for p in people if p])


def _review_signatures(
    request: ReturnRequest, names: Mapping[int, str], context: DocumentContext
) -> list[Signature]:
    signed = {signature.slot: signature for signature in request.signatures}
    return [
        _signature(
            context.label(f"return.slot.{slot}"),
            names,
            signed[slot].signed_by_id if slot in signed else None,
            _time(signed[slot].signed_at, context) if slot in signed else "",
        )
        for slot in SIGNATURE_ORDER
    ]


# the return's steps as its detail sheet's timeline: (the record's column, its name)
RETURN_STEPS = (
    ("receipt_confirmed", "form.step.receipt_confirmed"),
    ("finance_reviewed", "form.step.finance_reviewed"),
    ("order_issued", "form.step.order_issued"),
    ("picked_up", "form.step.picked_up"),
    ("delivered", "form.step.delivered"),
    ("inspected", "form.step.inspected"),
    ("booked_in", "form.step.booked_in"),
    ("settled", "form.step.settled"),
    ("tallied", "form.step.tallied"),
    ("slip_sent", "form.step.slip_sent"),
)


@builds("return_details")
async def return_details(session: AsyncSession, record_id: int, context: DocumentContext) -> Form:
    """調退貨明細表: what the customer asked to return, and how it was handled so far."""
    request = await _return(session, record_id)
    names = await _return_names(session, request)
    t = context.label
    timeline = [
        (
            _time(getattr(request, f"{step}_at"), context),
            names.get(getattr(request, f"{step}_by_id") or 0, ""),
            t(key),
        )
        for step, key in RETURN_STEPS
        if getattr(request, f"{step}_at") is not None
    ]
    return _base(
        context,
        "return_details",
        request.number,
        fields=[
            (t("document.return_slip.customer"), _customer(request)),
            (t("document.return_slip.reason"), t(f"return.reason.{request.reason}")),
            (t("form.received_at"), _time(request.received_at or request.created_at, context)),
        ],
        table=_lines(request, context, prices=True),
        timeline=timeline,
        signatures=_review_signatures(request, names, context),
    )


@builds("transport_order")
async def transport_order(session: AsyncSession, record_id: int, context: DocumentContext) -> Form:
    """退貨運輸單: the station, the customer, the goods in their units; who issued it, and the
    driver who collected against it."""
    request = await _return(session, record_id)
    names = await _return_names(session, request)
    t = context.label
    return _base(
        context,
        "transport_order",
        request.number,
        fields=[
            (t("document.transport_order.station"), request.transport_station or ""),
            (t("document.transport_order.customer"), _customer(request)),
        ],
        table=_lines(request, context, prices=False),
        signatures=[
            _signature(
                t("document.transport_order.issued_by"),
                names,
                request.order_issued_by_id,
                _time(request.order_issued_at, context),
            ),
            _signature(
                t("document.transport_order.driver"),
                names,
                request.picked_up_by_id,
                _time(request.picked_up_at, context),
            ),
        ],
    )


@builds("booking_in")
async def booking_in(session: AsyncSession, record_id: int, context: DocumentContext) -> Form:
    """退貨入庫單: the goods with units, unit prices and amounts, the three review signatures
    the goods were booked in against, and the warehouse head who booked them in."""
    request = await _return(session, record_id)
    names = await _return_names(session, request)
    t = context.label
    return _base(
        context,
        "booking_in",
        request.number,
        fields=[
            (t("document.booking_in.customer"), _customer(request)),
            (t("document.booking_in.reason"), t(f"return.reason.{request.reason}")),
            (t("form.step.inspected"), _inspection(request, context)),
        ],
        table=_lines(request, context, prices=True),
        signatures=[
            *_review_signatures(request, names, context),
            _signature(
                t("document.booking_in.booked_in_by"),
                names,
                request.booked_in_by_id,
                _time(request.booked_in_at, context),
            ),
        ],
    )


@builds("return_slip")
async def return_slip(session: AsyncSession, record_id: int, context: DocumentContext) -> Form:
    """退貨單: the customer's copy: the goods with units, unit prices and amounts, what was given
    back (exchange or credit), the clerk who checked it and sent it."""
    request = await _return(session, record_id)
    names = await _return_names(session, request)
    t = context.label
    fields = [
        (t("document.return_slip.customer"), _customer(request)),
        (t("document.return_slip.reason"), t(f"return.reason.{request.reason}")),
        (t("document.return_slip.booked_in"), _time(request.booked_in_at, context)),
    ]
    replaced = [
        f"{line.product.name} {line.replacement_batch.lot_number} × "
        f"{line.replacement_quantity}{line.product.unit or ''}"
        for line in request.lines
        if line.replacement_batch is not None
    ]
    if replaced:
        fields.append(
            (t("document.return_slip.replacement"), t("report.clause_gap").join(replaced))
        )
    if request.credit_amount is not None:
        fields.append((t("form.credit"), _money(request.credit_amount)))
    return _base(
        context,
        "return_slip",
        request.number,
        fields=fields,
        table=_lines(request, context, prices=True),
        signatures=[
            _signature(
                t("form.step.tallied"),
                names,
                request.tallied_by_id,
                _time(request.tallied_at, context),
            ),
            _signature(
                t("form.step.slip_sent"),
                names,
                request.slip_sent_by_id,
                _time(request.slip_sent_at, context),
            ),
        ],
    )


# --- P2: 顧客投訴記錄表 (a consumer's complaint) ------------------------------------------------


@builds("consumer_record")
async def consumer_record(session: AsyncSession, record_id: int, context: DocumentContext) -> Form:
    found = await consumer_complaint(session, record_id)
    if found is None:
        raise UnknownDocument(f"consumer complaint {record_id} does not exist")
    names = await names_of(
        session, [p for p in (found.judged_by_id, found.decided_by_id, found.answered_by_id) if p]
    )
    t = context.label
    verdict = found.final_verdict
    cause = t(f"consumer.cause.{found.cause}") if found.cause else ""
    remedy = t(f"consumer.remedy.{found.remedy}") if found.remedy else ""
    fields = [
        (t("report.monthly.column.received_at"), _time(found.received_at, context)),
        (t("report.monthly.column.channel"), t(f"consumer.channel.{found.channel}")),
        (t("report.monthly.column.consumer"), f"{found.consumer_name} {found.contact}"),
        (t("report.monthly.column.product"), found.product_label),
        (t("form.lot"), found.batch.lot_number if found.batch else ""),
        (t("report.monthly.column.description"), found.description),
        (t("report.monthly.column.cause"), cause),
        (t("report.monthly.column.verdict"), t(f"consumer.verdict.{verdict}") if verdict else ""),
        (t("form.judgement"), found.judgement_note or ""),
        (t("form.decision"), found.decision or ""),
        (t("report.monthly.column.remedy"), remedy),
        (t("form.answer"), found.answer or ""),
        (t("report.monthly.column.return_number"), found.return_number or ""),
    ]
    signatures = [
        _signature(t("form.judged_by"), names, found.judged_by_id, _time(found.judged_at, context)),
        _signature(
            t("form.decided_by"), names, found.decided_by_id, _time(found.decided_at, context)
        ),
        _signature(
            t("form.answered_by"), names, found.answered_by_id, _time(found.answered_at, context)
        ),
    ]
    return _base(context, "consumer_record", found.number, fields=fields, signatures=signatures)


# --- P3: the vendor's forms ------------------------------------------------------------------


async def _rectification(session: AsyncSession, record_id: int) -> vendor_queries.Rectification:
    found = await vendor_queries.rectification(session, record_id)
    if found is None:
        raise UnknownDocument(f"rectification {record_id} does not exist")
    return found


@builds("rectification_notice")
async def rectification_notice(
    session: AsyncSession, record_id: int, context: DocumentContext
) -> Form:
    """不合格項整改單: the written notice the vendor receives, its deadline and who issued it."""
    found = await _rectification(session, record_id)
    names = await names_of(session, [found.raised_by_id])
    t = context.label
    return _base(
        context,
        "rectification_notice",
        found.number or str(found.id),
        fields=[
            (t("document.notice.vendor"), found.vendor.name),
            (t("document.notice.issue"), found.description),
            (t("document.notice.raised_at"), _time(found.raised_at, context)),
            (t("document.notice.written_at"), _time(found.written_at, context)),
            (t("document.notice.due_at"), _time(found.due_at, context)),
            (t("document.notice.instruction"), t("document.notice.instruction_text")),
        ],
        signatures=[
            _signature(
                t("form.issued_by"), names, found.raised_by_id, _time(found.written_at, context)
            ),
            Signature(t("form.vendor_received")),
        ],
    )


@builds("evaluation")
async def evaluation(session: AsyncSession, record_id: int, context: DocumentContext) -> Form:
    """分承包方服務質量檢查評價表: issued by the engineer, reviewed by the equipment manager
    (審核), approved by the management office (審批)."""
    found = await _rectification(session, record_id)
    people = [found.evaluated_by_id, found.reviewed_by_id, found.decided_by_id]
    names = await names_of(session, [p for p in people if p])
    t = context.label
    score = "" if found.evaluation_score is None else str(found.evaluation_score)
    return _base(
        context,
        "evaluation",
        found.number or str(found.id),
        fields=[
            (t("document.notice.vendor"), found.vendor.name),
            (t("document.notice.issue"), found.description),
            (t("document.evaluation.findings"), found.evaluation or ""),
            (t("document.evaluation.score"), score),
        ],
        signatures=[
            _signature(
                t("document.evaluation.engineer"),
                names,
                found.evaluated_by_id,
                _time(found.evaluated_at, context),
            ),
            _signature(
                t("document.evaluation.reviewed_by"),
                names,
                found.reviewed_by_id,
                _time(found.reviewed_at, context),
            ),
            _signature(
                t("document.evaluation.approved_by"),
                names,
                found.decided_by_id,
                _time(found.decided_at, context),
            ),
        ],
    )


def _score_remarks(score: vendor_queries.VendorScore, context: DocumentContext) -> str:
    """Late responses and repairs, and the highest rung of rectification the month reached."""
    remarks = [
        context.label(
            "document.score.remark_late",
            responses=score.measured.get("late_responses") or 0,
            repairs=score.measured.get("late_repairs") or 0,
        )
    ]
    if rung := score.measured.get("highest_rung"):
        remarks.append(context.label(f"rectification.rung.{rung}"))
    return context.label("report.clause_gap").join(remarks)


@builds("vendor_score")
async def vendor_score(session: AsyncSession, record_id: int, context: DocumentContext) -> Form:
    """合格維保單位考核評分表: what was measured, each judged criterion with its weight and
    standard, the total against the pass mark, the conclusion, who scored it."""
    score = await vendor_queries.vendor_score(session, record_id)
    if score is None:
        raise UnknownDocument(f"vendor score {record_id} does not exist")
    names = await names_of(session, [score.scored_by_id])
    t = context.label
    measured = [
        (
            t(f"document.measured.{name}"),
            "-"
            if (value := score.measured.get(name)) is None
            else (t(f"rectification.rung.{value}") if name == "highest_rung" else str(value)),
        )
        for name in MEASURED
    ]
    weight = 100 // max(len(score.judged), 1)
    table = Table(
        [
            t("document.score.criterion"),
            t("document.score.judged"),
            t("document.score.weight"),
            t("document.score.standard"),
        ],
        [
            [t(f"score.criterion.{name}"), str(value), f"{weight}%", t(f"document.standard.{name}")]
            for name, value in score.judged.items()
        ],
        (22, 12, 8, 58),
        right=frozenset({1, 2}),
    )
    verdict = (
        "document.score.pass" if passes(score.total, context.pass_mark) else "document.score.fail"
    )
    fields = [
        (t("document.score.vendor"), score.vendor.name),
        (t("document.score.period"), score.period),
        *measured,
        (t("document.score.total"), str(score.total)),
        (t("document.score.pass_mark"), str(context.pass_mark)),
        (t("document.score.conclusion"), t(verdict)),
        (t("document.score.remarks"), _score_remarks(score, context)),
    ]
    return _base(
        context,
        "vendor_score",
        f"{score.vendor.code}-{score.period}",
        fields=fields,
        table=table,
        signatures=[
            _signature(
                t("document.score.scored_by"),
                names,
                score.scored_by_id,
                _time(score.scored_at, context),
            )
        ],
    )
