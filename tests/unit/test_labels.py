"""Scanning a label: a UDI barcode in a photo gives the product, lot and expiry; what the master
data does not know, or was not shipped, or has expired, is named; a sticker's QR names its asset.
The labels are generated here (tests/label_images.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.label_photos import UnusableImage, decode_image
from bot.services import Services
from procedures.complaints import intake
from procedures.complaints.intake import ComplaintDraft
from procedures.kernel.photos import photos_of
from procedures.kernel.timeline import events_of
from procedures.masterdata import labels
from procedures.masterdata.labels import Barcode, UdiLabel
from storage.models import Organisation, User
from tests.label_images import label, photographed, png, qr_code, udi_barcode
from tests.unit.helpers import customer_of, ids

SYRINGE = "(01)06901234000016(17)290228(10)L20260301(21)SN0001"  # P-1001, shipped to C001
TODAY = dt.date(2026, 11, 26)


def read(content: bytes) -> UdiLabel | None:
    return labels.pick_udi(decode_image(content))


def test_a_clean_datamatrix_label_gives_gtin_lot_expiry_and_serial() -> None:
    found = read(png(label(udi_barcode(SYRINGE))))
    assert found == UdiLabel(
        gtin="06901234000016",
        lot="L20260301",
        expiry=dt.date(2029, 2, 28),
        serial="SN0001",
        element_string=SYRINGE,
    )


@pytest.mark.parametrize(
    ("symbology", "distortion"),
    [
        ("datamatrix", {"angle": 17, "blur": 1.2, "noise": 18, "quality": 55}),
        ("datamatrix", {"angle": -30, "blur": 1.0, "noise": 25, "quality": 40, "size": 960}),
        ("gs1-128", {"angle": 5, "blur": 0.8, "noise": 15, "quality": 60, "margin": 1.15}),
    ],
)
def test_a_label_photographed_at_an_angle_with_noise_still_reads(
    symbology: str, distortion: dict
) -> None:
    photo = photographed(label(udi_barcode(SYRINGE, symbology)), **distortion)
    found = read(photo)
    assert found is not None and (found.gtin, found.lot) == ("06901234000016", "L20260301")


@pytest.mark.parametrize(
    ("text", "symbology", "expiry"),
    [
        ("(01)06901234000016(17)280200(10)A1", "", dt.date(2028, 2, 29)),  # a leap year
        ("(01)06901234000016(17)270200(10)A1", "", dt.date(2027, 2, 28)),
        ("010690123400001617270400" + "10A1", "]d2", dt.date(2027, 4, 30)),  # FNC1 form
    ],
)
def test_an_expiry_day_00_is_the_last_day_of_its_month(
    text: str, symbology: str, expiry: dt.date
) -> None:
    found = labels.parse_udi(text, symbology)
    assert found is not None and found.expiry == expiry and found.lot == "A1"


def test_a_gtin_with_a_wrong_check_digit_or_a_plain_text_is_no_udi() -> None:
    assert labels.parse_udi("(01)06901234000017(10)L1") is None
    assert labels.parse_udi("https://example.com/manual") is None
    assert labels.parse_udi("L20260301") is None


def test_of_several_barcodes_in_one_photo_the_udi_is_used() -> None:
    sheet = label(qr_code("https://example.com/manual"), udi_barcode(SYRINGE))
    barcodes = decode_image(photographed(sheet, angle=6))
    assert len(barcodes) == 2
    found = labels.pick_udi(barcodes)
    assert found is not None and found.lot == "L20260301"
    # a bare GTIN (a retail code) gives way to the UDI that names the lot
    bare = Barcode("(01)06901234000023")
    assert labels.pick_udi([bare, *barcodes]).lot == "L20260301"


def test_a_photo_without_a_barcode_or_not_an_image_reads_nothing() -> None:
    assert decode_image(photographed(label(caption_lines=6))) == []
    with pytest.raises(UnusableImage):
        decode_image(b"not an image at all")


def test_an_image_of_too_many_pixels_is_refused_before_decoding() -> None:
    from PIL import Image

    huge = png(Image.new("L", (9000, 9000), 255))  # 81 megapixels, a small PNG
    with pytest.raises(UnusableImage, match="pixels"):
        decode_image(huge)


def test_a_photo_of_an_asset_sticker_names_the_asset() -> None:
    sticker = label(qr_code("https://t.me/aftersales_bot?start=asset_EL-01"), caption_lines=1)
    barcodes = decode_image(photographed(sticker, angle=-9))
    assert labels.sticker_asset_code(barcodes) == "EL-01"
    assert labels.sticker_asset_code([Barcode("https://example.com/?start=other")]) is None


# --- against the master data -----------------------------------------------------------------


async def match(services: Services, text: str, organisation: str | None) -> labels.LabelMatch:
    label_read = labels.parse_udi(text)
    assert label_read is not None
    async with services.session_factory() as session:
        organisation_id = (
            await session.scalar(select(Organisation.id).where(Organisation.code == organisation))
            if organisation
            else None
        )
        return await labels.match_label(
            session, label_read, organisation_id=organisation_id, today=TODAY
        )


async def test_a_label_finds_the_product_by_gtin_and_the_lot_shipped_to_the_buyer(
    services: Services, samples: None
) -> None:
    found = await match(services, SYRINGE, "C001")
    assert found.problem is None
    assert (found.product.code, found.batch.lot_number) == ("P-1001", "L20260301")
    assert found.params["product"] == "P-1001 一次性使用無菌注射器 5ml"


async def test_an_unknown_gtin_is_named_with_what_was_read(
    services: Services, samples: None
) -> None:
    found = await match(services, "(01)06901234000092(17)290228(10)X1", "C001")
    assert (found.problem, found.product, found.batch) == ("label.unknown_gtin", None, None)
    assert found.params["gtin"] == "06901234000092" and found.params["lot"] == "X1"


async def test_a_lot_not_shipped_to_the_buyer_is_named(services: Services, samples: None) -> None:
    # L20250610 of P-1001 went to C004 only
    found = await match(services, "(01)06901234000016(10)L20250610", "C001")
    assert found.problem == "label.lot_not_shipped" and found.product.code == "P-1001"
    # a product never shipped to the buyer at all
    found = await match(services, "(01)06901234000023(10)M20260815", "C001")
    assert found.problem == "label.product_not_shipped"


async def test_an_expired_lot_is_named(services: Services, samples: None) -> None:
    # shipped to C004, expired 2026-06-09 (the master data's date: the label prints none)
    found = await match(services, "(01)06901234000016(10)L20250610", "C004")
    assert found.problem == "label.expired" and found.expiry == dt.date(2026, 6, 9)
    # staff filing for anyone: the lot is known, and still expired
    found = await match(services, "(01)06901234000016(17)260600(10)L20250610", None)
    assert found.problem == "label.expired" and found.expiry == dt.date(2026, 6, 30)


async def test_a_complaint_keeps_its_label_photo_and_fields_and_says_the_lot_came_from_it(
    services: Services, samples: None
) -> None:
    found = await match(services, SYRINGE, "C001")
    organisation_id, product_id, batch_id = await ids(services, "C001", "P-1001", "L20260301")
    filer = await customer_of(services, "C001")
    draft = ComplaintDraft(
        organisation_id=organisation_id,
        product_id=product_id,
        batch_id=batch_id,
        quantity=3,
        description="leaks",
        label=found.evidence("label-photo-1"),
    )
    async with services.unit_of_work() as uow:
        filed = await intake.file_complaint(uow, await uow.session.get(User, filer.id), draft)
    async with services.session_factory() as session:
        photos = await photos_of(session, "complaint", filed.complaint.id)
        events = await events_of(session, "complaint", filed.complaint.id)
    assert [(p.stage, p.telegram_file_id) for p in photos] == [("label", "label-photo-1")]
    (event,) = [e for e in events if e.action == "lot_from_label"]
    assert event.after == {
        "gtin": "06901234000016",
        "lot": "L20260301",
        "expiry": "2029-02-28",
        "serial": "SN0001",
        "element_string": SYRINGE,
    }
