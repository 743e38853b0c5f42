"""The deploy/ recipes, checked as far as this machine allows without Docker or systemd running.

- nginx: Debian's nginx checks both site files (`nginx -t`), then runs the host site on free
  ports in front of two stub upstreams, so proxy headers, keepalive, static files, body limit,
  compression and the absence of caching are observed, not read.
- systemd: `systemd-analyze verify` on the units, when it works here.
- compose.yaml, Containerfile and balise.env.example: parsed and checked against each other.

No Balise server is needed. The only rewrites of the deploy files are addresses, ports and
paths (certificates, includes, static roots), each asserted to be present before it is replaced.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX_DIR = DEPLOY / "nginx"
UNITS = ("balise.service", "balise@.service", "balise-migrate.service")
SERVE_UNITS = ("balise.service", "balise@.service")
SERVER_NAME = "s.example.org"

# The BALISE_* settings these recipes rely on, as the server's contract names them.
SERVER_SETTINGS = {
    "BALISE_DATA_DIR",
    "BALISE_DATABASE_URL",
    "BALISE_SECRET_KEY",
    "BALISE_BASE_URL",
    "BALISE_HOST",
    "BALISE_PORT",
    "BALISE_THREADS",
    "BALISE_SERVE_CPU",
    "BALISE_TRUSTED_PROXIES",
    "BALISE_RATELIMIT_STORAGE_URI",
    "BALISE_REDIS_URL",
    "BALISE_CACHE_TTL",
    "BALISE_CACHE_POLL",
    "BALISE_MAX_BODY_BYTES",
}
# Settings two instances must agree on to behave as one service.
SHARED_SETTINGS = (
    "BALISE_SECRET_KEY",
    "BALISE_DATABASE_URL",
    "BALISE_RATELIMIT_STORAGE_URI",
    "BALISE_REDIS_URL",
)


# --- helpers: parsing ------------------------------------------------------------------------


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as {section: {key: [values]}}; keys may repeat, so values are lists."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in read(path).splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} before any section"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def env_example() -> dict[str, str]:
    values = {}
    for line in read(DEPLOY / "balise.env.example").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def compose() -> dict:
    return yaml.safe_load(read(DEPLOY / "compose.yaml"))


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def containerfile_stages() -> list[Stage]:
    """The Containerfile's stages, with continuation lines joined and comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in read(DEPLOY / "Containerfile").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in joined:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append((keyword, args.strip()))
    return stages


def containerfile_env(stage: Stage) -> dict[str, str]:
    env = {}
    for args in stage.all("ENV"):
        for name, value in re.findall(r"(\w+)=(\S+)", args):
            env[name] = value
    return env


def upstream_servers(conf: str) -> list[str]:
    block = re.search(r"upstream\s+balise\s*\{(.*?)\}", conf, re.S)
    assert block, "no `upstream balise` block"
    return re.findall(r"^\s*server\s+(\S+?)[\s;]", block.group(1), re.M)


def first_group(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.S)
    assert match, f"{pattern!r} not found"
    return match.group(1)


def replace_once(text: str, old: str, new: str, where: str) -> str:
    """Replace a string the test relies on, failing loudly when the deploy file changed."""
    assert old in text, f"{where} no longer contains {old!r}; update the test's rewrite"
    return text.replace(old, new)


# --- helpers: tools ------------------------------------------------------------------------


def nginx_binary() -> str:
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if not path:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx)")
    return path


def openssl_binary() -> str:
    path = shutil.which("openssl")
    if not path:
        pytest.skip("openssl is not installed (Debian: apt-get install openssl)")
    return path


