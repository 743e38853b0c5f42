"""The dashboard's catalogue: both languages complete, every key a template uses exists."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from balise.web.dashboard.i18n import Catalogue, field_message
from balise.web.dashboard.text import EN, FR

WEB = Path(__file__).resolve().parents[1] / "server" / "balise" / "web"
USED = re.compile(r"\bt\.([a-z_]+)\b|\bt\(\s*['\"]([a-z_]+)['\"]")


def test_french_and_english_have_the_same_keys():
    assert sorted(FR) == sorted(EN)


def test_placeholders_match_between_languages():
    for key in FR:
        assert set(re.findall(r"{(\w+)}", FR[key])) == set(re.findall(r"{(\w+)}", EN[key])), key


def test_every_key_used_by_templates_and_views_exists():
    sources = list((WEB / "templates" / "dashboard").glob("*.html"))
    catalogues = {"i18n", "text", "fr", "en"}
    views = list((WEB / "dashboard").glob("*.py"))
    sources += [p for p in views if p.stem not in catalogues]
    methods = {"int", "datetime", "lang"}
    missing = set()
    for path in sources:
        for attr, called in USED.findall(path.read_text(encoding="utf-8")):
            key = attr or called
            if key.endswith("_"):  # a prefix completed at run time: t("role_" ~ role)
                found = any(k.startswith(key) for k in FR)
            else:
                found = key in methods or key in FR
            if not found:
                missing.add(f"{path.name}: {key}")
    assert not missing


@pytest.mark.parametrize(
    ("message", "french"),
    [
        (
            "must be an absolute http:// or https:// URL",
            "Doit être une URL complète en http:// ou https://",
        ),
        ("'api' is reserved by Balise", "« api » est réservé par Balise"),
        ("must be at most 4096 characters", "Doit faire au plus 4096 caractères"),
        ("something new", "Something new"),
    ],
)
def test_domain_field_errors_are_said_in_french(message, french):
    assert field_message(Catalogue("fr"), message) == french


def test_numbers_and_dates_follow_the_language():
    moment = datetime(2026, 3, 5, 23, 30, tzinfo=timezone.utc)
    paris = ZoneInfo("Europe/Paris")
    assert Catalogue("fr").int(1234567) == "1\u202f234\u202f567"
    assert Catalogue("en").int(1234567) == "1,234,567"
    assert Catalogue("fr").datetime(moment, paris) == "6 mars 2026, 00:30"
    assert Catalogue("en").datetime(moment, ZoneInfo("UTC"), time=False) == "5 Mar 2026"
