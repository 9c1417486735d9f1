"""Delivers the outbox through Telegram: rate-limited, retried with backoff, never lost.

A row is marked sent in its own transaction right after Telegram accepts it. A crash between
the two sends that one row once more on restart; nothing is dropped. Rows that keep failing, or
that Telegram refuses for good (blocked bot, unknown chat), are parked and the admins told.

A row with a document to render (a monthly report, a rectification notice) never holds the
others up: its rendering is started beside the sender and the row is passed over until the file
is ready; a rendering that times out is retried with backoff like a network error.

A chat's pending deadline reminders and alerts go as one digest (bot.digests) when more than
one waits: the first claimed carries the others, which are marked sent with it, ahead of any
other row of the chat written between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Interval, Select, bindparam, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from telegram import Bot, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from procedures.kernel import roles
from procedures.kernel.daily_lists import DAILY_LIST
from procedures.kernel.deadlines import DIGEST_TEXT_KEYS
from procedures.kernel.outbox import EDIT, OVERTAKEN, URGENT, notify_roles
from procedures.kernel.photos import ALBUM, DOCUMENT, split_ref
from reports.documents import UnknownDocument
from reports.registry import RenderedDocument, ReportFiles
from storage.db import read_only_sessions
from storage.models import OutboxMessage, Photo, User

from ..albums import send_group, sendable
from ..context import fit_caption, fit_message, render_keyboard
from ..digests import as_of, digestible, overtaken, render_daily, render_digest
from ..services import Services
from .rendering import Renderer, Rendering, RenderingTimedOut, RenderOnLoop, render_within

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF = dt.timedelta(seconds=5)
MAX_BACKOFF = dt.timedelta(hours=1)
POLL_INTERVAL_SECONDS = 2.0
# An attachment of this kind is already on Telegram: it is sent by its file id, not rendered
# (a photo, or a document by its `procedures.kernel.photos.document_ref`).
PHOTO_KIND = "photo"


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    parked: int = 0
    # rows whose document is being rendered: they go once it is ready
    rendering: int = 0
    # reminders whose deadline passed before they could go: passed over, not sent
    overtaken: int = 0


class DocumentNotReady(Exception):
    """The row's document is still being rendered."""


def backoff(attempts: int) -> dt.timedelta:
    delay: dt.timedelta = BASE_BACKOFF * 2 ** (attempts - 1)
    return min(delay, MAX_BACKOFF)


@dataclass(frozen=True)
class Pacing:
    """How fast the sender goes: Telegram allows a bot about 30 messages a second, one a second
    to a chat (a short burst of a few is tolerated), and up to 1,000 a second overall for
    messages sent with allow_paid_broadcast."""

    per_second: float = 30.0
    chat_per_second: float = 1.0
    chat_burst: float = 3.0
    paid_per_second: float = 1000.0


class _Bucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, now

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: now)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


# Telegram counts a request when it arrives, the sender when it leaves; a little under the
# limit keeps the jitter between the two from ever making a 429.
PACE_MARGIN = 0.95


def _bucket_under(rate: float, burst: float, now: float) -> _Bucket:
    """A bucket a little under Telegram's: 95 % of the rate; the overall burst at 80 %, so the
    server's bucket keeps some tokens in reserve."""
    return _Bucket(rate * PACE_MARGIN, burst if burst <= 3 else burst * 0.8, now)


