"""/patrol and the asset stickers' deep links: a technician's daily check-in, item by item; the
periodic inspection, recorded through the same checklist dialogue from its notice's button; the
vendor's and technician's buttons on a defect; /defect; the vendor's /visit and the system's
staff confirming or disputing it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict
from typing import Any, Literal

from telegram import Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from procedures.equipment import defects, inspections, maintenance, patrols, queries
from procedures.equipment.actions import (
    AcceptRepair,
    AcknowledgeDefect,
    AnswerCheck,
    BeginRepair,
    ChooseAsset,
    ChooseSeverity,
    ConfirmVisit,
    DisputeVisit,
    PatrolPhotosDone,
    RecordInspection,
    RejectRepair,
    RepairPhotosDone,
    SkipPatrolNote,
)
from procedures.equipment.patrols import PatrolDraft
from procedures.equipment.policy import EquipmentPolicy
from procedures.equipment.queries import ChecklistItem, EquipmentAsset
from procedures.kernel.calendar import local_day
from procedures.kernel.outbox import as_deadline, as_text, button
from procedures.kernel.photos import photos_of
from procedures.kernel.timeline import events_of
from procedures.masterdata import labels
from procedures.people import users

from .. import label_photos
from ..access import for_command
from ..context import BotContext, edit_query_message, fit_message
from ..conversations import dialogue
from ..dialogue import states
from ..dialogue.keyboards import drop_pressed_button
from ..dialogue.steps import StaffDialogue, cancelling, option_rows
from ..dialogue.updates import MissingInUpdate, message_of, pressed, query_of, text_of
from .evidence import send_record_photos

ASSET, ITEM, NOTE, PHOTOS, SEVERITY = range(5)
REPAIR_NOTE, REPAIR_PHOTOS, REJECT_REASON = range(10, 13)
PATROL_KEY = "patrol"
REPAIR_KEY = "defect_repair"
REJECT_KEY = "defect_reject"
# the severities as ChooseSeverity names them, in the order of defects.Severity
SEVERITY_CHOICES: tuple[Literal["urgent", "normal", "low"], ...] = ("urgent", "normal", "low")
PATROL, REPAIR, REJECT = (StaffDialogue(key) for key in (PATROL_KEY, REPAIR_KEY, REJECT_KEY))
STICKER_LINK = filters.Regex(r"^/start asset_")


# --- choosing the asset ----------------------------------------------------------------------


@for_command("patrol")
async def start_patrol(update: Update, context: BotContext) -> int | None:
    """Shows today's unpatrolled assets as buttons; a typed code picks one too."""
    async with context.session() as session:
        day = local_day(context.now(), context.services.settings.timezone)
        todo = await queries.assets_to_patrol(session, day)
    await PATROL.begin(update, context)
    if not todo:
        await context.reply(update, "patrol.all_done")
        return ConversationHandler.END
    buttons = option_rows(
        "patrol.asset",
        ((ChooseAsset(asset_id=a.id), {"code": a.code, "name": a.name}) for a in todo[:40]),
    )
    await PATROL.ask(update, context, "patrol.ask_asset", buttons=buttons, count=len(todo))
    return ASSET


@for_command("patrol")
async def start_from_sticker(update: Update, context: BotContext) -> int | None:
    """A scanned QR sticker (`/start asset_CODE`) opens the patrol of that asset."""
    assert context.args
    async with context.session() as session:
        asset = await queries.find_asset(session, context.args[0])
    return await _begin_asset(update, context, asset)


async def choose_asset(update: Update, context: BotContext) -> int:
    """Starts the checklist of the asset pressed."""
    await query_of(update).answer()
    async with context.session() as session:
        asset = await queries.asset(session, pressed(update, ChooseAsset).asset_id)
    if asset is None:
        await context.reply(update, "error.stale_button")
        return ConversationHandler.END
    return await _begin_asset(update, context, asset)


async def type_asset(update: Update, context: BotContext) -> int:
    """Starts the checklist of the asset whose label code was typed."""
    async with context.session() as session:
        asset = await queries.find_asset(session, text_of(update))
    return await _begin_asset(update, context, asset)


async def scan_sticker(update: Update, context: BotContext) -> int:
    """Starts the checklist of the asset whose QR sticker is in the photo, as its deep link
    would; without one, says so and stays on the choice."""
    barcodes = await label_photos.read_barcodes(update, context)
    if barcodes is None:
        return ASSET
    code = labels.sticker_asset_code(barcodes)
    if code is None:
        await context.reply(update, "label.no_sticker")
        return ASSET
    async with context.session() as session:
        asset = await queries.find_asset(session, code)
    return await _begin_asset(update, context, asset)


