"""Text as users type it, made safe to keep: what no file format or Telegram can carry is dropped.

Every free text a dialogue or an import takes in passes through `clean_text` before it is
checked or stored. Control characters (other than line feeds and tabs), NUL, lone surrogates
and the non-characters U+FFFE/U+FFFF break XML workbooks, PostgreSQL text or the Bot API's JSON;
they are removed. Zero-width joiners, right-to-left marks and emoji are kept: they are text.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls except tab and line feed, lone surrogates, and U+FFFE/U+FFFF
_UNCARRIABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """The text without characters no file format or Telegram can carry; CR LF becomes LF."""
    return _UNCARRIABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def is_blank(text: str) -> bool:
    """Nothing a reader would see: only spaces and invisible format characters (zero-width)."""
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)
