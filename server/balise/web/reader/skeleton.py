"""Reader pages rendered once per shape by Jinja, then filled in for each link.

A link the cache does not hold is rendered while its reader waits; with a million links,
that is most of what a miss costs (about 0.45 ms of Jinja, gettext and escaping with the GIL
held). Yet reader.html does nothing with a text but print it, escaped (`{{ value }}`), and
test whether it is empty: so every page with the same *shape* (the page language, the delay,
which texts are empty, how many social tags, sections and paragraphs) is the same page with
other texts in it. Jinja renders a shape once with a unique mark in place of each text; a
page of that shape is then the skeleton's pieces joined with the link's texts, escaped as
markupsafe.escape (what autoescape uses) escapes them.

The first page of each shape is also rendered by Jinja and compared, and so is one page in
VERIFY_EVERY after it: should the template ever do more with a text (a filter, a test on its
value), the pages would differ, the shape would be rendered by Jinja from then on and a
warning logged. tests/test_reader_skeleton.py renders pages both ways with awkward texts.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import threading
from collections.abc import Callable, Hashable
from typing import Any

from markupsafe import Markup

log = logging.getLogger(__name__)
VERIFY_EVERY = 64  # pages of a known shape between two comparisons with Jinja's
MAX_SHAPES = 2_000  # beyond it, new shapes are rendered by Jinja (bounded memory)
# Keys whose value is part of the shape itself: it decides the translations (lang).
AS_SHAPE = frozenset({"lang"})
_MARK = "balise-text-" + secrets.token_hex(10) + "-"
_TEXT = re.compile(re.escape(_MARK) + r"(\d+)-")
_SPECIAL = re.compile("[&<>'\"]")


class _Opaque(Exception):
    """A value this module cannot reduce to a shape: the page is rendered by Jinja."""


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def _shape(value: Any, texts: list[str]) -> Hashable:
    """The shape of `value`; its texts (non-empty strings) appended to `texts` in order."""
    kind = type(value)
    if kind is str:
        if value:
            texts.append(value)
            return 1
        return 0
    if kind is Markup:  # trusted constants (inline assets, the token's mark)
        return ("markup", value)
    if value is None or kind is bool or kind is int:
        return (kind, value)
    if kind is list or kind is tuple:
        return (kind, tuple([_shape(item, texts) for item in value]))
    if dataclasses.is_dataclass(kind):
        return (kind, tuple([_shape(getattr(value, name), texts) for name in _fields(kind)]))
    raise _Opaque(kind.__name__)


def _marked(value: Any, count: list[int]) -> Any:
    """`value` with each text replaced by a mark numbered as _shape numbers it."""
    kind = type(value)
    if kind is str:
        if not value:
            return value
        count[0] += 1
        return f"{_MARK}{count[0] - 1}-"
    if kind is list or kind is tuple:
        return kind([_marked(item, count) for item in value])
    if dataclasses.is_dataclass(kind) and kind is not Markup:
        changes = {name: _marked(getattr(value, name), count) for name in _fields(kind)}
        return dataclasses.replace(value, **changes)
    return value  # Markup, None, booleans, numbers: part of the shape


class Skeletons:
    """Pages of reader.html by shape; `jinja(context)` renders one the ordinary way."""

    def __init__(self, jinja: Callable[[dict[str, Any]], str]) -> None:
        self._jinja = jinja
        # shape -> the skeleton's pieces (texts between marks, and the marks' numbers), or
        # None for a shape whose pages Jinja must render (it differed once)
        self._shapes: dict[Hashable, tuple[tuple[str, ...], tuple[int, ...]] | None] = {}
        self._lock = threading.Lock()
        self._renders = 0
        self.filled = self.verified = self.mismatches = 0

    def render(self, context: dict[str, Any]) -> str:
        texts: list[str] = []
        try:
            shapes = tuple(
                [
                    (name, ("as-is", value) if name in AS_SHAPE else _shape(value, texts))
                    for name, value in sorted(context.items())
                ]
            )
        except _Opaque:
            return self._jinja(context)
        key = shapes
        with self._lock:
            self._renders += 1
            verify = self._renders % VERIFY_EVERY == 0
            known = key in self._shapes
            skeleton = self._shapes.get(key)
        if known and skeleton is None:
            return self._jinja(context)
        if skeleton is None:
            if len(self._shapes) >= MAX_SHAPES:
                return self._jinja(context)
            count = [0]
            marked = {
                name: value if name in AS_SHAPE else _marked(value, count)
                for name, value in sorted(context.items())
            }
            skeleton = _pieces(self._jinja(marked))
            verify = True
        page = _fill(skeleton, texts)
        if verify:
            expected = self._jinja(context)
            with self._lock:
                self.verified += 1
                if page != expected:
                    self.mismatches += 1
                    self._shapes[key] = None
                    log.warning("reader page filled in differs from Jinja's; shape dropped")
                    return expected
                self._shapes.setdefault(key, skeleton)
        self.filled += 1
        return page


def _pieces(html: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    literals: list[str] = []
    slots: list[int] = []
    position = 0
    for mark in _TEXT.finditer(html):
        literals.append(html[position : mark.start()])
        slots.append(int(mark.group(1)))
        position = mark.end()
    literals.append(html[position:])
    return tuple(literals), tuple(slots)


def _escape(text: str) -> str:
    """markupsafe.escape's characters and entities, without making a Markup object."""
    if not _SPECIAL.search(text):
        return text
    return (
        text.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


def _fill(skeleton: tuple[tuple[str, ...], tuple[int, ...]], texts: list[str]) -> str:
    literals, slots = skeleton
    out = [literals[0]]
    for slot, literal in zip(slots, literals[1:], strict=True):
        out.append(_escape(texts[slot]))
        out.append(literal)
    return "".join(out)
