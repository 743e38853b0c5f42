import assert from "node:assert/strict";
import { test } from "node:test";
import { TtlCache } from "../src/lib/cache.js";
import { LookupClient } from "../src/lib/lookup.js";
import { fakeClock } from "./fake-clock.js";

const S = "https://s.example.org";
const summaryFor = (url) => ({ title: `T ${url}`, teaser: "t", lang: "en", short_url: url });

/** A fake server: records every request; `known` decides what it knows. */
function fakeServer({ known = () => true, cacheControl = "public, max-age=300", lookupStatus = 200 } = {}) {
  const requests = [];
  const fetch = (url, init) => {
    const request = { url, init, aborted: false };
    requests.push(request);
    return new Promise((resolve, reject) => {
      init.signal?.addEventListener("abort", () => {
        request.aborted = true;
        const e = new Error("aborted");
        e.name = "AbortError";
        reject(e);
      });
      queueMicrotask(() => {
        if (request.aborted) return;
        const headers = new Map([["cache-control", cacheControl]]);
        const res = (status, body) => ({
          status,
          ok: status >= 200 && status < 300,
          headers: { get: (h) => headers.get(h.toLowerCase()) ?? null },
          json: async () => body,
        });
        if (init.method === "POST") {
          if (lookupStatus !== 200) return resolve(res(lookupStatus, {}));
          const { urls } = JSON.parse(init.body);
          const results = {};
          for (const u of urls) results[u] = known(u) ? summaryFor(u) : null;
          return resolve(res(200, { results }));
        }
        const asked = new URL(url).searchParams.get("url");
        resolve(known(asked) ? res(200, summaryFor(asked)) : res(404, { status: 404 }));
      });
    });
  };
  return { fetch, requests };
}

function client(server, clock = fakeClock(), now = () => clock.now()) {
  return new LookupClient({
    fetch: server.fetch,
    cache: new TtlCache({ max: 500, now }),
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    windowMs: 20,
  });
}

const settle = () => new Promise((r) => setImmediate(r));

test("one look-up is a GET without credentials, referrer or page URL", async () => {
  const server = fakeServer();
  const clock = fakeClock();
  const c = client(server, clock);
  const p = c.get(S, `${S}/abc`);
  clock.tick(20);
  assert.deepEqual(await p, summaryFor(`${S}/abc`));
  assert.equal(server.requests.length, 1);
  const { url, init } = server.requests[0];
  assert.equal(url, `${S}/api/v1/summaries?url=${encodeURIComponent(`${S}/abc`)}`);
  assert.equal(init.credentials, "omit");
  assert.equal(init.referrerPolicy, "no-referrer");
  assert.equal(init.method, "GET");
});

test("look-ups within the window share one POST batch", async () => {
  const server = fakeServer({ known: (u) => u.endsWith("/abc") });
  const clock = fakeClock();
  const c = client(server, clock);
  const a = c.get(S, `${S}/abc`);
  const b = c.get(S, `${S}/xyz`);
  const again = c.get(S, `${S}/abc`);
  clock.tick(20);
  assert.deepEqual(await a, summaryFor(`${S}/abc`));
  assert.equal(await b, null);
  assert.deepEqual(await again, summaryFor(`${S}/abc`));
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0].url, `${S}/api/v1/summaries/lookup`);
  // Someone is waiting on these answers: they are views, not a prefetch.
  assert.deepEqual(JSON.parse(server.requests[0].init.body), {
    urls: [`${S}/abc`, `${S}/xyz`],
    prefetch: false,
  });
  assert.equal(server.requests[0].init.credentials, "omit");
});

test("answers and unknown answers are cached for the server's max-age", async () => {
  const server = fakeServer({ known: (u) => u.endsWith("/abc"), cacheControl: "public, max-age=300" });
  const clock = fakeClock();
  const c = client(server, clock);
  const first = [c.get(S, `${S}/abc`), c.get(S, `${S}/nop`)];
  clock.tick(20);
  await Promise.all(first);
  clock.tick(299_000);
  assert.deepEqual(await c.get(S, `${S}/abc`), summaryFor(`${S}/abc`));
  assert.equal(await c.get(S, `${S}/nop`), null);
  assert.equal(server.requests.length, 1);
  clock.tick(1000);
  const p = c.get(S, `${S}/abc`);
  clock.tick(20);
  await p;
  assert.equal(server.requests.length, 2);
});

