"""Link controls: UTM added to the target, the short URL's query passed on, targeting rules, a
fallback URL, an opening date and a password.

The choice of a reader's target is one pure function, choose_target(link, facts), of the link
and of what the request says (Facts: device, preferred language, country, query), so the lean
reader path evaluates it per request without reading the database. Precedence of query
parameters in the URL readers are sent to: the link's own utm_* values, then the short URL's
query (with forward_query), then the target's own parameters. Knows nothing of HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from balise.errors import ValidationFailed
from balise.links.hosts import OwnServer
from balise.links.urls import clean_target
from balise.values import text_problem

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Fields a create or an update may carry besides the link's own (fields.EDITABLE).
FIELDS = (*UTM_FIELDS, "forward_query", "fallback_url", "valid_from", "rules", "password")
DEVICES = ("mobile", "tablet", "desktop", "ios", "android")
_DEVICE_OS = {"ios": "iOS", "android": "Android"}
MAX_RULES = 20
MAX_UTM_LENGTH = 255
MIN_PASSWORD, MAX_PASSWORD = 4, 200
MAX_RULE_QUERY = 10  # conditions on the query, per rule
MAX_QUERY_NAME, MAX_QUERY_VALUE = 100, 255
MAX_FORWARDED = 2048  # a longer query string is not passed on (nor read by rules)
MAX_ACCEPT_LANGUAGE = 512
LANG_RE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")
COUNTRY_RE = re.compile(r"[A-Z]{2}")
# A link's password is a secret shared with its readers, checked on each of their right answers
# and hashed once per row of a bulk or CSV import: argon2id at OWASP's recommended minimum
# (19 MiB, 2 passes, 1 lane), about 7 times less work than the account passwords' defaults
# (accounts.users), which take 0.5 s a hash on a busy 2-core machine. Hashes made with other
# parameters (earlier versions) verify as they are.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class Facts:
    """What one request says about its reader, each fact worked out on first use only.

    `agent` returns (device type, OS family) of the user agent; `country` the reader's
    two-letter country (None when unknown or GeoIP is not configured)."""

    def __init__(
        self,
        *,
        query: str = "",
        accept_language: str = "",
        agent: Callable[[], tuple[str | None, str | None]] = lambda: (None, None),
        country: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._query = query
        self._accept_language = accept_language
        self._agent = agent
        self._country = country

    @cached_property
    def query(self) -> list[tuple[str, str]]:
        if not self._query or len(self._query) > MAX_FORWARDED:
            return []
        return parse_qsl(self._query, keep_blank_values=True)

    @cached_property
    def lang(self) -> str | None:
        """The reader's preferred language (highest q of Accept-Language), lower case."""
        ranked = []
        for i, item in enumerate(self._accept_language[:MAX_ACCEPT_LANGUAGE].split(",")):
            tag, _, params = item.strip().partition(";")
            q = 1.0
            if params.strip().startswith("q="):
                try:
                    q = float(params.strip()[2:])
                except ValueError:
                    q = 0.0
            if tag and tag != "*" and q > 0:
                ranked.append((-q, i, tag.strip().lower()))
        return min(ranked)[2] if ranked else None

    @cached_property
    def device(self) -> tuple[str | None, str | None]:
        return self._agent()

    @cached_property
    def country(self) -> str | None:
        return self._country()


def varies(link: Any) -> bool:
    """Whether the target depends on the request (rules or a forwarded query)."""
    return bool(link.rules) or bool(link.forward_query)


def utm_pairs(link: Any) -> list[tuple[str, str]]:
    return [(name, value) for name in UTM_FIELDS if (value := getattr(link, name, None))]


def choose_target(link: Any, facts: Facts | None) -> str:
    """Where this reader goes: the first matching rule's URL, else the link's own, with the
    forwarded query and the link's UTM values (facts may be None when nothing varies)."""
    base = link.url
    if facts is not None:
        for rule in link.rules or ():
            if matches(rule, facts):
                base = rule["url"]
                break
    forwarded = facts.query if facts is not None and link.forward_query else []
    return with_params(base, forwarded, utm_pairs(link))


def matches(rule: Mapping[str, Any], facts: Facts) -> bool:
    """Every condition the rule gives holds for this reader."""
    device = rule.get("device")
    if device is not None:
        kind, os = facts.device
        if (os != _DEVICE_OS[device]) if device in _DEVICE_OS else kind != device:
            return False
    lang = rule.get("lang")
    if lang is not None:
        best = facts.lang
        if best is None or not (best == lang or best.startswith(lang + "-")):
            return False
    if rule.get("country") is not None and facts.country != rule["country"]:
        return False
    query = rule.get("query")
    if query:
        given = facts.query
        for name, value in query.items():
            if (name, value) not in given:
                return False
    return True


def with_params(
    url: str, forwarded: Iterable[tuple[str, str]], fixed: Iterable[tuple[str, str]]
) -> str:
    """`url` with parameters set: `fixed` ones win over `forwarded` ones, which win over the
    URL's own of the same name. The URL's other parameters keep their place and spelling."""
    fixed = list(fixed)
    names = {name for name, _ in fixed}
    added = [(n, v) for n, v in forwarded if n not in names] + fixed
    if not added:
        return url
    base, hashmark, fragment = url.partition("#")
    path, _, query = base.partition("?")
    replaced = {name for name, _ in added}
    kept = [p for p in query.split("&") if p and unquote_plus(p.partition("=")[0]) not in replaced]
    kept += [f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in added]
    return f"{path}?{'&'.join(kept)}{hashmark}{fragment}"


# Checking and storing -------------------------------------------------------------------------


