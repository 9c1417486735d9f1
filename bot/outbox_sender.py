"""Delivers the outbox through Telegram: rate-limited, retried with backoff, never lost.

A row is marked sent in its own transaction right after Telegram accepts it. A crash between
the two sends that one row once more on restart; nothing is dropped. Rows that keep failing, or
that Telegram refuses for good (blocked bot, unknown chat), are parked and the admins told.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from telegram import Bot, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from procedures import roles
from procedures.outbox import notify_roles
from procedures.photos import DOCUMENT, split_ref
from reports import documents
from reports.documents import UnknownDocument
from storage.models import OutboxMessage, User

from .context import fit_caption, fit_message, render_keyboard
from .documents import document_context
from .services import Services

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF = dt.timedelta(seconds=5)
MAX_BACKOFF = dt.timedelta(hours=1)
BATCH_SIZE = 50
POLL_INTERVAL_SECONDS = 2.0
# An attachment of this kind is already on Telegram: it is sent by its file id, not rendered
# (a photo, or a document by its `procedures.photos.document_ref`).
PHOTO_KIND = "photo"


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    parked: int = 0


def backoff(attempts: int) -> dt.timedelta:
    return min(BASE_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)


class OutboxSender:
    def __init__(self, services: Services, bot: Bot) -> None:
        self.services = services
        self.bot = bot
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # Telegram's retry_after holds the whole bot, not only the message that got the 429:
        # nothing is sent before this moment.
        self._quiet_until: dt.datetime | None = None

    async def deliver_due(self) -> DeliveryReport:
        """Send every due row, oldest first, until none is left (parking may queue an alert) or one
        defers."""
        report = DeliveryReport()
        while True:
            now = self.services.clock.now()
            if self._quiet_until is not None and now < self._quiet_until:
                return report
            async with self.services.session_factory() as session:
                rows = list(
                    await session.execute(
                        select(OutboxMessage, User.language)
                        .outerjoin(User, User.id == OutboxMessage.user_id)
                        .where(
                            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now
                        )
                        .order_by(OutboxMessage.id)
                        .limit(BATCH_SIZE)
                    )
                )
            if not rows:
                return report
            for row, language in rows:
                outcome = await self._deliver(row, language)
                setattr(report, outcome, getattr(report, outcome) + 1)
                if outcome == "deferred":
                    # Telegram asked us to slow down or is unreachable: stop this round.
                    return report

    async def _deliver(self, row: OutboxMessage, language: str | None) -> str:
        texts = self.services.texts
        language = texts.language_for(language)
        try:
            text = texts.get(language, row.text_key, **row.params)
            markup = render_keyboard(self.services, language, row.buttons) if row.buttons else None
            if row.attachment:
                sent = await self._send_document(row, language, text, markup)
            else:
                sent = await self.bot.send_message(
                    chat_id=row.chat_id, text=fit_message(text), reply_markup=markup
                )
        except UnknownDocument as error:
            await self._park(row.id, str(error))
            return "parked"
        except RetryAfter as error:
            retry_after = error.retry_after
            seconds = (
                retry_after.total_seconds()
                if isinstance(retry_after, dt.timedelta)
                else retry_after
            )
            wait = dt.timedelta(seconds=seconds)
            self._quiet_until = self.services.clock.now() + wait
            await self._reschedule(row.id, wait, count_attempt=False, error=str(error))
            return "deferred"
        except (Forbidden, BadRequest) as error:
            # Telegram will refuse this message every time: set it aside at once.
            await self._park(row.id, str(error))
            return "parked"
        except (NetworkError, TelegramError) as error:
            attempts = row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                await self._park(row.id, str(error), attempts=attempts)
                return "parked"
            await self._reschedule(row.id, backoff(attempts), count_attempt=True, error=str(error))
            return "deferred"
        except Exception as error:
            # A row that cannot even be rendered (a bug, a broken parameter, a document that
            # fails) would fail the same way every round and hold up every row behind it.
            logger.exception("outbox row %s could not be rendered or sent", row.id)
            await self._park(row.id, f"{type(error).__name__}: {error}")
            return "parked"
        await self._mark_sent(row.id, sent.message_id)
        return "sent"

    async def _send_document(
        self, row: OutboxMessage, language: str, text: str, markup: InlineKeyboardMarkup | None
    ) -> Message:
        assert row.attachment is not None
        if row.attachment.get("kind") == PHOTO_KIND:
            kind, file_id = split_ref(row.attachment["params"]["file_id"])
            if kind == DOCUMENT:  # evidence sent as a file goes back as one
                return await self.bot.send_document(
                    chat_id=row.chat_id,
                    document=file_id,
                    caption=fit_caption(text),
                    reply_markup=markup,
                )
            return await self.bot.send_photo(
                chat_id=row.chat_id, photo=file_id, caption=fit_caption(text), reply_markup=markup
            )
        async with self.services.session_factory() as session:
            context = document_context(self.services, language)
            document = await documents.render(session, row.attachment, context)
        return await self.bot.send_document(
            chat_id=row.chat_id,
            document=InputFile(document.content, filename=document.file_name),
            caption=fit_caption(text),
            reply_markup=markup,
        )

    async def _mark_sent(self, row_id: int, message_id: int) -> None:
        async with self.services.session_factory() as session:
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
            row.status = "sent"
            row.sent_at = self.services.clock.now()
            row.attempts += 1
            row.telegram_message_id = message_id
            await session.commit()

    async def _reschedule(
        self, row_id: int, delay: dt.timedelta, *, count_attempt: bool, error: str
    ) -> None:
        async with self.services.session_factory() as session:
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
            if count_attempt:
                row.attempts += 1
            row.next_attempt_at = self.services.clock.now() + delay
            row.last_error = error[:1000]
            await session.commit()
        logger.warning("outbox row %s deferred by %s: %s", row_id, delay, error)

    async def _park(self, row_id: int, error: str, attempts: int | None = None) -> None:
        now = self.services.clock.now()
        async with self.services.session_factory() as session:
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
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
            await session.commit()
        logger.error("outbox row %s parked: %s", row_id, error)

    # --- background loop ---

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        self._stopping.set()
        self.services.outbox_ready.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        ready = self.services.outbox_ready
        while not self._stopping.is_set():
            ready.clear()
            try:
                await self.deliver_due()
            except Exception:
                logger.exception("outbox delivery round failed; retrying on the next round")
            try:
                await asyncio.wait_for(ready.wait(), POLL_INTERVAL_SECONDS)
            except TimeoutError:
                pass
