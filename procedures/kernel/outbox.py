"""Writing notifications into the outbox, in the transaction of the change they report.

Procedures never call Telegram and never hold text: a message is a catalogue key, parameters
and buttons, rendered in the recipient's language when the sender delivers it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.actions import CallbackAction
from procedures.kernel.working_hours import WorkingHours
from storage.models import OutboxMessage, User, UserRole

ROUTINE = 0
URGENT = 10
# Messages that go before routine ones (and may use paid broadcast): a buyer told to stop
# selling a product, and an alert that a deadline has passed. A new urgent kind is one entry.
URGENT_TEXT_KEYS = frozenset({"complaint.suspend_sales", "deadline.overdue"})


# An attachment kind: the row does not send a message, it edits the message an earlier row
# sent (`{"kind": EDIT, "params": {"row": <that row's id>}}`) to say the notice was acted on.
EDIT = "edit"
# Set in the `info` of the update's session when the update is a button press: (chat id,
# message id) of the message pressed. Its handler answers on that message itself, so a notice
# settled by the press leaves that copy to it.
PRESSED = "pressed_message"


# Set in the `info` of a session that queued messages: whoever commits it wakes the sender at
# once, and an update that queued nothing leaves the sender to its own schedule.
QUEUED = "outbox_queued"


def priority_of(text_key: str) -> int:
    return URGENT if text_key in URGENT_TEXT_KEYS else ROUTINE


def as_time(moment: dt.datetime) -> dict[str, str]:
    """A parameter the renderer shows as a local date and time."""
    return {"$time": moment.astimezone(dt.UTC).isoformat()}


def as_deadline(moment: dt.datetime | None) -> dict[str, str]:
    """A parameter the renderer shows as a deadline a person would say, `by` included
    (`1月2日12:00前`, `12月31日當天內`); none shows as nothing."""
    if moment is None:
        return {"$text": "common.none_shown"}
    return {"$deadline": moment.astimezone(dt.UTC).isoformat()}


def as_list(items: list[Any], joiner: str = "list") -> dict[str, Any]:
    """A parameter the renderer joins with the reader's marks: `list` (、 or a comma) or
    `clauses` (； or a semicolon)."""
    return {"$list": items, "joiner": joiner}


def as_text(key: str, **params: Any) -> dict[str, Any]:
    """A parameter the renderer translates, e.g. a role or a deadline kind, with parameters of
    its own if it has any."""
    return {"$text": key, "params": params} if params else {"$text": key}


def button(text_key: str, action: CallbackAction, **params: Any) -> dict[str, Any]:
    """An inline button: a catalogue key for its label and the action it packs as its data."""
    return {"text_key": text_key, "params": params, "data": action.pack()}


async def users_with_roles(
    session: AsyncSession,
    roles: Iterable[str],
    *,
    organisation_ids: Iterable[int] | None = None,
    vendor_ids: Iterable[int | None] | None = None,
) -> list[User]:
    """The active holders of any of `roles`, each once; narrowed, if given, to the members of
    `organisation_ids` or the staff of `vendor_ids` (a None among them matches nobody)."""
    query = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(list(roles)), User.active.is_(True))
    )
    if organisation_ids is not None:
        query = query.where(User.organisation_id.in_(list(organisation_ids)))
    if vendor_ids is not None:
        query = query.where(User.vendor_id.in_([v for v in vendor_ids if v is not None]))
    rows = await session.scalars(query.distinct().order_by(User.id))
    return list(rows)


async def notify_users(
    session: AsyncSession,
    users: Iterable[User],
    text_key: str,
    params: dict[str, Any] | None = None,
    *,
    now: dt.datetime,
    buttons: Sequence[Sequence[dict[str, Any]]] | None = None,
    dedupe_prefix: str | None = None,
    attachment: dict[str, Any] | None = None,
) -> list[OutboxMessage]:
    """Queue one message per user; with `dedupe_prefix`, a repeated call queues nothing new.

    `attachment` describes a document ({"kind": ..., "params": ...}) the sender renders in the
    recipient's language and sends with the text as its caption."""
    recipients = {user.id: user for user in users}
    existing: set[str] = set()
    if dedupe_prefix is not None and recipients:
        keys = [f"{dedupe_prefix}:u{user_id}" for user_id in recipients]
        # Keys are unique per prefix, so rows still pending in this session cannot match; not
        # flushing them here lets a sweep that queues thousands insert them in one batch.
        with session.no_autoflush:
            existing = set(
                await session.scalars(
                    select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
                )
            )
    queued = []
    for user in recipients.values():
        key = f"{dedupe_prefix}:u{user.id}" if dedupe_prefix is not None else None
        if key in existing:
            continue
        message = OutboxMessage(
            user_id=user.id,
            chat_id=user.telegram_id,
            text_key=text_key,
            params=params or {},
            buttons=[list(row) for row in buttons] if buttons else None,
            attachment=attachment,
            dedupe_key=key,
            priority=priority_of(text_key),
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        session.add(message)
        queued.append(message)
    if queued:
        session.info[QUEUED] = True
    return queued


@dataclass(frozen=True)
class Notice:
    """One notify_users call, to be queued with many others by queue_notices."""

    users: Sequence[User]
    text_key: str
    params: dict[str, Any]
    dedupe_prefix: str
    buttons: Sequence[Sequence[dict[str, Any]]] | None = None
    # routine: may wait for the recipient's working hours, though not past `stale_at`, when
    # it would no longer help (a reminder held past the time it could be acted on is dropped)
    routine: bool = False
    stale_at: dt.datetime | None = None


# A sweep writes its deadlines' messages in many short transactions: they are held back as
# "gathering" until the sweep has written them all, so that the sender, which folds a chat's
# pending deadline messages into one digest, sees a whole sweep's at once, not a chunk at a time.
GATHERING = "gathering"
# A routine message queued outside its recipient's working hours waits, as "held", until the
# next start of them (its next_attempt_at): held rather than pending, so that it holds up none
# of the chat's later messages meanwhile (a chat's pending rows go in order).
HELD = "held"
# A deadline's reminder whose deadline passed before the sender came to it (the process was
# down, or a demo clock jumped): it is not sent, for "0 minutes left" after the time would be
# wrong and its overdue alert follows; the row stays to show it was written and passed over.
OVERTAKEN = "overtaken"


async def release_held(session: AsyncSession, *, now: dt.datetime) -> int:
    """Let the sender have the messages whose time has come: a sweep's, once it has written
    them all (any sweep's: one that died half-way leaves its messages to the next), and those
    that waited for working hours."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            or_(
                OutboxMessage.status == GATHERING,
                and_(OutboxMessage.status == HELD, OutboxMessage.next_attempt_at <= now),
            )
        )
        .values(status="pending")
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)  # an UPDATE's result
    if result.rowcount:
        session.info[QUEUED] = True
    return result.rowcount or 0


# keys per dedupe lookup: well under SQLite's and asyncpg's limits on bound parameters
DEDUPE_CHUNK = 1000


async def queue_notices(
    session: AsyncSession,
    notices: Sequence[Notice],
    *,
    now: dt.datetime,
    gather: bool = False,
    hours: WorkingHours | None = None,
) -> int:
    """Queue the rows of many notify_users calls at once; returns how many were queued.

    The same rows and the same dedupe rule as notify_users (one message per user and notice; a
    key already in the outbox queues nothing), but one dedupe lookup per thousand keys and one
    multi-row INSERT instead of a lookup per notice and an ORM object per row: a sweep with
    thousands of overdue deadlines queues tens of thousands of rows. With `gather`, the rows
    wait for `release_held`; with `hours`, a routine notice to someone outside their working
    hours is held until these begin."""
    rows: list[dict[str, Any]] = []
    for notice in notices:
        recipients = {user.id: user for user in notice.users}
        for user in recipients.values():
            status, release = GATHERING if gather else "pending", now
            if notice.routine and hours is not None:
                release = hours.for_person(user.working_hours).next_open(now)
                if notice.stale_at is not None and release >= notice.stale_at:
                    continue
                status = HELD if release > now else status
            rows.append(
                {
                    "user_id": user.id,
                    "chat_id": user.telegram_id,
                    "text_key": notice.text_key,
                    "params": notice.params or {},
                    "buttons": [list(row) for row in notice.buttons] if notice.buttons else None,
                    "attachment": None,
                    "dedupe_key": f"{notice.dedupe_prefix}:u{user.id}",
                    "priority": priority_of(notice.text_key),
                    "status": status,
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": release,
                }
            )
    if not rows:
        return 0
    # rows the session holds already (added by notify_users) get their ids first: a chat's
    # messages go out in the order they were queued
    await session.flush()
    keys = [row["dedupe_key"] for row in rows]
    existing: set[str] = set()
    for start in range(0, len(keys), DEDUPE_CHUNK):
        chunk = keys[start : start + DEDUPE_CHUNK]
        existing.update(
            await session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
            )
        )
    fresh = [row for row in rows if row["dedupe_key"] not in existing]
    if fresh:
        await session.execute(insert(OutboxMessage), fresh)
        if not gather:
            session.info[QUEUED] = True
    return len(fresh)


async def notify_roles(
    session: AsyncSession,
    roles: Iterable[str],
    text_key: str,
    params: dict[str, Any] | None = None,
    *,
    now: dt.datetime,
    buttons: Sequence[Sequence[dict[str, Any]]] | None = None,
    dedupe_prefix: str | None = None,
    attachment: dict[str, Any] | None = None,
) -> list[OutboxMessage]:
    """Queue one message for every active holder of any of `roles` (each person once)."""
    users = await users_with_roles(session, roles)
    return await notify_users(
        session,
        users,
        text_key,
        params,
        now=now,
        buttons=buttons,
        dedupe_prefix=dedupe_prefix,
        attachment=attachment,
    )


async def settle_notice(
    session: AsyncSession,
    dedupe_prefixes: Iterable[str],
    text_key: str,
    params: dict[str, Any],
    *,
    now: dt.datetime,
    buttons: Sequence[Sequence[dict[str, Any]]] | None = None,
    leave_pressed: bool = True,
) -> int:
    """A notice with buttons was acted on (by anyone): every copy queued under
    `dedupe_prefixes` (a notice's prefix: one copy a recipient, whoever of its audience got it;
    a record's, `return:12`: all its notices) is edited to add
    `text_key` (who did it, when) below its own text, with `buttons` in place of its own (none:
    they go). The edits are outbox rows of their own, queued now with the change: each goes
    after its copy, paced and retried like any message, and a copy is settled once (by the
    first step that settles it). The copy the update's button was pressed on is left to its
    handler, which answers on it (unless `leave_pressed` is False: the handler only acknowledged
    the press). Returns how many edits were queued."""
    prefixes = list(dedupe_prefixes)
    if not prefixes:
        return 0
    copies = [
        copy
        for copy in await session.scalars(
            select(OutboxMessage)
            .where(
                or_(
                    *(
                        OutboxMessage.dedupe_key.startswith(f"{prefix}:", autoescape=True)
                        for prefix in prefixes
                    )
                ),
                OutboxMessage.status.not_in(("parked", OVERTAKEN)),
            )
            .order_by(OutboxMessage.id)
        )
        if copy.buttons and (copy.attachment or {}).get("kind") != EDIT
    ]
    pressed = session.info.get(PRESSED) if leave_pressed else None
    copies = [c for c in copies if pressed is None or (c.chat_id, c.telegram_message_id) != pressed]
    keys = {copy.id: f"edit:{copy.id}" for copy in copies}
    existing = (
        set(
            await session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys.values()))
            )
        )
        if keys
        else set()
    )
    queued = 0
    for copy in copies:
        if keys[copy.id] in existing:
            continue
        session.add(
            OutboxMessage(
                user_id=copy.user_id,
                chat_id=copy.chat_id,
                text_key=text_key,
                params=params,
                buttons=[list(row) for row in buttons] if buttons else None,
                attachment={"kind": EDIT, "params": {"row": copy.id}},
                dedupe_key=keys[copy.id],
                priority=ROUTINE,
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )
        queued += 1
    if queued:
        session.info[QUEUED] = True
    return queued
