// Which links are Balise short links, and what to ask the server about them.
// Pure: no chrome.* and no DOM, so `node --test` runs it.

export const SLUG_RE = /^[A-Za-z0-9_-]{3,64}$/;

/** First path segments the server keeps for itself (compared without case): never slugs.
 * tests/test_extension_contract.py checks this list against the server's RESERVED_SLUGS. */
export const RESERVED = new Set([
  "admin",
  "api",
  "dashboard",
  "downloads",
  "export",
  "favicon.ico",
  "healthz",
  "login",
  "logout",
  "metrics",
  "openapi.json",
  "robots.txt",
  "share",
  "static",
  "well-known",
]);

function parse(href, base) {
  try {
    return base === undefined ? new URL(href) : new URL(href, base);
  } catch {
    return null;
  }
}

function isHttp(url) {
  return url.protocol === "http:" || url.protocol === "https:";
}

/** True when `value` starts with a scheme (`https://...`), false for `host:port` or `host`. */
export function hasScheme(value) {
  return typeof value === "string" && /^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim());
}

/** This machine: localhost (and *.localhost), 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname) {
  const host = String(hostname || "")
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  return (
    host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/**
 * Normalise a configured server address: scheme and host lower-cased (URL does
 * that), default port dropped, no query or fragment, no trailing slash.
 * Without a scheme, a server on this machine (`localhost:8080`) is taken as
 * http://, any other as https://. Returns null for anything that is not an
 * absolute http(s) URL.
 */
export function normalizeServer(value) {
  if (typeof value !== "string") return null;
  let text = value.trim();
  if (!text) return null;
  if (!hasScheme(text)) {
    const guess = parse(`https://${text}`);
    text = `${guess && isLoopbackHost(guess.hostname) ? "http" : "https"}://${text}`;
  }
  const url = parse(text);
  if (!url || !isHttp(url) || !url.hostname || url.username || url.password) return null;
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.origin}${path}`;
}

/** A plain-http server elsewhere than this machine: look-ups and API keys travel in clear. */
export function isInsecureServer(server) {
  const url = parse(server);
  return Boolean(url && url.protocol === "http:" && !isLoopbackHost(url.hostname));
}

/** The origin pattern to ask for in `permissions.request` (`https://host:port/*`). */
export function originPattern(server) {
  const url = parse(server);
  return url ? `${url.protocol}//${url.host}/*` : null;
}

/** Pre-compute what matching needs once per settings change. */
export function compileServers(servers) {
  const out = [];
  for (const raw of servers || []) {
    const server = normalizeServer(raw);
    if (!server) continue;
    const url = new URL(server);
    out.push({ server, host: url.host, prefix: url.pathname === "/" ? "" : url.pathname });
  }
  return out;
}

/**
 * If `href` is a short link (or a `+` preview link) of one of `compiled`
 * servers, return `{server, slug, url}` where `url` is the canonical short URL
 * to look up; otherwise null. The scheme may differ from the configured one
 * (links get shared as http:// too); host, port and path prefix must match.
 */
export function matchShortLink(href, compiled) {
  if (!compiled || compiled.length === 0) return null;
  const url = parse(href);
  if (!url || !isHttp(url)) return null;
  for (const entry of compiled) {
    if (url.host !== entry.host) continue;
    let path = url.pathname;
    if (entry.prefix) {
      if (!path.startsWith(`${entry.prefix}/`)) continue;
      path = path.slice(entry.prefix.length);
    }
    let segment = path.slice(1);
    if (segment.endsWith("/")) segment = segment.slice(0, -1);
    if (segment.endsWith("+")) segment = segment.slice(0, -1);
    if (segment.includes("/") || RESERVED.has(segment.toLowerCase()) || !SLUG_RE.test(segment)) return null;
    return { server: entry.server, slug: segment, url: `${entry.server}/${segment}` };
  }
  return null;
}

/** Strip the fragment; the server knows articles, not places in them. */
export function lookupKey(href) {
  const url = parse(href);
  if (!url || !isHttp(url)) return null;
  url.hash = "";
  return url.href;
}

/**
 * True when `href` leads to the page at `pageUrl` itself, whatever its query
 * and fragment: same origin and path. Such links often carry the page's own
 * query (a session, a secret token), so they are never looked up.
 */
export function isSamePage(href, pageUrl) {
  const a = parse(href);
  const b = parse(pageUrl);
  return Boolean(a && b && a.origin === b.origin && a.pathname === b.pathname);
}

/**
 * Decide what a hovered link means under the given settings:
 * `{server, url, kind: "short"}` for a short link (ask that server),
 * `{server: null, url, kind: "known"}` for any other link in mode "known"
 * (ask every configured server), or null when it costs nothing.
 * `pageUrl` is only compared against, never returned: a link to the page
 * itself (any query) is not looked up, so the page's own address never leaves.
 */
export function classifyLink(href, { compiled, mode, pageUrl }) {
  const short = matchShortLink(href, compiled);
  if (short) return { server: short.server, url: short.url, kind: "short" };
  if (mode !== "known" || !compiled || compiled.length === 0) return null;
  const key = lookupKey(href);
  if (!key) return null;
  if (pageUrl && isSamePage(key, pageUrl)) return null;
  return { server: null, url: key, kind: "known" };
}

/** True when `hostname` is listed (exactly or as a parent domain) in `disabledSites`. */
export function isSiteDisabled(hostname, disabledSites) {
  if (!hostname) return false;
  const host = hostname.toLowerCase().replace(/\.$/, "");
  for (const raw of disabledSites || []) {
    if (typeof raw !== "string") continue;
    let site = raw.trim().toLowerCase();
    if (!site) continue;
    if (site.includes("://")) {
      const url = parse(site);
      if (!url) continue;
      site = url.hostname;
    }
    site = site.replace(/^\*\./, "").replace(/^\.+|\.+$/g, "");
    if (host === site || host.endsWith(`.${site}`)) return true;
  }
  return false;
}
