"""Text as the corpus stores it: one kind of space, no zero-width characters, decoded from any file.

Shared by the loaders (`bot/corpus/articles.py`, `bot/corpus/files.py`) and the HTML and
front-matter writers, which must normalise alike for hashes to match.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from bot.errors import ArticleError

_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f\u2000-\u200a\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")


def normalise_text(text: str) -> str:
    """Unify spaces and line ends without changing a single word.

    Non-breaking and other exotic spaces become plain spaces, zero-width characters go, runs of
    spaces fold to one and lines lose their trailing blanks; blank lines (block breaks) are kept.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ZERO_WIDTH.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def body_of(text: str) -> str:
    """The body of a corpus file as written: the text after the front matter's closing `---` line.

    What attribution offsets (`scripts/attribute.py --json`, PolNeAR's gold) count characters in.
    """
    match = re.match(r"---\r?\n.*?\r?\n---[ \t]*\r?\n", text, re.S)
    return text[match.end() :] if match else text


def decode_bytes(data: bytes, path: Path) -> tuple[str, str | None]:
    """Decode an article's bytes: UTF-8 first, then the best legacy guess, named in a warning."""
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{path}: binary file (NUL bytes), not an article")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # only legacy files pay for the import

    best = from_bytes(data, cp_isolation=["cp1252", "latin_1", "iso8859_15", "cp1251", "mac_roman"])
    match = best.best()
    if match is None:
        raise ArticleError(f"{path}: not valid UTF-8 and no single-byte encoding fits")
    return str(match), f"{path}: not UTF-8, decoded as {match.encoding}"


def text_hash(text: str) -> str:
    """The content hash of an article's text (what the index records to detect changes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