def nginx_mime_types(nginx: str) -> Path:
    build = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=True).stderr
    match = re.search(r"--conf-path=(\S+)", build)
    mime = Path(match.group(1)).parent / "mime.types" if match else Path("/etc/nginx/mime.types")
    if not mime.exists():
        pytest.skip(f"nginx is installed but {mime} is missing")
    return mime


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        [
            openssl_binary(), "req", "-x509", "-nodes", "-days", "2",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-subj", f"/CN={SERVER_NAME}", "-addext", f"subjectAltName=DNS:{SERVER_NAME}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class NginxRun:
    conf: Path
    prefix: Path


def nginx_wrapper(tmp: Path, site: str, mime: Path) -> NginxRun:
    """A minimal nginx.conf around a site, with every path it writes under tmp."""
    for sub in ("logs", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(exist_ok=True)
    (tmp / "site.conf").write_text(site, encoding="utf-8")
    # As root, workers would drop to `nobody`, which cannot read pytest's 0700 temp dirs.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""{user}daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    include {mime};
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
""",
        encoding="utf-8",
    )
    return NginxRun(conf=conf, prefix=tmp)


def nginx_test(nginx: str, run: NginxRun) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [nginx, "-t", "-p", str(run.prefix), "-c", str(run.conf), "-e", "stderr"],
        capture_output=True,
        text=True,
    )


def assert_nginx_accepts(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    problems = [
        line
        for line in result.stderr.splitlines()
        if re.search(r"\[(warn|emerg|alert|crit)\]", line)
    ]
    assert not problems, "\n".join(problems)


def copy_snippet(tmp: Path, static: Path, downloads: Path) -> Path:
    snippet = read(NGINX_DIR / "balise-server.conf")
    snippet = replace_once(
        snippet, "alias /srv/balise/static/;", f"alias {static}/;", "balise-server.conf"
    )
    snippet = replace_once(
        snippet, "alias /srv/balise/downloads/;", f"alias {downloads}/;", "balise-server.conf"
    )
    path = tmp / "balise-server.conf"
    path.write_text(snippet, encoding="utf-8")
    return path


def host_site_for_test(
    tmp: Path,
    cert: Path,
    key: Path,
    ports: dict[str, int],
    upstreams: tuple[str, str],
    acme_root: Path,
) -> str:
    site = read(NGINX_DIR / "balise.conf")
    where = "balise.conf"
    site = replace_once(site, "127.0.0.1:8081", upstreams[0], where)
    site = replace_once(site, "127.0.0.1:8082", upstreams[1], where)
    site = replace_once(
        site, f"/etc/letsencrypt/live/{SERVER_NAME}/fullchain.pem", str(cert), where
    )
    site = replace_once(site, f"/etc/letsencrypt/live/{SERVER_NAME}/privkey.pem", str(key), where)
    site = replace_once(
        site, "/etc/nginx/snippets/balise-server.conf", str(tmp / "balise-server.conf"), where
    )
    site = replace_once(site, "root /var/www/html;", f"root {acme_root};", where)
    site = replace_once(site, "listen 80;", f"listen 127.0.0.1:{ports['http']};", where)
    site = replace_once(
        site, "listen 443 ssl http2;", f"listen 127.0.0.1:{ports['https']} ssl http2;", where
    )
    if ipv6_available():
        site = replace_once(site, "listen [::]:80;", f"listen [::1]:{ports['http']};", where)
        site = replace_once(
            site, "listen [::]:443 ssl http2;", f"listen [::1]:{ports['https']} ssl http2;", where
        )
    else:
        site = re.sub(r"^\s*listen \[::\].*$", "", site, flags=re.M)
    return site


# --- a stub of the two Balise instances ------------------------------------------------------


@dataclass
class Seen:
    backend: str
    method: str
    path: str
    version: str
    headers: dict[str, str]
    client_port: int
    body_length: int


class StubBalise(BaseHTTPRequestHandler):
    """Answers like the app does on the paths the tests use, and records what nginx sent."""

    protocol_version = "HTTP/1.1"
    server: StubServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def _record(self, body_length: int = 0) -> None:
        self.server.seen.append(
            Seen(
                backend=self.server.name,
                method=self.command,
                path=self.path,
                version=self.request_version,
                headers={k.lower(): v for k, v in self.headers.items()},
                client_port=self.client_address[1],
                body_length=body_length,
            )
        )

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._record()
        if self.path.startswith("/api/v1/summaries"):
            body = json.dumps(
                {"summaries": [{"title": "Un titre", "teaser": "x" * 40}] * 30}
            ).encode()
            self._send(
                200,
                body,
                "application/json",
                {"Cache-Control": "public, max-age=300", "ETag": '"v1"'},
            )
        else:
            body = (
                "<!doctype html><title>Redirection en cours...</title>" + "<p>résumé</p>" * 100
            ).encode()
            self._send(200, body, "text/html; charset=utf-8", {"Cache-Control": "no-store"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        self._record(len(data))
        self._send(201, b'{"slug": "dsk42"}', "application/json", {})


class StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, seen: list[Seen]) -> None:
        super().__init__(("127.0.0.1", 0), StubBalise)
        self.name = name
        self.seen = seen  # shared by both stubs, in arrival order (list.append is atomic)


@dataclass
class LiveSite:
    ports: dict[str, int]
    cert: Path
    backends: tuple[StubServer, StubServer]
    static: Path
    downloads: Path
    acme: Path

    def seen(self) -> list[Seen]:
        return list(self.backends[0].seen)

    def https(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ):
        context = ssl.create_default_context(cafile=str(self.cert))
        context.check_hostname = False  # connected by address; the chain is still verified
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.ports["https"], context=context, timeout=10
        )
        try:
            conn.request(method, path, body=body, headers={"Host": SERVER_NAME, **(headers or {})})
            response = conn.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()

    def http(self, path: str):
        conn = http.client.HTTPConnection("127.0.0.1", self.ports["http"], timeout=10)
        try:
            conn.request("GET", path, headers={"Host": SERVER_NAME})
            response = conn.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()


def wait_for_ports(process: subprocess.Popen[bytes], ports: list[int], error_log: Path) -> None:
    deadline = time.monotonic() + 15
    pending = list(ports)
    while pending:
        if process.poll() is not None:
            log = error_log.read_text() if error_log.exists() else ""
            pytest.fail(f"nginx exited with {process.returncode}:\n{log}")
        if time.monotonic() > deadline:
            pytest.fail(f"nginx did not listen on {pending} within 15 s")
        try:
            with socket.create_connection(("127.0.0.1", pending[0]), timeout=0.5):
                pending.pop(0)
        except OSError:
            time.sleep(0.05)


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    nginx = nginx_binary()
    mime = nginx_mime_types(nginx)
    tmp = tmp_path_factory.mktemp("nginx-live")
    cert, key = self_signed_cert(tmp)
    static, downloads, acme = tmp / "static", tmp / "downloads", tmp / "acme"
    static.mkdir()
    downloads.mkdir()
    (acme / ".well-known" / "acme-challenge").mkdir(parents=True)
    (static / "app.css").write_text("body { color: #222; }\n")
    (downloads / "balise-firefox.xpi").write_bytes(b"PK\x03\x04 not really a zip")
    (acme / ".well-known" / "acme-challenge" / "token123").write_text("token123.thumbprint")

    seen: list[Seen] = []
    backends = (StubServer("balise1", seen), StubServer("balise2", seen))
    threads = [threading.Thread(target=b.serve_forever, daemon=True) for b in backends]
    for thread in threads:
        thread.start()
    ports = {"http": free_port(), "https": free_port()}
    upstreams = (f"127.0.0.1:{backends[0].server_port}", f"127.0.0.1:{backends[1].server_port}")
    copy_snippet(tmp, static, downloads)
    site = host_site_for_test(tmp, cert, key, ports, upstreams, acme)
    run = nginx_wrapper(tmp, site, mime)
    assert_nginx_accepts(nginx_test(nginx, run))

    process = subprocess.Popen(
        [nginx, "-p", str(run.prefix), "-c", str(run.conf), "-e", str(tmp / "logs" / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_ports(process, [ports["http"], ports["https"]], tmp / "logs" / "error.log")
        yield LiveSite(ports, cert, backends, static, downloads, acme)
    finally:
        process.terminate()
        process.wait(timeout=15)
        for backend in backends:
            backend.shutdown()
            backend.server_close()
        for thread in threads:
            thread.join(timeout=5)


# --- nginx: configuration accepted by Debian's nginx ------------------------------------------


def test_nginx_accepts_the_host_site(tmp_path: Path) -> None:
    nginx = nginx_binary()
    cert, key = self_signed_cert(tmp_path)
    copy_snippet(tmp_path, tmp_path / "static", tmp_path / "downloads")
    ports = {"http": free_port(), "https": free_port()}
    site = host_site_for_test(
        tmp_path, cert, key, ports, ("127.0.0.1:8081", "127.0.0.1:8082"), tmp_path
    )
    run = nginx_wrapper(tmp_path, site, nginx_mime_types(nginx))
    assert_nginx_accepts(nginx_test(nginx, run))


def test_nginx_accepts_the_compose_site(tmp_path: Path) -> None:
    nginx = nginx_binary()
    cert, key = self_signed_cert(tmp_path)
    copy_snippet(tmp_path, tmp_path / "static", tmp_path / "downloads")
    site = read(NGINX_DIR / "compose.conf")
    where = "compose.conf"
    # nginx resolves upstream names while checking; the compose service names only exist in compose.
    site = replace_once(site, "balise1:8080", "127.0.0.1:8080", where)
    site = replace_once(site, "balise2:8080", "127.0.0.2:8080", where)
    site = replace_once(site, "/etc/nginx/tls/fullchain.pem", str(cert), where)
    site = replace_once(site, "/etc/nginx/tls/privkey.pem", str(key), where)
    site = replace_once(
        site, "/etc/nginx/snippets/balise-server.conf", str(tmp_path / "balise-server.conf"), where
    )
    site = replace_once(site, "listen 80;", f"listen 127.0.0.1:{free_port()};", where)
    site = replace_once(
        site, "listen 443 ssl http2;", f"listen 127.0.0.1:{free_port()} ssl http2;", where
    )
    run = nginx_wrapper(tmp_path, site, nginx_mime_types(nginx))
    assert_nginx_accepts(nginx_test(nginx, run))


def test_nginx_sites_agree_with_the_units_and_compose() -> None:
    host = upstream_servers(read(NGINX_DIR / "balise.conf"))
    assert host == ["127.0.0.1:8081", "127.0.0.1:8082"]
    # balise.service serves the first upstream; balise@8081 and balise@8082 serve both.
    assert f"127.0.0.1:{env_example()['BALISE_PORT']}" == host[0]
    app = containerfile_stages()[-1]
    port = containerfile_env(app)["BALISE_PORT"]
    instances = sorted(name for name in compose()["services"] if re.fullmatch(r"balise\d+", name))
    assert upstream_servers(read(NGINX_DIR / "compose.conf")) == [
        f"{name}:{port}" for name in instances
    ]


def test_nginx_never_caches_responses() -> None:
    for conf in ("balise.conf", "compose.conf", "balise-server.conf"):
        text = read(NGINX_DIR / conf)
        assert not re.search(r"^\s*proxy_cache_path\b", text, re.M), conf
        caches = re.findall(r"^\s*proxy_cache\s+(\S+);", text, re.M)
        assert all(value == "off" for value in caches), f"{conf} enables proxy_cache {caches}"
        assert "proxy_ignore_headers" not in text, f"{conf} would override the app's Cache-Control"


# --- nginx: the host site, running -------------------------------------------------------------


def test_plain_http_redirects_to_https_keeping_path_and_query(live_site: LiveSite) -> None:
    status, headers, _ = live_site.http("/dsk42?utm_source=x")
    assert status == 301
    assert headers["location"] == f"https://{SERVER_NAME}/dsk42?utm_source=x"


def test_acme_challenges_are_answered_over_plain_http(live_site: LiveSite) -> None:
    status, _, body = live_site.http("/.well-known/acme-challenge/token123")
    assert (status, body) == (200, b"token123.thumbprint")


def test_proxied_request_carries_forwarded_headers_for_one_trusted_hop(live_site: LiveSite) -> None:
    before = len(live_site.seen())
    status, _, _ = live_site.https("GET", "/dsk42", headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 200
    seen = live_site.seen()[before:]
    assert len(seen) == 1
    headers = seen[0].headers
    assert headers["host"] == SERVER_NAME
    assert headers["x-forwarded-host"] == SERVER_NAME
    assert headers["x-forwarded-proto"] == "https"
    # BALISE_TRUSTED_PROXIES=1 reads the last entry: the address nginx saw, not the client's claim.
    assert [part.strip() for part in headers["x-forwarded-for"].split(",")] == [
        "203.0.113.9",
        "127.0.0.1",
    ]


def test_upstream_connections_are_kept_alive(live_site: LiveSite) -> None:
    before = len(live_site.seen())
    for _ in range(8):
        assert live_site.https("GET", "/dsk42")[0] == 200
    seen = live_site.seen()[before:]
    assert {s.version for s in seen} == {"HTTP/1.1"}
    assert all(s.headers.get("connection", "") == "" for s in seen)
    connections = {(s.backend, s.client_port) for s in seen}
    assert len(connections) < len(seen), "every request opened a new upstream connection"


def test_requests_are_shared_between_both_instances(live_site: LiveSite) -> None:
    before = len(live_site.seen())
    for _ in range(6):
        assert live_site.https("GET", "/dsk42")[0] == 200
    assert {s.backend for s in live_site.seen()[before:]} == {"balise1", "balise2"}


def test_reader_path_reaches_the_app_every_time_and_stays_no_store(live_site: LiveSite) -> None:
    before = len(live_site.seen())
    for _ in range(3):
        status, headers, _ = live_site.https("GET", "/dsk42")
        assert status == 200
        assert headers["cache-control"] == "no-store"
    assert [s.path for s in live_site.seen()[before:]] == ["/dsk42"] * 3


def test_summaries_keep_the_app_cache_headers(live_site: LiveSite) -> None:
    status, headers, body = live_site.https("GET", "/api/v1/summaries?url=https://example.org/a")
    assert status == 200
    assert headers["cache-control"] == "public, max-age=300"
    assert headers["etag"] == '"v1"'
    assert json.loads(body)["summaries"]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/api/v1/summaries?url=https://example.org/a", "application/json"), ("/dsk42", "text/html")],
)
def test_json_and_html_are_gzipped(live_site: LiveSite, path: str, content_type: str) -> None:
    status, headers, body = live_site.https("GET", path, headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-type"].startswith(content_type)
    assert headers.get("content-encoding") == "gzip"
    assert "Accept-Encoding" in headers.get("vary", "")
    assert len(gzip.decompress(body)) > len(body)
    if "etag" in headers:
        # nginx weakens the ETag of what it compresses; the app must compare If-None-Match weakly.
        assert headers["etag"] == 'W/"v1"'


def test_static_files_are_served_by_nginx_with_long_cache(live_site: LiveSite) -> None:
    before = len(live_site.seen())
    status, headers, body = live_site.https("GET", "/static/app.css")
    assert status == 200
    assert body == (live_site.static / "app.css").read_bytes()
    assert headers["content-type"].startswith("text/css")
    assert headers["cache-control"] == f"max-age={30 * 24 * 3600}"
    assert len(live_site.seen()) == before, "the app was asked for a static file"


def test_extension_downloads_are_served_by_nginx(live_site: LiveSite) -> None:
    before = len(live_site.seen())
    status, headers, body = live_site.https("GET", "/downloads/balise-firefox.xpi")
    assert status == 200
    assert body == (live_site.downloads / "balise-firefox.xpi").read_bytes()
    assert headers["content-type"] == "application/x-xpinstall"
    assert headers["cache-control"] == f"max-age={24 * 3600}"
    assert len(live_site.seen()) == before, "the app was asked for a download"


def test_https_answers_carry_strict_transport_security(live_site: LiveSite) -> None:
    for path in ("/dsk42", "/static/app.css"):
        _, headers, _ = live_site.https("GET", path)
        assert headers["strict-transport-security"].startswith("max-age="), path


def test_bodies_up_to_one_mebibyte_reach_the_app(live_site: LiveSite) -> None:
    before = len(live_site.seen())
    status, _, _ = live_site.https(
        "POST", "/api/v1/links", body=b"x" * 1_048_576, headers={"Content-Type": "application/json"}
    )
    assert status == 201
    assert [s.body_length for s in live_site.seen()[before:]] == [1_048_576]


def test_bodies_over_one_mebibyte_are_refused_before_the_app(live_site: LiveSite) -> None:
    before = len(live_site.seen())
    # Headers only: nginx answers from Content-Length before reading any body.
    request = (
        f"POST /api/v1/links HTTP/1.1\r\nHost: {SERVER_NAME}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1048577\r\nConnection: close\r\n\r\n"
    ).encode()
    context = ssl.create_default_context(cafile=str(live_site.cert))
    context.check_hostname = False
    with socket.create_connection(("127.0.0.1", live_site.ports["https"]), timeout=10) as raw:
        with context.wrap_socket(raw) as tls:
            tls.sendall(request)
            status_line = tls.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"413"
    assert len(live_site.seen()) == before


# --- systemd ---------------------------------------------------------------------------------


def test_units_run_balise_as_a_dedicated_user_from_the_environment_file() -> None:
    for name in UNITS:
        service = parse_unit(DEPLOY / name)["Service"]
        assert service["User"] == ["balise"], name
        assert service["EnvironmentFile"] == ["/etc/balise/balise.env"], name
        assert service["ExecStart"][0].split()[0].startswith("/"), name
    assert parse_unit(DEPLOY / "balise-migrate.service")["Service"]["ExecStart"][0].endswith(
        "balise db upgrade"
    )
    for name in SERVE_UNITS:
        assert parse_unit(DEPLOY / name)["Service"]["ExecStart"][0].endswith("balise serve"), name


def test_units_stop_with_sigterm_and_give_time_to_flush() -> None:
    for name in SERVE_UNITS:
        service = parse_unit(DEPLOY / name)["Service"]
        assert service["KillSignal"] == ["SIGTERM"], name
        assert int(service["TimeoutStopSec"][0]) >= 20, name
        assert service["Restart"] == ["on-failure"], name


def test_units_share_the_same_hardening() -> None:
    hardening = (
        "NoNewPrivileges", "ProtectSystem", "ReadWritePaths", "ProtectHome", "PrivateTmp",
        "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups",
        "RestrictAddressFamilies", "RestrictNamespaces", "RestrictSUIDSGID", "LockPersonality",
        "CapabilityBoundingSet", "SystemCallArchitectures", "SystemCallFilter", "UMask",
        "PrivateMounts", "RemoveIPC",
    )  # fmt: skip
    settings = {name: parse_unit(DEPLOY / name)["Service"] for name in UNITS}
    reference = settings["balise.service"]
    for key in hardening:
        assert key in reference, f"balise.service lacks {key}="
        for name, service in settings.items():
            assert service.get(key) == reference[key], f"{name}: {key}= differs from balise.service"
    assert reference["ProtectSystem"] == ["strict"]
    assert reference["NoNewPrivileges"] == ["yes"]
    assert reference["PrivateTmp"] == ["yes"]


def test_data_dir_stays_writable_under_protect_system_strict() -> None:
    data_dir = env_example()["BALISE_DATA_DIR"]
    for name in UNITS:
        service = parse_unit(DEPLOY / name)["Service"]
        assert data_dir in service["ReadWritePaths"], name
        assert f"/var/lib/{service['StateDirectory'][0]}" == data_dir, name
        assert f"BALISE_DATA_DIR={data_dir}" in service["Environment"], name


def test_template_instances_take_their_port_from_the_instance_name() -> None:
    service = parse_unit(DEPLOY / "balise@.service")["Service"]
    # An Environment= port would lose to a BALISE_PORT line in the environment file.
    assert re.search(r"\bBALISE_PORT=%i\b", service["ExecStart"][0])
    assert not any(value.startswith("BALISE_PORT") for value in service.get("Environment", []))


def test_template_instances_start_after_the_migration() -> None:
    unit = parse_unit(DEPLOY / "balise@.service")["Unit"]
    assert "balise-migrate.service" in " ".join(unit["Requires"]).split()
    assert "balise-migrate.service" in " ".join(unit["After"]).split()
    assert parse_unit(DEPLOY / "balise-migrate.service")["Service"]["Type"] == ["oneshot"]


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if not path:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return path


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = systemd_analyze()
    probe = tmp_path / "probe" / "balise-probe.service"
    probe.parent.mkdir()
    probe.write_text("[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n")
    result = subprocess.run([analyze, "verify", str(probe)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(
            f"systemd-analyze verify does not work in this environment: {result.stderr.strip()}"
        )

    # verify checks that ExecStart's binary exists: point it at a stub instead of the venv.
    stub = tmp_path / "bin" / "balise"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for name in UNITS:
        text = replace_once(read(DEPLOY / name), "/opt/balise/venv/bin/balise", str(stub), name)
        (units / name).write_text(text)
    (units / "balise@8081.service").symlink_to("balise@.service")
    for name in ("balise.service", "balise@8081.service", "balise-migrate.service"):
        result = subprocess.run(
            [analyze, "verify", str(units / name)], capture_output=True, text=True
        )
        output = (result.stdout + result.stderr).strip()
        assert result.returncode == 0, f"{name}:\n{output}"
        ours = [line for line in output.splitlines() if "balise" in line]
        assert not ours, f"{name}:\n" + "\n".join(ours)


def test_env_example_reads_the_same_in_systemd_and_sh() -> None:
    for number, line in enumerate(read(DEPLOY / "balise.env.example").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        assert re.fullmatch(r"BALISE_[A-Z_]+=[^\s'\"`$\\#]*", line), f"line {number}: {line!r}"


def test_deploy_files_only_name_settings_the_server_declares() -> None:
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            names = set(re.findall(r"\bBALISE_[A-Z_]+\b", read(path)))
            unknown = names - SERVER_SETTINGS
            assert not unknown, f"{path.relative_to(ROOT)} names unknown settings {sorted(unknown)}"


# --- compose.yaml ------------------------------------------------------------------------------


def test_compose_has_the_services_a_deployment_needs() -> None:
    services = compose()["services"]
    assert {"balise1", "balise2", "postgres", "redis", "nginx", "migrate"} <= set(services)
    assert services["postgres"]["image"].split(":")[1].startswith("16")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])


def test_compose_instances_share_secret_database_and_redis() -> None:
    services = compose()["services"]
    one, two = services["balise1"]["environment"], services["balise2"]["environment"]
    for name in SHARED_SETTINGS:
        assert one.get(name), f"balise1 has no {name}"
        assert one[name] == two[name], f"balise1 and balise2 differ on {name}"
    assert one["BALISE_SECRET_KEY"].startswith("${BALISE_SECRET_KEY:?"), (
        "the secret must be required, not defaulted"
    )
    assert one["BALISE_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:" in one["BALISE_DATABASE_URL"]
    assert one["BALISE_RATELIMIT_STORAGE_URI"].startswith("redis://redis:")
    assert one["BALISE_REDIS_URL"].startswith("redis://redis:")
    assert one["BALISE_TRUSTED_PROXIES"] == two["BALISE_TRUSTED_PROXIES"] == "1"


def test_compose_instances_share_a_data_dir_so_each_takes_its_own_cpu() -> None:
    services = compose()["services"]
    assert services["balise1"]["volumes"] == services["balise2"]["volumes"] == ["balise-data:/data"]
    assert "balise-data" in compose()["volumes"]
    assert "BALISE_SERVE_CPU" not in services["balise1"]["environment"]  # auto: lock files there


def test_compose_services_wait_for_healthy_dependencies() -> None:
    services = compose()["services"]
    app_stage = containerfile_stages()[-1]

    def has_healthcheck(name: str) -> bool:
        service = services[name]
        check = service.get("healthcheck")
        if check is not None:
            return not check.get("disable") and bool(check.get("test"))
        build = service.get("build") or {}
        built_here = (
            build.get("dockerfile") == "deploy/Containerfile"
            and build.get("target") == app_stage.name
        )
        return built_here and bool(app_stage.all("HEALTHCHECK"))

    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert has_healthcheck(dependency), (
                    f"{name} waits for {dependency}, which has no healthcheck"
                )
    for name in ("balise1", "balise2", "postgres", "redis"):
        assert has_healthcheck(name), name
    for name in ("balise1", "balise2"):
        rules = services[name]["depends_on"]
        assert rules["migrate"]["condition"] == "service_completed_successfully"
        assert rules["postgres"]["condition"] == rules["redis"]["condition"] == "service_healthy"
        assert services["nginx"]["depends_on"][name]["condition"] == "service_healthy"


def test_compose_migrate_runs_the_upgrade_once() -> None:
    migrate = compose()["services"]["migrate"]
    assert migrate["command"] == ["balise", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["image"] == compose()["services"]["balise1"]["image"]


def test_compose_files_it_builds_and_mounts_exist() -> None:
    stages = {stage.name for stage in containerfile_stages()}
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file(), name
            assert build["target"] in stages, f"{name} builds unknown stage {build['target']}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            # tls/ holds the operator's certificate; extension/dist is a build output.
            if source.startswith(".") and not source.endswith(("/tls", "/dist")):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"


def test_compose_nginx_mounts_the_shared_site_where_the_site_includes_it() -> None:
    nginx = compose()["services"]["nginx"]
    mounts = dict(volume.split(":")[:2] for volume in nginx["volumes"])
    snippet = first_group(r"include\s+(\S+);", read(NGINX_DIR / "compose.conf"))
    assert mounts["./nginx/balise-server.conf"] == snippet
    assert mounts["./nginx/compose.conf"] == "/etc/nginx/conf.d/default.conf"
    shared = read(NGINX_DIR / "balise-server.conf")

    def alias(location: str) -> str:
        return first_group(r"alias\s+(\S+?)/?;", shared.split(f"location {location}")[1])

    assert alias("/downloads/") == mounts["../extension/dist"]
    # The web image carries the static files of the same release at the path the site serves.
    web = next(stage for stage in containerfile_stages() if stage.name == nginx["build"]["target"])
    assert any(args.split()[-1] == alias("/static/") for args in web.all("COPY"))


# --- Containerfile ----------------------------------------------------------------------------


def test_container_runs_as_a_non_root_user() -> None:
    app = containerfile_stages()[-1]
    users = app.all("USER")
    assert users, "the app stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_container_uses_slim_python_and_serves_on_all_interfaces() -> None:
    stages = containerfile_stages()
    args = dict(re.findall(r"ARG (\w+)=(\S+)", read(DEPLOY / "Containerfile")))
    app = stages[-1]
    assert app.base.replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", "")) == "python:3.11-slim"
    env = containerfile_env(app)
    assert env["BALISE_HOST"] == "0.0.0.0"
    assert app.all("EXPOSE") == [env["BALISE_PORT"]]
    assert json.loads(app.all("VOLUME")[0]) == [env["BALISE_DATA_DIR"]]
    assert json.loads(app.all("CMD")[-1]) == ["balise", "serve"]


class Health(BaseHTTPRequestHandler):
    status = 200

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def run_container_healthcheck(status: int) -> int:
    """Run the Containerfile's HEALTHCHECK command against a /healthz answering `status`."""
    app = containerfile_stages()[-1]
    command = json.loads(app.all("HEALTHCHECK")[0].split(" CMD ", 1)[1])
    assert command[0] == "python"
    handler = type("HealthAnswer", (Health,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**os.environ, "BALISE_PORT": str(server.server_address[1])}
        return subprocess.run([sys.executable, *command[1:]], env=env, timeout=30).returncode
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_container_healthcheck_passes_while_healthz_answers_200() -> None:
    assert run_container_healthcheck(200) == 0


def test_container_healthcheck_fails_when_healthz_answers_503() -> None:
    assert run_container_healthcheck(503) != 0


def test_container_healthcheck_fails_when_nothing_listens() -> None:
    app = containerfile_stages()[-1]
    command = json.loads(app.all("HEALTHCHECK")[0].split(" CMD ", 1)[1])
    env = {**os.environ, "BALISE_PORT": str(free_port())}
    result = subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30
    )
    assert result.returncode != 0