class OutboxSender:
    def __init__(
        self,
        services: Services,
        bot: Bot,
        *,
        pacing: Pacing | Literal["settings"] | None = "settings",
        paid_broadcast: bool | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        renderer: Renderer | None = None,
    ) -> None:
        self.services = services
        self.bot = bot
        # a document (a monthly report, a rectification notice) is rendered by this
        self.renderer = renderer or RenderOnLoop(services)
        # renderings under way or done, by outbox row id, until their row is sent or deferred
        self._renderings: dict[int, asyncio.Task[ReportFiles]] = {}
        self._claim_queries: dict[tuple[bool, bool], Select[*tuple[Any, ...]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # Telegram's retry_after holds the whole bot, not only the message that got the 429:
        # nothing is sent before this moment.
        self._quiet_until: dt.datetime | None = None
        if pacing == "settings":
            pacing = Pacing(per_second=services.settings.outbox_messages_per_second)
        self.pacing = pacing
        self.paid_broadcast = (
            services.settings.paid_broadcast if paid_broadcast is None else paid_broadcast
        )
        self._monotonic = monotonic
        now = monotonic()
        self._overall = self._paid = None
        if pacing is not None:
            self._overall = _bucket_under(pacing.per_second, pacing.per_second, now)
            self._paid = _bucket_under(pacing.paid_per_second, pacing.paid_per_second, now)
        self._chats: dict[int, _Bucket] = {}
        # On PostgreSQL a row is claimed FOR UPDATE SKIP LOCKED and held until it is marked, so
        # several processes' senders never take the same row; SQLite (one process) lets go of
        # its write lock while sending.
        engine = services.session_factory.kw.get("bind")
        self._holds_rows = engine is not None and engine.dialect.name == "postgresql"
        # and those processes share each chat's pace through the rows handed to it
        self.shares_chat_pace = self._holds_rows and pacing is not None

    def _paced_chats(self, now: float) -> list[int]:
        """Chats that had their share for now: their next row waits."""
        busy = []
        for chat_id, bucket in list(self._chats.items()):
            if bucket.wait(now) > 0:
                busy.append(chat_id)
            elif bucket.tokens >= bucket.burst:
                del self._chats[chat_id]  # full again: forget it
        return busy

    def next_chat_ready_in(self) -> float | None:
        now = self._monotonic()
        waits = [b.wait(now) for b in self._chats.values()]
        waits = [w for w in waits if w > 0]
        return min(waits) if waits else None

    async def _pace(self, paid: bool) -> None:
        """Wait for the bot's next slot (the paid-broadcast one for paid messages)."""
        if self.pacing is None:
            return
        bucket = self._paid if paid else self._overall
        assert bucket is not None
        wait = bucket.wait(self._monotonic())
        if wait > 0:
            await asyncio.sleep(wait)  # by then the token is there
            bucket.wait(self._monotonic())
        bucket.take()

    def _delivered_to(self, chat_id: int) -> None:
        """A message reached the chat: it counts against the chat's one a second (a refused
        one does not; the chat's next row is not claimed before its slot)."""
        if self.pacing is None:
            return
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _bucket_under(
                self.pacing.chat_per_second, self.pacing.chat_burst, self._monotonic()
            )
        chat.wait(self._monotonic())
        chat.take()

    def _claim_query(self, paced: bool, rendering: bool) -> Select[*tuple[Any, ...]]:
        """The next due row, urgent first, a chat's oldest only. With `paced`, the chats of the
        list bound as "paced" are left out; with `rendering`, the rows of the list bound as
        "rendering". Built once for each of the four shapes (an aliased subquery is dear to
        build, and a round runs it per row); `_claim` binds `now` and the lists."""
        key = (paced, rendering)
        cached = self._claim_queries.get(key)
        if cached is not None:
            return cached
        earlier = aliased(OutboxMessage)
        query = (
            select(OutboxMessage, User.language)
            .outerjoin(User, User.id == OutboxMessage.user_id)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= bindparam("now"),
                # a chat's messages in the order written: only its oldest pending row goes
                ~exists().where(
                    earlier.chat_id == OutboxMessage.chat_id,
                    earlier.status == "pending",
                    earlier.id < OutboxMessage.id,
                ),
            )
            # urgent rows (stop-sales, overdue alerts) before routine ones, then oldest first
            .order_by(OutboxMessage.priority.desc(), OutboxMessage.id)
            .limit(1)
        )
        if paced:
            query = query.where(OutboxMessage.chat_id.not_in(bindparam("paced", expanding=True)))
        if rendering:
            query = query.where(OutboxMessage.id.not_in(bindparam("rendering", expanding=True)))
        if self._holds_rows:
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
            if self.shares_chat_pace:
                query = query.where(self._chat_window_has_room())
        self._claim_queries[key] = query
        return query

    async def _claim(
        self, session: AsyncSession, now: dt.datetime
    ) -> tuple[OutboxMessage, str | None] | None:
        """The next row to send and its recipient's language, if any may go now."""
        paced = self._paced_chats(self._monotonic())
        rendering = [row_id for row_id, task in self._renderings.items() if not task.done()]
        query = self._claim_query(bool(paced), bool(rendering))
        params: dict[str, Any] = {"now": now}
        if paced:
            params["paced"] = paced
        if rendering:
            params["rendering"] = rendering
        claimed = (await session.execute(query, params)).first()
        return None if claimed is None else (claimed[0], claimed[1])

    def _chat_window_has_room(self) -> Any:
        """Several processes send for one bot: a chat's pace is kept across all of them by the
        rows handed to it within the last window, on the database server's clock. At most a
        burst's worth a window is never more than Telegram's bucket (a burst, then one a second)
        allows."""
        assert self.pacing is not None
        recent = aliased(OutboxMessage)
        window = dt.timedelta(seconds=self.pacing.chat_burst / self.pacing.chat_per_second)
        handed = (
            select(func.count())
            .where(
                recent.chat_id == OutboxMessage.chat_id,
                # statement_timestamp(), not clock_timestamp(): a stable value the index on
                # (chat_id, handed_at) can seek to; a volatile one made the check read every row
                # the chat was ever handed, for every pending row (minutes with 30,000 pending)
                recent.handed_at > func.statement_timestamp() - literal(window, Interval()),
            )
            .scalar_subquery()
        )
        return handed < int(self.pacing.chat_burst)

    async def deliver_due(self) -> DeliveryReport:
        """Send due rows, urgent first, a chat's rows in order, at Telegram's pace, until none
        is left that may go now (parking may queue an alert) or one defers."""
        report = DeliveryReport()
        while True:
            now = self.services.clock.now()
            if self._quiet_until is not None and now < self._quiet_until:
                return report
            async with self.services.session_factory() as session:
                claimed = await self._claim(session, now)
                if claimed is None:
                    return report
                row, language = claimed
                live: list[OutboxMessage] = []
                for each in [row, *await self._digest_companions(session, row, now)]:
                    if overtaken(each, now):
                        each.status = OVERTAKEN
                        report.overtaken += 1
                    else:
                        live.append(each)
                if not live:
                    await session.commit()
                    continue
                row, companions = live[0], live[1:]
                if not self._holds_rows:
                    await session.commit()  # SQLite: no write lock held while sending
                outcome = await self._deliver(session, row, language, companions)
                await session.commit()
            if outcome == "deferred_row":
                report.deferred += 1  # this row's document only: the others go on
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome == "deferred":
                # Telegram asked us to slow down or is unreachable: stop this round.
                return report

    async def _digest_companions(
        self, session: AsyncSession, row: OutboxMessage, now: dt.datetime
    ) -> list[OutboxMessage]:
        """The chat's other deadline messages that may go now, when `row` is one: they go in
        one digest with it."""
        if not digestible(row):
            return []
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.chat_id == row.chat_id,
                OutboxMessage.status == "pending",
                OutboxMessage.id != row.id,
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.text_key.in_(DIGEST_TEXT_KEYS),
            )
            .order_by(OutboxMessage.id)
        )
        if self._holds_rows:
            query = query.with_for_update(skip_locked=True)
        return [other for other in await session.scalars(query) if digestible(other)]

    async def _deliver(
        self,
        session: AsyncSession,
        row: OutboxMessage,
        language: str | None,
        companions: list[OutboxMessage] | None = None,
    ) -> str:
        texts = self.services.texts
        language = texts.language_for(language)
        # urgent fan-out may use Telegram's paid broadcast, where the operator has enabled it
        paid = self.paid_broadcast and row.priority >= URGENT
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
        try:
            buttons: list[list[dict[str, Any]]] | None
            if companions:
                text, buttons = render_digest(
                    texts, language, [row, *companions], self.services.clock.now()
                )
            elif row.text_key == DAILY_LIST:
                text, buttons = render_daily(texts, language, row, self.services.clock.now())
            else:
                now = self.services.clock.now()
                params = as_of(row, now) if digestible(row) else row.params
                text, buttons = texts.get(language, row.text_key, **params), row.buttons
            markup = render_keyboard(self.services, language, buttons) if buttons else None
            document = self._rendered_document(row, language)
            await self._pace(paid)
            if row.attachment and row.attachment.get("kind") == EDIT:
                sent_id = await self._edit(session, row, language, text, markup)
            elif document is not None:
                sent = await self.bot.send_document(
                    chat_id=row.chat_id,
                    document=InputFile(document.content, filename=document.file_name),
                    caption=fit_caption(text),
                    reply_markup=markup,
                    **extra,
                )
                sent_id = sent.message_id
            elif row.attachment:
                sent = await self._send_document(row, language, text, markup, extra)
                sent_id = sent.message_id
            else:
                sent = await self.bot.send_message(
                    chat_id=row.chat_id, text=fit_message(text), reply_markup=markup, **extra
                )
                sent_id = sent.message_id
        except DocumentNotReady:
            return "rendering"
        except UnknownDocument as error:
            await self._park(session, row, str(error))
            return "parked"
        except RenderingTimedOut as error:
            attempts = row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                await self._park(session, row, str(error), attempts=attempts)
                return "parked"
            self._reschedule(row, backoff(attempts), count_attempt=True, error=str(error))
            return "deferred_row"
        except RetryAfter as error:
            retry_after = error.retry_after
            seconds = (
                retry_after.total_seconds()
                if isinstance(retry_after, dt.timedelta)
                else retry_after
            )
            wait = dt.timedelta(seconds=seconds)
            self._quiet_until = self.services.clock.now() + wait
            self._reschedule(row, wait, count_attempt=False, error=str(error))
            return "deferred"
        except (Forbidden, BadRequest) as error:
            # Telegram will refuse this message every time: set it aside at once.
            await self._park(session, row, str(error))
            return "parked"
        except (NetworkError, TelegramError) as error:
            attempts = row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                await self._park(session, row, str(error), attempts=attempts)
                return "parked"
            self._reschedule(row, backoff(attempts), count_attempt=True, error=str(error))
            return "deferred"
        except Exception as error:
            # A row that cannot even be rendered (a bug, a broken parameter, a document that
            # fails) would fail the same way every round and hold up every row behind it.
            logger.exception("outbox row %s could not be rendered or sent", row.id)
            await self._park(session, row, f"{type(error).__name__}: {error}")
            return "parked"
        self._delivered_to(row.chat_id)
        self._mark_sent(row, sent_id)
        for carried in companions or []:
            # one Telegram message: only the row that carried it counts for the chat's pace
            self._mark_sent(carried, sent_id, handed=False)
        return "sent"

    async def _send_document(
        self,
        row: OutboxMessage,
        language: str,
        text: str,
        markup: InlineKeyboardMarkup | None,
        extra: dict[str, Any],
    ) -> Message:
        assert row.attachment is not None
        if row.attachment.get("kind") == ALBUM:
            return await self._send_album(row, language, extra)
        if row.attachment.get("kind") == PHOTO_KIND:
            kind, file_id = split_ref(row.attachment["params"]["file_id"])
            if kind == DOCUMENT:  # evidence sent as a file goes back as one
                return await self.bot.send_document(
                    chat_id=row.chat_id,
                    document=file_id,
                    caption=fit_caption(text),
                    reply_markup=markup,
                    **extra,
                )
            return await self.bot.send_photo(
                chat_id=row.chat_id,
                photo=file_id,
                caption=fit_caption(text),
                reply_markup=markup,
                **extra,
            )
        raise AssertionError(f"outbox row {row.id}: a rendered document is sent by _deliver")

    async def _edit(
        self,
        session: AsyncSession,
        row: OutboxMessage,
        language: str,
        text: str,
        markup: InlineKeyboardMarkup | None,
    ) -> int | None:
        """A notice acted on: the message the row's earlier row sent gets `text` below its own
        and `markup` in place of its buttons (its text, or its caption when it carried a file).
        A message that never went out, or that Telegram no longer lets the bot edit (deleted,
        too old), stays as it is: the buttons' checks still refuse a step already taken."""
        assert row.attachment is not None
        original = await session.get(OutboxMessage, int(row.attachment["params"]["row"]))
        if original is None or original.telegram_message_id is None:
            return None
        message_id = int(original.telegram_message_id)
        before = self.services.texts.get(language, original.text_key, **original.params)
        edited = f"{before}\n\n{text}"
        try:
            if original.attachment:
                await self.bot.edit_message_caption(
                    chat_id=row.chat_id,
                    message_id=message_id,
                    caption=fit_caption(edited),
                    reply_markup=markup,
                )
            else:
                await self.bot.edit_message_text(
                    fit_message(edited),
                    chat_id=row.chat_id,
                    message_id=message_id,
                    reply_markup=markup,
                )
        except BadRequest as error:
            logger.info("outbox row %s: message %s stays: %s", row.id, message_id, error.message)
        return message_id

    def _rendered_document(self, row: OutboxMessage, language: str) -> RenderedDocument | None:
        """The row's rendered document when it is ready; None for a row without one. Raises
        DocumentNotReady (its rendering started, or still running) or the rendering's error."""
        if not row.attachment or row.attachment.get("kind") in (ALBUM, PHOTO_KIND, EDIT):
            return None
        task = self._renderings.get(row.id)
        if task is None:
            rendering = Rendering(language, self.services.clock.now(), attachment=row.attachment)
            seconds = self.services.settings.rendering_timeout_seconds
            task = asyncio.create_task(
                render_within(self.renderer, rendering, seconds), name=f"outbox-document-{row.id}"
            )
            # the row is claimed again once its file is ready (or the rendering failed)
            task.add_done_callback(lambda _: self.services.outbox_ready.set())
            self._renderings[row.id] = task
            raise DocumentNotReady
        if not task.done():
            raise DocumentNotReady
        del self._renderings[row.id]
        return task.result().workbook

    async def _send_album(
        self, row: OutboxMessage, language: str, extra: dict[str, Any]
    ) -> Message:
        """A record's files as one album (an album carries no buttons), each captioned with the
        row's text at its own `index`; the row keeps the album's first message id."""
        assert row.attachment is not None
        ids = [int(i) for i in row.attachment["params"]["photo_ids"]]
        async with read_only_sessions(self.services.session_factory)() as session:
            found = {p.id: p for p in await session.scalars(select(Photo).where(Photo.id.in_(ids)))}
        files = sendable([found[i] for i in ids if i in found])
        if not files:
            raise UnknownDocument(f"album of files {ids}: none has a file id or a stored copy")
        first = int(row.params.get("index", 1))
        captions = [
            fit_caption(
                self.services.texts.get(
                    language, row.text_key, **{**row.params, "index": first + i}
                )
            )
            for i in range(len(files))
        ]
        sent = await send_group(
            self.bot, row.chat_id, files, captions, self.services.file_store, **extra
        )
        return sent[0]

    def _mark_sent(
        self, row: OutboxMessage, message_id: int | None, *, handed: bool = True
    ) -> None:
        row.status = "sent"
        row.sent_at = self.services.clock.now()
        if self._holds_rows and handed:
            row.handed_at = func.clock_timestamp()
        row.attempts += 1
        row.telegram_message_id = message_id

    def _reschedule(
        self, row: OutboxMessage, delay: dt.timedelta, *, count_attempt: bool, error: str
    ) -> None:
        if count_attempt:
            row.attempts += 1
        row.next_attempt_at = self.services.clock.now() + delay
        row.last_error = error[:1000]
        logger.warning("outbox row %s deferred by %s: %s", row.id, delay, error)

    async def _park(
        self, session: AsyncSession, row: OutboxMessage, error: str, attempts: int | None = None
    ) -> None:
        now = self.services.clock.now()
        row.status = "parked"
        row.last_error = error[:1000]
        if attempts is not None:
            row.attempts = attempts
        if row.text_key != "outbox.parked":  # an alert about an alert would loop
            recipient = await session.get(User, row.user_id) if row.user_id else None
            await notify_roles(
                session,
                [roles.ADMIN],
                "outbox.parked",
                {
                    "recipient": (recipient.full_name if recipient else "") or str(row.chat_id),
                    "attempts": row.attempts,
                    "error": error[:300],
                },
                now=now,
                dedupe_prefix=f"outbox:{row.id}:parked",
            )
        logger.error("outbox row %s parked: %s", row.id, error)

    # --- background loop ---

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def renderings_done(self) -> None:
        """Wait until the documents being rendered are ready (or have failed)."""
        await asyncio.gather(*self._renderings.values(), return_exceptions=True)

    async def stop(self) -> None:
        self._stopping.set()
        self.services.outbox_ready.set()
        if self._task is not None:
            await self._task
            self._task = None
        # renderings under way are dropped: their rows are still pending and go after a restart
        renderings = list(self._renderings.values())
        self._renderings.clear()
        for task in renderings:
            task.cancel()
        await asyncio.gather(*renderings, return_exceptions=True)

    async def _run(self) -> None:
        ready = self.services.outbox_ready
        while not self._stopping.is_set():
            ready.clear()
            try:
                await self.deliver_due()
            except Exception:
                logger.exception("outbox delivery round failed; retrying on the next round")
            # a chat that had its share is due again in under a second: look again then
            pause = min(POLL_INTERVAL_SECONDS, self.next_chat_ready_in() or POLL_INTERVAL_SECONDS)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the stop's cancel
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await ready.wait()
