"""The dashboard in French and English: domain field errors, numbers and dates."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_babel import force_locale

from balise.web import i18n
from balise.web.dashboard.i18n import field_message, integer, moment


@pytest.fixture(scope="module")
def babel_app() -> Flask:
    """An app with the catalogues and nothing else (no database)."""
    app = Flask(__name__)
    i18n.init_app(app)
    return app


def said_in(app: Flask, lang: str, message: str) -> str:
    with app.app_context(), force_locale(lang):
        return field_message(message)


@pytest.mark.parametrize(
    ("message", "french"),
    [
        (
            "must be an absolute http:// or https:// URL",
            "Doit être une URL complète en http:// ou https://",
        ),
        ("'api' is reserved by Balise", "« api » est réservé par Balise"),
        ("must be at most 4096 characters", "Doit faire au plus 4096 caractères"),
        ("must be at most 4096 characters once encoded", "Doit faire au plus 4096 caractères"),
        ("must be at least 10 characters long", "Doit faire au moins 10 caractères"),
        ("must be one of: fr, en", "Doit être l'une des valeurs : fr, en"),
        ("is not a valid URL (bad port)", "N'est pas une URL valide"),
        ("something new", "Something new"),
    ],
)
def test_domain_field_errors_are_said_in_french(babel_app, message, french):
    assert said_in(babel_app, "fr", message) == french


@pytest.mark.parametrize(
    "message",
    ["'api' is reserved by Balise", "is not a valid URL (bad port)", "must be at least 1"],
)
def test_domain_field_errors_keep_their_wording_in_english(babel_app, message):
    assert said_in(babel_app, "en", message) == message[:1].upper() + message[1:]


def test_numbers_and_dates_follow_the_language():
    when = datetime(2026, 3, 5, 23, 30, tzinfo=timezone.utc)
    paris = ZoneInfo("Europe/Paris")
    assert integer(1234567, "fr") == "1\u202f234\u202f567"
    assert integer(1234567, "en") == "1,234,567"
    assert moment(when, paris, "fr") == "6 mars 2026, 00:30"
    assert moment(when, ZoneInfo("UTC"), "en", time=False) == "5 Mar 2026"
    assert moment(datetime(2026, 11, 28, 14, 5, tzinfo=timezone.utc), ZoneInfo("UTC"), "en") == (
        "28 Nov 2026, 14:05"
    )
