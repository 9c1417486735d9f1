"""Label photos end to end: a buyer files a complaint, and a return line, from a photo of the
device's UDI label without typing the product or the lot, and a consumer a consumer complaint; a
photo that holds no barcode, or a lot never shipped to the buyer, is answered and the dialogue
goes on; a technician opens a patrol from a photo of the asset's QR sticker."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import (
    Batch,
    Complaint,
    ConsumerComplaint,
    Photo,
    ReturnRequest,
    TimelineEvent,
)
from tests.label_images import label, photographed, png, qr_code, udi_barcode

from .conftest import BotHarness, buttons_of, register
from .test_complaints import NUMBER, press
from .test_patrols import last
from .test_returns import click, text_with, with_button

SYRINGE_LABEL = "(01)06901234000016(17)290200(10)L20260301(21)SN0042"
READ_SYRINGE = (
    "Read from the label: P-1001 一次性使用無菌注射器 5ml, GTIN 06901234000016, "
    "lot L20260301, expiry 2029-02-28, serial SN0042."
)


async def evidence_of(bot: BotHarness, subject_type: str, subject_id: int) -> tuple[list, list]:
    """The stages of the record's photos and the actions of its timeline."""
    await bot.settled()
    async with bot.services.session_factory() as session:
        stages = await session.scalars(
            select(Photo.stage).where(
                Photo.subject_type == subject_type, Photo.subject_id == subject_id
            )
        )
        actions = await session.scalars(
            select(TimelineEvent.action).where(
                TimelineEvent.subject_type == subject_type,
                TimelineEvent.subject_id == subject_id,
            )
        )
        return list(stages), list(actions)


