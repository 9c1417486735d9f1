"""A dialogue step costs few statements: one transaction, the user, roles and dialogue state
read once, the rules' static sets never read from the database."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event

from .conftest import BotHarness, buttons_of, register

BUDGET = 6  # statements of one dialogue step, BEGIN and COMMIT not counted


@contextlib.contextmanager
def statements(bot: BotHarness) -> Iterator[list[str]]:
    engine = bot.services.session_factory.kw["bind"].sync_engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(" ".join(statement.split())[:160])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_an_intake_step_takes_at_most_six_statements(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    await customer.press(ask_product, buttons_of(ask_product)[0][1])
    (ask_lot,) = await customer.expect()
    await customer.press(ask_lot, buttons_of(ask_lot)[0][1])
    await customer.expect()
    await bot.settled()

    with statements(bot) as quantity_step:
        await customer.send("12")
        assert (await customer.expect_text()).startswith("What is wrong?")
        await bot.settled()
    with statements(bot) as description_step:
        await customer.send("Plungers stick.")
        await customer.expect()
        await bot.settled()

    def counted(step: list[str]) -> list[str]:
        return [s for s in step if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]

    # the update's id, its dialogue state, the user with their roles; the scratch pad, the
    # conversation state written back: nothing else for a step that only keeps a text
    assert len(counted(description_step)) <= BUDGET, "\n".join(counted(description_step))
    # the quantity is checked against what the buyer's organisation received of the lot (its
    # shipments summed once) and named in the lot's product's unit
    assert len(counted(quantity_step)) <= BUDGET + 2, "\n".join(counted(quantity_step))
