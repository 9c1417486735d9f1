"""Text as users type it, made safe to keep: what no file format or Telegram can carry is dropped.

Every free text a dialogue or an import takes in passes through `clean_text` before it is
checked or stored. Control characters (other than line feeds and tabs), NUL, lone surrogates
and the non-characters U+FFFE/U+FFFF break XML workbooks, PostgreSQL text or the Bot API's JSON;
they are removed. Zero-width joiners, right-to-left marks and emoji are kept: they are text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from procedures.kernel.errors import InvalidInput

# C0 and C1 controls except tab and line feed, lone surrogates, and U+FFFE/U+FFFF
_UNCARRIABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


_HAN = re.compile("[\u3400-\u9fff\uf900-\ufaff]")


def is_chinese(text: str) -> bool:
    """Whether the text has Chinese characters, so its punctuation must be full-width."""
    return _HAN.search(text) is not None


# a number as people type it, then what follows it: `20盒`, `20 盒`, `15mm`, `31.5℃`, `1e2`
_NUMBER_THEN_UNIT = re.compile(
    r"([+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)\s*([^\d\s.,+-].*)?", re.S
)


def number_and_unit(text: str) -> tuple[str, str]:
    """The number typed (full-width digits read as digits, a decimal comma as a point) and the
    unit typed after it, if any (`20盒` is 20 and 盒); text that starts with no number is
    returned whole as the number, for the caller's parser to refuse."""
    typed = unicodedata.normalize("NFKC", clean_text(text)).strip()
    match = _NUMBER_THEN_UNIT.fullmatch(typed)
    if match is None:
        return typed, ""
    return match.group(1).replace(",", "."), (match.group(2) or "").strip()


def lookup_key(text: str) -> str:
    """A code or name as it is looked up: full-width letters and digits read as ASCII (NFKC),
    without surrounding spaces or case, so `ＢＰ２０２６Ａ０７ ` finds lot bp2026a07."""
    return unicodedata.normalize("NFKC", clean_text(text)).strip().casefold()


def record_number(text: str) -> str:
    """A record's number as typed (`ｒｔ－２０２６－００００１`), in the form it is stored."""
    return unicodedata.normalize("NFKC", clean_text(text)).strip().upper()


def same_unit(typed: str, expected: str) -> bool:
    """Units compared as people write them: without case or spaces, ℃ as °C."""

    def folded(unit: str) -> str:
        return "".join(unicodedata.normalize("NFKC", unit).split()).casefold()

    return folded(typed) == folded(expected)


def clean_text(text: str) -> str:
    """The text without characters no file format or Telegram can carry; CR LF becomes LF."""
    return _UNCARRIABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def is_blank(text: str) -> bool:
    """Nothing a reader would see: only spaces and invisible format characters (zero-width)."""
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


# A free text kept whole (a description, an opinion) still fits in one Telegram message (4096
# characters) with the frame of the message that shows it.
MAX_TEXT = 2000


def check_text(text: str, *, empty: str, limit: int, too_long: str = "error.text_too_long") -> str:
    """The cleaned text without its surrounding spaces; refused (InvalidInput) when a reader
    would see nothing (text id `empty`) or when longer than `limit` (`too_long`, naming it)."""
    cleaned = clean_text(text).strip()
    if is_blank(cleaned):
        raise InvalidInput(empty)
    if len(cleaned) > limit:
        raise InvalidInput(too_long, limit=limit)
    return cleaned


def optional_text(text: str | None, *, limit: int) -> str | None:
    """Like `check_text`, but a text a reader would not see is no text: None."""
    cleaned = clean_text(text or "").strip()
    if is_blank(cleaned):
        return None
    return check_text(cleaned, empty="error.invalid_input", limit=limit)


def cut_text(text: str, limit: int) -> str:
    """The cleaned text, cut to `limit` characters with an ellipsis at the end: for names,
    where a shortened one still says who it is and refusing would lock the user out."""
    cleaned = clean_text(text).strip()
    if len(cleaned) <= limit:
        return cleaned
    return cleaned[: limit - 1].rstrip() + "…"


def column_length(attribute: Any) -> int:
    """The n of a String(n) column, so a check follows the schema."""
    length: int = attribute.property.columns[0].type.length
    return length
