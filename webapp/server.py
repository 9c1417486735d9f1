"""uvicorn serving the Mini App, on its own (`python -m webapp`) or inside the bot's event loop
(`make run`), where the bot's own signal handling stops it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette


class EmbeddedServer(uvicorn.Server):
    """A server that leaves the signals to the program it runs in: the bot stops on Ctrl+C
    and then tells the server to exit (`should_exit`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server_for(
    app: Starlette, host: str, port: int, *, root_path: str = "", embedded: bool = False
) -> uvicorn.Server:
    """The server of the Mini App on host:port; behind a reverse proxy under `root_path`."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        root_path=root_path,
        proxy_headers=True,
        # the process's logging is configured once (core.logging); uvicorn's access log
        # would repeat every request's initData-free path at INFO
        log_config=None,
        access_log=False,
        # a stranger learns nothing of what serves the Mini App
        server_header=False,
    )
    return EmbeddedServer(config) if embedded else uvicorn.Server(config)
