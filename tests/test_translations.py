"""The gettext catalogues: every message the code and templates use is translated in French and
in English, nothing stale is left in them, and the compiled .mo files match the .po sources.

Messages are extracted with Babel's own API and server/babel.cfg, as `make translations` does.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

SERVER = Path(__file__).resolve().parents[1] / "server"
CATALOGUES = SERVER / "balise" / "translations"
LANGS = ("fr", "en")
FIX = "run `make translations`, then fill in msgstr in both catalogues (en: the English text)"

Key = tuple[str | None, str]  # (msgctxt, msgid)


@cache
def used() -> dict[Key, str]:
    """Every message marked in the code and templates, with where it was first found."""
    with (SERVER / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[Key, str] = {}
    for path, line, message, _comments, context in extract_from_dir(
        SERVER, method_map, options_map
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((context, msgid), f"{path}:{line}")
    return found


@cache
def catalogue(lang: str, kind: str = "po") -> Catalog:
    path = CATALOGUES / lang / "LC_MESSAGES" / f"messages.{kind}"
    with path.open("rb") as source:
        return read_po(source, locale=lang) if kind == "po" else read_mo(source)


def key(message: Message) -> Key:
    return message.context, message.id if isinstance(message.id, str) else message.id[0]


def strings(message: Message) -> tuple[str, ...]:
    """The translation, one string per plural form."""
    string = message.string
    return tuple(string) if isinstance(string, (list, tuple)) else (string,)


def translated(message: Message | None) -> bool:
    """Present, not fuzzy, and every plural form filled in."""
    return message is not None and not message.fuzzy and all(strings(message))


def test_the_code_and_templates_mark_messages_for_both_surfaces():
    places = set(used().values())
    for part in (
        "web/templates/reader/",
        "web/templates/dashboard/",
        "web/dashboard/",
        "errors.py",
    ):
        assert any(part in place for place in places), part


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_used_is_translated(lang):
    po = catalogue(lang)
    missing = [
        f"{where}: {msgid!r}" + (f" (context {ctx!r})" if ctx else "")
        for (ctx, msgid), where in used().items()
        if not translated(po.get(msgid, context=ctx))
    ]
    assert not missing, f"untranslated in {lang} ({FIX}):\n" + "\n".join(missing)


@pytest.mark.parametrize("lang", LANGS)
def test_catalogues_hold_no_message_the_code_no_longer_uses(lang):
    stale = [m.id for m in catalogue(lang) if m.id and key(m) not in used()]
    assert not stale, f"unused in {lang} (run `make translations`): {stale}"


@pytest.mark.parametrize("lang", LANGS)
def test_translations_use_only_the_placeholders_of_their_message(lang):
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue(lang).check()]
    assert not problems


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalogues_match_their_sources(lang):
    """The .mo files are committed: compiling the .po must give exactly what they hold."""
    source = {key(m): strings(m) for m in catalogue(lang) if m.id and translated(m)}
    compiled = {key(m): strings(m) for m in catalogue(lang, "mo") if m.id}
    assert compiled == source, f"{lang}/LC_MESSAGES/messages.mo is stale: run `make translations`"
