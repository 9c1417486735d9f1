"""/patrol and the asset stickers' deep links: a technician's daily check-in, item by item; the
periodic inspection, recorded through the same checklist dialogue from its notice's button; the
vendor's and technician's buttons on a defect; /defect; the vendor's /visit."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from procedures.equipment import defects, inspections, maintenance, patrols
from procedures.equipment.actions import (
    AcceptRepair,
    AcknowledgeDefect,
    AnswerCheck,
    BeginRepair,
    ChooseAsset,
    ChooseSeverity,
    PatrolPhotosDone,
    RecordInspection,
    RejectRepair,
    RepairPhotosDone,
    SkipPatrolNote,
)
from procedures.equipment.patrols import PatrolDraft
from procedures.equipment.policy import EquipmentPolicy
from procedures.kernel.calendar import local_day
from procedures.kernel.outbox import as_text, button
from procedures.kernel.photos import photos_of
from procedures.kernel.timeline import events_of
from procedures.masterdata import labels
from procedures.people import users
from storage.models import ChecklistItem, EquipmentAsset

from .. import label_photos
from ..access import for_command
from ..context import BotContext, edit_query_message, fit_message
from ..conversations import EVIDENCE, cancel_dropping, dialogue, keep_photo, use_buttons
from .evidence import send_record_photos

ASSET, ITEM, NOTE, PHOTOS, SEVERITY = range(5)
REPAIR_NOTE, REPAIR_PHOTOS, REJECT_REASON = range(10, 13)
PATROL_KEY = "patrol"
REPAIR_KEY = "defect_repair"
REJECT_KEY = "defect_reject"
TEXT = filters.TEXT & ~filters.COMMAND
STICKER_LINK = filters.Regex(r"^/start asset_")
IMAGE = filters.PHOTO | filters.Document.IMAGE


# --- choosing the asset ----------------------------------------------------------------------


@for_command("patrol")
async def start_patrol(update: Update, context: BotContext) -> int | None:
    """Shows today's unpatrolled assets as buttons; a typed code picks one too."""
    async with context.session() as session:
        day = local_day(context.now(), context.services.settings.timezone)
        todo = await patrols.assets_to_patrol(session, day)
    context.user_data[PATROL_KEY] = None
    if not todo:
        await context.reply(update, "patrol.all_done")
        return ConversationHandler.END
    buttons = [
        [button("patrol.asset", ChooseAsset(asset_id=a.id), code=a.code, name=a.name)]
        for a in todo[:40]
    ]
    await context.reply(update, "patrol.ask_asset", buttons=buttons, count=len(todo))
    return ASSET


@for_command("patrol")
async def start_from_sticker(update: Update, context: BotContext) -> int | None:
    """A scanned QR sticker (`/start asset_CODE`) opens the patrol of that asset."""
    assert context.args
    async with context.session() as session:
        asset = await patrols.find_asset(session, context.args[0])
    return await _begin_asset(update, context, asset)


async def choose_asset(update: Update, context: BotContext) -> int:
    """Starts the checklist of the asset pressed."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    async with context.session() as session:
        asset = await session.get(EquipmentAsset, ChooseAsset.unpack(query.data).asset_id)
    if asset is None:
        await context.reply(update, "error.stale_button")
        return ConversationHandler.END
    return await _begin_asset(update, context, asset)


async def type_asset(update: Update, context: BotContext) -> int:
    """Starts the checklist of the asset whose label code was typed."""
    async with context.session() as session:
        asset = await patrols.find_asset(session, update.effective_message.text)  # type: ignore[union-attr]
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
        asset = await patrols.find_asset(session, code)
    return await _begin_asset(update, context, asset)


async def begin_inspection(update: Update, context: BotContext) -> int:
    """From an inspection's notice: starts the checklist of its asset, for the inspection."""
    query = update.callback_query
    assert query is not None
    async with context.session() as session:
        inspection = await inspections.inspection_for_recording(
            session, await context.actor(session), RecordInspection.unpack(query.data).inspection_id
        )
    await query.answer()
    return await _begin_asset(update, context, inspection.asset, inspection_id=inspection.id)


async def _begin_asset(
    update: Update, context: BotContext, asset: EquipmentAsset, inspection_id: int | None = None
) -> int:
    async with context.session() as session:
        items = await patrols.checklist_for(session, asset.system)
    context.user_data[PATROL_KEY] = {
        "draft": PatrolDraft(asset_id=asset.id).to_json(),
        "items": [item.id for item in items],
        "media_group": None,
        "inspection_id": inspection_id,
    }
    await context.reply(
        update,
        "patrol.started" if inspection_id is None else "inspection.started",
        code=asset.code,
        name=asset.name,
        location=asset.location or "-",
        count=len(items),
    )
    return await _ask_next_item(update, context)


