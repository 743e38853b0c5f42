"""The dashboard's strings, in French and English. Both catalogues hold the same keys (tested)."""

from __future__ import annotations

from balise.web.dashboard.en import EN
from balise.web.dashboard.fr import FR

MESSAGES = {"fr": FR, "en": EN}

__all__ = ["EN", "FR", "MESSAGES"]
