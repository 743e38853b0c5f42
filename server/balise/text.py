"""One rule for the text people type into Balise: link titles and tags, summaries, API key
names and account e-mails.

Refused: control characters (line breaks and tabs only in fields that hold paragraphs),
surrogates, and invisible format characters (Unicode category Cf: bidirectional overrides,
embeddings and isolates, zero-width spaces, soft hyphens, byte order marks...), which reverse or
hide text on pages, in social cards and in lists. Allowed: the zero-width joiner and non-joiner
(U+200D, U+200C) between two visible characters, because emoji sequences and Persian and Indic
scripts need them and they neither reorder nor hide text. PostgreSQL refuses NUL in text, so
the rule also keeps such values from ever reaching a query.
"""

from __future__ import annotations

import unicodedata

from balise.errors import ValidationFailed

CONTROL = "must not contain control characters"
# Where a field allows paragraphs; summaries.store tidies them.
LINE_BREAKS = frozenset("\t\n\r")
JOINERS = frozenset("\u200c\u200d")
_REFUSED = frozenset({"Cc", "Cf", "Cs"})


def invisible(char: str) -> str:
    """The message for a refused format character or surrogate, naming it."""
    code = f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip()
    return f"must not contain invisible formatting characters ({code})"


def _visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) not in _REFUSED


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is refused (a field error message), or None when it is acceptable."""
    if value.isascii() and value.isprintable():
        return None  # the common case, decided without looking at each character
    for i, char in enumerate(value):
        category = unicodedata.category(char)
        if category not in _REFUSED:
            continue
        if category == "Cc":
            if multiline and char in LINE_BREAKS:
                continue
            return CONTROL
        if char in JOINERS and 0 < i < len(value) - 1:
            if _visible(value[i - 1]) and _visible(value[i + 1]):
                continue
        return invisible(char)
    return None


def check_text(field: str, value: str, *, multiline: bool = False) -> str:
    """`value` unchanged, or ValidationFailed naming `field`."""
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise ValidationFailed.field(field, problem)
    return value
