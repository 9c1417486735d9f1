"""Reading a device's label: the UDI a barcode holds (GS1: GTIN, lot, expiry, serial), what the
master data says of it, and the asset code on an equipment sticker.

Decoding the image is the bot's (bot/label_photos.py); this module starts from the barcodes'
texts, so any intake (complaint, return line, consumer complaint) and any test can use it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from biip import ParseError, parse
from biip.gs1_messages import GS1Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.masterdata.queries import shipped_batches, shipped_products
from storage.models import Batch, Product

# GS1 application identifiers of a UDI's production identifiers
AI_GTIN, AI_LOT, AI_EXPIRY, AI_SERIAL = "01", "10", "17", "21"
# the deep link reports/stickers.py prints: https://t.me/<bot>?start=asset_<code>
STICKER_LINK = re.compile(r"[?&]start=asset_([A-Za-z0-9_.\-]{1,32})(?:&|$)")


@dataclass(frozen=True)
class Barcode:
    """One barcode a decoder found in a photo."""

    text: str
    symbology: str = ""  # the symbology identifier, e.g. "]d2" for GS1 DataMatrix
    format: str = ""


@dataclass(frozen=True)
class UdiLabel:
    """The fields of a UDI, as read (the lot as printed, the expiry with day 00 resolved)."""

    gtin: str
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    element_string: str  # the GS1 element string in its human-readable form, (01)…(17)…

    def to_json(self) -> dict[str, Any]:
        return {
            "gtin": self.gtin,
            "lot": self.lot,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "serial": self.serial,
            "element_string": self.element_string,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UdiLabel:
        expiry = data.get("expiry")
        return cls(
            gtin=data["gtin"],
            lot=data.get("lot"),
            expiry=dt.date.fromisoformat(expiry) if expiry else None,
            serial=data.get("serial"),
            element_string=data.get("element_string", ""),
        )


def _message(text: str, symbology: str) -> GS1Message | None:
    """The GS1 element string of a barcode's text: in parentheses (a decoder's HRI), with FNC1
    or GS separators behind a GS1 symbology identifier, or a GS1 Digital Link URI."""
    text = text.strip()
    try:
        if text.startswith("("):
            return GS1Message.parse_hri(text)
        result = parse(f"{symbology}{text}" if symbology else text)
    except ParseError:
        return None
    if result.gs1_message is not None:
        return result.gs1_message
    if result.gs1_digital_link_uri is not None:
        return result.gs1_digital_link_uri.as_gs1_message()
    return None


def parse_udi(text: str, symbology: str = "") -> UdiLabel | None:
    """The UDI in a barcode's text, or None when it holds no GTIN with a right check digit."""
    message = _message(text, symbology)
    if message is None:
        return None
    values: dict[str, Any] = {}
    for element in message.element_strings:
        ai = element.ai.ai
        if ai == AI_GTIN:
            if element.gtin is None:  # a wrong check digit: not a GTIN at all
                return None
            values["gtin"] = element.gtin.as_gtin_14()
        elif ai == AI_EXPIRY:
            values["expiry"] = element.date
        elif ai in (AI_LOT, AI_SERIAL):
            values["lot" if ai == AI_LOT else "serial"] = element.value
    if "gtin" not in values:
        return None
    return UdiLabel(
        gtin=values["gtin"],
        lot=values.get("lot"),
        expiry=values.get("expiry"),
        serial=values.get("serial"),
        element_string=message.as_hri(),
    )


def pick_udi(barcodes: Iterable[Barcode]) -> UdiLabel | None:
    """The UDI among the barcodes of one photo: a label often carries a plain EAN-13 or a QR
    code of the maker's web page beside it. The one that names a lot wins over a bare GTIN."""
    labels = [label for b in barcodes if (label := parse_udi(b.text, b.symbology))]
    labels.sort(key=lambda label: (label.lot is None, label.expiry is None))
    return labels[0] if labels else None


def sticker_asset_code(barcodes: Iterable[Barcode]) -> str | None:
    """The asset code of an equipment sticker's QR code (its patrol deep link), if any."""
    for barcode in barcodes:
        match = STICKER_LINK.search(barcode.text.strip())
        if match:
            return match.group(1)
    return None


# --- what the master data says --------------------------------------------------------------


@dataclass(frozen=True)
class LabelMatch:
    """A label held against the master data. `problem` is None when the product and the lot can
    be used as they are; else a text id (with `params`) saying what is wrong."""

    label: UdiLabel
    product: Product | None
    batch: Batch | None
    expiry: dt.date | None  # the label's, else the lot's in the master data
    problem: str | None

    @property
    def params(self) -> dict[str, Any]:
        """What was read, for the answer (the product's name where the GTIN is known)."""
        return {
            "gtin": self.label.gtin,
            "lot": self.label.lot or "-",
            "expiry": self.expiry.isoformat() if self.expiry else "-",
            "serial": self.label.serial or "-",
            "product": f"{self.product.code} {self.product.name}" if self.product else "-",
        }

    def evidence(self, file_id: str | None) -> dict[str, Any]:
        """What a record keeps of the label: the photo and the fields read, and what they named."""
        return {
            **self.label.to_json(),
            "file_id": file_id,
            "product_id": self.product.id if self.product else None,
            "batch_id": self.batch.id if self.batch else None,
        }


async def product_of_gtin(session: AsyncSession, gtin: str) -> Product | None:
    return await session.scalar(select(Product).where(Product.gtin == gtin))


async def match_label(
    session: AsyncSession, label: UdiLabel, *, organisation_id: int | None, today: dt.date
) -> LabelMatch:
    """The product by the label's GTIN and its lot: for a buyer (`organisation_id`) among what was
    shipped to them, else (staff, a consumer) anywhere in the master data; a lot past its expiry
    on `today` is named as such."""
    product = await product_of_gtin(session, label.gtin)
    batch = None
    problem = None
    if product is None:
        problem = "label.unknown_gtin"
    elif organisation_id is not None and product.id not in {
        p.id for p in await shipped_products(session, organisation_id)
    }:
        problem = "label.product_not_shipped"
    elif label.lot is None:
        problem = "label.no_lot"
    else:
        if organisation_id is not None:
            candidates = await shipped_batches(session, organisation_id, product.id)
        else:
            candidates = list(
                await session.scalars(select(Batch).where(Batch.product_id == product.id))
            )
        wanted = label.lot.strip().lower()
        batch = next((b for b in candidates if b.lot_number.lower() == wanted), None)
        if batch is None:
            problem = "label.lot_not_shipped" if organisation_id else "label.unknown_lot"
    expiry = label.expiry or (batch.expiry_date if batch else None)
    if problem is None and expiry is not None and expiry < today:
        problem = "label.expired"
    return LabelMatch(label=label, product=product, batch=batch, expiry=expiry, problem=problem)


async def labelled_batch(
    session: AsyncSession,
    batch_id: int,
    label: dict[str, Any] | None,
    *,
    organisation_id: int | None,
) -> Batch | None:
    """The lot a *Use these* button names, if it is the one the draft's last scanned label
    (`label`, LabelMatch.evidence) found and, for a buyer, one shipped to them; None for a
    stale or forged button."""
    if not label or label.get("batch_id") != batch_id:
        return None
    batch = await session.get(Batch, batch_id)
    if batch is None or organisation_id is None:
        return batch
    shipped = await shipped_batches(session, organisation_id, batch.product_id)
    return batch if batch.id in {b.id for b in shipped} else None
