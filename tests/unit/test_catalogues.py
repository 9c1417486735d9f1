"""Every text id exists in zh-Hant, zh-Hans and English, and every id the code uses exists."""

from __future__ import annotations

import logging
import re
import string
from pathlib import Path

import pytest

from bot.texts import LANGUAGES, MissingText, Texts, load_catalogues
from procedures import roles
from tests.conftest import SHANGHAI

ROOT = Path(__file__).parents[2]
KEY_LITERAL = re.compile(r"""["']((?:[a-z_]+\.)+[a-z_]+)["']""")
PREFIXES = (
    "start.",
    "gate.",
    "help.",
    "cmd.",
    "lang.",
    "cancel.",
    "unknown.",
    "error.",
    "invite.",
    "deadline.",
    "outbox.",
    "import.",
    "role.",
    "language.",
)


def test_every_language_has_every_key() -> None:
    catalogues = load_catalogues()
    all_keys = set().union(*(set(c) for c in catalogues.values()))
    for language in LANGUAGES:
        missing = sorted(all_keys - set(catalogues[language]))
        assert not missing, f"{language} lacks {missing}"


def test_placeholders_agree_across_languages() -> None:
    catalogues = load_catalogues()

    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    for key, english in catalogues["en"].items():
        for language in ("zh-Hant", "zh-Hans"):
            assert fields(catalogues[language][key]) == fields(english), (language, key)


def test_every_text_id_used_in_the_code_exists() -> None:
    keys = set(load_catalogues()["en"])
    used = set()
    for folder in ("bot", "procedures", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in KEY_LITERAL.finditer(path.read_text(encoding="utf-8")):
                if match.group(1).startswith(PREFIXES) and not match.group(1).endswith("."):
                    used.add(match.group(1))
    assert used, "the scan found no text ids"
    assert sorted(used - keys) == []


def test_every_role_has_a_name() -> None:
    keys = set(load_catalogues()["en"])
    assert {f"role.{r}" for r in roles.ALL_ROLES} <= keys


def test_rendering_translates_nested_texts_times_and_lists() -> None:
    import datetime as dt

    texts = Texts(SHANGHAI, strict=True)
    due = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
    rendered = texts.get(
        "zh-Hant",
        "deadline.reminder",
        subject="QC-2026-00001",
        kind={"$text": "deadline.kind.on_site_verification"},
        due_at={"$time": due.isoformat()},
    )
    assert rendered == "提醒:QC-2026-00001 的實地核實期限為 2026-11-27 09:00。"
    assert texts.get(
        "en", "error.role_required", roles=[{"$text": "role.admin"}, {"$text": "role.quality_head"}]
    ) == ("This command is for administrator, quality head only. Nothing was changed.")
    assert texts.language_for(None, "zh-TW") == "zh-Hant"
    assert texts.language_for(None, "zh-hans") == "zh-Hans"
    assert texts.language_for(None, "de") == "zh-Hant"
    assert texts.language_for("en", "zh-TW") == "en"


def test_a_missing_text_falls_back_and_is_logged_once_or_raises_when_strict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalogues = load_catalogues()
    catalogues["zh-Hant"] = {k: v for k, v in catalogues["zh-Hant"].items() if k != "help.header"}
    texts = Texts(SHANGHAI, catalogues=catalogues)
    with caplog.at_level(logging.ERROR, logger="bot.texts"):
        assert texts.get("zh-Hant", "help.header") == catalogues["en"]["help.header"]
        assert texts.get("zh-Hant", "help.header") == catalogues["en"]["help.header"]
        assert texts.get("en", "no.such_text") == "no.such_text"
    assert [r.getMessage() for r in caplog.records] == [
        "text id 'help.header' is missing from the zh-Hant catalogue",
        "text id 'no.such_text' is missing from the en catalogue",
    ]

    texts.strict = True
    with pytest.raises(MissingText, match=r"help\.header"):
        texts.get("zh-Hant", "help.header")
    with pytest.raises(KeyError):
        texts.get("en", "no.such_text")
