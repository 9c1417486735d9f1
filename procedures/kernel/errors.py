"""Domain errors: each carries a catalogue key the bot renders for the user."""

from __future__ import annotations

from typing import Any


class ProcedureError(Exception):
    """Base of every error a user can be told about."""

    text_key = "error.generic"

    def __init__(self, text_key: str | None = None, **params: Any) -> None:
        super().__init__(text_key or self.text_key, params)
        if text_key:
            self.text_key = text_key
        self.params = params


class NotAllowed(ProcedureError):
    text_key = "error.not_allowed"


class NotFound(ProcedureError):
    text_key = "error.not_found"


class WrongState(ProcedureError):
    text_key = "error.wrong_state"


class InvalidInput(ProcedureError):
    text_key = "error.invalid_input"
