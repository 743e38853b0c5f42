"""Which language a page speaks, and Flask-Babel wired to the gettext catalogues.

Texts live in balise/translations/<lang>/LC_MESSAGES/messages.po; their msgids are the English
source text. The README's "Translations" paragraph says how to extract, update and compile them.
Reader pages speak the link's language, dashboard pages the account's choice, and both fall
back on Accept-Language, then French.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations
from flask import Flask, Request, g, has_request_context, request
from flask_babel import Babel, gettext, ngettext, npgettext, pgettext

LANGS = ("fr", "en")
DEFAULT_LANG = "fr"
# Language names as their speakers write them: the same on every page, so never translated.
AUTONYMS = {"fr": "Français", "en": "English"}
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for extraction only"
    """Mark a message for `pybabel extract` where it is defined; gettext() it where it is shown."""
    return message


def negotiate(request: Request, preferred: str | None = None) -> str:
    """The link's (or account's) own language, else the best of Accept-Language, else French."""
    if preferred in LANGS:
        return preferred  # type: ignore[return-value]
    best = request.accept_languages.best_match(LANGS)
    return best or DEFAULT_LANG


def select_locale() -> str:
    """Flask-Babel's locale for a request: the signed-in dashboard account's choice, else the
    browser's. Reader and error pages choose theirs explicitly (force_locale)."""
    if not has_request_context():
        return DEFAULT_LANG
    account = g.get("user")
    return negotiate(request, getattr(account, "lang", None))


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of `lang`, read once, usable outside any request (CLI too)."""
    return Translations.load(str(TRANSLATIONS), [lang])


def gettext_in(lang: str, message: str) -> str:
    """`message` in `lang`, whatever the page's language (a summary speaks its own)."""
    return translations(lang).gettext(message)


def init_app(app: Flask) -> None:
    """Flask-Babel, and `_`, `gettext`, `ngettext`, `pgettext` in templates.

    Templates get the same functions as the code: a translation is plain text that Jinja
    escapes like any other value, never markup (Flask-Babel's own set-up would mark it safe).
    """
    Babel(
        app,
        configure_jinja=False,
        default_locale=DEFAULT_LANG,
        default_translation_directories=str(TRANSLATIONS),
        locale_selector=select_locale,
    )
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=gettext,
        ngettext=ngettext,
        pgettext=pgettext,
        npgettext=npgettext,
        newstyle=False,
    )
