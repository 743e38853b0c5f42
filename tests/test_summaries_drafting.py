"""Drafting a summary from the target page (real pages served on 127.0.0.1), the fetcher's
safety rules, and generated drafts from a stub OpenAI-compatible endpoint."""

from __future__ import annotations

import gzip
import ipaddress
import json
import shutil
import ssl
import subprocess

import pytest
from click.testing import CliRunner

from balise import create_app
from balise.summaries import fetch
from tests.local_servers import (
    ARTICLE,
    chat_completion,
    dripping,
    page,
    redirect,
    send,
    serving,
    slow,
)

PROBLEM = "application/problem+json"
GENERATED = {
    "title": "La ville plantera 10 000 arbres",
    "teaser": "Un plan de 12 millions d'euros pour verdir la ville.",
    "recap": "La mairie plantera 10 000 arbres d'ici 2030.",
    "neutral": "D'autres villes ont des plans semblables.",
    "example": "Comme planter un arbre par immeuble.",
    "optimistic": "Des rues plus fraîches l'été.",
    "pessimistic": "Un calendrier jugé trop lent.",
}


@pytest.fixture
def make_client(settings):
    apps = []

    def make(**overrides):
        app = create_app(settings | overrides)
        app.config["TESTING"] = True
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["balise"].shutdown()


def draft(client, slug, headers, **query):
    return client.post(f"/api/v1/links/{slug}/summary/draft", query_string=query, headers=headers)


def options(**values):
    return fetch.FetchOptions(user_agent="Balise/test", **values)


LOCAL = ("127.0.0.1/32",)


# Extracted drafts --------------------------------------------------------------------------


def test_draft_from_a_local_article_is_returned_but_not_saved(
    make_client, make_link, editor_headers
):
    client = make_client(FETCH_ALLOW_PRIVATE=True)
    with serving({"/article": page()}) as server:
        make_link(slug="arbres", url=server.url + "/article")
        r = draft(client, "arbres", editor_headers)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["saved"] is False
    assert body["origin"] == "extracted"
    assert body["lang"] == "fr"
    assert body["title"] == "La ville plantera 10 000 arbres d'ici 2030"
    assert body["teaser"] == "La mairie lance le plus grand plan de plantation de son histoire."
    assert body["recap"].startswith("La mairie a présenté mardi un plan de plantation")
    assert "12 millions d'euros" in body["recap"]
    assert "Accueil" not in body["recap"] and "droits réservés" not in body["recap"]
    assert body["image_url"] == server.url + "/images/arbres.jpg"
    assert server.requests[0]["headers"]["User-Agent"] == "Balise/0.1.0 (+https://s.test)"
    assert client.get("/api/v1/links/arbres/summary", headers=editor_headers).status_code == 404


def test_draft_with_save_stores_it_as_the_summary(make_client, make_link, editor_headers):
    client = make_client(FETCH_ALLOW_PRIVATE=True)
    with serving({"/article": page()}) as server:
        make_link(slug="arbres", url=server.url + "/article")
        r = draft(client, "arbres", editor_headers, save=1)
    assert r.status_code == 200 and r.get_json()["saved"] is True
    stored = client.get("/api/v1/links/arbres/summary", headers=editor_headers).get_json()
    assert stored["origin"] == "extracted"
    assert stored["teaser"] == r.get_json()["teaser"]
    reader = client.get("/arbres").get_data(as_text=True)
    assert "La mairie a présenté mardi" in reader


def test_teaser_falls_back_to_meta_description_then_to_the_text(
    make_client, make_link, editor_headers
):
    no_og = ARTICLE.replace('property="og:description"', 'name="description"')
    bare = ARTICLE.replace('<meta property="og:description"', '<meta property="x"')
    client = make_client(FETCH_ALLOW_PRIVATE=True)
    with serving({"/meta": page(no_og), "/bare": page(bare)}) as server:
        make_link(slug="meta1", url=server.url + "/meta")
        make_link(slug="bare1", url=server.url + "/bare")
        meta = draft(client, "meta1", editor_headers).get_json()
        plain = draft(client, "bare1", editor_headers).get_json()
    assert meta["teaser"] == "La mairie lance le plus grand plan de plantation de son histoire."
    assert plain["teaser"].startswith("La mairie a présenté mardi")


def test_draft_needs_the_editor_role(make_client, make_link, viewer_headers):
    make_link(slug="arbres")
    assert draft(make_client(), "arbres", viewer_headers).status_code == 403


