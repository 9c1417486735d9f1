"""A record's evidence files sent back to a chat as Telegram albums (sendMediaGroup).

By their Telegram file ids, the cache; a file with no id, or one Telegram no longer knows (the
bot's token changed, an old reference), is uploaded from the file store by its SHA-256. Used by
the outbox sender (the new-complaint notice's album) and by /ticket, /defect and /files.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Sequence
from typing import Any, Protocol

from telegram import Bot, InputFile, InputMediaDocument, InputMediaPhoto, Message
from telegram.error import BadRequest

from procedures.kernel.photos import DOCUMENT
from procedures.kernel.queries import Photo

from .runtime import replies


class FileSource(Protocol):
    """Where a file with no Telegram file id is read from by its SHA-256: the file store."""

    def get(self, sha256: str) -> bytes: ...


class NothingToSend(Exception):
    """None of the files has a Telegram file id or a copy in the store."""


def sendable(files: Sequence[Photo]) -> list[Photo]:
    """The files that can be sent: by their file id, or from the store."""
    return [f for f in files if f.telegram_file_id or f.sha256]


async def send_group(
    bot: Bot,
    chat_id: int,
    files: Sequence[Photo],
    captions: Sequence[str],
    store: FileSource | None,
    **extra: Any,
) -> tuple[Message, ...]:
    """One group of `album_groups` (one to ten photos, or documents), each file with its
    caption: a single file as itself, more as one album. Telegram carries out an album whole
    or not at all, so a retry never shows half of one twice.

    Within an update the group goes after its commit, falling back to the store then too; its
    messages are then not known here (none is returned)."""
    if replies.defer("album", lambda: send_group(bot, chat_id, files, captions, store, **extra)):
        return ()
    try:
        return await _send(bot, chat_id, files, captions, store, upload=False, **extra)
    except BadRequest:
        # a file id Telegram does not know: the files themselves are in the store
        if store is None or not all(f.sha256 for f in files):
            raise
        return await _send(bot, chat_id, files, captions, store, upload=True, **extra)


async def _send(
    bot: Bot,
    chat_id: int,
    files: Sequence[Photo],
    captions: Sequence[str],
    store: FileSource | None,
    *,
    upload: bool,
    **extra: Any,
) -> tuple[Message, ...]:
    if not files:
        raise NothingToSend("no file of the group has a file id or a stored copy")
    # an album's uploads are parts its items name (attach://…); a single file is the field
    sources = [await _source(f, store, upload, attach=len(files) > 1) for f in files]
    if len(files) == 1:
        (file,), (source,), (caption,) = files, sources, captions
        if file.kind == DOCUMENT:
            return (await bot.send_document(chat_id, source, caption=caption, **extra),)
        return (await bot.send_photo(chat_id, source, caption=caption, **extra),)
    media = [
        InputMediaDocument(source, caption=caption)
        if file.kind == DOCUMENT
        else InputMediaPhoto(source, caption=caption)
        for file, source, caption in zip(files, sources, captions, strict=True)
    ]
    return await bot.send_media_group(chat_id, media, **extra)


async def _source(
    file: Photo, store: FileSource | None, upload: bool, *, attach: bool
) -> str | InputFile:
    if file.telegram_file_id and not upload:
        return file.telegram_file_id
    if file.sha256 is None or store is None:
        raise NothingToSend(f"file {file.id} has no file id and is not in the store")
    content = await asyncio.to_thread(store.get, file.sha256)  # a bucket is a network call
    extension = mimetypes.guess_extension(file.mime_type or "") or ""
    return InputFile(content, filename=f"{file.sha256}{extension}", attach=attach)
