"""Importers of other shorteners' links, one module per peer, through their public REST APIs.

Each peer yields pages of records through one paging loop (peer.PagedPeer: an importer gives
its page request, its item mapping and where the next page starts); cli/transfer.py writes a
page at a time in one transaction and keeps the cursor of the next page in a state file, so an
interrupted import continues where it stopped.
"""

from __future__ import annotations

from typing import Any

from balise.links.importers.bitly import Bitly
from balise.links.importers.http import PeerClient, PeerError
from balise.links.importers.kutt import Kutt
from balise.links.importers.peer import Page, Peer
from balise.links.importers.shlink import Shlink
from balise.links.importers.yourls import Yourls

PEERS = ("kutt", "shlink", "yourls", "bitly")

__all__ = ["PEERS", "Page", "Peer", "PeerClient", "PeerError", "make_peer"]


def make_peer(
    name: str, base_url: str, api_key: str, *, group: str | None = None, **client: Any
) -> Peer:
    """The importer of `name`, authenticated as each peer documents. `client` options
    (timeout, attempts, max_wait, sleep) go to the PeerClient."""
    if name == "kutt":
        return Kutt(PeerClient(name, base_url, {"X-API-KEY": api_key}, **client))
    if name == "shlink":
        return Shlink(PeerClient(name, base_url, {"X-Api-Key": api_key}, **client))
    if name == "yourls":
        return Yourls(PeerClient(name, base_url, {}, **client), api_key)
    if name == "bitly":
        headers = {"Authorization": f"Bearer {api_key}"}
        return Bitly(PeerClient(name, base_url, headers, **client), group)
    raise ValueError(name)
