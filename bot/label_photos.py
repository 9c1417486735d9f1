"""A photo of a label or a sticker (or an image sent as a file): downloaded from Telegram and
decoded off the event loop, bounded in bytes, pixels and time; and the label step every intake
shares (`scan_label`).

zxing-cpp finds and decodes the barcodes (DataMatrix, QR, GS1-128); procedures.masterdata.labels
says what they mean. A phone photo is a few megapixels: larger images are shrunk before decoding (a
barcode that fills a tenth of the frame still has pixels to spare), and images past
MAX_PIXELS, or files past MAX_BYTES, are refused before they are decoded at all.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zxingcpp
from PIL import Image, UnidentifiedImageError
from telegram import Update

from procedures.complaints.actions import UseLabel
from procedures.kernel.calendar import local_day
from procedures.kernel.outbox import button
from procedures.kernel.photos import document_ref
from procedures.masterdata import labels
from procedures.masterdata.labels import Barcode, LabelMatch
from storage.models import Batch

from .context import BotContext, edit_query_message
from .conversations import DialogueDraft

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # refused: no phone takes it, a decompression bomb does
DECODE_PIXELS = 4_000_000  # shrunk to this before decoding
DECODE_SECONDS = 10.0
FORMATS = (
    zxingcpp.BarcodeFormat.DataMatrix,
    zxingcpp.BarcodeFormat.QRCode,
    zxingcpp.BarcodeFormat.Code128,  # GS1-128
    zxingcpp.BarcodeFormat.DataBarExp,
)


class UnusableImage(Exception):
    """Not an image, or one too large to decode (`too_large`)."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.too_large = too_large


def decode_image(content: bytes) -> list[Barcode]:
    """The barcodes in an image file (JPEG, PNG, WebP...). Blocking: run it in a thread."""
    if len(content) > MAX_BYTES:
        raise UnusableImage(f"{len(content)} bytes", too_large=True)
    try:
        with Image.open(io.BytesIO(content)) as image:  # reads the header only
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnusableImage(f"{width}x{height} pixels", too_large=True)
            scale = (DECODE_PIXELS / (width * height)) ** 0.5
            if scale < 1:
                # a JPEG decodes straight at a fraction of its size: cheaper than shrinking after
                image.draft("L", (int(width * scale), int(height * scale)))
            gray = image.convert("L")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise UnusableImage(str(error)) from error
    if gray.width * gray.height > DECODE_PIXELS:
        gray.thumbnail((int(gray.width * scale), int(gray.height * scale)))
    return [
        Barcode(text=found.text, symbology=found.symbology_identifier, format=str(found.format))
        for found in zxingcpp.read_barcodes(gray, formats=FORMATS)
    ]


def _image_file_id(update: Update) -> tuple[str, int | None]:
    """The photo's largest size within MAX_BYTES, or the image file, with its size if known
    (Telegram's file id, to download)."""
    message = update.effective_message
    assert message is not None
    if message.photo:
        sizes = [p for p in message.photo if (p.file_size or 0) <= MAX_BYTES] or message.photo[:1]
        return sizes[-1].file_id, sizes[-1].file_size
    assert message.document is not None
    return message.document.file_id, message.document.file_size


def _evidence_ref(update: Update) -> str:
    """The image as evidence is kept: a photo by its file id, an image file as a document."""
    file_id, _ = _image_file_id(update)
    message = update.effective_message
    return file_id if message is not None and message.photo else document_ref(file_id)