def test_cli_drafts_and_saves(settings, make_link, runner):
    with serving({"/article": page()}) as server:
        make_link(slug="arbres", url=server.url + "/article")
        env = {f"BALISE_{k}": v for k, v in settings.items()} | {"BALISE_FETCH_ALLOW_PRIVATE": "1"}
        from balise.cli import main

        result = CliRunner().invoke(main, ["summaries", "draft", "arbres", "--save"], env=env)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["origin"] == "extracted"
    shown = runner("summaries", "show", "arbres")
    assert "RÉCAPITULATIF FACTUEL" in shown.output


# The fetcher's safety rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "[::ffff:127.0.0.1]:{port}"]
)
def test_default_settings_refuse_a_local_page(make_client, make_link, editor_headers, host):
    client = make_client()
    with serving({"/article": page()}) as server:
        make_link(slug="local", url=f"http://{host.format(port=server.port)}/article")
        r = draft(client, "local", editor_headers)
        assert server.requests == []  # refused before connecting
    assert r.status_code == 422
    assert r.mimetype == PROBLEM
    problem = r.get_json()
    assert problem["type"].endswith("/fetch-refused")
    assert "loopback" in problem["detail"]
    assert "BALISE_FETCH_ALLOW_PRIVATE" in problem["detail"]


def test_default_settings_refuse_the_cloud_metadata_address(make_client, make_link, editor_headers):
    make_link(slug="meta", url="http://169.254.169.254/latest/meta-data/")
    r = draft(make_client(), "meta", editor_headers)
    assert r.status_code == 422
    assert r.get_json()["type"].endswith("/fetch-refused")
    assert "169.254.169.254, a link-local address" in r.get_json()["detail"]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0.0.0.0", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", "reserved"),  # NAT64 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address, reason):
    assert reason in (fetch.refusal(ipaddress.ip_address(address)) or "")


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address):
    assert fetch.refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "to", ["http://127.0.0.2:{port}/article", "http://169.254.169.254/", "http://[::1]:{port}/"]
)
def test_a_redirect_to_a_refused_address_is_refused(to):
    with serving({"/go": lambda h: redirect(to.format(port=server.port))(h)}) as server:
        with pytest.raises(fetch.FetchRefused):
            fetch.fetch_page(server.url + "/go", options(allowed_networks=LOCAL))
        assert [r["path"] for r in server.requests] == ["/go"]


def test_at_most_five_redirects_are_followed():
    routes = {f"/r{i}": redirect(f"/r{i + 1}", 301 if i % 2 else 307) for i in range(6)}
    routes["/r5"] = page()
    routes["/r6"] = page()
    with serving(routes) as server:
        found = fetch.fetch_page(server.url + "/r0", options(allowed_networks=LOCAL))
        assert found.url == server.url + "/r5"
        with pytest.raises(fetch.FetchFailed, match="more than 5"):
            routes["/r5"] = redirect("/r6")
            fetch.fetch_page(server.url + "/r0", options(allowed_networks=LOCAL))


def test_only_html_is_accepted(make_client, make_link, editor_headers):
    client = make_client(FETCH_ALLOW_PRIVATE=True)
    pdf = page("%PDF-1.4", "application/pdf")
    with serving({"/doc.pdf": pdf}) as server:
        make_link(slug="pdf1", url=server.url + "/doc.pdf")
        r = draft(client, "pdf1", editor_headers)
    assert r.status_code == 422
    assert r.get_json()["type"].endswith("/fetch-unsupported")
    assert "application/pdf" in r.get_json()["detail"]


def test_an_error_page_is_a_502(make_client, make_link, editor_headers):
    client = make_client(FETCH_ALLOW_PRIVATE=True)
    with serving({"/gone": lambda h: send(h, 500, "oops")}) as server:
        make_link(slug="err1", url=server.url + "/gone")
        r = draft(client, "err1", editor_headers)
    assert r.status_code == 502
    assert r.get_json()["type"].endswith("/fetch-failed")
    assert "HTTP 500" in r.get_json()["detail"]


def test_a_slow_page_times_out_with_a_502(make_client, make_link, editor_headers):
    client = make_client(FETCH_ALLOW_PRIVATE=True, FETCH_TIMEOUT=0.5)
    with serving({"/slow": slow(3)}) as server:
        make_link(slug="slow1", url=server.url + "/slow")
        r = draft(client, "slow1", editor_headers)
    assert r.status_code == 502
    assert "did not answer within 0.5 seconds" in r.get_json()["detail"]


def test_a_page_sent_drop_by_drop_is_cut_at_the_total_timeout():
    with serving({"/drip": dripping(0.1, 100)}) as server:
        with pytest.raises(fetch.FetchFailed, match="within 0.6 seconds"):
            fetch.fetch_page(server.url + "/drip", options(allowed_networks=LOCAL, timeout=0.6))


