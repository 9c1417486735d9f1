"""The base of every button action: a typed, packed and parsed inline button's callback data."""

from __future__ import annotations

import functools
import re
import typing
from dataclasses import Field, dataclass, fields
from typing import Annotated, Any, ClassVar, Literal, Self

from procedures.kernel.errors import ProcedureError

SEPARATOR = ":"
MAX_DATA_BYTES = 64  # Telegram's limit on callback data
# ids are 32-bit Integer columns: a larger number in a button names no record
MAX_INT = 2**31 - 1


class InvalidAction(ProcedureError, ValueError):
    """Callback data that no action of the expected kind packs to: garbled or forged. The user
    is told the button is no longer valid."""

    text_key = "error.stale_button"

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Matches:
    """Narrows a field to values matching `regex` (written without anchors or groups)."""

    regex: str


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: type  # int or str
    regex: str
    choices: tuple[Any, ...] | None  # a Literal's values


def _spec(name: str, hint: Any) -> FieldSpec:
    narrowed: str | None = None
    if typing.get_origin(hint) is Annotated:
        hint, *extras = typing.get_args(hint)
        narrowed = next((e.regex for e in extras if isinstance(e, Matches)), None)
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        kind = type(choices[0])
        return FieldSpec(name, kind, "|".join(re.escape(str(c)) for c in choices), choices)
    if hint is int:
        return FieldSpec(name, int, narrowed or r"\d+", None)
    if hint is str:
        return FieldSpec(name, str, narrowed or r"[^:]+", None)
    raise TypeError(f"{name}: an action's field is an int, a str or a Literal, not {hint!r}")


@typing.dataclass_transform(frozen_default=True)
class CallbackAction:
    """Base of every action. A subclass names its prefix and is made a frozen dataclass:

    class TakeComplaint(CallbackAction, prefix="qc:take"):
        complaint_id: int
    """

    prefix: ClassVar[str]
    registry: ClassVar[dict[str, type[CallbackAction]]] = {}
    # what `dataclass` gives each subclass (declared here, so the type checker knows)
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__ in CallbackAction.registry:
            raise TypeError(f"two actions named {cls.__name__}")
        cls.prefix = prefix
        dataclass(frozen=True)(cls)
        CallbackAction.registry[cls.__name__] = cls

    @classmethod
    @functools.cache
    def fields(cls) -> tuple[FieldSpec, ...]:
        hints = typing.get_type_hints(cls, include_extras=True)
        return tuple(_spec(f.name, hints[f.name]) for f in fields(cls))

    @classmethod
    @functools.cache
    def pattern(cls) -> re.Pattern[str]:
        """The anchored regex that matches exactly this action's data."""
        parts = [re.escape(cls.prefix)] + [f"({f.regex})" for f in cls.fields()]
        # \Z, not $: a $ would also match before a trailing newline of forged data
        return re.compile("^" + SEPARATOR.join(parts) + r"\Z")

    def pack(self) -> str:
        """The callback data: the prefix and the fields, separated by colons."""
        values = []
        for spec in self.fields():
            value = getattr(self, spec.name)
            text = str(value)
            if spec.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidAction(f"{type(self).__name__}.{spec.name} must be an int: {value!r}")
            if spec.kind is int and value > MAX_INT:
                raise InvalidAction(f"{type(self).__name__}.{spec.name} out of range: {value!r}")
            if not re.fullmatch(spec.regex, text) or (
                spec.choices is not None and value not in spec.choices
            ):
                raise InvalidAction(f"{type(self).__name__}.{spec.name} cannot be {value!r}")
            values.append(text)
        data = SEPARATOR.join([self.prefix, *values])
        if len(data.encode()) > MAX_DATA_BYTES:
            raise InvalidAction(f"callback data over {MAX_DATA_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: str | None) -> Self:
        """The action `data` packs, or InvalidAction if it is not this kind of action."""
        match = cls.pattern().fullmatch(data or "")
        if match is None:
            raise InvalidAction(f"not {cls.__name__} data: {data!r}")
        values = {
            spec.name: spec.kind(raw)
            for spec, raw in zip(cls.fields(), match.groups(), strict=True)
        }
        for spec in cls.fields():
            if spec.kind is int and values[spec.name] > MAX_INT:
                raise InvalidAction(f"{cls.__name__}.{spec.name} out of range: {data!r}")
        return cls(**values)
