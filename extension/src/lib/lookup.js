// The worker's client for the summaries API: cache, de-duplication, batching,
// cancellation, time-outs and retry. Pure: `fetch` and the clock are injected,
// so `node --test` drives it with a fake server.
//
// Every look-up is sent as a prefetch (the server counts no preview view for
// it): whether a card will be shown is not known yet. When one is, `seen()`
// sends back the answer's signed `seen_token`, and that counts the view.

import { maxAgeSeconds, TtlCache } from "./cache.js";
import { isSummary } from "./card.js";

export const MAX_BATCH = 100; // the server's limit for POST /summaries/lookup
export const BATCH_WINDOW_MS = 20; // look-ups asked within this window share one request
export const TIMEOUT_MS = 5000; // a look-up normally takes milliseconds: give up after this
export const RETRY_AFTER_MS = 5000; // after a failure, leave the server alone this long...
export const MAX_RETRY_AFTER_MS = 300_000; // ...doubling on each failure in a row, up to this

function namedError(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

const abortError = () => namedError("AbortError", "aborted");

/** Seconds from a Retry-After header (delta-seconds form only), or 0. */
export function retryAfterMs(value) {
  const seconds = Number.parseInt(value ?? "", 10);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

export class LookupClient {
  constructor({
    fetch,
    cache = new TtlCache({ max: 500 }),
    // Wrapped: browsers throw "Illegal invocation" when timers are called as methods of another object.
    setTimeout = (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout = (id) => globalThis.clearTimeout(id),
    now = () => Date.now(),
    windowMs = BATCH_WINDOW_MS,
    timeoutMs = TIMEOUT_MS,
    retryAfterMs = RETRY_AFTER_MS,
  }) {
    this.fetch = fetch;
    this.cache = cache;
    this.setTimeout = setTimeout;
    this.clearTimeout = clearTimeout;
    this.now = now;
    this.windowMs = windowMs;
    this.timeoutMs = timeoutMs;
    this.retryAfterMs = retryAfterMs;
    this.entries = new Map(); // `${server} ${url}` -> pending entry
    this.queues = new Map(); // server -> {entries: [], timer}
    this.noBatch = new Set(); // servers whose lookup endpoint answered 404/405
    this.down = new Map(); // server -> {until, delay}: failed lately, not asked before `until`
  }

  /**
   * The summary `server` has for `url`, or null when it knows none. Answers
   * from the cache at once; otherwise joins the next batch for that server.
   * Aborting `signal` rejects with an AbortError, and the request itself is
   * aborted when nobody else waits for it. While the server is failing, rejects
   * at once (nothing is sent) until its retry time.
   */
  get(server, url, signal) {
    const key = `${server} ${url}`;
    const cached = this.cache.get(key);
    if (cached) return Promise.resolve(cached.value);
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.#isDown(server)) return Promise.reject(namedError("UnavailableError", "server unavailable"));
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
    if (this.#isDown(server)) return;
    for (const url of urls) {
      const key = `${server} ${url}`;
      if (this.cache.get(key) || this.entries.has(key)) continue;
      this.#enqueue(server, url, key, true);
    }
  }

  /**
   * A card of `server`'s summary was shown: send its `seen_token` back, which
   * counts one preview view. Nothing else goes with it. Resolves to whether
   * the server took it; never rejects.
   */
  async seen(server, token) {
    if (typeof token !== "string" || token === "" || token.length > 200) return false;
    const controller = new AbortController();
    const timer = this.setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const response = await this.fetch(`${server}/api/v1/summaries/seen`, {
        method: "POST",
        credentials: "omit",
        referrerPolicy: "no-referrer",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ token }),
        signal: controller.signal,
      });
      return response.status === 204;
    } catch {
      return false;
    } finally {
      this.clearTimeout(timer);
    }
  }

  #isDown(server) {
    const down = this.down.get(server);
    return down !== undefined && this.now() < down.until;
  }

  #failed(server, retryAfter = 0) {
    const previous = this.down.get(server);
    const delay = previous ? Math.min(previous.delay * 2, MAX_RETRY_AFTER_MS) : this.retryAfterMs;
    const wait = Math.min(Math.max(delay, retryAfter), MAX_RETRY_AFTER_MS);
    this.down.set(server, { until: this.now() + wait, delay });
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
    const request = { controller, entries, timedOut: false };
    for (const entry of entries) entry.request = request;
    // A server that accepts the request and never answers must not hold these links forever.
    const timer = this.setTimeout(() => {
      request.timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    try {
      if (this.noBatch.has(server)) {
        await Promise.all(entries.map((entry) => this.#getOne(server, entry, controller.signal)));
      } else {
        await this.#postBatch(server, entries, controller.signal);
      }
      this.down.delete(server);
    } catch (error) {
      const failure = request.timedOut ? namedError("TimeoutError", "the server did not answer in time") : error;
      if (failure.name !== "AbortError") this.#failed(server, failure.retryAfter);
      for (const entry of entries) this.#settle(entry, undefined, failure);
    } finally {
      this.clearTimeout(timer);
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
    check(response);
    const body = await response.json();
    this.#settle(entry, isSummary(body) ? body : null, null, ttl);
  }

  async #postBatch(server, entries, signal) {
    const response = await this.fetch(`${server}/api/v1/summaries/lookup`, {
      method: "POST",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      // Always a prefetch: a view is counted by seen() when a card is actually shown.
      body: JSON.stringify({ urls: entries.map((e) => e.url), prefetch: true }),
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
    check(response);
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

/** Throw for a failed answer, carrying the server's Retry-After (429, 503) along. */
function check(response) {
  if (response.ok) return;
  const error = namedError("HttpError", `HTTP ${response.status}`);
  error.retryAfter = retryAfterMs(response.headers.get("Retry-After"));
  throw error;
}
