"""Settings, declared once: name, type, default and help, read from BALISE_* variables.

The README documents every setting listed here; tests/test_settings_documented.py fails otherwise.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (1/0, true/false), got {value!r}")


def _seconds_list(value: str) -> tuple[float, ...]:
    """Comma-separated seconds: "5,300,1800"."""
    try:
        found = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"expected comma-separated seconds, got {value!r}") from None
    if not found or any(n < 0 for n in found):
        raise ValueError(f"expected at least one non-negative number of seconds, got {value!r}")
    return found


@dataclass(frozen=True)
class Setting:
    name: str
    type: Callable[[str], Any]
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"BALISE_{self.name}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATA_DIR", str, "./instance", "Directory for the SQLite database and generated secrets."
    ),
    Setting(
        "DATABASE_URL",
        str,
        "",
        "SQLAlchemy URL of SQLite or PostgreSQL; empty means sqlite:///DATA_DIR/balise.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db.",
    ),
    Setting(
        "SECRET_KEY",
        str,
        "",
        "Signs tokens and sessions; generated and kept in DATA_DIR/secret_key when empty. "
        "Must be the same on every instance.",
    ),
    Setting("BASE_URL", str, "", "Public origin of short links; empty means http://HOST:PORT."),
    Setting("HOST", str, "127.0.0.1", "Address `balise serve` listens on."),
    Setting("PORT", int, 8080, "Port `balise serve` listens on (1 to 65535)."),
    Setting("THREADS", int, 8, "Waitress worker threads (1 to 1,000)."),
    Setting(
        "SERVE_CPU",
        str,
        "auto",
        "The one CPU `balise serve` runs its threads on: auto (one no other instance sharing "
        "the data dir holds, when there are two or more), a CPU number, or off. The click "
        "store process and the database keep the others.",
    ),
    Setting("DEFAULT_REDIRECT_DELAY", int, 0, "Seconds before the reader page redirects (0-10)."),
    Setting(
        "SUMMARY_REDIRECT_DELAY",
        int,
        6,
        "Seconds a link with a summary waits, unless it sets its own delay (0-30).",
    ),
    Setting(
        "ROOT_REDIRECT",
        str,
        "",
        "Where GET / redirects (an http(s) URL); empty: a short page about this server.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        int,
        0,
        "Number of reverse-proxy hops whose X-Forwarded-* headers are trusted (1 behind nginx).",
    ),
    Setting(
        "RATELIMIT_STORAGE_URI",
        str,
        "memory://",
        "Flask-Limiter storage; redis://host:6379/0 to share limits between instances.",
    ),
    Setting(
        "RATELIMIT_KEY_PREFIX",
        str,
        "balise",
        "Prefix of rate-limit keys, so deployments can share one Redis.",
    ),
    Setting("RATELIMIT_CREATE", str, "60/minute", "Rate limit on link creation, per API key."),
    Setting(
        "RATELIMIT_AUTH_FAILURES",
        str,
        "20/minute",
        "Rate limit on failed API authentications, per client address, on every API route.",
    ),
    Setting(
        "RATELIMIT_LOOKUP",
        str,
        "300/minute",
        "Rate limit on the public summary look-ups (GET and batch POST together), per client "
        "address.",
    ),
    Setting(
        "RATELIMIT_QR",
        str,
        "120/minute",
        "Rate limit on QR code images, per client address.",
    ),
    Setting(
        "RATELIMIT_NOT_FOUND",
        str,
        "60/minute",
        "Rate limit on 404 answers to short-link paths (reader, preview, QR), per client "
        "address; beyond it, unknown slugs answer 429 without reading the database.",
    ),
    Setting(
        "CACHE_TTL",
        float,
        300.0,
        "Seconds an instance may serve a link from memory before checking it again: a backstop "
        "(changes show within CACHE_POLL on every instance); the longest a change the feed "
        "missed could take to show, except while the database is away (CACHE_STALE_IF_ERROR).",
    ),
    Setting(
        "CACHE_POLL",
        float,
        1.0,
        "Seconds between two reads of the change feed by each instance (0.1 to 60): changes "
        "made through any instance or command show within this time (at once with REDIS_URL).",
    ),
    Setting(
        "CACHE_SIZE",
        int,
        15_000,
        "Links each instance keeps in its slug cache (100 to 10,000,000; when full, a link "
        "read is kept only if asked more often lately than the least recently read one). "
        "Each takes about 3.6 KiB with its page in one language (README, Performance).",
    ),
    Setting(
        "CACHE_STALE_IF_ERROR",
        float,
        600.0,
        "Seconds past CACHE_TTL a cached link is still served while the database does not "
        "answer (0: never); everything else answers 503 meanwhile.",
    ),
    Setting(
        "DRAIN_TIMEOUT",
        float,
        5.0,
        "Seconds `balise serve` lets requests in flight finish after SIGTERM before closing.",
    ),
    Setting(
        "REDIS_URL",
        str,
        "",
        "Redis for instant cache invalidation between instances (pub/sub); empty: the change "
        "feed alone (CACHE_POLL).",
    ),
    Setting("MAX_BODY_BYTES", int, 1_048_576, "Largest request body accepted (413 beyond)."),
    Setting("LOG_LEVEL", str, "INFO", "Logging level on standard error."),
    # Dashboard (issue 7)
    Setting("SESSION_DAYS", int, 14, "Days a dashboard sign-in lasts without being used."),
    Setting(
        "RATELIMIT_LOGIN_ACCOUNT",
        str,
        "10 per 15 minutes",
        "Failed dashboard sign-ins allowed per account before 429.",
    ),
    Setting(
        "RATELIMIT_LOGIN_ADDRESS",
        str,
        "30 per 15 minutes",
        "Failed dashboard sign-ins allowed per client address before 429.",
    ),
    Setting(
        "RATELIMIT_LINK_PASSWORD",
        str,
        "20 per 15 minutes",
        "Wrong passwords of protected links allowed per client address before 429.",
    ),
    # Summaries: social cards, drafting from the target page, generated drafts.
    Setting("SITE_NAME", str, "Balise", "Site name shown in social cards (og:site_name)."),
    Setting(
        "FETCH_METADATA",
        _bool,
        True,
        "Fetch a link's target page card (title, description, image) for links without a summary.",
    ),
    Setting(
        "FETCH_ALLOW_PRIVATE",
        _bool,
        False,
        "Let drafting fetch pages on private, loopback and link-local addresses (intranets).",
    ),
    Setting("FETCH_TIMEOUT", float, 10.0, "Total seconds a draft may spend fetching the page."),
    Setting(
        "DRAFT_CONCURRENCY",
        int,
        0,
        "Drafts one instance runs at once (each holds a worker thread); 0 means a quarter of "
        "THREADS, at least 1. Beyond: 503. One draft at a time per API key or account (429).",
    ),
    Setting(
        "LLM_URL",
        str,
        "",
        "OpenAI-compatible chat completions endpoint for generated drafts; empty disables them.",
    ),
    Setting("LLM_MODEL", str, "", "Model name sent to LLM_URL."),
    Setting("LLM_API_KEY", str, "", "Bearer key sent to LLM_URL, if it needs one. Never logged."),
    Setting("LLM_TIMEOUT", float, 60.0, "Seconds to wait for the model's answer."),
    # Click analytics (clicks.py, recorder.py)
    Setting(
        "GEOIP_DB",
        str,
        "",
        "Path of a MaxMind-format (.mmdb) database; clicks get a country only when it is set.",
    ),
    Setting(
        "HONOR_DNT",
        _bool,
        True,
        "With DNT: 1 or Sec-GPC: 1, a click is counted but stores no visitor hash, referrer, "
        "UTM, country or device.",
    ),
    Setting(
        "CLICK_BATCH_SIZE",
        int,
        2000,
        "Most clicks the writer stores in one transaction; five times as many while it is "
        "behind (more than two batches waiting).",
    ),
    Setting(
        "CLICK_FLUSH_INTERVAL", float, 1.0, "Longest time (seconds) a click waits in the buffer."
    ),
    Setting(
        "CLICK_QUEUE_SIZE",
        int,
        100_000,
        "Clicks the in-process buffer holds (about 0.5 KiB each, used only while it fills, "
        "e.g. during a database outage); when full, requests wait (nothing is dropped).",
    ),
    Setting(
        "CLICK_STORE",
        str,
        "process",
        "Where `balise serve` stores the buffered clicks: process (a child process of its "
        "own, so the serving process spends no time on it) or thread (a thread of the serving "
        "process). Nothing buffered is lost at SIGTERM either way.",
    ),
    Setting(
        "CLICK_RETENTION_DAYS",
        int,
        395,
        "Raw clicks and robot hits older than this are deleted daily; hourly counts and daily "
        "unique visitors stay. 0 keeps them forever.",
    ),
    # Webhooks and metrics (integrations/)
    Setting("WEBHOOK_TIMEOUT", float, 10.0, "Seconds a webhook receiver has to answer."),
    Setting(
        "WEBHOOK_RETRY_SCHEDULE",
        _seconds_list,
        (5.0, 300.0, 1800.0, 7200.0, 18000.0, 28800.0, 28800.0),
        "Seconds to wait before each retry of a failed delivery (each +/- 20 % jitter); after "
        "the last one the delivery is marked failed. Default: about 24 hours in 8 attempts.",
    ),
    Setting(
        "WEBHOOK_DISABLE_AFTER_DAYS",
        float,
        5.0,
        "An endpoint whose deliveries have all failed for this long is disabled.",
    ),
    Setting(
        "WEBHOOK_SECRET_GRACE_HOURS",
        float,
        24.0,
        "After a secret rotation, the old secret also signs deliveries for this long.",
    ),
    Setting(
        "WEBHOOK_POLL_INTERVAL",
        float,
        1.0,
        "Seconds between two looks of an instance's delivery worker for due deliveries.",
    ),
    Setting("WEBHOOK_CONCURRENCY", int, 4, "Deliveries an instance sends at the same time."),
    Setting(
        "WEBHOOK_LOG_DAYS",
        int,
        30,
        "Days finished deliveries (and their events) stay in the delivery log.",
    ),
    Setting(
        "METRICS_TOKEN",
        str,
        "",
        "Bearer token that GET /metrics requires; empty: /metrics answers 404. Never logged.",
    ),
)


class SettingError(ValueError):
    """A BALISE_* variable holds a value its setting cannot parse."""


def load(environ: Mapping[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    """Return every setting as a dict: overrides win, then BALISE_* variables, then defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides:
            value = overrides[setting.name]
            # Text overrides are read like BALISE_* variables ("0" is False for a flag).
            is_text = isinstance(value, str) and setting.type is not str
            values[setting.name] = setting.type(value) if is_text else value
        elif setting.env in environ:
            raw = environ[setting.env]
            try:
                values[setting.name] = setting.type(raw)
            except ValueError as exc:
                raise SettingError(f"{setting.env}={raw!r}: {exc}") from None
        else:
            values[setting.name] = setting.default
    values.update({k: v for k, v in overrides.items() if k not in values})
    return _derive(values)


