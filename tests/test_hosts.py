"""Hosts as browsers read them (UTS-46, IPv4 and IPv6 forms), the loop rule, the look-up key,
and the one rule for typed text (issue 11, findings 7, 13 and 16)."""

from __future__ import annotations

import pytest

from balise.errors import ValidationFailed
from balise.links.hosts import HostInvalid, OwnServer, ascii_host
from balise.links.urls import clean_target, url_key
from balise.text import check_text, text_problem

HOSTS = [
    ("faß.de", "xn--fa-hia.de"),  # IDNA 2003 made it fass.de, another site
    ("βόλος.gr", "xn--nxasmm1c.gr"),  # final sigma kept (IDNA 2003: xn--nxasmq6b.gr)
    ("MÜNCHEN.de", "xn--mnchen-3ya.de"),
    ("ｅｘａｍｐｌｅ。org", "example.org"),
    ("Example.ORG.", "example.org."),
    ("ex--ample.com", "ex--ample.com"),
    ("i❤.ws", "xn--i-7iq.ws"),  # not IDNA 2008, but browsers go there
    ("0x7f000001", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),
    ("127.0.0.0x1", "127.0.0.1"),
    ("1.2.3.0x", "1.2.3.0"),
    ("127。0。0。1", "127.0.0.1"),
    ("[::1]", "[::1]"),
    ("[0:0::1]", "[::1]"),
    ("[::FFFF:127.0.0.1]", "[::ffff:7f00:1]"),
]
INVALID_HOSTS = [
    "4294967296",
    "0x100000000",
    "1.2.3.4.5",
    "1.2.3.09",
    "256.1.1.1",
    "foo.0x1",
    "foo.09",
    "a_b.example",
    "a..b",
    "[::1",
    "[zz::1]",
    "a\u200db.com",  # a joiner with nothing to join
    "٣.com",  # breaks the bidi rule
]


@pytest.mark.parametrize(("host", "expected"), HOSTS)
def test_hosts_are_read_as_browsers_read_them(host, expected):
    assert ascii_host(host) == expected


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_hosts_a_browser_refuses_are_refused(host):
    with pytest.raises(HostInvalid):
        ascii_host(host)


def test_a_refused_host_is_a_422_on_the_url_field():
    with pytest.raises(ValidationFailed) as caught:
        clean_target("http://1.2.3.4.5/")
    assert caught.value.errors[0]["field"] == "url"


@pytest.mark.parametrize(
    ("server", "url", "loops"),
    [
        (OwnServer("https://s.example.org"), "https://s.example.org./x", True),
        (OwnServer("https://s.example.org"), "http://s.example.org/x", True),
        (OwnServer("https://s.example.org"), "https://s.example.org:8443/x", False),
        (OwnServer("https://s.example.org/go"), "https://s.example.org/blog", True),
        (OwnServer("http://127.0.0.1:8080"), "http://localhost:8080/x", True),
        (OwnServer("http://127.0.0.1:8080"), "http://[::1]:8080/x", True),
        (OwnServer("http://127.0.0.1:8080"), "http://localhost:8081/x", False),
        # Listening on every interface: its loopback addresses reach it too.
        (OwnServer("https://s.example.org", "0.0.0.0", 9000), "http://127.1:9000/", True),
        (OwnServer("https://s.example.org", "::", 9000), "http://[::1]:9000/", True),
        # Listening on one address: that address, however spelled; not loopback.
        (OwnServer("https://s.example.org", "10.1.2.3", 9000), "http://0xa010203:9000/", True),
        (OwnServer("https://s.example.org", "10.1.2.3", 9000), "http://localhost:9000/", False),
        (OwnServer("https://s.example.org", "10.1.2.3", 9000), "http://10.1.2.3:9001/", False),
        (OwnServer("https://s.example.org", "localhost", 9000), "http://127.0.0.9:9000/", True),
    ],
)
def test_own_server_knows_every_spelling_of_itself(server, url, loops):
    assert server.serves(clean_target(url)) is loops


def test_lookup_keys_of_ascii_urls_are_those_already_stored():
    """Digests computed with the IDNA 2003 code: rows stored before keep matching (no data
    migration); only hosts that were not ASCII are now keyed as browsers send them."""
    stored = {
        "https://news.example/2026/arbres?id=7&page=2": "83d312d1c92d57d765c1c888",
        "https://Example.org:443/a/?utm_source=x&b=2&a=1#frag": "acfdff69c781145cbd6a7742",
        "http://[::1]:8080/x": "dc0fa9e8bbde19c954fc5819",
        "https://fass.de/": "89bd99b5ddcac4946ba32ea2",
        "https://xn--fa-hia.de/": "720ab86a47393ada124367f0",
    }
    for url, digest in stored.items():
        assert url_key(url).startswith(digest), url
    assert url_key("https://faß.de/") == url_key("https://xn--fa-hia.de/")
    assert url_key("https://faß.de/") != url_key("https://fass.de/")


@pytest.mark.parametrize(
    ("text", "multiline", "problem"),
    [
        ("Plain text, accents é and emoji 🌳", False, None),
        ("two\nlines\tand tab", True, None),
        ("two\nlines", False, "must not contain control characters"),
        ("nul\x00", True, "must not contain control characters"),
        ("c1 \x85 next line", True, "must not contain control characters"),
        ("\u202egnp.exe", False, "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("isolate \u2066x\u2069", False, "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("mark \u200f", False, "U+200F RIGHT-TO-LEFT MARK"),
        ("zero\u200bwidth", False, "U+200B ZERO WIDTH SPACE"),
        ("soft\u00adhyphen", False, "U+00AD SOFT HYPHEN"),
        ("\ufeffbom", False, "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("lone \ud800 surrogate", False, "U+D800"),
        ("👩‍💻 and می‌خواهم", False, None),
        ("\u200dleading", False, "U+200D ZERO WIDTH JOINER"),
        ("trailing\u200c", False, "U+200C ZERO WIDTH NON-JOINER"),
        ("a \u200d b", False, "U+200D ZERO WIDTH JOINER"),
        ("a\u200d\u200db", False, "U+200D ZERO WIDTH JOINER"),
    ],
)
def test_one_text_rule_for_every_field(text, multiline, problem):
    found = text_problem(text, multiline=multiline)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_check_text_names_the_field():
    with pytest.raises(ValidationFailed) as caught:
        check_text("name", "ci\u202e")
    assert caught.value.errors == [
        {
            "field": "name",
            "message": "must not contain invisible formatting characters "
            "(U+202E RIGHT-TO-LEFT OVERRIDE)",
        }
    ]
