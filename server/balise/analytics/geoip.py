"""Country of a client address from a MaxMind-format database, when one is configured.

Without BALISE_GEOIP_DB there is no country and no error. The address is looked up in memory
and never stored; only the two-letter country code is.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class CountryLookup:
    def __init__(self, path: str | None) -> None:
        self._reader: Any = None
        if not path:
            return
        import maxminddb

        try:
            self._reader = maxminddb.open_database(path)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            log.error("BALISE_GEOIP_DB=%s cannot be read (%s); clicks get no country", path, exc)

    @property
    def enabled(self) -> bool:
        return self._reader is not None

    def country(self, ip: str) -> str | None:
        """ISO 3166 alpha-2 code of `ip`, or None when unknown or not configured."""
        if self._reader is None:
            return None
        try:
            record = self._reader.get(ip)
        except ValueError:  # not an IP address
            return None
        if not isinstance(record, dict):
            return None
        for key in ("country", "registered_country"):
            place = record.get(key)
            if isinstance(place, dict) and isinstance(place.get("iso_code"), str):
                code: str = place["iso_code"]
                return code.upper()[:2]
        return None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
