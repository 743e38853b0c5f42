"""The slug cache: TTL, negative entries, invalidation (local and through Redis)."""

from __future__ import annotations

import secrets
import threading
import time

from balise.links.cache import LinkCache
from balise.links.invalidation import Invalidator


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(values: dict[str, str], **kwargs):
    loads: list[str] = []

    def loader(key: str):
        loads.append(key)
        return values.get(key)

    return LinkCache(loader, **kwargs), loads


def test_values_are_served_from_memory_until_the_ttl_passes():
    clock = Clock()
    cache, loads = make({"a": "one"}, ttl=5, clock=clock, refresh_ahead=False)
    assert [cache.get("a") for _ in range(3)] == ["one"] * 3
    assert loads == ["a"]
    clock.now = 5.1
    assert cache.get("a") == "one"
    assert loads == ["a", "a"]


def test_a_due_entry_is_served_while_one_background_refresh_reads_it_again():
    clock = Clock()
    values = {"a": "one"}
    cache, loads = make(values, ttl=5, clock=clock)
    assert cache.get("a") == "one"
    values["a"] = "two"
    clock.now = 6  # due, not yet overdue: readers do not wait
    assert [cache.get("a") for _ in range(5)][0] == "one"
    cache.close()  # waits for the refresh under way
    assert loads == ["a", "a"]
    assert cache.get("a") == "two"


def test_an_overdue_entry_is_read_again_before_answering():
    clock = Clock()
    values = {"a": "one"}
    cache, loads = make(values, ttl=5, clock=clock)
    cache.get("a")
    values["a"] = "two"
    clock.now = 10.5  # more than two TTLs: too old to serve
    assert cache.get("a") == "two"
    assert loads == ["a", "a"]
    cache.close()


def test_unknown_keys_are_cached_briefly():
    clock = Clock()
    cache, loads = make({}, ttl=5, negative_ttl=1, clock=clock)
    assert cache.get("zz") is None and cache.get("zz") is None
    assert loads == ["zz"]
    clock.now = 1.5
    cache.get("zz")
    assert loads == ["zz", "zz"]


def test_invalidate_drops_one_key_and_invalidate_all_every_key():
    values = {"a": "one", "b": "two"}
    cache, loads = make(values, ttl=60)
    cache.get("a"), cache.get("b")
    values["a"] = "uno"
    cache.invalidate("a")
    assert (cache.get("a"), cache.get("b")) == ("uno", "two")
    cache.invalidate_all()
    cache.get("b")
    assert loads == ["a", "b", "a", "b"]


def test_a_load_overtaken_by_an_invalidation_is_not_kept():
    started, release = threading.Event(), threading.Event()
    values = {"a": "old"}

    def slow_loader(key):
        value = values[key]
        started.set()
        release.wait(5)
        return value

    cache = LinkCache(slow_loader, ttl=60)
    result = []
    t = threading.Thread(target=lambda: result.append(cache.get("a")))
    t.start()
    started.wait(5)
    values["a"] = "new"
    cache.invalidate("a")  # the change committed while the old row was being read
    release.set()
    t.join(5)
    assert result == ["old"]
    assert cache.get("a") == "new"


def test_concurrent_misses_share_one_load():
    calls = []

    def loader(key):
        calls.append(key)
        time.sleep(0.05)
        return key.upper()

    cache = LinkCache(loader, ttl=60)
    threads = [threading.Thread(target=cache.get, args=("k",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert calls == ["k"]


def test_size_is_bounded_dropping_the_least_recently_used():
    cache, _ = make({str(i): str(i) for i in range(10)}, ttl=60, max_entries=3)
    for key in ("0", "1", "2", "0", "3"):
        cache.get(key)
    assert len(cache) == 3
    assert cache.hits == 1


def test_a_flood_of_unknown_keys_never_evicts_a_known_one():
    cache, loads = make({"known": "value"}, ttl=60, max_entries=3, max_unknown=5)
    cache.get("known")
    for i in range(100):
        assert cache.get(f"probe{i}") is None
    assert cache.peek("known") == "value"
    assert len(cache) == 1 + 5  # the known key and the 5 most recent unknown ones
    assert cache.get("known") == "value" and loads.count("known") == 1
    assert cache.get("probe99") is None and loads.count("probe99") == 1  # still held
    assert cache.get("probe0") is None and loads.count("probe0") == 2  # dropped, read again
    cache.close()


def test_an_unknown_key_that_becomes_known_counts_as_known():
    values: dict[str, str] = {}
    cache, _ = make(values, ttl=60, max_entries=2, max_unknown=1)
    assert cache.get("a") is None
    values["a"] = "now"
    cache.invalidate("a")
    assert cache.get("a") == "now"
    assert cache.get("b") is None and cache.get("c") is None  # one unknown at a time
    assert cache.peek("a") == "now" and len(cache) == 2
    cache.close()


def test_a_change_on_one_instance_reaches_the_others_through_redis(redis_url):
    channel = f"balise-test:{secrets.token_hex(4)}"
    values = {"promo": "v1"}
    caches = [LinkCache(values.get, ttl=3600) for _ in range(2)]
    invalidators = [Invalidator(c, redis_url, channel=channel) for c in caches]
    try:
        for inv in invalidators:
            inv.start()
            assert inv.wait_subscribed()
        assert [c.get("promo") for c in caches] == ["v1", "v1"]
        values["promo"] = "v2"
        invalidators[0].changed(["PROMO"])
        deadline = time.monotonic() + 5
        while caches[1].get("promo") != "v2" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [c.get("promo") for c in caches] == ["v2", "v2"]
    finally:
        for inv in invalidators:
            inv.close()
