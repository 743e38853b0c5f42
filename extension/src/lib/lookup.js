// The worker's client for the summaries API: cache, de-duplication, batching
// and cancellation. Pure: `fetch` and the clock are injected, so `node --test`
// drives it with a fake server.

import { maxAgeSeconds, TtlCache } from "./cache.js";
import { isSummary } from "./card.js";

export const MAX_BATCH = 100; // the server's limit for POST /summaries/lookup
export const BATCH_WINDOW_MS = 20; // look-ups asked within this window share one request

function abortError() {
  const error = new Error("aborted");
  error.name = "AbortError";
  return error;
}

export class LookupClient {
  constructor({
    fetch,
    cache = new TtlCache({ max: 500 }),
    // Wrapped: browsers throw "Illegal invocation" when timers are called as methods of another object.
    setTimeout = (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout = (id) => globalThis.clearTimeout(id),
    windowMs = BATCH_WINDOW_MS,
  }) {
    this.fetch = fetch;
    this.cache = cache;
    this.setTimeout = setTimeout;
    this.clearTimeout = clearTimeout;
    this.windowMs = windowMs;
    this.entries = new Map(); // `${server} ${url}` -> pending entry
    this.queues = new Map(); // server -> {entries: [], timer}
    this.noBatch = new Set(); // servers whose lookup endpoint answered 404/405
  }

  /**
   * The summary `server` has for `url`, or null when it knows none. Answers
   * from the cache at once; otherwise joins the next batch for that server.
   * Aborting `signal` rejects with an AbortError, and the request itself is
   * aborted when nobody else waits for it.
   */
  get(server, url, signal) {
    const key = `${server} ${url}`;
    const cached = this.cache.get(key);
    if (cached) return Promise.resolve(cached.value);
    if (signal?.aborted) return Promise.reject(abortError());
    let entry = this.entries.get(key);
    if (!entry) entry = this.#enqueue(server, url, key, false);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      entry.waiters.add(waiter);
      signal?.addEventListener(
        "abort",
        () => {
          if (!entry.waiters.delete(waiter)) return;
          reject(abortError());
          this.#dropIfUnwanted(entry);
        },
        { once: true },
      );
    });
  }

  /** Ask about `urls` in the background (mode "known"); answers only fill the cache. */
  prefetch(server, urls) {
    for (const url of urls) {
      const key = `${server} ${url}`;
      if (this.cache.get(key) || this.entries.has(key)) continue;
      this.#enqueue(server, url, key, true);
    }
  }

  #enqueue(server, url, key, prefetch) {
    const entry = { server, url, key, prefetch, waiters: new Set(), request: null };
    this.entries.set(key, entry);
    let queue = this.queues.get(server);
    if (!queue) {
      queue = { entries: [], timer: null };
      this.queues.set(server, queue);
    }
    queue.entries.push(entry);
    if (queue.timer === null) queue.timer = this.setTimeout(() => this.#flush(server), this.windowMs);
    return entry;
  }

  #dropIfUnwanted(entry) {
    if (entry.waiters.size > 0 || entry.prefetch) return;
    if (!entry.request) {
      // Still queued: it never leaves the browser.
      const queue = this.queues.get(entry.server);
      if (queue) queue.entries = queue.entries.filter((e) => e !== entry);
      this.entries.delete(entry.key);
      return;
    }
    const request = entry.request;
    if (request.entries.every((e) => e.waiters.size === 0 && !e.prefetch)) {
      // Forget them first, so a new hover of the same link starts a fresh request.
      for (const e of request.entries) if (this.entries.get(e.key) === e) this.entries.delete(e.key);
      request.controller.abort();
    }
  }

  #flush(server) {
    const queue = this.queues.get(server);
    if (!queue) return;
    queue.timer = null;
    const entries = queue.entries;
    queue.entries = [];
    for (let i = 0; i < entries.length; i += MAX_BATCH) {
      this.#send(server, entries.slice(i, i + MAX_BATCH));
    }
  }

  async #send(server, entries) {
    if (entries.length === 0) return;
    const controller = new AbortController();
    const request = { controller, entries };
    for (const entry of entries) entry.request = request;
    const single = entries.length === 1 || this.noBatch.has(server);
    try {
      if (single) {
        await Promise.all(entries.map((entry) => this.#getOne(server, entry, controller.signal)));
      } else {
        await this.#postBatch(server, entries, controller.signal);
      }
    } catch (error) {
      for (const entry of entries) this.#settle(entry, undefined, error);
    }
  }

  async #getOne(server, entry, signal) {
    const response = await this.fetch(`${server}/api/v1/summaries?url=${encodeURIComponent(entry.url)}`, {
      method: "GET",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      headers: { Accept: "application/json" },
      signal,
    });
    const ttl = maxAgeSeconds(response.headers.get("Cache-Control"));
    if (response.status === 404) {
      this.#settle(entry, null, null, ttl);
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    this.#settle(entry, isSummary(body) ? body : null, null, ttl);
  }

  async #postBatch(server, entries, signal) {
    const response = await this.fetch(`${server}/api/v1/summaries/lookup`, {
      method: "POST",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      // A batch nobody is waiting on is asked ahead of any hover: the server counts no views.
      body: JSON.stringify({
        urls: entries.map((e) => e.url),
        prefetch: entries.every((e) => e.prefetch && e.waiters.size === 0),
      }),
      signal,
    });
    if (response.status === 404 || response.status === 405) {
      // An older server without the batch endpoint: ask one by one, for the hovered links only.
      this.noBatch.add(server);
      const wanted = entries.filter((e) => e.waiters.size > 0);
      for (const entry of entries) if (!wanted.includes(entry)) this.#settle(entry, undefined, null);
      await Promise.all(wanted.map((entry) => this.#getOne(server, entry, signal)));
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const ttl = maxAgeSeconds(response.headers.get("Cache-Control"));
    const body = await response.json();
    const results = body && typeof body.results === "object" && body.results !== null ? body.results : {};
    for (const entry of entries) {
      const value = Object.hasOwn(results, entry.url) ? results[entry.url] : null;
      this.#settle(entry, isSummary(value) ? value : null, null, ttl);
    }
  }

  /** Resolve (value, cached for ttl seconds), reject (error), or just forget (value undefined). */
  #settle(entry, value, error, ttl = 0) {
    if (this.entries.get(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    if (value !== undefined && !error) this.cache.set(entry.key, value, ttl);
    for (const waiter of entry.waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve(value === undefined ? null : value);
    }
    entry.waiters.clear();
  }
}