def test_at_most_2_mb_are_read():
    huge = ARTICLE + "<!--" + "x" * (3 * 1024 * 1024) + "-->"
    zipped = gzip.compress(huge.encode())
    with serving(
        {
            "/huge": page(huge),
            "/zipped": lambda h: send(h, 200, zipped, Content_Encoding="gzip"),
        }
    ) as server:
        plain = fetch.fetch_page(server.url + "/huge", options(allowed_networks=LOCAL))
        inflated = fetch.fetch_page(server.url + "/zipped", options(allowed_networks=LOCAL))
    for found in (plain, inflated):
        assert len(found.body) == fetch.MAX_BYTES and found.truncated
        assert found.body.startswith(b"<!doctype html>")


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return folder / "cert.pem", folder / "key.pem"


def test_https_connects_to_the_checked_address_and_verifies_the_name(localhost_cert):
    cert, key = localhost_cert
    with serving({"/article": page()}) as server:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
        url = f"https://localhost:{server.port}/article"
        trusting = ssl.create_default_context(cafile=str(cert))
        loopback = (*LOCAL, "::1/128")  # localhost may resolve to ::1 too
        found = fetch.fetch_page(url, options(allowed_networks=loopback, ssl_context=trusting))
        assert b"10 000 arbres" in found.body
        assert server.requests[0]["headers"]["Host"] == f"localhost:{server.port}"
        with pytest.raises(fetch.FetchFailed, match="certificate"):
            fetch.fetch_page(url, options(allowed_networks=loopback))


# Generated drafts ----------------------------------------------------------------------------


def test_generated_draft_comes_from_the_model_in_the_links_language(
    make_client, make_link, editor_headers
):
    routes = {"/article": page(), "/v1/chat/completions": chat_completion(json.dumps(GENERATED))}
    with serving(routes) as server:
        client = make_client(
            FETCH_ALLOW_PRIVATE=True,
            LLM_URL=server.url + "/v1",
            LLM_MODEL="tiny",
            LLM_API_KEY="sk-test",
        )
        make_link(slug="arbres", url=server.url + "/article", lang="fr")
        r = draft(client, "arbres", editor_headers, mode="generated", save=1)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["origin"] == "generated" and body["saved"] is True
    assert {k: body[k] for k in GENERATED} == GENERATED
    assert body["image_url"] == server.url + "/images/arbres.jpg"
    (asked,) = [q for q in server.requests if q["path"] == "/v1/chat/completions"]
    assert asked["headers"]["Authorization"] == "Bearer sk-test"
    payload = json.loads(asked["body"])
    assert payload["model"] == "tiny"
    assert "French" in payload["messages"][0]["content"]
    assert "12 millions d'euros" in payload["messages"][1]["content"]


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ("Voici le résumé : la ville plante des arbres.", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({k: v for k, v in GENERATED.items() if k != "example"}), "lacks: example"),
        (json.dumps(GENERATED | {"recap": "x" * 5001}), "recap: must be at most 5000"),
        (json.dumps(GENERATED | {"teaser": 42}), "lacks: teaser"),
    ],
)
def test_malformed_model_answer_is_a_502_and_saves_nothing(
    make_client, make_link, editor_headers, content, detail
):
    routes = {"/article": page(), "/v1/chat/completions": chat_completion(content)}
    with serving(routes) as server:
        client = make_client(FETCH_ALLOW_PRIVATE=True, LLM_URL=server.url, LLM_MODEL="tiny")
        make_link(slug="arbres", url=server.url + "/article")
        r = draft(client, "arbres", editor_headers, mode="generated", save=1)
    assert r.status_code == 502
    assert r.get_json()["type"].endswith("/generation-failed")
    assert detail in r.get_json()["detail"]
    assert client.get("/api/v1/links/arbres/summary", headers=editor_headers).status_code == 404


def test_a_model_that_does_not_answer_in_time_is_a_502(make_client, make_link, editor_headers):
    routes = {"/article": page(), "/v1/chat/completions": slow(3)}
    with serving(routes) as server:
        client = make_client(
            FETCH_ALLOW_PRIVATE=True,
            LLM_URL=server.url + "/v1/chat/completions",
            LLM_MODEL="tiny",
            LLM_TIMEOUT=0.5,
        )
        make_link(slug="arbres", url=server.url + "/article")
        r = draft(client, "arbres", editor_headers, mode="generated")
    assert r.status_code == 502
    assert "did not answer within 0.5 seconds" in r.get_json()["detail"]


def test_generated_mode_without_a_model_says_how_to_set_one_up(
    make_client, make_link, editor_headers
):
    make_link(slug="arbres")
    r = draft(make_client(), "arbres", editor_headers, mode="generated")
    assert r.status_code == 501
    assert "BALISE_LLM_URL" in r.get_json()["detail"]
