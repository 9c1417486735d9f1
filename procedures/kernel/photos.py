"""Evidence files kept on any record (complaint, patrol, defect, rectification, return, …):
the Telegram file id as received, then the file itself in the file store, by its SHA-256.

A dialogue collects references (a photo's file id, or a document's as `document:<file id>`);
`add_photos` records them in the record's transaction, each pending download. The download runs
after the commit, off the dialogue (bot/runtime/evidence_fetcher.py), through the functions below
with a `downloader` handed in: nothing here talks to Telegram.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.outbox import notify_roles
from procedures.kernel.timeline import SUBJECT_TYPES, record_change
from storage.files import FileStore
from storage.models import Photo, User

# Telegram lets a bot download files up to this size (getFile); a larger one is refused at intake.
DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024
PHOTO, DOCUMENT = "photo", "document"
DOCUMENT_PREFIX = "document:"
BASE_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(hours=6)
# After this many failed tries the admins are told (once) which file is still missing.
ALERT_AFTER_ATTEMPTS = 5


def document_ref(file_id: str) -> str:
    """A document's reference in a dialogue's list of evidence (a photo's is its file id)."""
    return DOCUMENT_PREFIX + file_id


def split_ref(ref: str) -> tuple[str, str]:
    """(kind, Telegram file id) of a reference; Telegram's file ids never hold a colon."""
    if ref.startswith(DOCUMENT_PREFIX):
        return DOCUMENT, ref.removeprefix(DOCUMENT_PREFIX)
    return PHOTO, ref


def too_large(size: int | None) -> bool:
    return size is not None and size > DOWNLOAD_LIMIT_BYTES


# Set in the `info` of a session that kept files to download: its committer wakes the fetcher.
FILES_TO_FETCH = "files_to_fetch"


def add_photos(
    session: AsyncSession,
    subject_type: str,
    subject_id: int,
    stage: str,
    file_ids: list[str],
    actor: User,
    now: dt.datetime,
) -> None:
    """Keep the evidence (photos by their file ids, documents by `document_ref`) on the record,
    at the given stage; each is downloaded into the file store after the commit."""
    if file_ids:
        session.info[FILES_TO_FETCH] = True
    for ref in file_ids:
        kind, file_id = split_ref(ref)
        session.add(
            Photo(
                subject_type=subject_type,
                subject_id=subject_id,
                stage=stage,
                telegram_file_id=file_id,
                kind=kind,
                added_by_id=actor.id,
                added_at=now,
                download_attempts=0,
                next_download_at=now,
            )
        )


# what the timeline keeps of a scanned label (labels.UdiLabel.to_json)
LABEL_FIELDS = ("gtin", "lot", "expiry", "serial", "element_string")


def keep_label(
    session: AsyncSession,
    record: Any,
    label: dict[str, Any] | None,
    actor: User,
    now: dt.datetime,
    *,
    batch_id: int | None,
    **more: Any,
) -> None:
    """A scanned label (labels.LabelMatch.evidence) is evidence on any record: its photo (stage
    "label") and the fields read, with the timeline saying whether the product and lot were
    taken from it (the record's lot, `batch_id`, is the label's). `more` adds to the timeline
    entry (a return's line number)."""
    if not label:
        return
    used = label.get("batch_id") is not None and label.get("batch_id") == batch_id
    if label.get("file_id"):
        subject_type = SUBJECT_TYPES[type(record)]
        add_photos(session, subject_type, record.id, "label", [label["file_id"]], actor, now)
    record_change(
        session,
        record,
        "lot_from_label" if used else "label_scanned",
        now,
        actor=actor,
        after={**{name: label.get(name) for name in LABEL_FIELDS}, **more},
    )


async def photos_of(session: AsyncSession, subject_type: str, subject_id: int) -> list[Photo]:
    rows = await session.scalars(
        select(Photo)
        .where(Photo.subject_type == subject_type, Photo.subject_id == subject_id)
        .order_by(Photo.id)
    )
    return list(rows)


def missing_of(photos: Iterable[Photo]) -> list[Photo]:
    """The files of a record not (yet) in the file store."""
    return [p for p in photos if p.sha256 is None]


# Telegram's albums (sendMediaGroup) hold two to ten items; a single one goes as itself.
ALBUM_LIMIT = 10
# An outbox attachment that sends a record's files as one album, each item captioned with the
# row's text rendered with `index` counted on from the row's own.
ALBUM = "album"


def photo_attachment(ref: str) -> dict[str, Any]:
    """An outbox attachment of evidence already on Telegram, re-sent by its file id."""
    return {"kind": PHOTO, "params": {"file_id": ref}}


def album_groups(files: Sequence[Photo]) -> list[list[Photo]]:
    """The record's files as Telegram can group them: photos together, then documents together
    (a document joins an album only with documents), at most ten a group, each in the order
    kept."""
    pictures = [f for f in files if f.kind != DOCUMENT]
    documents = [f for f in files if f.kind == DOCUMENT]
    return [
        kind[start : start + ALBUM_LIMIT]
        for kind in (pictures, documents)
        for start in range(0, len(kind), ALBUM_LIMIT)
    ]


async def send_album_to_roles(
    session: AsyncSession,
    recipients: Iterable[str],
    subject_type: str,
    subject_id: int,
    stage: str,
    number: str,
    *,
    now: dt.datetime,
    dedupe_prefix: str,
) -> None:
    """Queue the files the record keeps at `stage` as albums after its notice, one outbox row
    per album and recipient (so a retry re-sends one whole album or nothing), each file
    captioned with the record's number and its place ("QC-… photo 2 of 3")."""
    await session.flush()  # the files added in this transaction get their ids
    kept = [p for p in await photos_of(session, subject_type, subject_id) if p.stage == stage]
    recipients = list(recipients)
    first = 1
    for group_index, group in enumerate(album_groups(kept), start=1):
        await notify_roles(
            session,
            recipients,
            "evidence.photo_caption",
            {"number": number, "index": first, "count": len(kept)},
            now=now,
            attachment={"kind": ALBUM, "params": {"photo_ids": [p.id for p in group]}},
            dedupe_prefix=f"{dedupe_prefix}:{group_index}",
        )
        first += len(group)


# --- the download, after the commit ----------------------------------------------------------


@dataclass(frozen=True)
class Download:
    content: bytes
    mime_type: str | None = None


# file id -> the file's bytes (and type, if the source says it); raises on any failure
Downloader = Callable[[str], Awaitable[Download]]


@dataclass
class DownloadReport:
    stored: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> dt.timedelta:
    delay: dt.timedelta = BASE_RETRY * 2 ** (attempts - 1)
    return min(delay, MAX_RETRY)


async def due_downloads(session: AsyncSession, now: dt.datetime, limit: int = 20) -> list[Photo]:
    rows = await session.scalars(
        select(Photo)
        .where(Photo.sha256.is_(None), Photo.next_download_at <= now)
        .order_by(Photo.next_download_at, Photo.id)
        .limit(limit)
    )
    return list(rows)


# the first bytes of the file types evidence usually comes in
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
)


