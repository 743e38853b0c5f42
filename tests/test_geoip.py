"""Countries from a MaxMind-format database, only when one is configured."""

from __future__ import annotations

import pytest

from balise import create_app
from balise.analytics.geoip import CountryLookup
from balise.db.tables import clicks
from tests.agents import FIREFOX_DESKTOP
from tests.clickutil import flushed, rows

mmdb_writer = pytest.importorskip("mmdb_writer", reason="mmdb-writer builds the test database")
netaddr = pytest.importorskip("netaddr")


@pytest.fixture
def country_db(tmp_path):
    """A tiny GeoIP2-Country-shaped database: 192.0.2.0/24 is France, 198.51.100.0/24 Japan."""
    writer = mmdb_writer.MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Country"
    )
    writer.insert_network(netaddr.IPSet(["192.0.2.0/24"]), {"country": {"iso_code": "FR"}})
    writer.insert_network(
        netaddr.IPSet(["198.51.100.0/24"]), {"registered_country": {"iso_code": "JP"}}
    )
    path = tmp_path / "countries.mmdb"
    writer.to_db_file(str(path))
    return str(path)


def test_lookup_answers_the_country_code_or_none(country_db):
    lookup = CountryLookup(country_db)
    try:
        assert lookup.country("192.0.2.10") == "FR"
        assert lookup.country("198.51.100.1") == "JP"
        assert lookup.country("203.0.113.1") is None
        assert lookup.country("not an address") is None
    finally:
        lookup.close()


def test_without_a_database_there_is_no_country_and_no_error():
    lookup = CountryLookup(None)
    assert not lookup.enabled and lookup.country("192.0.2.10") is None


def test_an_unreadable_database_is_logged_not_fatal(tmp_path, caplog):
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    lookup = CountryLookup(str(broken))
    assert lookup.country("192.0.2.10") is None
    assert "cannot be read" in caplog.text


def test_clicks_keep_the_country_and_not_the_address(settings, make_link, db, country_db):
    app = create_app({**settings, "GEOIP_DB": country_db})
    try:
        link = make_link()
        client = app.test_client()
        for ip in ("192.0.2.10", "203.0.113.5"):
            client.get(
                f"/{link.slug}",
                headers={"User-Agent": FIREFOX_DESKTOP},
                environ_base={"REMOTE_ADDR": ip},
            )
        client.get(
            f"/{link.slug}",
            headers={"User-Agent": FIREFOX_DESKTOP, "DNT": "1"},
            environ_base={"REMOTE_ADDR": "192.0.2.11"},
        )
        flushed(app)
    finally:
        app.extensions["balise"].shutdown()
    assert [c["country"] for c in rows(db, clicks)] == ["FR", None, None]
