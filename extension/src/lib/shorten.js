// The popup's client for the Balise links API, with the marketer's API key.
// Pure: `fetch` and the timers are injected, so `node --test` drives it with a
// fake server. The key goes to its own server only, in the Authorization
// header, without cookies or referrer.

export const TIMEOUT_MS = 8000;
const TITLE_LIMIT = 300; // LinkCreate.title
const SEARCH_LIMIT = 200; // GET /api/v1/links?limit=

/** A failed API call, with what the popup should say: `kind` names its message. */
export class ApiError extends Error {
  constructor(kind, detail = "") {
    super(detail || kind);
    this.name = "ApiError";
    this.kind = kind; // unauthorized | forbidden | invalid | rate-limited | unreachable | failed
    this.detail = detail;
  }
}

const KINDS = { 401: "unauthorized", 403: "forbidden", 422: "invalid", 429: "rate-limited" };

function parse(href) {
  try {
    return new URL(href);
  } catch {
    return null;
  }
}

/** The page address as compared with a link's target: no fragment, no trailing slash. */
export function comparable(href) {
  const url = parse(href);
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return null;
  url.hash = "";
  if (url.pathname.length > 1) url.pathname = url.pathname.replace(/\/+$/, "");
  return url.href;
}

/** Whether a link's target `a` is the page `b` (same page, as Balise stores targets). */
export function sameTarget(a, b) {
  const x = comparable(a);
  return x !== null && x === comparable(b);
}

/** Whether the tab's address can be shortened by `server`: http(s), not the server itself. */
export function shortenable(tabUrl, server) {
  const url = parse(tabUrl);
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return false;
  const own = parse(server);
  return !own || url.host !== own.host;
}

/** The tab's title as a link title: one line, at most 300 characters, or undefined. */
export function titleFrom(tabTitle) {
  if (typeof tabTitle !== "string") return undefined;
  const clean = tabTitle.replace(/\s+/g, " ").trim();
  if (!clean) return undefined;
  return clean.length > TITLE_LIMIT ? `${clean.slice(0, TITLE_LIMIT - 1).trimEnd()}…` : clean;
}

/** Where the dashboard's summary editor of `slug` is, on `server`. */
export function summaryEditorUrl(server, slug) {
  return `${server}/dashboard/links/${encodeURIComponent(slug)}/summary`;
}

/** The QR code the server draws for a short URL. */
export function qrUrl(shortUrl) {
  return `${shortUrl.replace(/\/+$/, "")}/qr.svg`;
}

export class LinksApi {
  constructor({
    server,
    key,
    fetch,
    setTimeout = (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout = (id) => globalThis.clearTimeout(id),
    timeoutMs = TIMEOUT_MS,
  }) {
    Object.assign(this, { server, key, fetch, setTimeout, clearTimeout, timeoutMs });
  }

  async #call(method, path, body) {
    const controller = new AbortController();
    const timer = this.setTimeout(() => controller.abort(), this.timeoutMs);
    const headers = { Accept: "application/json", Authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await this.fetch(`${this.server}/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        referrerPolicy: "no-referrer",
        cache: "no-store",
        signal: controller.signal,
      });
    } catch {
      throw new ApiError("unreachable");
    } finally {
      this.clearTimeout(timer);
    }
    const data = await response.json().catch(() => null);
    if (response.ok) return data;
    const detail = typeof data?.detail === "string" ? data.detail : `HTTP ${response.status}`;
    throw new ApiError(KINDS[response.status] ?? "failed", detail);
  }

  /** The key works: it may at least read links (201 needs the editor role, checked on create). */
  async check() {
    await this.#call("GET", "/links?limit=1");
  }

  /** The newest link whose target is the page at `pageUrl`, or null. */
  async findLink(pageUrl) {
    const q = comparable(pageUrl);
    if (!q) return null;
    const page = await this.#call("GET", `/links?limit=${SEARCH_LIMIT}&q=${encodeURIComponent(q)}`);
    const items = Array.isArray(page?.items) ? page.items : [];
    return items.find((link) => sameTarget(link.url, pageUrl)) ?? null;
  }

  /** Create a short link to `pageUrl` titled after the tab. */
  async createLink(pageUrl, tabTitle) {
    const body = { url: pageUrl };
    const title = titleFrom(tabTitle);
    if (title) body.title = title;
    return this.#call("POST", "/links", body);
  }

  /** Clicks on `link` since it was created (people's clicks, bots and prefetches apart). */
  async clickTotal(link) {
    const from = encodeURIComponent(link.created_at);
    const stats = await this.#call("GET", `/links/${encodeURIComponent(link.slug)}/stats?from=${from}&interval=week&top=1`);
    return Number(stats?.totals?.clicks ?? 0);
  }
}
