"""Evidence through the emulator: a photo sent in /complain is downloaded into the file store by
its hash, a failed download is retried, a file past Telegram's limit is refused, and managers
get a record's files with /files."""

from __future__ import annotations

import asyncio
import hashlib
import re

from sqlalchemy import select

from procedures import photos
from storage.models import Photo
from tests.e2e.conftest import BotHarness, Chat, register
from tests.e2e.test_complaints import press

NUMBER = re.compile(r"QC-\d{4}-\d{5}")
JPEG = b"\xff\xd8\xff\xe0 a leaking syringe"


async def _start_complaint(bot: BotHarness, customer: Chat) -> dict:
    """/complain up to the photo step; returns the message that asks for photos."""
    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    await press(customer, ask_product, "P-1001 一次性使用無菌注射器 5ml")
    (ask_lot,) = await customer.expect()
    await press(customer, ask_lot, "L20260301")
    await customer.expect()
    await customer.send("3")
    await customer.expect()
    await customer.send("The plunger sticks.")
    (ask_photos,) = await customer.expect()
    return ask_photos


async def _submit(bot: BotHarness, customer: Chat, ask_photos: dict) -> str:
    await press(customer, ask_photos, "Done")
    (summary,) = await customer.expect()
    await press(customer, summary, "Submit")
    filed = await bot.emulator.wait_until(
        lambda: NUMBER.search(customer.all_bot_messages()[-1].get("text", ""))
    )
    await bot.settled()
    return filed.group()


async def _photos(bot: BotHarness) -> list[Photo]:
    async with bot.services.session_factory() as session:
        return list(await session.scalars(select(Photo).order_by(Photo.id)))


async def _until_stored(bot: BotHarness, count: int) -> list[Photo]:
    for _ in range(100):
        rows = await _photos(bot)
        if len(rows) == count and all(r.sha256 for r in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"not stored: {[(r.id, r.download_error) for r in await _photos(bot)]}")


async def test_a_complaint_photo_is_downloaded_into_the_store_under_its_hash(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    ask_photos = await _start_complaint(bot, customer)
    await bot.emulator.send_photo(bot.token, customer.user_id, JPEG)
    await customer.expect()
    await customer.send_document(b"%PDF-1.4 delivery note", "delivery.pdf")
    await customer.expect()
    await _submit(bot, customer, ask_photos)

    photo, document = await _until_stored(bot, 2)
    assert photo.sha256 == hashlib.sha256(JPEG).hexdigest() and photo.size == len(JPEG)
    assert photo.kind == "photo" and photo.mime_type == "image/jpeg"
    assert document.kind == "document" and document.mime_type == "application/pdf"
    store = bot.services.file_store
    assert store.get(photo.sha256) == JPEG
    assert store.root.joinpath(photo.sha256[:2], photo.sha256).is_file()  # type: ignore[union-attr]


async def test_a_failed_download_is_retried_by_the_job_and_then_succeeds(
    bot: BotHarness,
) -> None:
    fetcher = bot.application.evidence_fetcher
    real = fetcher.downloader
    failures = [ConnectionError("Bot API unreachable")]

    async def flaky(file_id: str) -> photos.Download:
        if failures:
            raise failures.pop()
        return await real(file_id)

    fetcher.downloader = flaky
    # a round the fetcher began before the swap (on a busy machine, still waiting for the
    # database) would download with the real downloader: let it finish first
    await fetcher.fetch_due()
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    ask_photos = await _start_complaint(bot, customer)
    await bot.emulator.send_photo(bot.token, customer.user_id, JPEG)
    await customer.expect()
    await _submit(bot, customer, ask_photos)

    async def failed_once() -> Photo:
        for _ in range(100):
            (row,) = await _photos(bot)
            if row.download_attempts:
                return row
            await asyncio.sleep(0.05)
        raise AssertionError("no download was tried")

    row = await failed_once()
    assert row.sha256 is None, (row.download_attempts, row.download_error, failures)
    assert row.download_error == "ConnectionError: Bot API unreachable"
    assert await fetcher.fetch_due() == photos.DownloadReport(0, 0)  # not due before its time
    bot.services.clock.advance(photos.BASE_RETRY)  # type: ignore[attr-defined]
    assert (await fetcher.fetch_due()).stored == 1
    (row,) = await _photos(bot)
    assert row.sha256 == hashlib.sha256(JPEG).hexdigest() and row.download_attempts == 2


async def test_a_file_over_the_20_mb_limit_is_refused_naming_the_limit(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    ask_photos = await _start_complaint(bot, customer)
    await customer.send_document(b"\0" * (20 * 1024 * 1024 + 1), "scan.tiff")
    refusal = await customer.expect_text()
    assert refusal.startswith("This file is 20.0 MB: the bot can keep files of up to 20 MB")
    await bot.emulator.send_photo(bot.token, customer.user_id, JPEG)
    assert (await customer.expect_text()).startswith("Photo received (1 photo so far)")
    await _submit(bot, customer, ask_photos)
    assert len(await _until_stored(bot, 1)) == 1


async def test_a_manager_gets_a_records_files_with_their_hashes(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    head = await register(bot, "quality_head", "Zhou Head")
    ask_photos = await _start_complaint(bot, customer)
    await bot.emulator.send_photo(bot.token, customer.user_id, JPEG)
    await customer.expect()
    number = await _submit(bot, customer, ask_photos)
    (stored,) = await _until_stored(bot, 1)

    await head.send(f"/files {number.lower()}")
    header, sent = await head.expect(2)
    assert header["text"] == f"{number}: 1 evidence files."
    assert sent["caption"].startswith(f"{number} file 1/1\nSHA-256 {stored.sha256}\n")
    assert sent["document"]["file_name"].startswith(stored.sha256)
    assert bot.emulator.files[sent["document"]["file_id"]].content == JPEG

    await head.send("/files QC-1999-00001")
    assert await head.expect_text() == "No record numbered QC-1999-00001."
    await customer.send(f"/files {number}")  # not a manager: refused, nothing sent
    refusal = await customer.expect_text()
    assert "SHA-256" not in refusal and not customer.all_bot_messages()[-1].get("document")
