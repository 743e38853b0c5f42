// The background worker: the only part of Balise that talks to a server, and
// only to configured ones. It receives link URLs from content scripts (never
// the page's URL), answers from its cache or batches the look-ups, and aborts
// requests for hovers the user abandoned.

import { LookupClient } from "./lib/lookup.js";
import { compileServers, lookupKey, matchShortLink } from "./lib/matcher.js";
import { normalizeSettings, SETTINGS_KEY } from "./lib/settings.js";

const api = globalThis.browser ?? globalThis.chrome;
const MAX_URL_LENGTH = 2048;
const MAX_ALSO = 99;

const client = new LookupClient({ fetch: (url, init) => fetch(url, init) });
const inflight = new Map(); // request key -> AbortController
let settingsPromise = null;

function settings() {
  settingsPromise ??= api.storage.local.get(SETTINGS_KEY).then((r) => normalizeSettings(r[SETTINGS_KEY]));
  return settingsPromise;
}

api.storage.onChanged.addListener((changes, area) => {
  if (area !== "local" || !changes[SETTINGS_KEY]) return;
  settingsPromise = null;
  client.cache.clear();
});

function requestKey(sender, message) {
  return `${sender.tab?.id ?? "-"}:${sender.frameId ?? 0}:${message.instance}:${message.token}`;
}

function cleanUrl(value) {
  if (typeof value !== "string" || value.length > MAX_URL_LENGTH) return null;
  return lookupKey(value);
}

async function lookup(message, signal) {
  const { servers, mode } = await settings();
  const compiled = compileServers(servers);
  const url = cleanUrl(message.url);
  if (!url || compiled.length === 0) return null;

  if (message.kind === "short") {
    const short = matchShortLink(url, compiled);
    return short ? client.get(short.server, short.url, signal) : null;
  }
  if (message.kind !== "known" || mode !== "known") return null;
  const also = (Array.isArray(message.also) ? message.also : [])
    .slice(0, MAX_ALSO)
    .map(cleanUrl)
    .filter((u) => u && u !== url && !matchShortLink(u, compiled));
  for (const { server } of compiled) {
    const answer = client.get(server, url, signal); // queued first: the hovered link leads the batch
    if (also.length) client.prefetch(server, also);
    const summary = await answer;
    if (summary) return summary;
  }
  return null;
}

api.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender.id !== api.runtime.id || !message || typeof message !== "object") return false;
  const key = requestKey(sender, message);
  if (message.type === "abort") {
    inflight.get(key)?.abort();
    inflight.delete(key);
    return false;
  }
  if (message.type !== "lookup") return false;
  const controller = new AbortController();
  inflight.set(key, controller);
  lookup(message, controller.signal)
    .then(
      (summary) => sendResponse({ summary: summary ?? null }),
      (error) => sendResponse({ error: error?.name === "AbortError" ? "aborted" : "failed" }),
    )
    .finally(() => {
      if (inflight.get(key) === controller) inflight.delete(key);
    });
  return true; // answered asynchronously
});