def _derive(values: dict[str, Any]) -> dict[str, Any]:
    data_dir = Path(values["DATA_DIR"]).expanduser().resolve()
    values["DATA_DIR"] = str(data_dir)
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{data_dir / 'balise.db'}"
    from balise.db.engine import unsupported

    refused = unsupported(values["DATABASE_URL"])
    if refused:
        raise SettingError(f"BALISE_DATABASE_URL: {refused}")
    if not values["BASE_URL"]:
        values["BASE_URL"] = f"http://{values['HOST']}:{values['PORT']}"
    values["BASE_URL"] = values["BASE_URL"].rstrip("/")
    if not 1 <= int(values["PORT"]) <= 65_535:
        raise SettingError("BALISE_PORT must be between 1 and 65535")
    if not 1 <= int(values["THREADS"]) <= 1_000:
        raise SettingError("BALISE_THREADS must be between 1 and 1000")
    delay = values["DEFAULT_REDIRECT_DELAY"]
    if not 0 <= int(delay) <= 10:
        raise SettingError("BALISE_DEFAULT_REDIRECT_DELAY must be between 0 and 10")
    if not 0 <= int(values["SUMMARY_REDIRECT_DELAY"]) <= 30:
        raise SettingError("BALISE_SUMMARY_REDIRECT_DELAY must be between 0 and 30")
    cpu = str(values["SERVE_CPU"])
    if cpu not in ("auto", "off") and not (cpu.isdigit() and int(cpu) < 4096):
        raise SettingError("BALISE_SERVE_CPU must be auto, off or a CPU number")
    if values["CLICK_STORE"] not in ("process", "thread"):
        raise SettingError("BALISE_CLICK_STORE must be process or thread")
    if not 0.1 <= float(values["CACHE_POLL"]) <= 60:
        raise SettingError("BALISE_CACHE_POLL must be between 0.1 and 60 seconds")
    if not 100 <= int(values["CACHE_SIZE"]) <= 10_000_000:
        raise SettingError("BALISE_CACHE_SIZE must be between 100 and 10000000 links")
    root = values["ROOT_REDIRECT"]
    if root and not root.startswith(("https://", "http://")):
        raise SettingError("BALISE_ROOT_REDIRECT must be an http:// or https:// URL")
    return values


def secret_key(values: Mapping[str, Any]) -> str:
    """The configured secret, else one generated once and kept (mode 0600) in the data dir."""
    if values.get("SECRET_KEY"):
        return str(values["SECRET_KEY"])
    path = Path(values["DATA_DIR"]) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
