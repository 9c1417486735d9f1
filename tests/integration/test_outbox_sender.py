"""The outbox sender against the emulator: rendering, 429, retries, parking, crash recovery."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot

from bot.runtime.outbox_sender import MAX_ATTEMPTS, DeliveryReport, OutboxSender, backoff
from bot.services import Services
from emulator.server import ApiError, BotApiEmulator, FloodLimits
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from procedures.kernel.outbox import OVERTAKEN, as_text, button, notify_users
from procedures.people.actions import ChooseLanguage
from storage.models import User

from ..unit.helpers import file, make_user, outbox_rows

_bot_ids = itertools.count(800_001)


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
async def strict_emulator(monotonic: FakeMonotonic) -> AsyncIterator[BotApiEmulator]:
    """An emulator with Telegram's strict 1-per-second chat limit and a clock we move."""
    emulator = BotApiEmulator(flood_limits=FloodLimits(chat_burst=1), monotonic=monotonic)
    await emulator.start()
    yield emulator
    await emulator.stop()


async def sender_for(services: Services, emulator: BotApiEmulator) -> tuple[OutboxSender, str]:
    token = f"{next(_bot_ids)}:sender-token"
    bot = Bot(token, base_url=emulator.base_url)
    await bot.initialize()
    # pacing has tests of its own (test_outbox_pacing); these are about what is sent
    return OutboxSender(services, bot, pacing=None), token


async def deliver_with_documents(sender: OutboxSender) -> DeliveryReport:
    """Rounds until none starts a document's rendering, each once those rendering are ready."""
    total = DeliveryReport()
    while True:
        report = await sender.deliver_due()
        total.sent += report.sent
        total.deferred += report.deferred
        total.parked += report.parked
        if not report.rendering:
            return total
        await sender.renderings_done()


async def queue(
    services: Services,
    user: User,
    key: str = "invite.redeemed_notice",
    params: dict[str, Any] | None = None,
    **kw: Any,
) -> None:
    async with services.unit_of_work() as uow:
        params = params or {"name": "Li Lei", "role": as_text("role.driver")}
        await notify_users(uow.session, [user], key, params, now=uow.clock.now(), **kw)
        await uow.commit()


async def test_delivers_in_the_recipients_language_with_buttons_and_marks_sent_once(
    services: Services, emulator: BotApiEmulator
) -> None:
    sender, token = await sender_for(services, emulator)
    user = await make_user(services, "admin", language="zh-Hans")
    emulator.add_user(user.telegram_id, "Admin")
    await queue(
        services, user, buttons=[[button("language.name.en", ChooseLanguage(language="en"))]]
    )

    report = await sender.deliver_due()
    again = await sender.deliver_due()

    assert (report.sent, again.sent) == (1, 0)
    (message,) = emulator.bot_messages(token, user.telegram_id)
    assert message["text"] == "Li Lei已接受您的邀请，登记为驾驶员。"
    assert message["reply_markup"]["inline_keyboard"] == [
        [{"text": "English", "callback_data": "lang:en"}]
    ]
    (row,) = await outbox_rows(services)
    assert row.status == "sent" and row.telegram_message_id == message["message_id"]


async def test_a_429_defers_the_row_by_retry_after_without_counting_an_attempt(
    services: Services,
    strict_emulator: BotApiEmulator,
    clock: ManualClock,
    monotonic: FakeMonotonic,
) -> None:
    sender, token = await sender_for(services, strict_emulator)
    user = await make_user(services, "driver", language="en")
    strict_emulator.add_user(user.telegram_id, "Driver")
    await queue(services, user)
    await queue(services, user)

    report = await sender.deliver_due()

    assert (report.sent, report.deferred) == (1, 1)
    first, second = await outbox_rows(services)
    assert first.status == "sent"
    assert second.status == "pending" and second.attempts == 0
    assert second.next_attempt_at == clock.now() + dt.timedelta(seconds=1)
    assert second.last_error.startswith("Flood control exceeded")

    assert (await sender.deliver_due()).sent == 0  # not due yet
    clock.advance(dt.timedelta(seconds=1))
    monotonic.value += 1
    assert (await sender.deliver_due()).sent == 1
    assert len(strict_emulator.bot_messages(token, user.telegram_id)) == 2