def _url_error(field: str, value: Any, own: OwnServer | str) -> tuple[str | None, str | None]:
    """(cleaned URL, None) or (None, message): the link target's own rules."""
    try:
        return clean_target(value, own=own), None
    except ValidationFailed as exc:
        return None, exc.errors[0]["message"]


def _single_line(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > limit:
        return f"must be at most {limit} characters"
    return text_problem(value, multiline=False)


def _rule_errors(index: int, rule: Any, own: OwnServer | str) -> tuple[dict | None, list]:
    """The rule as stored (its URL cleaned) and the errors of its fields."""
    at = f"rules.{index}"
    if not isinstance(rule, Mapping):
        return None, [{"field": at, "message": "must be an object"}]
    errors = []
    unknown = set(rule) - {"url", "device", "lang", "country", "query"}
    if unknown:
        errors.append({"field": at, "message": f"unknown field '{sorted(unknown)[0]}'"})
    url, problem = _url_error(f"{at}.url", rule.get("url"), own)
    if problem:
        errors.append({"field": f"{at}.url", "message": problem})
    stored: dict[str, Any] = {"url": url}
    device, lang, country = rule.get("device"), rule.get("lang"), rule.get("country")
    if device is not None and device not in DEVICES:
        errors.append({"field": f"{at}.device", "message": "must be one of: " + ", ".join(DEVICES)})
    if lang is not None and not (isinstance(lang, str) and LANG_RE.fullmatch(lang.lower())):
        errors.append({"field": f"{at}.lang", "message": "must be a language tag such as fr"})
    if country is not None and not (isinstance(country, str) and COUNTRY_RE.fullmatch(country)):
        errors.append({"field": f"{at}.country", "message": "must be two capital letters (FR)"})
    query = rule.get("query")
    if query is not None:
        errors += _query_errors(f"{at}.query", query)
    if not any(rule.get(k) for k in ("device", "lang", "country", "query")):
        errors.append({"field": at, "message": "needs at least one condition"})
    if not errors:
        stored |= {"device": device, "lang": lang and lang.lower(), "country": country}
        stored["query"] = dict(query) if query else None
    return stored, errors


def _query_errors(at: str, query: Any) -> list[dict[str, str]]:
    if not isinstance(query, Mapping) or len(query) > MAX_RULE_QUERY:
        return [{"field": at, "message": f"must be an object of at most {MAX_RULE_QUERY} names"}]
    for name, value in query.items():
        problem = _single_line(name, MAX_QUERY_NAME) or _single_line(value, MAX_QUERY_VALUE)
        if problem or not name:
            return [{"field": at, "message": problem or "names must not be empty"}]
    return []


def _rules(value: Any, own: OwnServer | str) -> tuple[list | None, list]:
    if value is None or value == []:
        return None, []
    if not isinstance(value, list):
        return None, [{"field": "rules", "message": "must be a list"}]
    if len(value) > MAX_RULES:
        return None, [{"field": "rules", "message": f"must hold at most {MAX_RULES} rules"}]
    stored, errors = [], []
    for i, rule in enumerate(value):
        one, problems = _rule_errors(i, rule, own)
        stored.append(one)
        errors += problems
    return stored, errors


def check(
    values: Mapping[str, Any], own: OwnServer | str, *, hash_password: bool = True
) -> tuple[dict[str, Any], list]:
    """The columns to store for the control fields present in `values`, and every field error.

    `password` becomes `password_hash` (None clears it; hash_password=False only checks it);
    URLs are cleaned like targets."""
    row: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for name in UTM_FIELDS:
        if name in values:
            value = values[name] or None
            problem = None if value is None else _single_line(value, MAX_UTM_LENGTH)
            if problem:
                errors.append({"field": name, "message": problem})
            row[name] = value
    if "forward_query" in values:
        if not isinstance(values["forward_query"], bool):
            errors.append({"field": "forward_query", "message": "must be true or false"})
        row["forward_query"] = values["forward_query"]
    if values.get("fallback_url") is not None:
        row["fallback_url"], problem = _url_error("fallback_url", values["fallback_url"], own)
        if problem:
            errors.append({"field": "fallback_url", "message": problem})
    elif "fallback_url" in values:
        row["fallback_url"] = None
    if "valid_from" in values:
        start = values["valid_from"]
        if start is not None and (not isinstance(start, datetime) or start.tzinfo is None):
            errors.append({"field": "valid_from", "message": "must include a time zone"})
        row["valid_from"] = start
    if "rules" in values:
        row["rules"], problems = _rules(values["rules"], own)
        errors += problems
    if "password" in values:
        row["password_hash"], problem = _password(values["password"], hash_password)
        if problem:
            errors.append({"field": "password", "message": problem})
    return row, errors


def _password(value: Any, hash_it: bool = True) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    problem = _single_line(value, MAX_PASSWORD)
    if problem is None and len(value) < MIN_PASSWORD:
        problem = f"must be at least {MIN_PASSWORD} characters long"
    if problem:
        return None, problem
    return (hasher.hash(value) if hash_it else None), None


def window_errors(valid_from: datetime | None, expires_at: datetime | None) -> list[dict]:
    """valid_from must come before expires_at when both are set."""
    if not isinstance(valid_from, datetime) or not isinstance(expires_at, datetime):
        return []
    if valid_from.tzinfo is None or expires_at.tzinfo is None or valid_from < expires_at:
        return []
    return [{"field": "valid_from", "message": "must be before expires_at"}]


def verify_password(password_hash: str | None, candidate: str) -> bool:
    """True when `candidate` is the link's password (argon2id, constant work per try)."""
    if password_hash is None or not isinstance(candidate, str) or len(candidate) > MAX_PASSWORD:
        return False
    try:
        return hasher.verify(password_hash, candidate)
    except (VerificationError, InvalidHashError):
        return False
