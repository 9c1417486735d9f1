"""`bot/` in two: the delivery runtime (bot/runtime/) knows nothing of the handlers on it."""

from __future__ import annotations

from .test_architecture import ROOT, imports_of

RUNTIME = "bot.runtime"
# the chat's handlers and the module that puts them on the runtime
CHAT = ("bot.handlers", "bot.app")


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_the_runtime_imports_no_handler() -> None:
    found = [
        f"{edge.where}: {edge.source} imports {edge.target}"
        for edge in imports_of(ROOT, {"bot"})
        if within(edge.source, RUNTIME) and any(within(edge.target, chat) for chat in CHAT)
    ]
    assert not found, "the runtime imports the chat:\n" + "\n".join(found)
