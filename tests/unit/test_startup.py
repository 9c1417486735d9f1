"""Start-up against a database that is down: retries with backoff, then one clear line."""

from __future__ import annotations

import socket

import pytest

from core.database import DatabaseUnavailable, migrate_when_reachable
from storage.db import make_engine


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_unreachable_postgresql_is_retried_with_backoff_then_named_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/test")
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    with pytest.raises(DatabaseUnavailable) as unavailable:
        await migrate_when_reachable(engine, backoff=(1, 2, 4), sleep=sleep)
    await engine.dispose()
    assert waited == [1, 2, 4]
    message = str(unavailable.value)
    assert "\n" not in message and message.startswith("the database cannot be used after 4")
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == 3 and all("\n" not in line for line in retries)


async def test_a_database_that_comes_up_is_used_after_a_retry(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing_dir = tmp_path / "not-yet"
    engine = make_engine(f"sqlite+aiosqlite:///{missing_dir}/bot.db")
    missing_dir.rmdir()  # make_engine created it; a file system not ready yet
    attempts: list[float] = []

    async def sleep(seconds: float) -> None:
        attempts.append(seconds)
        missing_dir.mkdir()  # the volume appears

    await migrate_when_reachable(engine, backoff=(1, 2), sleep=sleep)
    await engine.dispose()
    assert attempts == [1] and (missing_dir / "bot.db").is_file()


def test_what_start_up_built_is_left_out_of_the_collections_that_follow() -> None:
    """A full collection stops the event loop for as long as it walks every tracked object;
    once the bot has started, it walks only what was made since."""
    import gc

    from bot.__main__ import keep_startup_out_of_collections

    built = [[n] for n in range(50_000)]  # as start-up's modules, mappers and catalogues
    walked_before = len(gc.get_objects())
    keep_startup_out_of_collections()
    try:
        made_since = [[n] for n in range(100)]
        walked_after = len(gc.get_objects())
        assert gc.get_freeze_count() >= len(built)
        assert walked_after < walked_before - len(built)
        assert any(item is made_since[0] for item in gc.get_objects())  # still collected
    finally:
        gc.unfreeze()
