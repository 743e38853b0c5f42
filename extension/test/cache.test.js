import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_TTL_SECONDS, maxAgeSeconds, TtlCache } from "../src/lib/cache.js";

test("the lifetime comes from Cache-Control max-age", () => {
  assert.equal(maxAgeSeconds("public, max-age=300"), 300);
  assert.equal(maxAgeSeconds("max-age=0"), 0);
  assert.equal(maxAgeSeconds("no-store"), 0);
  assert.equal(maxAgeSeconds("public, no-cache"), 0);
  assert.equal(maxAgeSeconds("max-age=99999999"), MAX_TTL_SECONDS);
  assert.equal(maxAgeSeconds(null, 42), 42);
  assert.equal(maxAgeSeconds("public", 42), 42);
});

test("entries expire after their lifetime", () => {
  let now = 1000;
  const cache = new TtlCache({ now: () => now });
  cache.set("a", { title: "A" }, 300);
  now += 299_999;
  assert.deepEqual(cache.get("a"), { value: { title: "A" } });
  now += 1;
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.size, 0);
});

test("unknown answers are cached as null, distinct from a miss", () => {
  const cache = new TtlCache();
  cache.set("u", null, 60);
  assert.deepEqual(cache.get("u"), { value: null });
  assert.equal(cache.get("other"), undefined);
});

test("a zero lifetime stores nothing", () => {
  const cache = new TtlCache();
  cache.set("a", 1, 0);
  assert.equal(cache.get("a"), undefined);
});

test("the cache is bounded and evicts the least recently used", () => {
  const cache = new TtlCache({ max: 3 });
  cache.set("a", 1, 60);
  cache.set("b", 2, 60);
  cache.set("c", 3, 60);
  cache.get("a");
  cache.set("d", 4, 60);
  assert.equal(cache.size, 3);
  assert.equal(cache.get("b"), undefined);
  assert.deepEqual(cache.get("a"), { value: 1 });
});
