"""Admins import master data by sending a CSV or XLSX file captioned with its kind."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from procedures.masterdata import importing, kinds, table

from ..access import for_command
from ..context import BotContext, fit_message
from ..dialogue.updates import MissingInUpdate, member_of, message_of
from ..texts import Texts

MAX_FILE_MB = table.MAX_FILE_BYTES // (1024 * 1024)  # under the Bot API's 20 MB getFile
MAX_ERRORS_SHOWN = 30


@for_command("import")
async def import_help(update: Update, context: BotContext) -> None:
    """/import: says how to send a file."""
    await context.reply(update, "import.usage", kinds=kinds.kind_options())


@for_command("import")
async def import_document(update: Update, context: BotContext) -> None:
    """Imports the sent file all or nothing and reports each bad line."""
    message = message_of(update)
    if message.document is None:  # registered for documents only
        raise MissingInUpdate("document")
    member = member_of(context)
    kind = context.services.texts.named("import.kind.", table.KINDS, message.caption or "")
    if kind is None:
        await context.reply(update, "import.usage", kinds=kinds.kind_options())
        return
    document = message.document
    if document.file_size and document.file_size > MAX_FILE_MB * 1024 * 1024:
        await context.reply(update, "import.too_large", limit=MAX_FILE_MB)
        return
    telegram_file = await document.get_file()
    content = bytes(await telegram_file.download_as_bytearray())
    # reading a large workbook takes seconds: off the event loop, so nobody else waits
    rows = await asyncio.to_thread(table.read_table, document.file_name or "upload.csv", content)
    try:
        async with context.unit_of_work() as uow:
            result = await importing.import_rows(uow, kind, rows, actor_id=member.user_id)
    except table.ImportRejected as rejected:
        lines = render_rejection_lines(context.services.texts, context.language, rejected)
        await message.reply_text(fit_message("\n".join(lines)))
        return
    await context.reply(
        update,
        "import.done",
        kind=kinds.kind_named(kind),
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )


def render_rejection_lines(
    texts: Texts, language: str, rejected: table.ImportRejected
) -> list[str]:
    """The rejection, then one line per bad row: line number, column and reason."""
    lines = [texts.get(language, rejected.text_key, **rejected.params)]
    for error in rejected.errors[:MAX_ERRORS_SHOWN]:
        reason = texts.get(language, error.text_key, **error.params)
        column = error.params.get("column")
        key = "import.row_error" if column else "import.row_error_no_column"
        named = kinds.column_named(column) if column else None
        lines.append(texts.get(language, key, line=error.line, column=named, reason=reason))
    hidden = len(rejected.errors) - MAX_ERRORS_SHOWN
    if hidden > 0:
        lines.append(texts.get(language, "import.more_errors", count=hidden))
    return lines


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("import", import_help))
    application.add_handler(MessageHandler(filters.Document.ALL, import_document))
