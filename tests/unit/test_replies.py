"""Replies wait for the update's commit: placeholders for their ids, sent in order or dropped."""

from __future__ import annotations

from telegram.error import BadRequest

from bot.runtime.replies import PlaceholderIds, ReplyBatch, collecting, defer, open_batch


def test_a_placeholder_becomes_the_real_id_wherever_the_scratch_data_keeps_it() -> None:
    ids = PlaceholderIds()
    ack, question, unsent = ids.new(), ids.new(), ids.new()
    ids.sent(ack, 501)
    ids.sent(question, 502)
    stored = {"ack": ack, "keyboards": [question, 77, unsent], "chat": -100123456789, "n": 3}
    assert ids.resolve(stored) == {
        "ack": 501,
        "keyboards": [502, 77, unsent],  # not sent (yet): stays a placeholder
        "chat": -100123456789,  # a group's id is no placeholder
        "n": 3,
    }
    assert not ids.is_placeholder(-100123456789) and ids.is_placeholder(unsent)


async def test_a_batch_sends_in_order_after_a_refusal_and_a_dropped_one_sends_nothing() -> None:
    sent: list[str] = []

    def sending(what: str, refused: bool = False):
        async def send() -> None:
            if refused:
                raise BadRequest("Message to edit not found")
            sent.append(what)

        return send

    kept = ReplyBatch()
    with collecting(kept):
        assert open_batch() is kept
        assert defer("first", sending("first"))
        assert defer("gone", sending("gone", refused=True))
        assert defer("last", sending("last"))
    assert open_batch() is None and not defer("outside", sending("outside"))
    await kept.deliver()
    assert sent == ["first", "last"]

    lost = ReplyBatch()
    with collecting(lost):
        defer("received", sending("received"))
    assert lost.drop() == 1
    await lost.deliver()
    assert sent == ["first", "last"]
