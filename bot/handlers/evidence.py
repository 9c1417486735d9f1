"""Evidence files shown with their record: /files NUMBER for managers, and the photos /ticket and
/defect send after their text."""

from __future__ import annotations

import asyncio
import mimetypes
from typing import Any

from telegram import InputFile, Update
from telegram.ext import Application, CommandHandler

from procedures.evidence import readable_record
from procedures.kernel import photos as evidence
from procedures.kernel.queries import Photo
from procedures.kernel.text_input import record_number

from ..access import for_command
from ..albums import send_group, sendable
from ..context import BotContext, fit_caption
from ..dialogue.updates import chat_id_of, message_of


async def send_record_photos(
    update: Update,
    context: BotContext,
    number: str,
    kept: list[Photo],
    caption_key: str = "evidence.photo_caption",
) -> None:
    """The record's files as albums (photos together, documents together, ten at most each),
    each captioned with the record's number and its place (`caption_key` may say whose they
    are); says which are not stored yet."""
    chat_id = chat_id_of(update)
    files = sendable(kept)
    index = 1
    for group in evidence.album_groups(files):
        captions = [
            fit_caption(context.text(caption_key, number=number, index=i, count=len(files)))
            for i in range(index, index + len(group))
        ]
        await send_group(context.bot, chat_id, group, captions, context.services.file_store)
        index += len(group)
    missing = evidence.missing_of(kept)
    if missing:
        await context.reply(update, "evidence.missing_note", missing=len(missing), count=len(kept))


@for_command("files")
async def send_files(update: Update, context: BotContext) -> None:
    """/files QC-…: every evidence file of the record, from the file store with its SHA-256
    (a file not downloaded yet is said so and sent from Telegram), to those who may read the
    record."""
    if not context.args:
        await context.reply(update, "files.usage")
        return
    number = record_number(context.args[0])  # typed full-width too
    async with context.session() as session:
        # a record the asker may not read is answered as one that does not exist
        found = await readable_record(session, await context.actor(session), number)
        kept = await evidence.photos_of(session, *found) if found else []
    if found is None:
        await context.reply(update, "files.not_found", number=number)
        return
    if not kept:
        await context.reply(update, "files.none", number=number)
        return
    await context.reply(update, "files.header", number=number, count=len(kept))
    store = context.services.file_store
    assert store is not None
    for index, photo in enumerate(kept, start=1):
        place: dict[str, Any] = {"number": number, "index": index, "count": len(kept)}
        if photo.sha256 is None:
            await context.reply(update, "files.missing", error=photo.download_error or "-", **place)
            if photo.telegram_file_id:
                chat_id = chat_id_of(update)
                await send_group(context.bot, chat_id, [photo], [number], store)
            continue
        caption = context.text(
            "files.caption",
            sha256=photo.sha256,
            size=photo.size,
            mime=photo.mime_type,
            at=photo.added_at,
            **place,
        )
        extension = mimetypes.guess_extension(photo.mime_type or "") or ""
        await message_of(update).reply_document(
            InputFile(
                await asyncio.to_thread(store.get, photo.sha256),  # a bucket: the network
                filename=f"{photo.sha256}{extension}",
            ),
            caption=fit_caption(caption),
        )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("files", send_files))