async def begin_inspection(update: Update, context: BotContext) -> int:
    """From an inspection's notice: starts the checklist of its asset, for the inspection."""
    async with context.session() as session:
        inspection = await inspections.inspection_for_recording(
            session,
            await context.actor(session),
            pressed(update, RecordInspection).inspection_id,
        )
    await query_of(update).answer()
    return await _begin_asset(update, context, inspection.asset, inspection_id=inspection.id)


async def _begin_asset(
    update: Update, context: BotContext, asset: EquipmentAsset, inspection_id: int | None = None
) -> int:
    async with context.session() as session:
        items = await queries.checklist_for(session, asset.system)
    if inspection_id is None:  # the asset is chosen: the choice's buttons go
        await PATROL.retire(update, context)
    state = await PATROL.begin(
        update,
        context,
        draft=PatrolDraft(asset_id=asset.id).to_json(),
        items=[item.id for item in items],
        inspection_id=inspection_id,
    )
    await context.reply(
        update,
        "patrol.started" if inspection_id is None else "inspection.started",
        code=asset.code,
        name=asset.name,
        location=asset.location or "-",
        count=len(items),
    )
    return await _ask_next_item(update, context, state, PATROL.offer)


# --- the checklist ---------------------------------------------------------------------------


async def _ask_next_item(
    update: Update,
    context: BotContext,
    state: MutableMapping[str, Any],
    ask: Callable[..., Awaitable[Message]] = PATROL.ask,
) -> int:
    """Asks the next checklist item (or the note after the last); `ask` is PATROL.offer when
    the previous step's keyboard is already gone."""
    answered = len(state["draft"]["answers"])
    if answered == len(state["items"]):
        skip = [[button("common.button.skip", SkipPatrolNote())]]
        await ask(update, context, "patrol.ask_note", buttons=skip)
        return NOTE
    async with context.session() as session:
        item = await queries.checklist_item(session, state["items"][answered])
    assert item is not None
    position = {"position": answered + 1, "total": len(state["items"]), "label": item.label}
    if item.kind == "reading":
        await ask(
            update,
            context,
            "patrol.ask_reading",
            unit=item.unit or "",
            low=_number(item.low),
            high=_number(item.high),
            **position,
        )
    else:
        # the item's index is in the data, so a double tap cannot answer the next item too
        await ask(
            update,
            context,
            "patrol.ask_check",
            **position,
            buttons=[
                [
                    button("patrol.ok", AnswerCheck(answer="ok", index=answered)),
                    button("patrol.abnormal", AnswerCheck(answer="bad", index=answered)),
                ]
            ],
        )
    return ITEM


def _number(value: Any) -> str:
    return "-" if value is None else f"{value.normalize():f}"


async def _current_item(context: BotContext, state: MutableMapping[str, Any]) -> ChecklistItem:
    async with context.session() as session:
        item = await queries.checklist_item(session, state["items"][len(state["draft"]["answers"])])
    assert item is not None
    return item


