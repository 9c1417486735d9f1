"""Evidence in an S3-compatible bucket (moto's server on 127.0.0.1): a complaint's photo lands
in the bucket under its SHA-256, and goes back to a chat from it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.services import Services
from storage.files import S3FileStore
from tests.e2e.conftest import BotHarness, register
from tests.e2e.test_evidence import JPEG, file_with_one_photo, keep_in_store_only


@pytest.fixture
def services(services: Services, s3_store: S3FileStore) -> Services:
    """The usual services, with the file store a bucket instead of a folder."""
    services.file_store = s3_store
    return services


async def test_a_complaints_evidence_lands_in_the_bucket_and_is_sent_again_from_it(
    bot: BotHarness, s3_store: S3FileStore, tmp_path: Path
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    head = await register(bot, "quality_head", "Zhou Head")
    number, photo = await file_with_one_photo(bot, customer)
    digest = hashlib.sha256(JPEG).hexdigest()
    assert photo.sha256 == digest
    listing = s3_store.client.list_objects_v2(Bucket=s3_store.bucket)
    assert [o["Key"] for o in listing["Contents"]] == [f"gsp/records/{digest[:2]}/{digest}"]
    assert not (tmp_path / "files").exists()  # nothing in the folder it would otherwise use

    # /files sends the file read back from the bucket, with its hash
    await head.send(f"/files {number}")
    _, sent = await head.expect(2)
    assert sent["caption"].startswith(f"{number} file 1/1\nSHA-256 {digest}\n")
    assert bot.emulator.files[sent["document"]["file_id"]].content == JPEG

    # a file whose Telegram id is no longer known goes out uploaded from the bucket
    on_site = b"\xff\xd8\xff on site, in the bucket only"
    await keep_in_store_only(bot, photo, on_site, file_id="F999999_gone")
    # (the staff view: a buyer's ticket shows only the buyer's own photos)
    await head.send(f"/ticket {number}")
    _, *photos = await head.expect(3)
    contents = [bot.emulator.files[m["photo"][-1]["file_id"]].content for m in photos]
    assert contents == [JPEG, on_site]
