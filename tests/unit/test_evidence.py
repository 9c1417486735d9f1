"""Evidence files: the content-addressed store, the download with its retries, the facts fixed
once stored, and the inspector's export read back against the database."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.documents import document_context
from bot.services import Services
from core.config import ConfigError, settings_from
from procedures.complaints import intake
from procedures.complaints.intake import ComplaintDraft
from procedures.kernel import photos
from procedures.kernel.clock import ManualClock
from reports.export import MANIFEST, check_manifest, export_period
from storage.files import LocalFileStore, sha256_of, split_s3_location
from storage.models import Complaint, Deadline, OutboxMessage, Photo, TimelineEvent, User
from tests.conftest import SHANGHAI, START
from tests.printing import read_pdf
from tests.unit.helpers import customer_of, ids, make_user

JPEG = b"\xff\xd8\xff\xe0" + b"leaking plunger" * 10
PDF = b"%PDF-1.4 delivery note"


def test_the_store_keeps_a_file_once_under_its_sha256(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    first = store.put(JPEG)
    again = store.put(JPEG)
    assert first == again and first.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert first.size == len(JPEG)
    path = tmp_path / first.sha256[:2] / first.sha256
    assert path.read_bytes() == JPEG and store.get(first.sha256) == JPEG
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [first.sha256]


def test_file_store_is_a_folder_or_an_s3_bucket_checked_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings_from({}).file_store == "data/files"
    assert settings_from({"FILE_STORE": str(tmp_path)}).file_store == str(tmp_path)
    assert settings_from({"FILE_STORE": f"file://{tmp_path}"}).file_store == str(tmp_path)
    a_file = tmp_path / "f"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="FILE_STORE must be a folder"):
        settings_from({"FILE_STORE": str(a_file)})
    with pytest.raises(ConfigError, match="FILE_STORE must be a folder or s3://bucket/prefix"):
        settings_from({"FILE_STORE": "ftp://files.example.com/evidence"})

    bucket = settings_from(
        {
            "FILE_STORE": "S3://after-sales-evidence/gsp/records/",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "S3_REGION": "cn-north-1",
        }
    )
    assert bucket.file_store == "s3://after-sales-evidence/gsp/records/"
    assert (bucket.s3_endpoint_url, bucket.s3_region) == ("http://127.0.0.1:9000", "cn-north-1")
    assert split_s3_location(bucket.file_store) == ("after-sales-evidence", "gsp/records/")
    assert split_s3_location("s3://evidence") == ("evidence", "")
    for name in ("ab", "Evidence", "-evidence", "evi_dence", "evi..dence", "x" * 64):
        with pytest.raises(ConfigError, match="a bucket's name is 3-63 lower-case letters"):
            settings_from({"FILE_STORE": f"s3://{name}/p"})
    with pytest.raises(ConfigError, match="S3_ENDPOINT_URL is set, but FILE_STORE is not"):
        settings_from({"S3_ENDPOINT_URL": "http://127.0.0.1:9000"})
    with pytest.raises(ConfigError, match="S3_ENDPOINT_URL must be an http"):
        settings_from({"FILE_STORE": "s3://evidence", "S3_ENDPOINT_URL": "127.0.0.1:9000"})
    with pytest.raises(ConfigError, match="S3_REGION must look like eu-central-1"):
        settings_from({"FILE_STORE": "s3://evidence", "S3_REGION": "EU Central"})
    # without the s3 extra the bot still runs on a folder, and says what a bucket needs
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"install the bot with its s3 extra \(pip install"):
        settings_from({"FILE_STORE": "s3://evidence"})


def test_the_bot_runs_on_a_folder_without_loading_the_s3_client(tmp_path: Path) -> None:
    """boto3 is an optional extra: nothing on the folder's path imports it."""
    code = (
        "import sys, bot.__main__, bot.app, reports.export\n"
        "from storage.files import file_store_for\n"
        f"file_store_for({str(tmp_path)!r}).put(b'x')\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')]\n"
        "assert not loaded, loaded\n"
    )
    root = Path(__file__).parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


