"""Every attachment kind the code can put in the outbox has a renderer; any other kind is refused."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.documents import document_context
from bot.runtime.outbox_sender import PHOTO_KIND
from bot.services import Services
from procedures.kernel.outbox import EDIT
from procedures.kernel.photos import ALBUM
from reports.documents import RENDERERS, UnknownDocument, render

ROOT = Path(__file__).parents[2]


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """The module's string constants (`ALBUM = "album"`, `PHOTO, DOCUMENT = "photo", "document"`)."""
    constants = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = (
                zip(target.elts, node.value.elts, strict=False)
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                else [(target, node.value)]
            )
            for name, value in pairs:
                if isinstance(name, ast.Name) and isinstance(value, ast.Constant):
                    constants[name.id] = value.value
    return constants


def attachment_kinds() -> dict[str, str]:
    """Each {"kind": ..., "params": ...} in procedures/ and bot/ whose kind is a literal or a
    constant of its module, with where it is."""
    kinds = {}
    for folder in ("procedures", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = _module_constants(tree)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Dict):
                    continue
                entries = {
                    key.value: value
                    for key, value in zip(node.keys, node.values, strict=True)
                    if isinstance(key, ast.Constant)
                }
                kind = entries.get("kind")
                if isinstance(kind, ast.Name):
                    kind = ast.Constant(constants.get(kind.id))
                if "params" in entries and isinstance(kind, ast.Constant) and kind.value:
                    kinds[kind.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return kinds


def test_every_attachment_kind_the_code_emits_has_a_renderer() -> None:
    kinds = attachment_kinds()
    # evidence already on Telegram (or in the file store) is sent as it is, never rendered; an
    # edit of a notice already sent renders its texts only
    sent_as_is = {PHOTO_KIND, ALBUM, EDIT}
    assert {"complaint_quarterly", "rectification_notice", *sent_as_is} <= set(kinds)
    unrendered = {
        kind: where
        for kind, where in kinds.items()
        if kind not in RENDERERS and kind not in sent_as_is
    }
    assert not unrendered, f"attachment kinds without a renderer: {unrendered}"


async def test_an_unknown_kind_or_record_is_a_clear_error(services: Services) -> None:
    context = document_context(services, "en")
    async with services.session_factory() as session:
        with pytest.raises(UnknownDocument, match="no renderer for document kind 'sticker'"):
            await render(session, {"kind": "sticker", "params": {}}, context)
        with pytest.raises(UnknownDocument, match="no renderer"):
            await render(session, {"params": {}}, context)
        with pytest.raises(UnknownDocument, match="rectification 999 does not exist"):
            await render(session, {"kind": "rectification_notice", "params": {"id": 999}}, context)
