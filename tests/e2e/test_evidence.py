"""Evidence through the emulator: a photo sent in /complain is downloaded into the file store by
its hash, a failed download is retried, a file past Telegram's limit is refused, and managers
get a record's files with /files."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import select

from emulator.server import ApiError
from procedures.kernel import photos
from storage.models import OutboxMessage, Photo
from tests.e2e.conftest import BotHarness, Chat, register
from tests.e2e.test_complaints import press

T = TypeVar("T")
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


async def _until(
    read: Callable[[], Awaitable[list[T]]], done: Callable[[list[T]], bool], what: str
) -> list[T]:
    """What `read` gives once `done` holds for it (the work runs in the bot's background)."""
    for _ in range(100):
        rows = await read()
        if done(rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: {rows}")


async def _until_stored(bot: BotHarness, count: int) -> list[Photo]:
    return await _until(
        lambda: _photos(bot),
        lambda rows: len(rows) == count and all(r.sha256 for r in rows),
        f"not all {count} stored",
    )


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


async def file_with_one_photo(bot: BotHarness, customer: Chat) -> tuple[str, Photo]:
    """The customer files a complaint with one photo; its number and the photo, once stored."""
    ask_photos = await _start_complaint(bot, customer)
    await bot.emulator.send_photo(bot.token, customer.user_id, JPEG)
    await customer.expect()
    number = await _submit(bot, customer, ask_photos)
    (stored,) = await _until_stored(bot, 1)
    return number, stored


async def test_a_manager_gets_a_records_files_with_their_hashes(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    head = await register(bot, "quality_head", "Zhou Head")
    number, stored = await file_with_one_photo(bot, customer)

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


async def test_quality_gets_the_buyers_photos_as_one_album_and_a_failed_album_is_resent_whole(
    bot: BotHarness,
) -> None:
    qc = await register(bot, "quality", "Qiu QC")
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    ask_photos = await _start_complaint(bot, customer)
    pictures = [JPEG + bytes([index]) for index in range(3)]
    for content in pictures:  # an album: one update per photo
        await bot.emulator.send_photo(bot.token, customer.user_id, content, media_group_id="B1")
    await customer.expect()
    await customer.send_document(b"%PDF-1.4 delivery note", "delivery.pdf")
    await customer.expect()
    bot.emulator.fail_next("sendMediaGroup", 502)  # Telegram carried out nothing
    number = await _submit(bot, customer, ask_photos)

    (notice,) = await qc.expect()
    assert notice["text"].startswith(f"New quality complaint {number}")
    calls = bot.emulator.bot(bot.token).call_log
    await bot.emulator.wait_until(lambda: ("sendmediagroup", 502) in [c[1:] for c in calls])
    bot.services.clock.advance(dt.timedelta(seconds=5))  # type: ignore[attr-defined]
    bot.services.outbox_ready.set()

    *album, document = await qc.expect(4)
    assert [m["caption"] for m in album] == [f"{number}: photo {i} of 4" for i in (1, 2, 3)]
    assert len({m["media_group_id"] for m in album}) == 1 and "media_group_id" in album[0]
    kept = await _photos(bot)
    # the buyer's files, re-sent by the file ids Telegram gave them
    assert [m["photo"][-1]["file_id"] for m in album] == [p.telegram_file_id for p in kept[:3]]
    assert [bot.emulator.files[m["photo"][-1]["file_id"]].content for m in album] == pictures
    assert document["caption"] == f"{number}: photo 4 of 4"  # a file goes in no photo album
    assert document["document"]["file_id"] == kept[3].telegram_file_id
    await bot.settled()
    assert len(qc.all_bot_messages()) == 5  # the album once, not once per try
    albums = await _sent_rows(bot, qc.user_id, "evidence.photo_caption")
    assert [(r.attachment["kind"], r.attempts) for r in albums] == [("album", 2), ("album", 1)]


async def _sent_rows(bot: BotHarness, chat_id: int, text_key: str) -> list[OutboxMessage]:
    """The chat's outbox rows of `text_key`, once the sender has marked them all sent (it does
    so just after Telegram accepts each)."""

    async def read() -> list[OutboxMessage]:
        async with bot.services.session_factory() as session:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id, OutboxMessage.text_key == text_key)
                .order_by(OutboxMessage.id)
            )
            return list(await session.scalars(query))

    return await _until(read, lambda rows: all(r.status == "sent" for r in rows), "not all sent")


async def keep_in_store_only(bot: BotHarness, beside: Photo, content: bytes, file_id: str) -> None:
    """A photo of the same record kept in the file store but not on Telegram: with no file id
    (""), or one Telegram does not know."""
    store = bot.services.file_store
    assert store is not None
    stored = store.put(content)
    async with bot.services.unit_of_work() as uow:
        uow.session.add(
            Photo(
                subject_type=beside.subject_type,
                subject_id=beside.subject_id,
                stage="verification",
                telegram_file_id=file_id,
                kind="photo",
                added_by_id=beside.added_by_id,
                added_at=uow.clock.now(),
                sha256=stored.sha256,
                size=stored.size,
                mime_type="image/jpeg",
                stored_at=uow.clock.now(),
            )
        )
        await uow.commit()


async def test_ticket_sends_ten_photos_an_album_and_the_rest_in_the_next_some_from_the_store(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    ask_photos = await _start_complaint(bot, customer)
    pictures = [JPEG + b" %02d" % index for index in range(11)]
    for content in pictures:  # one by one: each acknowledged
        await bot.emulator.send_photo(bot.token, customer.user_id, content)
        await customer.expect()
    number = await _submit(bot, customer, ask_photos)
    kept = await _until_stored(bot, 11)
    # a file the store has but Telegram does not: no file id, and an id Telegram has forgotten
    unknown = [b"\xff\xd8\xff on site, no file id", b"\xff\xd8\xff on site, forgotten id"]
    await keep_in_store_only(bot, kept[0], unknown[0], file_id="")
    await keep_in_store_only(bot, kept[0], unknown[1], file_id="F999999_gone")

    # the staff view (a buyer's own ticket leaves out the verification photos): the buyer's
    # eleven as an album of ten and one more, then the two verification photos as an album
    qc = await register(bot, "quality", "Qiu QC")
    await qc.send(f"/ticket {number}")
    ticket, *sent = await qc.expect(14)
    assert ticket["text"].startswith(f"{number} — ")
    first, eleventh, verification = sent[:10], sent[10], sent[11:]
    assert [m["caption"] for m in sent] == [
        *(f"{number}: photo from the buyer {i} of 11" for i in range(1, 12)),
        *(f"{number}: verification photo {i} of 2" for i in range(1, 3)),
    ]
    assert len({m["media_group_id"] for m in first}) == 1
    assert "media_group_id" not in eleventh
    assert len({m["media_group_id"] for m in verification}) == 1
    assert first[0]["media_group_id"] != verification[0]["media_group_id"]
    assert [m["photo"][-1]["file_id"] for m in first] == [p.telegram_file_id for p in kept[:10]]
    contents = [bot.emulator.files[m["photo"][-1]["file_id"]].content for m in sent]
    assert contents == [*pictures, *unknown]  # the last two uploaded from the store


async def test_the_emulator_groups_an_album_as_telegram_does(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await bot.emulator.send_photo(bot.token, customer.user_id, JPEG)
    file_id = bot.emulator.bot(bot.token).chats[customer.user_id][-1]["photo"][-1]["file_id"]
    photo = {"type": "photo", "media": file_id}
    sent = await bot.emulator.call(
        bot.token, "sendMediaGroup", {"chat_id": customer.user_id, "media": [photo, photo]}
    )
    assert [m["photo"][-1]["file_id"] for m in sent] == [file_id, file_id]  # ids reused
    assert sent[0]["media_group_id"] == sent[1]["media_group_id"]
    document = {"type": "document", "media": file_id}
    with pytest.raises(ApiError, match="documents can be grouped in an album only with"):
        await bot.emulator.call(
            bot.token, "sendMediaGroup", {"chat_id": customer.user_id, "media": [photo, document]}
        )
    before = len(bot.emulator.violations)
    with pytest.raises(ApiError, match="media must include 2-10 items"):
        await bot.emulator.call(
            bot.token, "sendMediaGroup", {"chat_id": customer.user_id, "media": [photo]}
        )
    assert len(bot.emulator.violations) == before + 1
    del bot.emulator.violations[before:]  # made on purpose: not the bot's
