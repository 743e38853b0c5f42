// The toolbar popup for marketers: shorten the current tab with the API key
// entered in the options, or show the link it already has. Thin: the API calls
// live in lib/shorten.js. The key is read here (an extension page), sent only
// to its server, and never handed to content scripts.

import { normalizeApiKey, normalizeSettings, API_KEY_KEY, SETTINGS_KEY } from "../lib/settings.js";
import { ApiError, LinksApi, qrUrl, shortenable, summaryEditorUrl } from "../lib/shorten.js";

const api = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);
const t = (key, subs) => api.i18n.getMessage(key, subs) || key;

for (const node of document.querySelectorAll("[data-i18n]")) {
  const text = api.i18n.getMessage(node.dataset.i18n);
  if (text) node.textContent = text;
}
document.documentElement.lang = api.i18n.getUILanguage().split("-")[0];

function show(section) {
  for (const id of ["need-key", "not-web", "shorten", "result"]) $(id).hidden = id !== section;
}

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

function explain(error, server) {
  const kind = error instanceof ApiError ? error.kind : "failed";
  const messages = {
    unauthorized: () => t("popupErrorUnauthorized"),
    forbidden: () => t("popupErrorForbidden"),
    invalid: () => t("popupErrorInvalid", [error.detail]),
    "rate-limited": () => t("popupErrorRateLimited"),
    unreachable: () => t("popupErrorUnreachable", [server]),
  };
  status((messages[kind] ?? (() => t("popupErrorFailed", [error.detail || String(error)])))(), true);
}

/**
 * The tab to shorten: the active tab behind the toolbar popup. Opened as a page of
 * its own (popup.html in a tab), the tab the user was on just before it.
 */
async function targetTab() {
  const self = await api.tabs.getCurrent();
  if (!self) return (await api.tabs.query({ active: true, currentWindow: true }))[0];
  const others = (await api.tabs.query({})).filter((tab) => tab.id !== self.id);
  others.sort((a, b) => (b.lastAccessed ?? 0) - (a.lastAccessed ?? 0));
  return others[0];
}

async function showLink(client, link, note) {
  show("result");
  $("result-note").textContent = note;
  $("short-url").value = link.short_url;
  $("qr").src = qrUrl(link.short_url);
  $("qr").alt = t("popupQrAlt", [link.short_url]);
  $("edit-summary").href = summaryEditorUrl(client.server, link.slug);
  $("clicks").textContent = "";
  try {
    $("clicks").textContent = t("popupClicks", [String(await client.clickTotal(link))]);
  } catch {
    // A viewer key cannot fail here, an editor key neither; the count is a nicety anyway.
  }
}

async function main() {
  const stored = await api.storage.local.get([SETTINGS_KEY, API_KEY_KEY]);
  const { servers } = normalizeSettings(stored[SETTINGS_KEY]);
  const saved = normalizeApiKey(stored[API_KEY_KEY], servers);
  if (!saved) return show("need-key");
  const client = new LinksApi({ server: saved.server, key: saved.key, fetch: (url, init) => fetch(url, init) });
  const tab = await targetTab();
  if (!tab || !shortenable(tab.url, saved.server)) return show("not-web");

  status(t("popupLooking"));
  let existing;
  try {
    existing = await client.findLink(tab.url);
  } catch (error) {
    return explain(error, saved.server);
  }
  status("");
  if (existing) return showLink(client, existing, t("popupExisting"));

  show("shorten");
  $("page-title").textContent = tab.title || tab.url;
  $("shorten-button").addEventListener("click", async () => {
    $("shorten-button").disabled = true;
    status(t("popupCreating"));
    try {
      const link = await client.createLink(tab.url, tab.title);
      status("");
      await showLink(client, link, t("popupCreated"));
      $("copy").focus();
    } catch (error) {
      $("shorten-button").disabled = false;
      explain(error, saved.server);
    }
  });
}

$("open-options").addEventListener("click", () => api.runtime.openOptionsPage());
$("copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("short-url").value);
    status(t("popupCopied"));
  } catch {
    $("short-url").select();
    status(t("popupCopyFailed"), true);
  }
});

main().catch((error) => status(String(error?.message || error), true));
