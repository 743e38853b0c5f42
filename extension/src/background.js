// The background worker: the only part of Balise that talks to a server for
// content scripts, and only to configured ones. It hands content scripts their
// settings (they read no storage, so never see an API key), receives link URLs
// from them (never the page's URL), answers from its cache or batches the
// look-ups, aborts requests for hovers the user abandoned, and reports a
// preview view when a card was actually shown.

import { LookupClient } from "./lib/lookup.js";
import { compileServers, lookupKey, matchShortLink } from "./lib/matcher.js";
import { normalizeSettings, SETTINGS_KEY } from "./lib/settings.js";

const api = globalThis.browser ?? globalThis.chrome;
const MAX_URL_LENGTH = 2048;
const MAX_ALSO = 99;

const client = new LookupClient({ fetch: (url, init) => fetch(url, init) });
const inflight = new Map(); // request key -> AbortController
let settingsPromise = null;

// Chromium can keep storage.local (where the popup's API key lives) away from content
// scripts altogether; Firefox cannot (it only has this for storage.session), and there
// content scripts simply never read it.
try {
  api.storage.local.setAccessLevel?.({ accessLevel: "TRUSTED_CONTEXTS" })?.catch?.(() => {});
} catch {
  // Not supported for this storage area.
}

function settings() {
  settingsPromise ??= api.storage.local.get(SETTINGS_KEY).then((r) => normalizeSettings(r[SETTINGS_KEY]));
  return settingsPromise;
}

api.storage.onChanged.addListener((changes, area) => {
  if (area !== "local" || !changes[SETTINGS_KEY]) return;
  settingsPromise = null;
  client.cache.clear();
  pushSettings();
});

/** Tell the content scripts of open tabs; tabs without one just fail to answer. */
async function pushSettings() {
  const current = await settings();
  for (const tab of await api.tabs.query({})) {
    api.tabs.sendMessage(tab.id, { type: "settings", settings: current }).catch(() => {});
  }
}

function requestKey(sender, message) {
  return `${sender.tab?.id ?? "-"}:${sender.frameId ?? 0}:${message.instance}:${message.token}`;
}

function cleanUrl(value) {
  if (typeof value !== "string" || value.length > MAX_URL_LENGTH) return null;
  return lookupKey(value);
}

/** `{summary, server}` for a hovered link: the summary (or null) and the server that answered. */
async function lookup(message, signal) {
  const { servers, mode } = await settings();
  const compiled = compileServers(servers);
  const url = cleanUrl(message.url);
  if (!url || compiled.length === 0) return { summary: null };

  if (message.kind === "short") {
    const short = matchShortLink(url, compiled);
    if (!short) return { summary: null };
    return { summary: await client.get(short.server, short.url, signal), server: short.server };
  }
  if (message.kind !== "known" || mode !== "known") return { summary: null };
  const also = (Array.isArray(message.also) ? message.also : [])
    .slice(0, MAX_ALSO)
    .map(cleanUrl)
    .filter((u) => u && u !== url && !matchShortLink(u, compiled));
  for (const { server } of compiled) {
    const answer = client.get(server, url, signal); // queued first: the hovered link leads the batch
    if (also.length) client.prefetch(server, also);
    const summary = await answer;
    if (summary) return { summary, server };
  }
  return { summary: null };
}

/** A card was shown: report its view to the server that answered, if it is still configured. */
async function seen(message) {
  const { servers } = await settings();
  if (typeof message.server === "string" && servers.includes(message.server)) {
    await client.seen(message.server, message.token);
  }
}

function onLookup(message, sender, sendResponse) {
  const key = requestKey(sender, message);
  const controller = new AbortController();
  inflight.set(key, controller);
  lookup(message, controller.signal)
    .then(
      ({ summary, server }) => sendResponse({ summary: summary ?? null, server }),
      (error) => sendResponse({ error: error?.name === "AbortError" ? "aborted" : "failed" }),
    )
    .finally(() => {
      if (inflight.get(key) === controller) inflight.delete(key);
    });
  return true; // answered asynchronously
}

api.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender.id !== api.runtime.id || !message || typeof message !== "object") return false;
  switch (message.type) {
    case "settings":
      settings().then((current) => sendResponse({ settings: current }));
      return true;
    case "lookup":
      return onLookup(message, sender, sendResponse);
    case "abort":
      inflight.get(requestKey(sender, message))?.abort();
      inflight.delete(requestKey(sender, message));
      return false;
    case "seen":
      seen(message).catch(() => {});
      return false;
    default:
      return false;
  }
});