async def test_server_errors_are_retried_with_backoff_then_parked_and_admins_told(
    services: Services, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    sender, _token = await sender_for(services, emulator)
    admin = await make_user(services, "admin", language="en")
    user = await make_user(services, "driver", name="Du Driver", language="en")
    emulator.add_user(user.telegram_id, "Driver")
    emulator.add_user(admin.telegram_id, "Admin")
    await queue(services, user)
    failures = [ApiError(502, "Bad Gateway") for _ in range(MAX_ATTEMPTS)]
    emulator.injected_failures["sendmessage"] = failures

    for attempt in range(1, MAX_ATTEMPTS):
        assert (await sender.deliver_due()).deferred == 1
        (row,) = await outbox_rows(services, user_id=user.id)
        assert row.attempts == attempt
        assert row.next_attempt_at == clock.now() + backoff(attempt)
        clock.set(row.next_attempt_at)
    report = await sender.deliver_due()

    assert report.parked == 1 and report.sent == 1  # the admins' alert went out
    (row,) = await outbox_rows(services, user_id=user.id)
    assert row.status == "parked" and row.attempts == MAX_ATTEMPTS
    (alert,) = emulator.bot_messages(_token, admin.telegram_id)
    assert alert["text"].startswith(
        f"A message to Du Driver could not be delivered after {MAX_ATTEMPTS} attempts"
    )
    emulator.injected_failures.clear()


async def test_a_chat_telegram_refuses_is_parked_at_once(
    services: Services, emulator: BotApiEmulator
) -> None:
    sender, _token = await sender_for(services, emulator)
    user = await make_user(services, "driver")  # never talked to the bot: chat not found
    await queue(services, user)

    report = await sender.deliver_due()

    assert report.parked == 1
    (row,) = await outbox_rows(services, user_id=user.id)
    assert row.status == "parked" and "chat not found" in row.last_error.lower()


async def test_a_crash_between_sending_and_marking_sends_the_row_once_more_and_no_more(
    services: Services, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, token = await sender_for(services, emulator)
    user = await make_user(services, "driver", language="en")
    emulator.add_user(user.telegram_id, "Driver")
    await queue(services, user)

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt("process killed")

    with monkeypatch.context() as patch:
        patch.setattr(sender, "_mark_sent", crash)
        with pytest.raises(KeyboardInterrupt):
            await sender.deliver_due()
    (row,) = await outbox_rows(services)
    assert row.status == "pending"  # nothing lost

    restarted = OutboxSender(services, sender.bot)
    assert (await restarted.deliver_due()).sent == 1
    assert (await restarted.deliver_due()).sent == 0
    assert len(emulator.bot_messages(token, user.telegram_id)) == 2


async def test_a_row_with_an_attachment_is_sent_as_a_document_rendered_in_the_readers_language(
    services: Services, emulator: BotApiEmulator
) -> None:
    import io

    from openpyxl import load_workbook

    sender, token = await sender_for(services, emulator)
    user = await make_user(services, "quality_head", language="en")
    emulator.add_user(user.telegram_id, "Head")
    async with services.unit_of_work() as uow:
        await notify_users(
            uow.session,
            [user],
            "report.quarterly_ready",
            {"year": 2026, "quarter": 3},
            now=uow.clock.now(),
            attachment={"kind": "complaint_quarterly", "params": {"year": 2026, "quarter": 3}},
        )
        await notify_users(
            uow.session,
            [user],
            "report.quarterly_ready",
            {"year": 1, "quarter": 1},
            now=uow.clock.now(),
            attachment={"kind": "no-such-document"},
        )
        await uow.commit()

    report = await deliver_with_documents(sender)

    assert (report.sent, report.parked) == (1, 1)
    (message,) = emulator.bot_messages(token, user.telegram_id)
    assert message["caption"] == "Complaint report for 2026 Q3 (顧客投訴查詢商品質量記錄表)."
    assert message["document"]["file_name"] == "complaints-2026-Q3-draft.xlsx"
    content = emulator.files[message["document"]["file_id"]].content
    assert load_workbook(io.BytesIO(content)).worksheets[0].title == "Summary"
    parked = await outbox_rows(services, status="parked")
    assert "no renderer for document kind 'no-such-document'" in parked[0].last_error


async def test_a_row_that_cannot_be_rendered_is_parked_and_the_rows_behind_it_go_on(
    services: Services, emulator: BotApiEmulator
) -> None:
    sender, token = await sender_for(services, emulator)
    admin = await make_user(services, "admin", language="en")
    user = await make_user(services, "quality_head", language="en")
    for person in (admin, user):
        emulator.add_user(person.telegram_id, person.full_name)
    # a quarterly report whose period is garbage: its renderer raises, not Telegram
    await queue(
        services,
        user,
        "report.quarterly_ready",
        {"year": "MMXXVI", "quarter": 1},
        attachment={"kind": "complaint_quarterly", "params": {"year": "MMXXVI", "quarter": 1}},
    )
    await queue(services, user)  # an ordinary notice queued after it

    report = await deliver_with_documents(sender)

    assert (report.sent, report.parked) == (2, 1)  # the notice, and the admins' alert
    broken, notice, alert = await outbox_rows(services)
    assert broken.status == "parked" and "ValueError" in broken.last_error
    assert notice.status == "sent"
    assert alert.text_key == "outbox.parked" and alert.status == "sent"
    (told,) = emulator.bot_messages(token, admin.telegram_id)
    assert "ValueError" in told["text"]


async def sweep(services: Services) -> None:
    async with services.unit_of_work() as uow:
        await deadlines.sweep_deadlines(uow.session, now=uow.clock.now(), gather=False)
        await uow.commit()


@pytest.mark.usefixtures("samples")
async def test_a_reminder_its_deadline_overtook_is_passed_over_and_the_alert_goes(
    services: Services, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    """The sender did not come to a reminder before its deadline (the process was down, or a
    demo clock jumped): it is not sent, for "0 minutes left" after the time would be wrong;
    the overdue alert the next sweep writes is."""
    sender, token = await sender_for(services, emulator)
    qc = await make_user(services, "quality", language="en")
    emulator.add_user(qc.telegram_id, "QC")
    complaint = await file(services)  # the disposition opinion's three days begin
    await sender.deliver_due()  # the new complaint's notice
    before = len(emulator.bot_messages(token, qc.telegram_id))
    clock.advance(dt.timedelta(hours=54))  # three quarters of them: its reminder is written
    await sweep(services)
    reminders = await outbox_rows(services, user_id=qc.id, text_key="deadline.reminder")
    assert reminders and {row.status for row in reminders} == {"pending"}

    clock.advance(dt.timedelta(hours=19))  # an hour past the deadline, nothing sent meanwhile
    passed_over = await sender.deliver_due()
    await sweep(services)
    await sender.deliver_due()

    assert passed_over.overtaken == len(reminders)
    assert {row.status for row in await outbox_rows(services, text_key="deadline.reminder")} == {
        OVERTAKEN
    }
    # what the person read since: the verification's alert (overdue since the day after
    # filing), then both deadlines overdue; no word of time left
    read = [message["text"] for message in emulator.bot_messages(token, qc.telegram_id)[before:]]
    assert len(read) == passed_over.sent + 1
    assert not any(" left" in text for text in read)
    assert complaint.number in read[-1] and "disposition opinion, 1 hour overdue" in read[-1]
