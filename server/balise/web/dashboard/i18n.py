"""The dashboard's French and English: language choice, the string catalogue, number and date
formats, and field errors from the domain (written in English) said in the viewer's language.

Same approach as web/i18n.py (a Python catalogue per language) rather than Flask-Babel: two
languages, no compile step, no .po tooling, and a test keeps both catalogues' keys identical.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Request

from balise.web.dashboard.text import MESSAGES

LANGS = ("fr", "en")
DEFAULT_LANG = "fr"


def choose_lang(request: Request, account_lang: str | None = None) -> str:
    """The account's choice, else the best of Accept-Language, else French."""
    if account_lang in LANGS:
        return account_lang  # type: ignore[return-value]
    return request.accept_languages.best_match(LANGS) or DEFAULT_LANG


class Catalogue:
    """`t.key` for a string, `t("key", n=3)` to fill its {placeholders}; unknown keys fail."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._messages = MESSAGES[lang]

    def __getattr__(self, key: str) -> str:
        if key.startswith("_") or key.startswith("jinja"):
            raise AttributeError(key)
        return self._messages[key]

    def __call__(self, key: str, **values: Any) -> str:
        return self._messages[key].format(**values)

    def int(self, value: int | float) -> str:
        """1 234 in French (narrow no-break space), 1,234 in English."""
        text = f"{value:,.0f}"
        return text.replace(",", "\u202f") if self.lang == "fr" else text

    def datetime(self, moment: datetime | None, tz: ZoneInfo, *, time: bool = True) -> str:
        """28 nov. 2026, 14:05 / 28 Nov 2026, 14:05 in the viewer's time zone."""
        if moment is None:
            return ""
        local = moment.astimezone(tz)
        month = self._messages["months_short"].split()[local.month - 1]
        day = f"{local.day} {month} {local.year}"
        return f"{day}, {local:%H:%M}" if time else day


# Field errors raised by the domain modules, in English; their French wording.
_FR_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), fr)
    for p, fr in [
        (r"is required", "est obligatoire"),
        (r"cannot be removed", "ne peut pas être retirée"),
        (r"must not be empty", "ne doit pas être vide"),
        (r"must be a string", "doit être un texte"),
        (r"must be between 0 and 10 seconds", "doit être entre 0 et 10 secondes"),
        (r"must be one of: (.*)", r"doit être l'une des valeurs : \1"),
        (r"must be at least (\d+)$", r"doit être au moins \1"),
        (r"must include a time zone", "doit indiquer un fuseau horaire"),
        (r"must be true or false", "doit être oui ou non"),
        (
            r"must be 3 to 64 characters from A-Z a-z 0-9 _ -",
            "doit faire 3 à 64 caractères parmi A-Z a-z 0-9 _ -",
        ),
        (r"'(.*)' is reserved by Balise", r"« \1 » est réservé par Balise"),
        (r"The slug '(.*)' is already taken\.", r"Le slug « \1 » est déjà pris."),
        (r"must be at most (\d+) characters once encoded", r"doit faire au plus \1 caractères"),
        (r"must be at most (\d+) characters", r"doit faire au plus \1 caractères"),
        (r"must be at least (\d+) characters long", r"doit faire au moins \1 caractères"),
        (
            r"must not contain control, invisible or unusual space characters",
            "ne doit contenir ni caractère de contrôle, ni caractère invisible, "
            "ni espace inhabituelle",
        ),
        (r"must not contain backslashes", "ne doit pas contenir de barre oblique inverse"),
        (r"must not contain control characters", "ne doit pas contenir de caractère de contrôle"),
        (r"must be between the years (\d+) and (\d+)", r"doit être entre les années \1 et \2"),
        (r"is not a valid URL.*", "n'est pas une URL valide"),
        (
            r"must be an absolute http:// or https:// URL",
            "doit être une URL complète en http:// ou https://",
        ),
        (r"must name a host", "doit nommer un hôte"),
        (
            r"must not contain a user name or password",
            "ne doit contenir ni nom d'utilisateur ni mot de passe",
        ),
        (
            r"the host name .*",
            "le nom d'hôte n'est pas un nom de domaine valide",
        ),
        (
            r"must not point at this Balise server \(it would loop\)",
            "ne doit pas pointer vers ce serveur Balise (cela ferait une boucle)",
        ),
        (r"must be an e-mail address", "doit être une adresse e-mail"),
        (r"must be 1 to 100 characters", "doit faire de 1 à 100 caractères"),
        (r"An API key named '(.*)' already exists\.", r"Une clé nommée « \1 » existe déjà."),
    ]
]

# pydantic error types (from the API's own schemas) and their wording, by catalogue key.
_PYDANTIC = {
    "string_too_long": "err_too_long",
    "too_long": "err_too_many",
    "string_too_short": "err_required",
    "missing": "err_required",
    "int_parsing": "err_integer",
    "int_type": "err_integer",
    "greater_than_equal": "err_at_least",
    "less_than_equal": "err_at_most",
    "literal_error": "err_choice",
    "timezone_aware": "err_datetime",
    "datetime_parsing": "err_datetime",
    "datetime_from_date_parsing": "err_datetime",
    "string_pattern_mismatch": "err_slug",
}


def field_message(t: Catalogue, message: str) -> str:
    """A domain field error in the viewer's language (English text is kept as it is)."""
    text = message
    if t.lang == "fr":
        for pattern, french in _FR_ERRORS:
            if pattern.fullmatch(message):
                text = pattern.sub(french, message)
                break
    return text[:1].upper() + text[1:]


def pydantic_message(t: Catalogue, error: dict[str, Any]) -> str:
    """A schema validation error (pydantic) in the viewer's language."""
    key = _PYDANTIC.get(error.get("type", ""))
    if key is None:
        return field_message(t, str(error.get("msg", "is invalid")))
    ctx = error.get("ctx") or {}
    limit = ctx.get("max_length", ctx.get("ge", ctx.get("le", "")))
    return t(key, n=limit)
