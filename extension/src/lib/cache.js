// A small bounded cache with per-entry lifetimes, for answers and "unknown"
// answers (stored as null). Pure: the clock is injected.

export const DEFAULT_TTL_SECONDS = 60; // when the server says nothing
export const MAX_TTL_SECONDS = 3600; // a summary edit shows within the hour whatever the header says

/**
 * Seconds a response may be reused, from its Cache-Control header:
 * `no-store`/`no-cache` give 0, `max-age=N` gives N (capped), otherwise `fallback`.
 */
export function maxAgeSeconds(cacheControl, fallback = DEFAULT_TTL_SECONDS) {
  if (typeof cacheControl !== "string" || cacheControl.trim() === "") return fallback;
  const directives = cacheControl
    .toLowerCase()
    .split(",")
    .map((d) => d.trim());
  if (directives.includes("no-store") || directives.includes("no-cache")) return 0;
  for (const d of directives) {
    const m = /^max-age\s*=\s*"?(\d+)"?$/.exec(d);
    if (m) return Math.min(Number(m[1]), MAX_TTL_SECONDS);
  }
  return fallback;
}

export class TtlCache {
  constructor({ max = 500, now = () => Date.now() } = {}) {
    this.max = max;
    this.now = now;
    this.map = new Map(); // insertion order doubles as recency order
  }

  get size() {
    return this.map.size;
  }

  /** `{value}` for a fresh entry (value may be null: known to be unknown), else undefined. */
  get(key) {
    const entry = this.map.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.map.delete(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, entry);
    return { value: entry.value };
  }

  set(key, value, ttlSeconds) {
    this.map.delete(key);
    if (!(ttlSeconds > 0)) return;
    this.map.set(key, { value, expires: this.now() + ttlSeconds * 1000 });
    while (this.map.size > this.max) {
      this.map.delete(this.map.keys().next().value);
    }
  }

  delete(key) {
    this.map.delete(key);
  }

  clear() {
    this.map.clear();
  }
}