async def _complaint_with_evidence(services: Services, refs: list[str]) -> tuple[Complaint, User]:
    organisation_id, product_id, batch_id = await ids(services, "C001", "P-1001", "L20260301")
    filer = await customer_of(services, "C001")
    draft = ComplaintDraft(
        organisation_id=organisation_id,
        complainant_name="Chen",
        product_id=product_id,
        batch_id=batch_id,
        quantity=3,
        description="=1+1 leaks",  # a formula in a user's text stays text in the workbook
        photo_file_ids=refs,
    )
    async with services.unit_of_work() as uow:
        actor = await uow.session.get(User, filer.id)
        filed = await intake.file_complaint(uow, actor, draft)
    return filed.complaint, filer


class FlakyDownloads:
    """Telegram as the fetcher sees it: each file id's bytes, after `failures` refusals."""

    def __init__(self, files: dict[str, bytes], failures: int = 0) -> None:
        self.files, self.failures, self.calls = files, failures, 0

    async def __call__(self, file_id: str) -> photos.Download:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Bot API unreachable")
        return photos.Download(self.files[file_id])


async def _rows(services: Services, complaint_id: int) -> list[Photo]:
    async with services.session_factory() as session:
        return await photos.photos_of(session, "complaint", complaint_id)


async def test_a_failed_download_is_kept_on_the_row_and_retried_later_until_stored(
    services: Services, samples: None, clock: ManualClock
) -> None:
    complaint, _ = await _complaint_with_evidence(services, ["F-photo"])
    (pending,) = await _rows(services, complaint.id)
    assert pending.sha256 is None and pending.kind == "photo"
    assert pending.next_download_at == clock.now()

    downloader = FlakyDownloads({"F-photo": JPEG}, failures=1)
    fetch = [services.session_factory, clock.now, services.file_store, downloader]
    assert (await photos.download_due(*fetch)).failed == 1
    (failed,) = await _rows(services, complaint.id)
    assert failed.sha256 is None and failed.download_attempts == 1
    assert failed.download_error == "ConnectionError: Bot API unreachable"
    assert failed.next_download_at == clock.now() + photos.BASE_RETRY
    # not due yet: nothing is tried
    assert (await photos.download_due(*fetch)).stored == 0 and downloader.calls == 1

    clock.advance(photos.BASE_RETRY)
    assert (await photos.download_due(*fetch)).stored == 1
    (stored,) = await _rows(services, complaint.id)
    assert stored.sha256 == sha256_of(JPEG) and stored.size == len(JPEG)
    assert stored.mime_type == "image/jpeg" and stored.stored_at == clock.now()
    assert stored.download_error is None and stored.next_download_at is None
    assert services.file_store.get(stored.sha256) == JPEG


async def test_a_file_still_missing_after_five_tries_is_told_to_the_admins_once(
    services: Services, samples: None, clock: ManualClock
) -> None:
    admin = await make_user(services, "admin")
    complaint, _ = await _complaint_with_evidence(services, ["F-gone"])
    downloader = FlakyDownloads({}, failures=100)
    for _ in range(7):
        await photos.download_due(
            services.session_factory, clock.now, services.file_store, downloader
        )
        clock.advance(photos.MAX_RETRY)
    (missing,) = await _rows(services, complaint.id)
    assert missing.sha256 is None and missing.download_attempts == 7
    async with services.session_factory() as session:
        alerts = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.text_key == "evidence.missing_alert")
            )
        )
    assert [a.user_id for a in alerts] == [admin.id]
    assert all(a.params["record"] == complaint.number for a in alerts)


async def test_a_stored_file_cannot_be_rewritten_or_its_row_deleted(
    services: Services, samples: None, clock: ManualClock
) -> None:
    complaint, _ = await _complaint_with_evidence(services, ["F-photo"])
    await photos.download_due(
        services.session_factory, clock.now, services.file_store, FlakyDownloads({"F-photo": JPEG})
    )
    (stored,) = await _rows(services, complaint.id)
    for change in ({"sha256": "0" * 64}, {"size": 1}, {"mime_type": "text/plain"}):
        async with services.session_factory() as session:
            with pytest.raises((IntegrityError, DBAPIError), match="records are kept"):
                await session.execute(update(Photo).where(Photo.id == stored.id).values(**change))
                await session.commit()


