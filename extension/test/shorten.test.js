import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ApiError,
  LinksApi,
  qrUrl,
  sameTarget,
  shortenable,
  summaryEditorUrl,
  titleFrom,
} from "../src/lib/shorten.js";

const S = "https://s.example.org";
const KEY = "blz_secret_key_123";

/** A fake links API: answers from `routes` ("METHOD /path?query" -> [status, body]) and records calls. */
function fakeApi(routes) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const u = new URL(url);
    const route = routes[`${init.method} ${u.pathname}${u.search}`] ?? routes[`${init.method} ${u.pathname}`];
    if (route === "down") throw new TypeError("NetworkError");
    const [status, body] = route ?? [404, { detail: "no route" }];
    return { status, ok: status >= 200 && status < 300, json: async () => body };
  };
  return { fetch, calls };
}

const api = (server) => new LinksApi({ server: S, key: KEY, fetch: server.fetch });

test("the key goes to its server only, as a bearer token, without cookies or referrer", async () => {
  const server = fakeApi({ "GET /api/v1/links": [200, { items: [], next_cursor: null }] });
  await api(server).check();
  const { url, init } = server.calls[0];
  assert.equal(new URL(url).origin, S);
  assert.equal(init.headers.Authorization, `Bearer ${KEY}`);
  assert.equal(init.credentials, "omit");
  assert.equal(init.referrerPolicy, "no-referrer");
});

test("an existing link to the page is found among the search results by its exact target", async () => {
  const page = "https://news.test/2026/article?id=7#comments";
  const items = [
    { slug: "longer", url: "https://news.test/2026/article?id=7&x=1" },
    { slug: "exact", url: "https://news.test/2026/article?id=7", short_url: `${S}/exact` },
  ];
  const server = fakeApi({ "GET /api/v1/links": [200, { items }] });
  const found = await api(server).findLink(page);
  assert.equal(found.slug, "exact");
  const asked = new URL(server.calls[0].url);
  assert.equal(asked.searchParams.get("q"), "https://news.test/2026/article?id=7", "no fragment sent");
  assert.equal(asked.searchParams.get("limit"), "200");
  assert.equal(await api(fakeApi({ "GET /api/v1/links": [200, { items: [items[0]] }] })).findLink(page), null);
});

test("creating a link sends the page address and the tab's title", async () => {
  const created = { slug: "Ab3dEf7", short_url: `${S}/Ab3dEf7`, url: "https://news.test/a" };
  const server = fakeApi({ "POST /api/v1/links": [201, created] });
  assert.deepEqual(await api(server).createLink("https://news.test/a", "  Un   titre\n "), created);
  assert.deepEqual(JSON.parse(server.calls[0].init.body), { url: "https://news.test/a", title: "Un titre" });
  await api(server).createLink("https://news.test/a", "   ");
  assert.deepEqual(JSON.parse(server.calls[1].init.body), { url: "https://news.test/a" });
});

test("the click total reads the link's statistics since it was created", async () => {
  const link = { slug: "Ab3dEf7", created_at: "2026-03-01T10:00:00+00:00" };
  const server = fakeApi({ "GET /api/v1/links/Ab3dEf7/stats": [200, { totals: { clicks: 42 } }] });
  assert.equal(await api(server).clickTotal(link), 42);
  const asked = new URL(server.calls[0].url);
  assert.equal(asked.searchParams.get("from"), link.created_at);
  assert.equal(asked.searchParams.get("interval"), "week");
});

test("failures say what went wrong: refused key, role too low, invalid, unreachable", async () => {
  const cases = [
    [[401, { detail: "This API key is unknown or has been revoked." }], "unauthorized"],
    [[403, { detail: "viewer cannot" }], "forbidden"],
    [[422, { detail: "Invalid request" }], "invalid"],
    [[429, {}], "rate-limited"],
    [[500, null], "failed"],
    ["down", "unreachable"],
  ];
  for (const [route, kind] of cases) {
    const server = fakeApi({ "POST /api/v1/links": route });
    await assert.rejects(api(server).createLink("https://news.test/a", "t"), (e) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.kind, kind);
      return true;
    });
  }
});

test("a stalled server times out", async () => {
  const timers = [];
  const never = (url, init) =>
    new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new Error("aborted"))));
  const client = new LinksApi({
    server: S,
    key: KEY,
    fetch: never,
    setTimeout: (fn, ms) => timers.push([fn, ms]),
    clearTimeout: () => {},
  });
  const p = client.check();
  assert.equal(timers[0][1], 8000);
  timers[0][0]();
  await assert.rejects(p, { kind: "unreachable" });
});

test("only web pages other than the server's own can be shortened", () => {
  assert.equal(shortenable("https://news.test/a", S), true);
  assert.equal(shortenable("http://news.test/a", S), true);
  assert.equal(shortenable("chrome://extensions", S), false);
  assert.equal(shortenable("about:blank", S), false);
  assert.equal(shortenable("moz-extension://x/popup.html", S), false);
  assert.equal(shortenable(`${S}/dashboard`, S), false);
  assert.equal(shortenable(undefined, S), false);
});

test("titles, targets and the server's pages", () => {
  assert.equal(titleFrom("x".repeat(400)).length, 300);
  assert.equal(titleFrom(undefined), undefined);
  assert.equal(sameTarget("https://News.test/a/", "https://news.test/a#top"), true);
  assert.equal(sameTarget("https://news.test/a?x=1", "https://news.test/a"), false);
  assert.equal(sameTarget("javascript:1", "javascript:1"), false);
  assert.equal(summaryEditorUrl(S, "Ab3"), `${S}/dashboard/links/Ab3/summary`);
  assert.equal(qrUrl(`${S}/Ab3`), `${S}/Ab3/qr.svg`);
});
