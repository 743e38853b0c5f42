// The settings shape stored under `settings` in storage.local, with defaults.
// Pure, shared by the worker, the content script and the options page.

import { normalizeDelays } from "./hover.js";
import { normalizeServer } from "./matcher.js";

export const SETTINGS_KEY = "settings";

export const DEFAULT_SETTINGS = Object.freeze({
  servers: [],
  mode: "short",
  disabledSites: [],
  delays: Object.freeze({ fetch: 150, show: 500, hide: 300 }),
});

/** Fill in defaults and drop what is malformed; never throws. */
export function normalizeSettings(raw) {
  const value = raw && typeof raw === "object" ? raw : {};
  const servers = [];
  for (const s of Array.isArray(value.servers) ? value.servers : []) {
    const n = normalizeServer(s);
    if (n && !servers.includes(n)) servers.push(n);
  }
  const disabledSites = (Array.isArray(value.disabledSites) ? value.disabledSites : [])
    .filter((s) => typeof s === "string")
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    servers,
    mode: value.mode === "known" ? "known" : "short",
    disabledSites,
    delays: normalizeDelays(value.delays),
  };
}

// The popup's API key: `{server, key}` under its own storage key, read only by the
// extension's own pages (options, popup); content scripts read no storage at all.
export const API_KEY_KEY = "apiKey";
const KEY_RE = /^[\x21-\x7e]{8,200}$/; // printable ASCII, no spaces (keys look like blz_...)

/** `{server, key}` when `raw` holds a plausible key for one of `servers`, else null. */
export function normalizeApiKey(raw, servers) {
  if (!raw || typeof raw !== "object") return null;
  const server = normalizeServer(raw.server);
  const key = typeof raw.key === "string" ? raw.key.trim() : "";
  if (!server || !KEY_RE.test(key)) return null;
  if (Array.isArray(servers) && !servers.includes(server)) return null;
  return { server, key };
}

/** Whether `key` looks like an API key at all (the server decides if it is one). */
export function isPlausibleKey(key) {
  return typeof key === "string" && KEY_RE.test(key.trim());
}