def sniff_mime(content: bytes) -> str:
    """The file's type by its first bytes, where the source did not say."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next(
        (mime for magic, mime in SIGNATURES if content.startswith(magic)),
        "application/octet-stream",
    )


def record_stored(photo: Photo, sha256: str, size: int, mime_type: str, now: dt.datetime) -> None:
    photo.sha256, photo.size, photo.stored_at = sha256, size, now
    photo.mime_type = mime_type[:100]
    photo.download_attempts += 1
    photo.next_download_at = None
    photo.download_error = None


async def record_failure(
    session: AsyncSession, photo: Photo, error: str, now: dt.datetime, label: str
) -> None:
    """Try again later, ever less often; the row says what went wrong, and the admins hear once
    that a record's file is still missing."""
    photo.download_attempts += 1
    photo.download_error = error[:1000]
    photo.next_download_at = now + retry_delay(photo.download_attempts)
    if photo.download_attempts == ALERT_AFTER_ATTEMPTS:
        await notify_roles(
            session,
            [roles.ADMIN],
            "evidence.missing_alert",
            {"record": label, "file": photo.id, "error": error[:300]},
            now=now,
            dedupe_prefix=f"photo:{photo.id}:missing",
        )


async def download_due(
    session_factory: Callable[[], AsyncSession],
    now: Callable[[], dt.datetime],
    store: FileStore,
    downloader: Downloader,
    limit: int = 20,
) -> DownloadReport:
    """Download the files whose turn has come, each outside any transaction, then record each
    result in a short one of its own. A file already in the store (the same photo sent again)
    is stored once."""
    report = DownloadReport()
    async with session_factory() as session:
        due = [(p.id, p.telegram_file_id) for p in await due_downloads(session, now(), limit)]
    for photo_id, file_id in due:
        try:
            download = await downloader(file_id)
            if too_large(len(download.content)):
                raise ValueError(f"file over {DOWNLOAD_LIMIT_BYTES} bytes")
            # off the event loop: the store may be a bucket across the network
            stored = await asyncio.to_thread(store.put, download.content)
            error = None
        except Exception as failure:  # any failure: the row keeps it and is tried again
            error = f"{type(failure).__name__}: {failure}"
        async with session_factory() as session:
            photo = await session.get(Photo, photo_id, with_for_update=True)
            if photo is None or photo.sha256 is not None:
                continue
            if error is None:
                mime = download.mime_type or sniff_mime(download.content)
                record_stored(photo, stored.sha256, stored.size, mime, now())
                report.stored += 1
            else:
                label = await record_label(session, photo.subject_type, photo.subject_id)
                await record_failure(session, photo, error, now(), label)
                report.failed += 1
            await session.commit()
    return report


async def pending_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).where(Photo.sha256.is_(None))) or 0)


# --- records by their number, for /files and the export ----------------------------------------


def numbered_kinds() -> dict[str, Any]:
    """subject type -> model, of every record that carries a readable number (QC-, RT-, DF-, …)."""
    return {name: model for model, name in SUBJECT_TYPES.items() if hasattr(model, "number")}


async def record_label(session: AsyncSession, subject_type: str, subject_id: int) -> str:
    """The record's number, or its kind and id where it has none (a patrol)."""
    model = next((m for m, name in SUBJECT_TYPES.items() if name == subject_type), None)
    record = await session.get(model, subject_id) if model is not None else None
    number = getattr(record, "number", None)
    return number or f"{subject_type} #{subject_id}"


async def find_numbered(session: AsyncSession, number: str) -> tuple[str, int] | None:
    """(subject type, id) of the record with this number, in any numbered kind."""
    wanted = number.strip().upper()
    for subject_type, model in numbered_kinds().items():
        record_id = await session.scalar(select(model.id).where(model.number == wanted))
        if record_id is not None:
            return subject_type, record_id
    return None
