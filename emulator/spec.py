"""Checks Bot API calls against the published API description (Bot API 10.1, api.min.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).parent / "spec" / "api.min.json"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MEDIA_GROUP_SIZE = (2, 10)
# what an inline button carries beside the one thing it does
BUTTON_DECORATIONS = frozenset({"text", "icon_custom_emoji_id", "style"})
SCALARS = {"Integer", "String", "Boolean", "Float", "True", "InputFile"}


@cache
def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as file:
        spec: dict[str, Any] = json.load(file)
    return spec


class SpecViolation(Exception):
    """A call the real Bot API would refuse (or that uses a field it does not know)."""


class Spec:
    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        spec = spec or load_spec()
        self.version = spec["version"]
        self.methods = {name.lower(): method for name, method in spec["methods"].items()}
        self.types = spec["types"]

    def method(self, name: str) -> dict[str, Any]:
        method = self.methods.get(name.lower())
        if method is None:
            raise SpecViolation(f"unknown method {name!r}")
        found: dict[str, Any] = method
        return found

    def field_types(self, method_name: str) -> dict[str, list[str]]:
        return {f["name"]: f["types"] for f in self.method(method_name).get("fields", [])}

    def check_call(self, method_name: str, params: dict[str, Any]) -> None:
        """Raise SpecViolation for unknown or missing fields and Telegram's size limits."""
        method = self.method(method_name)
        fields = {f["name"]: f for f in method.get("fields", [])}
        for name in params:
            if name not in fields:
                raise SpecViolation(f"{method['name']}: unknown field {name!r}")
        for name, field in fields.items():
            if field["required"] and name not in params:
                raise SpecViolation(f"{method['name']}: missing required field {name!r}")
        for name, value in params.items():
            self._check_value(f"{method['name']}.{name}", value, fields[name]["types"])
        text = params.get("text")
        if isinstance(text, str) and not 1 <= len(text) <= MAX_TEXT_LENGTH:
            raise SpecViolation(
                f"{method['name']}: text must be 1-{MAX_TEXT_LENGTH} characters, got {len(text)}"
            )
        captions = [params.get("caption")]
        if method["name"] == "sendMediaGroup":
            low, high = MEDIA_GROUP_SIZE
            if not low <= len(params["media"]) <= high:
                raise SpecViolation(f"sendMediaGroup: media must include {low}-{high} items")
            captions += [item.get("caption") for item in params["media"]]
        for caption in captions:
            if isinstance(caption, str) and len(caption) > MAX_CAPTION_LENGTH:
                raise SpecViolation(
                    f"{method['name']}: caption over {MAX_CAPTION_LENGTH} characters"
                )

    def _check_value(self, where: str, value: Any, types: list[str]) -> None:
        problems = []
        for candidate in types:
            try:
                self._check_type(where, value, candidate)
                return
            except SpecViolation as problem:
                problems.append(str(problem))
        raise SpecViolation(problems[0] if len(problems) == 1 else "; or ".join(problems))

    def _check_type(self, where: str, value: Any, type_name: str) -> None:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                raise SpecViolation(f"{where}: expected an array")
            for index, item in enumerate(value):
                self._check_type(f"{where}[{index}]", item, type_name.removeprefix("Array of "))
            return
        if type_name in SCALARS:
            self._check_scalar(where, value, type_name)
            return
        spec_type = self.types.get(type_name)
        if spec_type is None:
            return  # a type the description does not define cannot be checked
        if "subtypes" in spec_type:
            self._check_value(where, value, spec_type["subtypes"])
            return
        if not isinstance(value, dict):
            raise SpecViolation(f"{where}: expected a {type_name} object")
        fields = {f["name"]: f for f in spec_type.get("fields", [])}
        for name in value:
            if name not in fields:
                raise SpecViolation(f"{where}: {type_name} has no field {name!r}")
        for name, field in fields.items():
            if field["required"] and name not in value:
                raise SpecViolation(f"{where}: {type_name} lacks required field {name!r}")
        for name, item in value.items():
            self._check_value(f"{where}.{name}", item, fields[name]["types"])
        if type_name == "InlineKeyboardButton":
            actions = set(value) - BUTTON_DECORATIONS
            if len(actions) != 1:
                raise SpecViolation(f"{where}: one action per button, got {sorted(actions)}")
        if type_name == "InlineKeyboardButton" and "callback_data" in value:
            size = len(str(value["callback_data"]).encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise SpecViolation(
                    f"{where}: callback_data must be 1-{MAX_CALLBACK_DATA_BYTES} bytes, got {size}"
                )

    @staticmethod
    def _check_scalar(where: str, value: Any, type_name: str) -> None:
        ok = {
            "Integer": isinstance(value, int) and not isinstance(value, bool),
            "String": isinstance(value, str),
            "Boolean": isinstance(value, bool),
            "True": value is True,
            "Float": isinstance(value, int | float) and not isinstance(value, bool),
            "InputFile": isinstance(value, bytes | UploadedFile),
        }[type_name]
        if not ok:
            raise SpecViolation(f"{where}: expected {type_name}, got {type(value).__name__}")

    def decode_form_value(self, method_name: str, name: str, raw: str) -> Any:
        """Turn a form field (always text) into the value its declared types mean."""
        types = self.field_types(method_name).get(name, ["String"])
        if types == ["String"]:
            return raw
        if "Integer" in types:
            try:
                return int(raw)
            except ValueError:
                pass
        if "Float" in types:
            try:
                return float(raw)
            except ValueError:
                pass
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw


class UploadedFile:
    """A file part of a multipart request."""

    def __init__(self, filename: str, content: bytes, content_type: str) -> None:
        self.filename = filename
        self.content = content
        self.content_type = content_type
