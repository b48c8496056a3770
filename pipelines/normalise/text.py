"""Text folding: full-width ASCII forms to ASCII, white space collapsed, everything else kept."""

from __future__ import annotations

import re

# U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E; U+3000 is the ideographic space.
_FOLD_TABLE: dict[int, int | None] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FOLD_TABLE[0x3000] = 0x20
# Zero-width characters are invisible to a reader and break comparisons.
_FOLD_TABLE.update({0x200B: None, 0x200C: None, 0x200D: None, 0xFEFF: None})

# Most text holds none of the folded characters: found by a search in C, the slow
# dict-driven str.translate is skipped for it.
_FOLDED = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_FOLD_TABLE)) + "]")
_KEYWORD_SEPARATORS = re.compile(r"[\s,，、;；]+")
_LEADING_DASHES = re.compile(r"^[—–─―\-]+\s*")


def fold_text(text: str) -> str:
    """Fold full-width ASCII forms to ASCII, collapse white space to one space and strip."""
    if _FOLDED.search(text):
        text = text.translate(_FOLD_TABLE)
    # str.split() and the regular expression \s share one idea of white space (str.isspace:
    # U+00A0 and the other Unicode spaces too); split and join is the faster of the two.
    return " ".join(text.split())


def split_keywords(text: str) -> tuple[str, ...]:
    """Split a keyword line on white space, commas and enumeration commas (、)."""
    return tuple(word for word in _KEYWORD_SEPARATORS.split(fold_text(text)) if word)


def strip_leading_dashes(text: str) -> str:
    """Drop the dash (——) that introduces a subtitle."""
    return _LEADING_DASHES.sub("", text)


def starts_with_dashes(text: str) -> bool:
    """Whether a line opens with a dash, as a subtitle line does."""
    return _LEADING_DASHES.match(text) is not None


def strip_label(text: str, labels: tuple[str, ...]) -> str | None:
    """The value after `label:` when folded text starts with one of the labels, else None."""
    folded = fold_text(text)
    for label in labels:
        if folded.startswith(label):
            rest = folded[len(label) :].lstrip()
            if rest.startswith(":"):
                return rest[1:].strip()
    return None