test("a look-up abandoned before its batch leaves never reaches the server", async () => {
  const server = fakeServer();
  const clock = fakeClock();
  const c = client(server, clock);
  const controller = new AbortController();
  const p = c.get(S, `${S}/abc`, controller.signal);
  controller.abort();
  await assert.rejects(p, { name: "AbortError" });
  clock.tick(100);
  await settle();
  assert.equal(server.requests.length, 0);
});

test("a request in flight is aborted when nobody waits for it any more", async () => {
  const server = fakeServer();
  const clock = fakeClock();
  const c = client(server, clock);
  const controller = new AbortController();
  const p = c.get(S, `${S}/abc`, controller.signal);
  clock.tick(20);
  assert.equal(server.requests.length, 1);
  controller.abort();
  await assert.rejects(p, { name: "AbortError" });
  assert.equal(server.requests[0].aborted, true);
  // Hovering the same link again starts afresh.
  const again = c.get(S, `${S}/abc`);
  clock.tick(20);
  assert.deepEqual(await again, summaryFor(`${S}/abc`));
});

test("a shared request is not aborted while another hover still waits", async () => {
  const server = fakeServer();
  const clock = fakeClock();
  const c = client(server, clock);
  const controller = new AbortController();
  const p1 = c.get(S, `${S}/abc`, controller.signal);
  const p2 = c.get(S, `${S}/abc`);
  clock.tick(20);
  controller.abort();
  await assert.rejects(p1, { name: "AbortError" });
  assert.deepEqual(await p2, summaryFor(`${S}/abc`));
  assert.equal(server.requests[0].aborted, false);
});

test("prefetch asks in batches of at most 100 and fills the cache", async () => {
  const server = fakeServer({ known: (u) => u.endsWith("/7") });
  const clock = fakeClock();
  const c = client(server, clock);
  const urls = Array.from({ length: 150 }, (_, i) => `https://news.test/${i}`);
  c.prefetch(S, urls);
  clock.tick(20);
  await settle();
  assert.equal(server.requests.length, 2);
  assert.equal(JSON.parse(server.requests[0].init.body).urls.length, 100);
  assert.equal(JSON.parse(server.requests[1].init.body).urls.length, 50);
  assert.equal(JSON.parse(server.requests[0].init.body).prefetch, true);
  assert.equal((await c.get(S, "https://news.test/7")).title, "T https://news.test/7");
  assert.equal(await c.get(S, "https://news.test/8"), null);
  assert.equal(server.requests.length, 2);
});

test("a server without the batch endpoint is asked one by one", async () => {
  const server = fakeServer({ lookupStatus: 404 });
  const clock = fakeClock();
  const c = client(server, clock);
  const a = c.get(S, `${S}/abc`);
  const b = c.get(S, `${S}/def`);
  clock.tick(20);
  assert.equal((await a).title, `T ${S}/abc`);
  assert.equal((await b).title, `T ${S}/def`);
  assert.deepEqual(
    server.requests.map((r) => r.init.method),
    ["POST", "GET", "GET"],
  );
});

test("server errors reject and are not cached", async () => {
  const clock = fakeClock();
  let calls = 0;
  const c = client(
    {
      fetch: async () => {
        calls += 1;
        return { status: 500, ok: false, headers: { get: () => null }, json: async () => ({}) };
      },
    },
    clock,
  );
  const p = c.get(S, `${S}/abc`);
  clock.tick(20);
  await assert.rejects(p, /HTTP 500/);
  const q = c.get(S, `${S}/abc`);
  clock.tick(20);
  await assert.rejects(q);
  assert.equal(calls, 2);
});