@PATROL.step_answered_later
async def answer_check(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Stores OK or abnormal for a check item; asks the next item."""
    query = query_of(update)
    action = pressed(update, AnswerCheck)
    if action.index != len(state["draft"]["answers"]):
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return ITEM
    await query.answer()
    item = await _current_item(context, state)
    ok = action.answer == "ok"
    state["draft"]["answers"].append({"item_id": item.id, "ok": ok, "reading": None})
    await PATROL.answered(
        update,
        context,
        context.text(
            "patrol.answered",
            label=item.label,
            answer=as_text("patrol.ok" if ok else "patrol.abnormal"),
        ),
    )
    return await _ask_next_item(update, context, state, PATROL.offer)


@PATROL.step
async def answer_reading(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores a reading (outside its normal range it counts as abnormal); asks the next item."""
    item = await _current_item(context, state)
    if item.kind != "reading":
        await context.reply(update, "common.use_buttons")
        return ITEM
    value, in_range = patrols.check_reading(item, text_of(update))
    state["draft"]["answers"].append({"item_id": item.id, "ok": in_range, "reading": str(value)})
    if not in_range:
        await context.reply(
            update,
            "patrol.out_of_range",
            value=_number(value),
            unit=item.unit or "",
            low=_number(item.low),
            high=_number(item.high),
        )
    return await _ask_next_item(update, context, state)


# --- note, photos, location ------------------------------------------------------------------


@PATROL.step
async def enter_note(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Stores the note; asks for photos."""
    state["draft"]["note"] = patrols.check_note(text_of(update))
    return await _ask_photos(update, context, state)


@PATROL.step
async def skip_note(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """No note; asks for photos."""
    return await _ask_photos(update, context, state)


async def _ask_photos(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    if PatrolDraft.from_json(state["draft"]).abnormal:  # a photo is required: no Skip
        await PATROL.ask_photos(
            update, context, "patrol.ask_photos_required", PatrolPhotosDone(), skip=False
        )
    else:
        await PATROL.ask_photos(update, context, "patrol.ask_photos", PatrolPhotosDone())
    return PHOTOS


@PATROL.step
async def add_photo(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Keeps a photo; an album is acknowledged once."""
    photos = state["draft"]["photo_file_ids"]
    await PATROL.keep_photo(update, context, state, photos, PatrolPhotosDone())
    return PHOTOS


@PATROL.step
async def add_location(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Stores a shared location with the check-in."""
    location = message_of(update).location
    if location is None:  # registered for locations only
        raise MissingInUpdate("location")
    state["draft"]["latitude"], state["draft"]["longitude"] = location.latitude, location.longitude
    inspecting = state.get("inspection_id") is not None
    await context.reply(
        update, "inspection.location_received" if inspecting else "patrol.location_received"
    )
    return PHOTOS


@PATROL.step
async def finish(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Records a normal patrol or inspection; for an abnormal one, asks how urgent the repair
    is first."""
    draft = PatrolDraft.from_json(state["draft"])
    if not draft.abnormal:
        return await _record(update, context, state, draft)
    if not draft.photo_file_ids:
        await context.reply(update, "patrol.photo_required")
        return PHOTOS
    hours = dict(context.services.policies.of(EquipmentPolicy).repair_hours)
    day = local_day(context.now(), context.services.settings.timezone)
    async with context.session() as session:
        asset = await queries.asset(session, draft.asset_id)
        contract = await defects.contract_repair_terms(session, asset, day) if asset else None
    key, params = "patrol.ask_severity", {}
    if contract is not None:
        # the vendor's contract sets the repair window whatever the urgency: the buttons say so
        key, params = "patrol.ask_severity_contract", asdict(contract)
        hours = dict.fromkeys(SEVERITY_CHOICES, contract.hours)
    await PATROL.ask(
        update,
        context,
        key,
        **params,
        buttons=[
            [
                button(f"defect.severity_button.{s}", ChooseSeverity(severity=s), hours=hours[s])
                for s in SEVERITY_CHOICES
            ]
        ],
    )
    return SEVERITY


@PATROL.step
async def choose_severity(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the severity; records the patrol (or inspection) and opens the defect with its
    repair deadline."""
    draft = PatrolDraft.from_json(state["draft"])
    draft.severity = pressed(update, ChooseSeverity).severity
    return await _record(update, context, state, draft)


async def _record(
    update: Update, context: BotContext, state: MutableMapping[str, Any], draft: PatrolDraft
) -> int:
    if (inspection_id := state.get("inspection_id")) is not None:
        return await _finish_inspection(update, context, inspection_id, draft)
    async with context.unit_of_work() as uow:
        outcome = await patrols.record_patrol(
            uow,
            await context.actor(uow.session),
            draft,
            context.services.settings.timezone,
        )
    await PATROL.end(update, context)
    code, remaining = outcome.asset.code, outcome.remaining
    if outcome.defect is not None:
        await context.reply(
            update,
            "patrol.recorded_abnormal",
            code=code,
            number=outcome.defect.number,
            remaining=remaining,
            due_at=as_deadline(outcome.repair_due_at),
        )
    else:
        await context.reply(update, "patrol.recorded_ok", code=code, remaining=remaining)
    return ConversationHandler.END


async def _finish_inspection(
    update: Update, context: BotContext, inspection_id: int, draft: PatrolDraft
) -> int:
    async with context.unit_of_work() as uow:
        outcome = await inspections.record_inspection(
            uow,
            await context.actor(uow.session),
            inspection_id,
            draft,
            context.services.settings.timezone,
        )
    await PATROL.end(update, context)
    code, period = outcome.asset.code, outcome.inspection.period
    if outcome.defect is not None:
        await context.reply(
            update,
            "inspection.recorded_abnormal",
            code=code,
            period=period,
            number=outcome.defect.number,
        )
    else:
        await context.reply(update, "inspection.recorded_ok", code=code, period=period)
    return ConversationHandler.END


cancel = cancelling(PATROL, REPAIR, REJECT)


# --- defects: vendor and technician ----------------------------------------------------------


async def acknowledge(update: Update, context: BotContext) -> None:
    """The vendor has seen the defect: the Acknowledge button goes, the others stay."""
    query = query_of(update)
    async with context.unit_of_work() as uow:
        defect = await defects.acknowledge_defect(
            uow, await context.actor(uow.session), pressed(update, AcknowledgeDefect).defect_id
        )
    await query.answer(
        context.text("defect.acknowledged_reply", number=defect.number), show_alert=True
    )
    await drop_pressed_button(update, context)


async def begin_repair(update: Update, context: BotContext) -> int:
    """Asks the vendor what was repaired."""
    async with context.session() as session:
        user = await context.actor(session)
        defect = await defects.defect_for_repair(
            session, user, pressed(update, BeginRepair).defect_id
        )
    await query_of(update).answer()
    await REPAIR.begin(update, context, defect_id=defect.id, photos=[])
    await REPAIR.ask(update, context, "defect.ask_repair_note", number=defect.number)
    return REPAIR_NOTE


@REPAIR.step
async def enter_repair_note(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the repair note; asks for photos."""
    state["note"] = defects.check_repair_note(text_of(update))
    await REPAIR.ask_photos(update, context, "defect.ask_repair_photos", RepairPhotosDone())
    return REPAIR_PHOTOS


@REPAIR.step
async def add_repair_photo(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Keeps a photo of the repair."""
    await REPAIR.keep_photo(update, context, state, state["photos"], RepairPhotosDone())
    return REPAIR_PHOTOS


@REPAIR.step_answered_later
async def finish_repair(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Records the repair; the technician is asked to verify it."""
    async with context.unit_of_work() as uow:
        defect = await defects.record_repair(
            uow,
            await context.actor(uow.session),
            state["defect_id"],
            state.get("note", ""),
            state["photos"],
        )
    await query_of(update).answer()
    await REPAIR.end(update, context)
    await context.reply(update, "defect.repaired_reply", number=defect.number)
    return ConversationHandler.END


async def accept_repair(update: Update, context: BotContext) -> None:
    """The technician accepts the repair: the defect is closed."""
    async with context.unit_of_work() as uow:
        defect = await defects.verify_repair(
            uow,
            await context.actor(uow.session),
            pressed(update, AcceptRepair).defect_id,
            accept=True,
        )
    await query_of(update).answer()
    await edit_query_message(update, context.text("defect.accepted_reply", number=defect.number))


async def begin_reject(update: Update, context: BotContext) -> int:
    """Asks the technician why the repair is rejected."""
    async with context.session() as session:
        user = await context.actor(session)
        defect = await defects.defect_for_verification(
            session, user, pressed(update, RejectRepair).defect_id
        )
    await query_of(update).answer()
    await REJECT.begin(update, context, defect_id=defect.id)
    await context.reply(update, "defect.ask_reject_reason", number=defect.number)
    return REJECT_REASON


@REJECT.step
async def enter_reject_reason(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Reopens the defect with the reason; the vendor is told."""
    async with context.unit_of_work() as uow:
        defect = await defects.verify_repair(
            uow,
            await context.actor(uow.session),
            state["defect_id"],
            accept=False,
            reason=text_of(update),
        )
    await REJECT.end(update, context)
    await context.reply(update, "defect.rejected_reply", number=defect.number)
    return ConversationHandler.END


@for_command("defect")
async def show_defect(update: Update, context: BotContext) -> None:
    """/defect DF-…: the defect, its repair and its timeline."""
    if not context.args:
        await context.reply(update, "defect.usage")
        return
    async with context.session() as session:
        viewer = await context.actor(session)
        defect = await defects.defect_for_viewer(session, viewer, context.args[0])
        events = await events_of(session, "defect", defect.id)
        names = await users.names_of(session, (e.actor_id for e in events))
        kept = await photos_of(session, "defect", defect.id)
        found = await queries.defect_findings(session, defect)
    t = context.text
    lines = [
        t("defect.header", number=defect.number, status=as_text(f"defect.status.{defect.status}")),
        t(
            "defect.details",
            asset=f"{defect.asset.code} {defect.asset.name}",
            location=defect.asset.location or "-",
            description=found,
            reported_at=defect.reported_at,
            rejections=defect.rejections,
        ),
    ]
    if defect.repair_note:
        lines.append(t("defect.repair", at=defect.repaired_at, note=defect.repair_note))
    lines += ["", t("timeline.header")]
    for event in events:
        details = {k: v for k, v in (event.after or {}).items() if isinstance(v, str | int)}
        if event.action == "reported":
            details["description"] = found  # what was found, in the reader's words
        action = t(f"timeline.defect.{event.action}", **details)
        actor = names.get(event.actor_id or 0) or t("timeline.system")
        lines.append(t("timeline.event", at=event.at, actor=actor, action=action))
    await message_of(update).reply_text(fit_message("\n".join(lines)))
    await send_record_photos(update, context, defect.number, kept)


@for_command("visit")
async def record_visit(update: Update, context: BotContext) -> None:
    """/visit ASSET [note]: the vendor's staff record a maintenance visit."""
    if not context.args:
        await context.reply(update, "visit.usage")
        return
    async with context.unit_of_work() as uow:
        outcome = await maintenance.record_visit(
            uow,
            await context.actor(uow.session),
            context.args[0],
            " ".join(context.args[1:]),
            context.services.settings.timezone,
        )
    code = outcome.asset.code
    if outcome.promised is None:
        await context.reply(
            update, "visit.recorded_uncontracted", asset=code, count=outcome.confirmed
        )
    else:
        await context.reply(
            update,
            "visit.recorded",
            asset=code,
            count=outcome.confirmed,
            promised=outcome.promised,
        )


async def confirm_visit(update: Update, context: BotContext) -> None:
    """The system's staff confirm a declared visit: it counts against the contract."""
    await _verify_visit(update, context, pressed(update, ConfirmVisit).visit_id, confirm=True)


async def dispute_visit(update: Update, context: BotContext) -> None:
    """The system's staff dispute a declared visit: it does not count."""
    await _verify_visit(update, context, pressed(update, DisputeVisit).visit_id, confirm=False)


async def _verify_visit(
    update: Update, context: BotContext, visit_id: int, *, confirm: bool
) -> None:
    async with context.unit_of_work() as uow:
        visit, asset = await maintenance.verify_visit(
            uow, await context.actor(uow.session), visit_id, confirm=confirm
        )
    await query_of(update).answer()
    # the notice loses its buttons: the visit is verified once
    await edit_query_message(
        update,
        context.text(
            "visit.confirmed_reply" if confirm else "visit.disputed_reply",
            asset=f"{asset.code} {asset.name}",
            visited_at=visit.visited_at,
        ),
    )


def patrol_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "patrol",
        entry_points=[
            CommandHandler("patrol", start_patrol),
            CommandHandler("start", start_from_sticker, filters=STICKER_LINK),
            CallbackQueryHandler(begin_inspection, pattern=RecordInspection.pattern()),
        ],
        states={
            ASSET: [
                CallbackQueryHandler(choose_asset, pattern=ChooseAsset.pattern()),
                MessageHandler(states.TEXT, type_asset),
                MessageHandler(states.IMAGE, scan_sticker),
            ],
            ITEM: [
                CallbackQueryHandler(answer_check, pattern=AnswerCheck.pattern()),
                *states.typing(answer_reading),
            ],
            NOTE: [
                *states.typing(enter_note),
                CallbackQueryHandler(skip_note, pattern=SkipPatrolNote.pattern()),
            ],
            PHOTOS: [
                MessageHandler(filters.LOCATION, add_location),
                *states.photos(add_photo, (finish, PatrolPhotosDone)),
            ],
            SEVERITY: states.pressing((choose_severity, ChooseSeverity)),
        },
        cancel=cancel,
    )


def repair_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "defect_repair",
        entry_points=[
            CallbackQueryHandler(begin_repair, pattern=BeginRepair.pattern()),
            CallbackQueryHandler(begin_reject, pattern=RejectRepair.pattern()),
        ],
        states={
            REPAIR_NOTE: states.typing(enter_repair_note),
            REPAIR_PHOTOS: states.photos(add_repair_photo, (finish_repair, RepairPhotosDone)),
            REJECT_REASON: states.typing(enter_reject_reason),
        },
        cancel=cancel,
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(patrol_conversation())
    application.add_handler(repair_conversation())
    application.add_handler(CallbackQueryHandler(acknowledge, pattern=AcknowledgeDefect.pattern()))
    application.add_handler(CallbackQueryHandler(accept_repair, pattern=AcceptRepair.pattern()))
    application.add_handler(CommandHandler("defect", show_defect))
    application.add_handler(CommandHandler("visit", record_visit))
    application.add_handler(CallbackQueryHandler(confirm_visit, pattern=ConfirmVisit.pattern()))
    application.add_handler(CallbackQueryHandler(dispute_visit, pattern=DisputeVisit.pattern()))
