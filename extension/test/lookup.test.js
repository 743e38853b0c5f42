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
    now,
    windowMs: 20,
  });
}

const settle = () => new Promise((r) => setImmediate(r));

test("one look-up is a prefetch POST without credentials, referrer or page URL", async () => {
  const server = fakeServer();
  const clock = fakeClock();
  const c = client(server, clock);
  const p = c.get(S, `${S}/abc`);
  clock.tick(20);
  assert.deepEqual(await p, summaryFor(`${S}/abc`));
  assert.equal(server.requests.length, 1);
  const { url, init } = server.requests[0];
  assert.equal(url, `${S}/api/v1/summaries/lookup`);
  assert.equal(init.credentials, "omit");
  assert.equal(init.referrerPolicy, "no-referrer");
  assert.equal(init.method, "POST");
  // Nobody has seen a card yet: the look-up itself counts no preview view.
  assert.deepEqual(JSON.parse(init.body), { urls: [`${S}/abc`], prefetch: true });
});

test("look-ups within the window share one POST batch, still a prefetch", async () => {
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
  assert.deepEqual(JSON.parse(server.requests[0].init.body), {
    urls: [`${S}/abc`, `${S}/xyz`],
    prefetch: true,
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
  // From then on, one GET per hovered link.
  const d = c.get(S, `${S}/ghi`);
  clock.tick(20);
  assert.equal((await d).title, `T ${S}/ghi`);
  assert.deepEqual(server.requests.at(-1).init.method, "GET");
});

test("server errors reject, are not cached, and the server is asked again after a pause", async () => {
  const clock = fakeClock();
  let calls = 0;
  let status = 500;
  const c = client(
    {
      fetch: async (url, init) => {
        calls += 1;
        const { urls } = JSON.parse(init.body);
        const body = { results: Object.fromEntries(urls.map((u) => [u, summaryFor(u)])) };
        return { status, ok: status === 200, headers: { get: () => null }, json: async () => body };
      },
    },
    clock,
  );
  const p = c.get(S, `${S}/abc`);
  clock.tick(20);
  await assert.rejects(p, /HTTP 500/);
  // Within the pause: an immediate failure, nothing sent.
  await assert.rejects(c.get(S, `${S}/abc`), { name: "UnavailableError" });
  assert.equal(calls, 1);
  clock.tick(5000);
  status = 200;
  const q = c.get(S, `${S}/abc`);
  clock.tick(20);
  assert.deepEqual(await q, summaryFor(`${S}/abc`));
  assert.equal(calls, 2);
});

/** A server that accepts every request and never answers (until it is aborted). */
function stalledServer() {
  const requests = [];
  const fetch = (url, init) => {
    const request = { url, init, aborted: false };
    requests.push(request);
    return new Promise((resolve, reject) => {
      init.signal?.addEventListener("abort", () => {
        request.aborted = true;
        reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
      });
    });
  };
  return { fetch, requests };
}

test("a stalled look-up times out, is not cached, and is retried after a pause", async () => {
  const stalled = stalledServer();
  const healthy = fakeServer();
  let server = stalled;
  const clock = fakeClock();
  const c = client({ fetch: (url, init) => server.fetch(url, init) }, clock);
  const hover = c.get(S, `${S}/abc`);
  c.prefetch(S, [`${S}/def`]);
  clock.tick(20);
  assert.equal(stalled.requests.length, 1);
  clock.tick(4999);
  assert.equal(stalled.requests[0].aborted, false);
  clock.tick(1);
  assert.equal(stalled.requests[0].aborted, true);
  await assert.rejects(hover, { name: "TimeoutError" });
  assert.equal(c.entries.size, 0, "no link of the batch stays pending");

  server = healthy;
  await assert.rejects(c.get(S, `${S}/abc`), { name: "UnavailableError" });
  clock.tick(5000);
  const again = c.get(S, `${S}/abc`);
  clock.tick(20);
  assert.deepEqual(await again, summaryFor(`${S}/abc`));
  assert.equal(healthy.requests.length, 1);
});

test("failures in a row lengthen the pause, up to five minutes; Retry-After is honoured", async () => {
  const stalled = stalledServer();
  const clock = fakeClock();
  const c = client(stalled, clock);
  const pauses = [];
  for (let i = 0; i < 8; i += 1) {
    const p = c.get(S, `${S}/abc`);
    clock.tick(20 + 5000);
    await assert.rejects(p, { name: "TimeoutError" });
    pauses.push(c.down.get(S).until - clock.now());
    clock.tick(c.down.get(S).until - clock.now());
  }
  assert.deepEqual(pauses, [5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000]);

  const busy = client(
    {
      fetch: async () => ({
        status: 429,
        ok: false,
        headers: { get: (h) => (h === "Retry-After" ? "60" : null) },
        json: async () => ({}),
      }),
    },
    clock,
  );
  const p = busy.get(S, `${S}/abc`);
  clock.tick(20);
  await assert.rejects(p, /HTTP 429/);
  assert.equal(busy.down.get(S).until - clock.now(), 60000);
});

test("seen() sends the token alone, and nothing for a missing token", async () => {
  const clock = fakeClock();
  const sent = [];
  const c = client(
    {
      fetch: async (url, init) => {
        sent.push({ url, init });
        return { status: 204, ok: true, headers: { get: () => null } };
      },
    },
    clock,
  );
  assert.equal(await c.seen(S, "abc.123.sig"), true);
  assert.equal(await c.seen(S, undefined), false);
  assert.equal(await c.seen(S, ""), false);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].url, `${S}/api/v1/summaries/seen`);
  assert.equal(sent[0].init.method, "POST");
  assert.equal(sent[0].init.credentials, "omit");
  assert.equal(sent[0].init.referrerPolicy, "no-referrer");
  assert.deepEqual(JSON.parse(sent[0].init.body), { token: "abc.123.sig" });
});

test("seen() gives up on a stalled server and never throws", async () => {
  const stalled = stalledServer();
  const clock = fakeClock();
  const c = client(stalled, clock);
  const p = c.seen(S, "tok");
  await settle();
  clock.tick(5000);
  assert.equal(await p, false);
  assert.equal(stalled.requests[0].aborted, true);
});