async def test_the_export_holds_every_record_with_its_timeline_deadlines_and_files(
    services: Services, samples: None, clock: ManualClock, tmp_path: Path
) -> None:
    complaint, filer = await _complaint_with_evidence(
        services, ["F-photo", photos.document_ref("F-pdf"), "F-never"]
    )
    downloader = FlakyDownloads({"F-photo": JPEG, "F-pdf": PDF, "F-never": b""}, failures=0)

    async def all_but_one(file_id: str) -> photos.Download:
        if file_id == "F-never":
            raise TimeoutError("still downloading")
        return await downloader(file_id)

    await photos.download_due(services.session_factory, clock.now, services.file_store, all_but_one)
    clock.advance(dt.timedelta(days=40))
    later, _ = await _complaint_with_evidence(services, [])  # December: outside the period

    out = tmp_path / "export"
    summary = await export_period(
        services.session_factory,
        services.file_store,
        dt.datetime(2026, 11, 1, tzinfo=SHANGHAI),
        dt.datetime(2026, 12, 1, tzinfo=SHANGHAI),
        out,
        timezone=SHANGHAI,
        now=clock.now(),
        forms=document_context(services, "zh-Hant"),
    )
    assert summary.records["complaint"] == 1 and summary.files == 2
    # the record's form, as the procedure names it, beside its data
    (form,) = (out / "forms").iterdir()
    assert form.name == f"顧客質量投訴及處理記錄-{complaint.number}.pdf"
    assert complaint.number in read_pdf(form.read_bytes()).text
    assert [m["telegram_file_id"] for m in summary.missing_files] == ["F-never"]

    # the manifest covers every file and every sum holds
    manifest = (out / MANIFEST).read_text().splitlines()
    listed = {line.split("  ", 1)[1] for line in manifest}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert listed == on_disk - {MANIFEST}
    assert f"files/{sha256_of(JPEG)[:2]}/{sha256_of(JPEG)}" in listed
    assert check_manifest(out) == []

    # the JSON Lines against the database
    (entry,) = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    async with services.session_factory() as session:
        kept = await session.get(Complaint, complaint.id)
        events = list(
            await session.scalars(
                select(TimelineEvent)
                .where(
                    TimelineEvent.subject_type == "complaint", TimelineEvent.subject_id == kept.id
                )
                .order_by(TimelineEvent.id)
            )
        )
        deadlines = list(
            await session.scalars(
                select(Deadline).where(
                    Deadline.subject_type == "complaint", Deadline.subject_id == kept.id
                )
            )
        )
        rows = await photos.photos_of(session, "complaint", kept.id)
    assert entry["number"] == kept.number != later.number
    assert entry["fields"]["description"] == kept.description == "=1+1 leaks"
    assert entry["fields"]["received_at"] == kept.received_at.isoformat()
    assert entry["signed_by"]["filed_by"] == filer.full_name
    assert [e["action"] for e in entry["timeline"]] == [e.action for e in events]
    assert {d["kind"] for d in entry["deadlines"]} == {d.kind for d in deadlines}
    assert [f["sha256"] for f in entry["files"]] == [r.sha256 for r in rows]
    assert [f["kind"] for f in entry["files"]] == ["photo", "document", "photo"]
    assert entry["files"][1]["mime_type"] == "application/pdf"
    assert entry["files"][2]["path"] is None  # the missing one says so
    assert "batch_holds" in entry["children"]
    for file in entry["files"][:2]:
        assert hashlib.sha256((out / file["path"]).read_bytes()).hexdigest() == file["sha256"]

    # the workbook for people: the same record, user text as text, the files listed
    workbook = load_workbook(out / "records.xlsx")
    sheet = workbook["complaint"]
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["number"].value == kept.number
    assert row["description"].value == "=1+1 leaks" and row["description"].data_type == "s"
    assert row["description"].quotePrefix
    assert row["received_at"].value == START.replace(tzinfo=None)
    assert sheet.max_row == 2
    assert workbook["timeline"].max_row == 1 + len(events)
    files = [[c.value for c in r] for r in workbook["files"].iter_rows(min_row=2)]
    assert [f[4] for f in files] == [sha256_of(JPEG), sha256_of(PDF), None]
    assert files[2][10] == "MISSING"
    assert json.loads((out / "export.json").read_text())["records"]["complaint"] == 1