async def test_a_buyer_files_a_complaint_from_a_label_photo_without_typing_product_or_lot(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    assert ask_product["text"].endswith(
        "Or send a photo of the label: its UDI barcode fills in the product, lot and expiry."
    )
    photo = photographed(label(udi_barcode(SYRINGE_LABEL)), angle=11, seed=3)
    await bot.emulator.send_photo(bot.token, customer.user_id, photo)
    (found,) = await customer.expect(timeout=15)
    assert found["text"] == (
        "Read from the label: P-1001 一次性使用無菌注射器 5ml, GTIN 06901234000016, "
        "lot L20260301, expiry 2029-02-28, serial SN0042.\nUse this product and lot?"
    )
    await press(customer, found, "Use these")
    assert await customer.expect_text() == "How many units are affected? Count in 盒."
    await customer.send("4")
    assert (await customer.expect_text()).startswith("What is wrong?")
    await customer.send("The plungers stick.")
    (ask_photos,) = await customer.expect()
    await press(customer, ask_photos, "Skip")
    (summary,) = await customer.expect()
    assert "Lot: L20260301" in summary["text"]
    await press(customer, summary, "Submit")
    filed = await bot.emulator.wait_until(
        lambda: NUMBER.search(customer.all_bot_messages()[-1].get("text", ""))
    )
    await bot.settled()

    async with bot.services.session_factory() as session:
        complaint = await session.scalar(select(Complaint).where(Complaint.number == filed.group()))
        batch = await session.get(Batch, complaint.batch_id)
        assert batch.lot_number == "L20260301" and complaint.shipment_on_file
        stages = list(
            await session.scalars(
                select(Photo.stage).where(
                    Photo.subject_type == "complaint", Photo.subject_id == complaint.id
                )
            )
        )
        assert stages == ["label"]
        actions = list(
            await session.scalars(
                select(TimelineEvent.action).where(
                    TimelineEvent.subject_type == "complaint",
                    TimelineEvent.subject_id == complaint.id,
                )
            )
        )
        assert "lot_from_label" in actions
    # the buyer counts the label's photo among its own; staff read where the lot came from
    await customer.send(f"/ticket {filed.group()}")
    assert "Photos from the buyer: 1" in (await last(customer, filed.group()))["text"]
    qc = await register(bot, "quality", "Qiu QC")
    await qc.send(f"/ticket {filed.group()}")
    ticket = await last(qc, filed.group() + " — ")
    assert f"product and lot taken from a scanned label: {SYRINGE_LABEL}" in ticket["text"]


async def test_a_photo_without_a_barcode_is_answered_and_the_dialogue_goes_on(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    await bot.emulator.send_photo(bot.token, customer.user_id, photographed(label()))
    assert (
        await customer.expect_text(timeout=15)
        == "No barcode found; type the lot or try a sharper photo."
    )
    await press(customer, ask_product, "P-1001 一次性使用無菌注射器 5ml")
    (ask_lot,) = await customer.expect()
    assert [text for text, _ in buttons_of(ask_lot)] == ["L20260301"]


async def test_a_label_of_a_lot_never_shipped_to_the_buyer_says_so_and_typing_still_works(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/complain")
    await customer.expect()
    other_lot = png(label(udi_barcode("(01)06901234000016(17)270609(10)L20250610")))
    # sent as a file, not as a photo: an image file is read the same way
    await bot.emulator.send_document(
        bot.token, customer.user_id, other_lot, "label.png", mime_type="image/png"
    )
    problem = await customer.expect_text(timeout=15)
    assert problem == (
        "Read from the label: P-1001 一次性使用無菌注射器 5ml, GTIN 06901234000016, "
        "lot L20250610, expiry 2027-06-09, serial -.\n"
        "Lot L20250610 of this product was never shipped to your organisation.\n"
        "You can still choose or type as asked above, or send a sharper photo."
    )
    await customer.send("P-1001")
    (ask_lot,) = await customer.expect()
    assert ask_lot["text"].startswith("Which lot")


async def test_a_photo_of_an_asset_sticker_opens_its_patrol(bot: BotHarness) -> None:
    technician = await register(bot, "technician", "Tang Technician")
    await technician.send("/patrol")
    await technician.expect()
    sticker = label(qr_code("https://t.me/aftersales_bot?start=asset_EL-01"), caption_lines=1)
    await bot.emulator.send_photo(
        bot.token, technician.user_id, photographed(sticker, angle=-8, seed=5)
    )
    started = await last(technician, "Patrol of EL-01")
    assert "checklist items" in started["text"]


async def test_a_customer_files_a_return_line_from_a_label_photo_without_typing_product_or_lot(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/return")
    await click(bot, customer, "unsalable (不適銷)")
    ask_product = await with_button(bot, customer, "P-1001 一次性使用無菌注射器 5ml")
    assert ask_product["text"] == (
        "Which product? Choose it, or type its code or the lot.\n"
        "Or send a photo of the label: its UDI barcode fills in the product, lot and expiry."
    )
    photo = photographed(label(udi_barcode(SYRINGE_LABEL)), angle=-9, seed=7)
    await bot.emulator.send_photo(bot.token, customer.user_id, photo)
    found = await with_button(bot, customer, "Use these")
    assert found["text"] == f"{READ_SYRINGE}\nUse this product and lot?"
    await press(customer, found, "Use these")
    assert await text_with(bot, customer, "How many?") == "How many? (at most 200)"
    await customer.send("3")
    added = await with_button(bot, customer, "Done")
    assert added["text"].startswith(
        "Line 1: 一次性使用無菌注射器 5ml, lot L20260301, quantity 3 盒, amount 54.00 yuan."
    )
    await press(customer, added, "Done")
    await click(bot, customer, "Submit")
    number = (await text_with(bot, customer, "received")).split()[1]

    await bot.settled()
    async with bot.services.session_factory() as session:
        request = await session.scalar(select(ReturnRequest).where(ReturnRequest.number == number))
        (line,) = request.lines
        assert (line.batch.lot_number, line.quantity) == ("L20260301", 3)
    stages, actions = await evidence_of(bot, "return", request.id)
    assert stages == ["label"] and "lot_from_label" in actions
    await customer.send(f"/return {number}")
    shown = await text_with(bot, customer, f"{number} — ")
    assert f"line 1: product and lot taken from a scanned label: {SYRINGE_LABEL}" in shown


async def test_a_return_label_of_a_lot_not_shipped_is_refused_with_what_was_read_and_goes_on(
    bot: BotHarness,
) -> None:
    after_sales = await register(bot, "after_sales", "An After-sales")
    await after_sales.send("/return_for")
    await click(bot, after_sales, "C001 仁和醫療器械有限公司")
    await click(bot, after_sales, "phone")
    await click(bot, after_sales, "Just now")
    await click(bot, after_sales, "quality")
    ask_product = await with_button(bot, after_sales, "P-1001 一次性使用無菌注射器 5ml")
    await press(after_sales, ask_product, "P-1001 一次性使用無菌注射器 5ml")
    await text_with(bot, after_sales, "Which lot?")
    # L20250610 went to C004 only: read, named, refused; the lot step stays
    other_lot = photographed(label(udi_barcode("(01)06901234000016(17)270609(10)L20250610")))
    await bot.emulator.send_photo(bot.token, after_sales.user_id, other_lot)
    assert await text_with(bot, after_sales, "was never shipped") == (
        "Read from the label: P-1001 一次性使用無菌注射器 5ml, GTIN 06901234000016, "
        "lot L20250610, expiry 2027-06-09, serial -.\n"
        "Lot L20250610 of this product was never shipped to your organisation.\n"
        "You can still choose or type as asked above, or send a sharper photo."
    )
    assert not [m for m in after_sales.all_bot_messages() if "Use these" in str(m)]
    # a photo with no barcode at all: said so, and nothing of the line is lost
    await bot.emulator.send_photo(bot.token, after_sales.user_id, photographed(label()))
    await text_with(bot, after_sales, "No barcode found; type the lot or try a sharper photo.")
    await after_sales.send("L20250610")
    assert await text_with(bot, after_sales, "Choose a lot above") == (
        "Lot L20250610 of this product was not shipped to this organisation. "
        "Choose a lot above, or type it again."
    )
    await after_sales.send("l20260301")
    assert await text_with(bot, after_sales, "How many?") == "How many? (at most 200)"
    await after_sales.send("5")
    await click(bot, after_sales, "Done")
    await click(bot, after_sales, "Submit")
    filed = await text_with(bot, after_sales, "received")
    number = filed.split()[1]
    await bot.settled()
    async with bot.services.session_factory() as session:
        request = await session.scalar(select(ReturnRequest).where(ReturnRequest.number == number))
        assert [(line.batch.lot_number, line.quantity) for line in request.lines] == [
            ("L20260301", 5)
        ]
    # the label read is kept as evidence, and the timeline says its lot was not taken
    stages, actions = await evidence_of(bot, "return", request.id)
    assert stages == ["label"] and "label_scanned" in actions


async def test_a_consumer_files_a_complaint_from_a_label_photo_without_typing_the_product(
    bot: BotHarness,
) -> None:
    consumer = await register(bot, "consumer", "Xu Consumer")
    await consumer.send("/consumer_complaint")
    (ask_product,) = await consumer.expect()
    assert ask_product["text"].endswith(
        "Or send a photo of the label: its UDI barcode fills in the product, lot and expiry."
    )
    monitor = label(udi_barcode("(01)06901234000030(17)310701(10)BP2026A07"))
    await bot.emulator.send_photo(bot.token, consumer.user_id, photographed(monitor, angle=3))
    (found,) = await consumer.expect(timeout=15)
    assert found["text"] == (
        "Read from the label: P-2001 電子血壓計 BP-200, GTIN 06901234000030, lot BP2026A07, "
        "expiry 2031-07-01, serial -.\nUse this product and lot?"
    )
    await press(consumer, found, "Use these")
    assert (await consumer.expect_text()).startswith("What happened?")
    await consumer.send("The display stays blank.")
    await consumer.expect_text()
    await consumer.send("138 0013 8000")
    (ask_photos,) = await consumer.expect()
    await press(consumer, ask_photos, "Skip")
    (summary,) = await consumer.expect()
    assert "Product: 電子血壓計 BP-200, lot BP2026A07" in summary["text"]
    await press(consumer, summary, "Submit")
    filed = await last(consumer, "Your complaint CC-")
    assert "about 電子血壓計 BP-200, lot BP2026A07 is recorded" in filed["text"]

    await bot.settled()
    async with bot.services.session_factory() as session:
        complaint = await session.scalar(select(ConsumerComplaint))
        batch = await session.get(Batch, complaint.batch_id)
        assert (complaint.product_id, batch.lot_number) == (batch.product_id, "BP2026A07")
    stages, actions = await evidence_of(bot, "consumer_complaint", complaint.id)
    assert stages == ["label"] and "lot_from_label" in actions