# --- the checklist ---------------------------------------------------------------------------


def _state(context: BotContext) -> dict[str, Any]:
    state = context.user_data.get(PATROL_KEY)
    assert state, "no patrol in progress"
    return state


async def _ask_next_item(update: Update, context: BotContext) -> int:
    state = _state(context)
    answered = len(state["draft"]["answers"])
    if answered == len(state["items"]):
        await context.reply(
            update, "patrol.ask_note", buttons=[[button("common.button.skip", SkipPatrolNote())]]
        )
        return NOTE
    async with context.session() as session:
        item = await session.get(ChecklistItem, state["items"][answered])
    assert item is not None
    position = {"position": answered + 1, "total": len(state["items"]), "label": item.label}
    if item.kind == "reading":
        await context.reply(
            update,
            "patrol.ask_reading",
            unit=item.unit or "",
            low=_number(item.low),
            high=_number(item.high),
            **position,
        )
    else:
        # the item's index is in the data, so a double tap cannot answer the next item too
        await context.reply(
            update,
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


async def _current_item(context: BotContext) -> ChecklistItem:
    state = _state(context)
    async with context.session() as session:
        item = await session.get(ChecklistItem, state["items"][len(state["draft"]["answers"])])
    assert item is not None
    return item


async def answer_check(update: Update, context: BotContext) -> int:
    """Stores OK or abnormal for a check item; asks the next item."""
    query = update.callback_query
    assert query is not None
    action = AnswerCheck.unpack(query.data)
    if action.index != len(_state(context)["draft"]["answers"]):
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return ITEM
    await query.answer()
    item = await _current_item(context)
    ok = action.answer == "ok"
    _state(context)["draft"]["answers"].append({"item_id": item.id, "ok": ok, "reading": None})
    await edit_query_message(
        update,
        context.text(
            "patrol.answered",
            label=item.label,
            answer=as_text("patrol.ok" if ok else "patrol.abnormal"),
        ),
    )
    return await _ask_next_item(update, context)


async def answer_reading(update: Update, context: BotContext) -> int:
    """Stores a reading (outside its normal range it counts as abnormal); asks the next item."""
    item = await _current_item(context)
    if item.kind != "reading":
        await context.reply(update, "common.use_buttons")
        return ITEM
    value, in_range = patrols.check_reading(item, update.effective_message.text)  # type: ignore[union-attr]
    _state(context)["draft"]["answers"].append(
        {"item_id": item.id, "ok": in_range, "reading": str(value)}
    )
    if not in_range:
        await context.reply(
            update,
            "patrol.out_of_range",
            value=_number(value),
            unit=item.unit or "",
            low=_number(item.low),
            high=_number(item.high),
        )
    return await _ask_next_item(update, context)


# --- note, photos, location ------------------------------------------------------------------


async def enter_note(update: Update, context: BotContext) -> int:
    """Stores the note; asks for photos."""
    _state(context)["draft"]["note"] = patrols.check_note(update.effective_message.text)  # type: ignore[union-attr]
    return await _ask_photos(update, context)


async def skip_note(update: Update, context: BotContext) -> int:
    """No note; asks for photos."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    return await _ask_photos(update, context)


async def _ask_photos(update: Update, context: BotContext) -> int:
    draft = PatrolDraft.from_json(_state(context)["draft"])
    if draft.abnormal:
        await context.reply(
            update,
            "patrol.ask_photos_required",
            buttons=[[button("common.button.done", PatrolPhotosDone())]],
        )
    else:
        await context.reply(
            update,
            "patrol.ask_photos",
            buttons=[
                [
                    button("common.button.done", PatrolPhotosDone()),
                    button("common.button.skip", PatrolPhotosDone()),
                ]
            ],
        )
    return PHOTOS


async def add_photo(update: Update, context: BotContext) -> int:
    """Keeps a photo; an album is acknowledged once."""
    state = _state(context)
    await keep_photo(update, context, state["draft"]["photo_file_ids"], state, PatrolPhotosDone())
    return PHOTOS


async def add_location(update: Update, context: BotContext) -> int:
    """Stores a shared location with the check-in."""
    location = update.effective_message.location  # type: ignore[union-attr]
    assert location is not None
    state = _state(context)
    state["draft"]["latitude"], state["draft"]["longitude"] = location.latitude, location.longitude
    inspecting = state.get("inspection_id") is not None
    await context.reply(
        update, "inspection.location_received" if inspecting else "patrol.location_received"
    )
    return PHOTOS


async def finish(update: Update, context: BotContext) -> int:
    """Records a normal patrol or inspection; for an abnormal one, asks how urgent the repair
    is first."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = PatrolDraft.from_json(_state(context)["draft"])
    if not draft.abnormal:
        return await _record(update, context, draft)
    if not draft.photo_file_ids:
        await context.reply(update, "patrol.photo_required")
        return PHOTOS
    hours = context.services.policies.of(EquipmentPolicy).repair_hours
    await context.reply(
        update,
        "patrol.ask_severity",
        buttons=[
            [
                button(f"defect.severity_button.{s}", ChooseSeverity(severity=s), hours=hours[s])
                for s in defects.SEVERITIES
            ]
        ],
    )
    return SEVERITY


async def choose_severity(update: Update, context: BotContext) -> int:
    """Stores the severity; records the patrol (or inspection) and opens the defect with its
    repair deadline."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = PatrolDraft.from_json(_state(context)["draft"])
    draft.severity = ChooseSeverity.unpack(query.data).severity
    return await _record(update, context, draft)


async def _record(update: Update, context: BotContext, draft: PatrolDraft) -> int:
    if (inspection_id := _state(context).get("inspection_id")) is not None:
        return await _finish_inspection(update, context, inspection_id, draft)
    async with context.unit_of_work() as uow:
        outcome = await patrols.record_patrol(
            uow,
            await context.actor(uow.session),
            draft,
            context.services.settings.timezone,
        )
    context.user_data.pop(PATROL_KEY, None)
    code, remaining = outcome.asset.code, outcome.remaining
    if outcome.defect is not None:
        await context.reply(
            update,
            "patrol.recorded_abnormal",
            code=code,
            number=outcome.defect.number,
            remaining=remaining,
            due_at=outcome.repair_due_at,
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
        )
    context.user_data.pop(PATROL_KEY, None)
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


cancel = cancel_dropping(PATROL_KEY, REPAIR_KEY, REJECT_KEY)


# --- defects: vendor and technician ----------------------------------------------------------


async def acknowledge(update: Update, context: BotContext) -> None:
    """The vendor has seen the defect."""
    query = update.callback_query
    assert query is not None
    async with context.unit_of_work() as uow:
        defect = await defects.acknowledge_defect(
            uow, await context.actor(uow.session), AcknowledgeDefect.unpack(query.data).defect_id
        )
    await query.answer(
        context.text("defect.acknowledged_reply", number=defect.number), show_alert=True
    )


async def begin_repair(update: Update, context: BotContext) -> int:
    """Asks the vendor what was repaired."""
    query = update.callback_query
    assert query is not None
    async with context.session() as session:
        user = await context.actor(session)
        defect = await defects.defect_for_repair(
            session, user, BeginRepair.unpack(query.data).defect_id
        )
    await query.answer()
    context.user_data[REPAIR_KEY] = {"defect_id": defect.id, "photos": [], "media_group": None}
    await context.reply(update, "defect.ask_repair_note", number=defect.number)
    return REPAIR_NOTE


async def enter_repair_note(update: Update, context: BotContext) -> int:
    """Stores the repair note; asks for photos."""
    context.user_data[REPAIR_KEY]["note"] = defects.check_repair_note(update.effective_message.text)  # type: ignore[union-attr]
    await context.reply(
        update,
        "defect.ask_repair_photos",
        buttons=[
            [
                button("common.button.done", RepairPhotosDone()),
                button("common.button.skip", RepairPhotosDone()),
            ]
        ],
    )
    return REPAIR_PHOTOS


async def add_repair_photo(update: Update, context: BotContext) -> int:
    """Keeps a photo of the repair."""
    state = context.user_data[REPAIR_KEY]
    await keep_photo(update, context, state["photos"], state, RepairPhotosDone())
    return REPAIR_PHOTOS


async def finish_repair(update: Update, context: BotContext) -> int:
    """Records the repair; the technician is asked to verify it."""
    query = update.callback_query
    assert query is not None
    state = context.user_data.get(REPAIR_KEY)
    if not state:
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return ConversationHandler.END
    async with context.unit_of_work() as uow:
        defect = await defects.record_repair(
            uow,
            await context.actor(uow.session),
            state["defect_id"],
            state.get("note", ""),
            state["photos"],
        )
    await query.answer()
    context.user_data.pop(REPAIR_KEY, None)
    await context.reply(update, "defect.repaired_reply", number=defect.number)
    return ConversationHandler.END


async def accept_repair(update: Update, context: BotContext) -> None:
    """The technician accepts the repair: the defect is closed."""
    query = update.callback_query
    assert query is not None
    async with context.unit_of_work() as uow:
        defect = await defects.verify_repair(
            uow,
            await context.actor(uow.session),
            AcceptRepair.unpack(query.data).defect_id,
            accept=True,
        )
    await query.answer()
    await edit_query_message(update, context.text("defect.accepted_reply", number=defect.number))


async def begin_reject(update: Update, context: BotContext) -> int:
    """Asks the technician why the repair is rejected."""
    query = update.callback_query
    assert query is not None
    async with context.session() as session:
        user = await context.actor(session)
        defect = await defects.defect_for_verification(
            session, user, RejectRepair.unpack(query.data).defect_id
        )
    await query.answer()
    context.user_data[REJECT_KEY] = defect.id
    await context.reply(update, "defect.ask_reject_reason", number=defect.number)
    return REJECT_REASON


async def enter_reject_reason(update: Update, context: BotContext) -> int:
    """Reopens the defect with the reason; the vendor is told."""
    async with context.unit_of_work() as uow:
        defect = await defects.verify_repair(
            uow,
            await context.actor(uow.session),
            context.user_data[REJECT_KEY],
            accept=False,
            reason=update.effective_message.text,
        )  # type: ignore[union-attr]
    context.user_data.pop(REJECT_KEY, None)
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
    t = context.text
    lines = [
        t("defect.header", number=defect.number, status=as_text(f"defect.status.{defect.status}")),
        t(
            "defect.details",
            asset=f"{defect.asset.code} {defect.asset.name}",
            location=defect.asset.location or "-",
            description=defect.description,
            reported_at=defect.reported_at,
            rejections=defect.rejections,
        ),
    ]
    if defect.repair_note:
        lines.append(t("defect.repair", at=defect.repaired_at, note=defect.repair_note))
    lines += ["", t("timeline.header")]
    for event in events:
        details = {k: v for k, v in (event.after or {}).items() if isinstance(v, str | int)}
        action = t(f"timeline.defect.{event.action}", **details)
        actor = names.get(event.actor_id or 0) or t("timeline.system")
        lines.append(t("timeline.event", at=event.at, actor=actor, action=action))
    await update.effective_message.reply_text(fit_message("\n".join(lines)))  # type: ignore[union-attr]
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
            update, "visit.recorded_uncontracted", asset=code, count=outcome.this_month
        )
    else:
        await context.reply(
            update,
            "visit.recorded",
            asset=code,
            count=outcome.this_month,
            promised=outcome.promised,
        )


def patrol_conversation() -> ConversationHandler:  # type: ignore[type-arg]
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
                MessageHandler(TEXT, type_asset),
                MessageHandler(IMAGE, scan_sticker),
            ],
            ITEM: [
                CallbackQueryHandler(answer_check, pattern=AnswerCheck.pattern()),
                MessageHandler(TEXT, answer_reading),
            ],
            NOTE: [
                MessageHandler(TEXT, enter_note),
                CallbackQueryHandler(skip_note, pattern=SkipPatrolNote.pattern()),
            ],
            PHOTOS: [
                MessageHandler(EVIDENCE, add_photo),
                MessageHandler(filters.LOCATION, add_location),
                CallbackQueryHandler(finish, pattern=PatrolPhotosDone.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            SEVERITY: [
                CallbackQueryHandler(choose_severity, pattern=ChooseSeverity.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
        },
        cancel=cancel,
    )


def repair_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return dialogue(
        "defect_repair",
        entry_points=[
            CallbackQueryHandler(begin_repair, pattern=BeginRepair.pattern()),
            CallbackQueryHandler(begin_reject, pattern=RejectRepair.pattern()),
        ],
        states={
            REPAIR_NOTE: [MessageHandler(TEXT, enter_repair_note)],
            REPAIR_PHOTOS: [
                MessageHandler(EVIDENCE, add_repair_photo),
                CallbackQueryHandler(finish_repair, pattern=RepairPhotosDone.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            REJECT_REASON: [MessageHandler(TEXT, enter_reject_reason)],
        },
        cancel=cancel,
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(patrol_conversation())
    application.add_handler(repair_conversation())
    application.add_handler(CallbackQueryHandler(acknowledge, pattern=AcknowledgeDefect.pattern()))
    application.add_handler(CallbackQueryHandler(accept_repair, pattern=AcceptRepair.pattern()))
    application.add_handler(CommandHandler("defect", show_defect))
    application.add_handler(CommandHandler("visit", record_visit))
