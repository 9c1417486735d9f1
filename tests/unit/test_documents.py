"""Every attachment kind the code can put in the outbox has a renderer; any other kind is refused."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.documents import document_context
from bot.outbox_sender import PHOTO_KIND
from bot.services import Services
from reports.documents import RENDERERS, UnknownDocument, render

ROOT = Path(__file__).parents[2]


def attachment_kinds() -> dict[str, str]:
    """Each literal {"kind": ..., "params": ...} in procedures/ and bot/, with where it is."""
    kinds = {}
    for folder in ("procedures", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Dict):
                    continue
                entries = {
                    key.value: value
                    for key, value in zip(node.keys, node.values, strict=True)
                    if isinstance(key, ast.Constant)
                }
                kind = entries.get("kind")
                if "params" in entries and isinstance(kind, ast.Constant):
                    kinds[kind.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return kinds


def test_every_attachment_kind_the_code_emits_has_a_renderer() -> None:
    kinds = attachment_kinds()
    assert {"complaint_quarterly", "rectification_notice", PHOTO_KIND} <= set(kinds)
    unrendered = {
        kind: where for kind, where in kinds.items() if kind not in RENDERERS and kind != PHOTO_KIND
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
