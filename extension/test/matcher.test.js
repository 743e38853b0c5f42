import assert from "node:assert/strict";
import { test } from "node:test";
import {
  classifyLink,
  compileServers,
  hasScheme,
  isInsecureServer,
  isLoopbackHost,
  isSamePage,
  isSiteDisabled,
  lookupKey,
  matchShortLink,
  normalizeServer,
  originPattern,
} from "../src/lib/matcher.js";

test("server addresses are normalised", () => {
  assert.equal(normalizeServer("https://S.Example.org/"), "https://s.example.org");
  assert.equal(normalizeServer("s.example.org"), "https://s.example.org");
  assert.equal(normalizeServer("https://s.example.org:443"), "https://s.example.org");
  assert.equal(normalizeServer("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
  assert.equal(normalizeServer("https://example.org/go/?x=1#y"), "https://example.org/go");
  assert.equal(normalizeServer("ftp://example.org"), null);
  assert.equal(normalizeServer("javascript:alert(1)"), null);
  assert.equal(normalizeServer("https://user:pw@example.org"), null);
  assert.equal(normalizeServer(""), null);
  assert.equal(normalizeServer(42), null);
});

test("a bare host:port is http on this machine and https elsewhere", () => {
  assert.equal(normalizeServer("localhost:8080"), "http://localhost:8080");
  assert.equal(normalizeServer("127.0.0.1:8080/"), "http://127.0.0.1:8080");
  assert.equal(normalizeServer("[::1]:8080"), "http://[::1]:8080");
  assert.equal(normalizeServer("dev.localhost:5000"), "http://dev.localhost:5000");
  assert.equal(normalizeServer("s.example.org:8443"), "https://s.example.org:8443");
  assert.equal(normalizeServer("https://localhost:8443"), "https://localhost:8443");
  assert.equal(hasScheme("localhost:8080"), false);
  assert.equal(hasScheme(" http://x"), true);
});

test("plain http is insecure except on this machine", () => {
  assert.equal(isInsecureServer("http://s.example.org"), true);
  assert.equal(isInsecureServer("http://192.168.1.10:8080"), true);
  assert.equal(isInsecureServer("https://s.example.org"), false);
  assert.equal(isInsecureServer("http://localhost:8080"), false);
  assert.equal(isInsecureServer("http://127.0.0.5"), false);
  assert.equal(isInsecureServer("http://[::1]:8080"), false);
  assert.equal(isLoopbackHost("127.0.0.1.example.org"), false);
  assert.equal(isLoopbackHost("localhost.example.org"), false);
});

test("the permission pattern covers the server origin", () => {
  assert.equal(originPattern("https://s.example.org"), "https://s.example.org/*");
  assert.equal(originPattern("http://127.0.0.1:8080/x"), "http://127.0.0.1:8080/*");
});

const servers = compileServers(["https://s.example.org/", "http://127.0.0.1:8080", "https://example.net/go"]);

test("a slug on a configured server is a short link, canonicalised", () => {
  assert.deepEqual(matchShortLink("https://s.example.org/dsk42", servers), {
    server: "https://s.example.org",
    slug: "dsk42",
    url: "https://s.example.org/dsk42",
  });
  assert.equal(matchShortLink("https://S.EXAMPLE.ORG/dsk42?utm=x#top", servers).url, "https://s.example.org/dsk42");
  assert.equal(matchShortLink("http://s.example.org/dsk42", servers).url, "https://s.example.org/dsk42");
  assert.equal(matchShortLink("https://s.example.org/dsk42/", servers).slug, "dsk42");
  assert.equal(matchShortLink("http://127.0.0.1:8080/a_b-C", servers).url, "http://127.0.0.1:8080/a_b-C");
  assert.equal(matchShortLink("https://example.net/go/abc", servers).url, "https://example.net/go/abc");
});

test("the + preview page maps to its short link", () => {
  assert.equal(matchShortLink("https://s.example.org/dsk42+", servers).url, "https://s.example.org/dsk42");
});

test("what is not a slug does not match", () => {
  for (const href of [
    "https://s.example.org/",
    "https://s.example.org/ab",
    `https://s.example.org/${"a".repeat(65)}`,
    "https://s.example.org/a.b.c",
    "https://s.example.org/dsk42/qr.svg",
    "https://s.example.org/api",
    "https://s.example.org/dashboard",
    "https://s.example.org/static",
    "https://s.example.org/healthz",
    "https://s.example.org/favicon.ico",
    "https://s.example.org/robots.txt",
    "https://s.example.org/Dashboard",
    "https://s.example.org/login",
    "https://s.example.org/metrics",
    "https://s.example.org/share",
    "https://s.example.org.evil.test/dsk42",
    "https://evil.test/s.example.org/dsk42",
    "https://s.example.org:8443/dsk42",
    "http://127.0.0.1:8081/dsk42",
    "https://example.net/dsk42",
    "https://example.net/gone/dsk42",
    "mailto:x@s.example.org",
    "javascript:void(0)",
    "not a url",
  ]) {
    assert.equal(matchShortLink(href, servers), null, href);
  }
  assert.equal(matchShortLink("https://s.example.org/dsk42", []), null);
});

test("lookup keys drop the fragment only", () => {
  assert.equal(lookupKey("https://news.test/a?b=1#c"), "https://news.test/a?b=1");
  assert.equal(lookupKey("ftp://x.test/"), null);
});

test("mode short previews short links only; mode known every other http(s) link", () => {
  const ctx = { compiled: servers, mode: "short", pageUrl: "https://blog.test/post" };
  assert.equal(classifyLink("https://news.test/article", ctx), null);
  assert.deepEqual(classifyLink("https://s.example.org/dsk42", ctx), {
    server: "https://s.example.org",
    url: "https://s.example.org/dsk42",
    kind: "short",
  });
  const known = { ...ctx, mode: "known" };
  assert.deepEqual(classifyLink("https://news.test/article#x", known), {
    server: null,
    url: "https://news.test/article",
    kind: "known",
  });
  assert.equal(classifyLink("https://s.example.org/dsk42", known).kind, "short");
});

test("a link to the page itself is never looked up, so the page URL never leaves", () => {
  const ctx = { compiled: servers, mode: "known", pageUrl: "https://blog.test/post?x=1#intro" };
  assert.equal(classifyLink("https://blog.test/post?x=1#comments", ctx), null);
  assert.equal(classifyLink("#comments", ctx), null);
});

test("a link to the page's own path with another query is not looked up either", () => {
  const ctx = { compiled: servers, mode: "known", pageUrl: "https://app.test/doc?token=SECRET" };
  assert.equal(classifyLink("https://app.test/doc?token=SECRET&tab=2", ctx), null);
  assert.equal(classifyLink("https://app.test/doc", ctx), null);
  assert.equal(classifyLink("https://app.test/doc?page=2#x", ctx), null);
  assert.equal(classifyLink("https://app.test/other?token=SECRET", ctx).kind, "known");
  assert.equal(classifyLink("https://app.test/doc/more", ctx).kind, "known");
  assert.equal(isSamePage("https://app.test/doc?a", "https://app.test/doc?b"), true);
  assert.equal(isSamePage("http://app.test/doc", "https://app.test/doc"), false);
  assert.equal(isSamePage("not a url", "https://app.test/doc"), false);
});

test("no servers, no work", () => {
  assert.equal(classifyLink("https://s.example.org/dsk42", { compiled: [], mode: "known" }), null);
});

test("disabled sites match the host and its subdomains", () => {
  const list = ["example.com", "https://news.test/path", "*.wiki.test", "  "];
  assert.equal(isSiteDisabled("example.com", list), true);
  assert.equal(isSiteDisabled("www.example.com", list), true);
  assert.equal(isSiteDisabled("notexample.com", list), false);
  assert.equal(isSiteDisabled("news.test", list), true);
  assert.equal(isSiteDisabled("fr.wiki.test", list), true);
  assert.equal(isSiteDisabled("other.test", list), false);
  assert.equal(isSiteDisabled("example.com", []), false);
});

test("settings get their defaults and lose what is malformed", async () => {
  const { normalizeSettings } = await import("../src/lib/settings.js");
  assert.deepEqual(normalizeSettings(undefined), {
    servers: [],
    mode: "short",
    disabledSites: [],
    delays: { fetch: 150, show: 500, hide: 300 },
  });
  assert.deepEqual(
    normalizeSettings({
      servers: ["https://s.example.org/", "https://s.example.org", "javascript:x", 3],
      mode: "known",
      disabledSites: [" a.test ", 4, ""],
      delays: { fetch: 10 },
    }),
    {
      servers: ["https://s.example.org"],
      mode: "known",
      disabledSites: ["a.test"],
      delays: { fetch: 10, show: 500, hide: 300 },
    },
  );
  assert.equal(normalizeSettings({ mode: "all" }).mode, "short");
});
