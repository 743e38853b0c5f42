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