async def read_barcodes(update: Update, context: BotContext) -> list[Barcode] | None:
    """The barcodes in the message's photo or image file; None (and the user told why) when the
    image cannot be read or is too large."""
    file_id, size = _image_file_id(update)
    if size is not None and size > MAX_BYTES:
        await context.reply(update, "label.too_large", limit=MAX_BYTES // (1024 * 1024))
        return None
    content = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    try:
        # The thread cannot be stopped; the bounds above keep it to a second or two, and the
        # timeout only spares the user a wait the bounds did not foresee.
        return await asyncio.wait_for(asyncio.to_thread(decode_image, content), DECODE_SECONDS)
    except UnusableImage as error:
        log.info("label photo not decoded: %s", error)
        key = "label.too_large" if error.too_large else "label.no_barcode"
        await context.reply(update, key, limit=MAX_BYTES // (1024 * 1024))
        return None
    except TimeoutError:
        log.warning("label photo: decoding took over %s s", DECODE_SECONDS)
        await context.reply(update, "label.no_barcode")
        return None


@dataclass(frozen=True)
class LabelScan:
    """What a label photo gave: the photo's evidence reference (its file id; an image file's is
    `document:…`) and the label held against the master data (None when no UDI was read).
    `usable` when the product and lot can be taken as they are."""

    file_id: str
    match: LabelMatch | None

    @property
    def usable(self) -> bool:
        return self.match is not None and self.match.problem is None

    def evidence(self) -> dict[str, Any] | None:
        """What the record keeps of the label (photo and fields), for the draft; None if no UDI."""
        return self.match.evidence(self.file_id) if self.match else None


async def scan_label(
    update: Update, context: BotContext, *, organisation_id: int | None
) -> LabelScan | None:
    """The label step of an intake, in one call from a handler of its product (or lot) step:
    decodes the photo, finds the product by the GTIN and the lot (a buyer's among what was
    shipped to them; None: anywhere in the master data) and answers the user: the product, lot
    and expiry with a *Use these* button (`UseLabel`, which the caller's step must answer), or
    what was read and what is wrong, or that no barcode was found. The dialogue stays where it
    was. Returns None when no barcode could be read at all."""
    barcodes = await read_barcodes(update, context)
    if barcodes is None:
        return None
    if not barcodes:
        await context.reply(update, "label.no_barcode")
        return None
    file_id = _evidence_ref(update)
    label = labels.pick_udi(barcodes)
    if label is None:
        await context.reply(update, "label.no_udi", count=len(barcodes))
        return LabelScan(file_id=file_id, match=None)
    today = local_day(context.now(), context.services.settings.timezone)
    async with context.session() as session:
        match = await labels.match_label(
            session, label, organisation_id=organisation_id, today=today
        )
    params = match.params
    read = context.text("label.read", **params)
    if match.problem is not None:
        problem = context.text(match.problem, **params)
        await context.reply(update, "label.problem", read=read, problem=problem)
    else:
        assert match.batch is not None
        await context.reply(
            update,
            "label.found",
            read=read,
            buttons=[[button("label.use", UseLabel(batch_id=match.batch.id))]],
        )
    return LabelScan(file_id=file_id, match=match)


async def label_step(
    update: Update,
    context: BotContext,
    drafts: DialogueDraft[Any],
    *,
    buyer: Callable[[Any], int | None],
    step: Callable[[Any], int],
) -> int:
    """A dialogue's handler of a label photo at its product (or lot) step: the draft keeps the
    label read (its `label`) for the *Use these* button and as evidence; the step stays
    (`step` of the draft). `buyer` is the organisation whose shipments the lot must be among
    (None: anywhere in the master data)."""
    draft = drafts.get(context)
    if draft is None:
        return await drafts.expired(update, context)
    scan = await scan_label(update, context, organisation_id=buyer(draft))
    evidence = scan.evidence() if scan is not None else None
    if evidence is not None:
        draft.label = evidence
        drafts.save(context, draft)
    return step(draft)


async def take_label(
    update: Update, context: BotContext, label: dict[str, Any] | None, *, buyer: int | None
) -> Batch | None:
    """The lot of a pressed *Use these* button (its query already answered), if it is the draft's
    `label`'s and, for a `buyer`, was shipped to them; the button leaves the message. None,
    and the user told, for a stale or forged one."""
    query = update.callback_query
    assert query is not None
    batch_id = UseLabel.unpack(query.data).batch_id
    async with context.session() as session:
        batch = await labels.labelled_batch(session, batch_id, label, organisation_id=buyer)
    if batch is None:
        await context.reply(update, "error.stale_button")
        return None
    if query.message is not None and getattr(query.message, "text", None):
        await edit_query_message(update, query.message.text)  # type: ignore[union-attr]
    return batch
