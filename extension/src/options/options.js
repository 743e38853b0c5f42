// Options page: edits `settings`, asks for each server's origin at runtime
// (optional_host_permissions), checks `<server>/healthz` before saving, warns
// before using plain http elsewhere than this machine, and keeps the popup's
// API key (checked with its server) under its own storage key.

import { hasScheme, isInsecureServer, normalizeServer, originPattern } from "../lib/matcher.js";
import { API_KEY_KEY, isPlausibleKey, normalizeApiKey, normalizeSettings, SETTINGS_KEY } from "../lib/settings.js";
import { ApiError, LinksApi } from "../lib/shorten.js";

const api = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);
const t = (key, subs) => api.i18n.getMessage(key, subs) || key;
const HEALTH_TIMEOUT_MS = 5000;

for (const node of document.querySelectorAll("[data-i18n]")) {
  const text = api.i18n.getMessage(node.dataset.i18n);
  if (text) node.textContent = text;
}
document.documentElement.lang = api.i18n.getUILanguage().split("-")[0];

let insecureConfirmed = null; // the server list whose plain-http warning was shown once

function lines(value) {
  return value
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);
}

function status(text, kind = "") {
  $("status").textContent = text;
  $("status").classList.toggle("error", kind === "error");
  $("status").classList.toggle("warning", kind === "warning");
}

/** The key's server list follows the servers typed above. */
function fillKeyServers(selected) {
  const select = $("key-server");
  const keep = selected ?? select.value;
  const servers = [...new Set(lines($("servers").value).map(normalizeServer).filter(Boolean))];
  select.replaceChildren(
    ...servers.map((server) => {
      const option = document.createElement("option");
      option.value = server;
      option.textContent = server;
      option.selected = server === keep;
      return option;
    }),
  );
  select.disabled = servers.length === 0;
}

async function load() {
  const stored = await api.storage.local.get([SETTINGS_KEY, API_KEY_KEY]);
  const s = normalizeSettings(stored[SETTINGS_KEY]);
  $("servers").value = s.servers.join("\n");
  $("disabled").value = s.disabledSites.join("\n");
  for (const radio of document.querySelectorAll("input[name=mode]")) radio.checked = radio.value === s.mode;
  $("delay-fetch").value = s.delays.fetch;
  $("delay-show").value = s.delays.show;
  $("delay-hide").value = s.delays.hide;
  const saved = normalizeApiKey(stored[API_KEY_KEY], s.servers);
  fillKeyServers(saved?.server);
  $("api-key").value = saved?.key ?? "";
}

async function healthy(server) {
  try {
    const response = await fetch(`${server}/healthz`, {
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    });
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The form as settings, or an error message naming the first bad line. */
function readForm() {
  const servers = [];
  const typed = new Map(); // server -> the line as typed
  for (const line of lines($("servers").value)) {
    const server = normalizeServer(line);
    if (!server) return { error: t("optionsInvalidServer", [line]) };
    if (!servers.includes(server)) servers.push(server);
    typed.set(server, line);
  }
  const key = $("api-key").value.trim();
  if (key && !isPlausibleKey(key)) return { error: t("optionsKeyInvalid") };
  const keyServer = normalizeServer($("key-server").value);
  if (key && (!keyServer || !servers.includes(keyServer))) return { error: t("optionsKeyNoServer") };
  const next = normalizeSettings({
    servers,
    mode: document.querySelector("input[name=mode]:checked")?.value,
    disabledSites: lines($("disabled").value),
    delays: { fetch: $("delay-fetch").value, show: $("delay-show").value, hide: $("delay-hide").value },
  });
  return { next, typed, apiKey: key ? { server: keyServer, key } : null };
}

/** Check every server, then the key with its server; null when all is well, else the message. */
async function check({ next, typed, apiKey }) {
  for (const server of next.servers) {
    status(t("optionsCheckingServer", [server]));
    if (await healthy(server)) continue;
    const line = typed.get(server);
    if (!hasScheme(line)) return t("optionsServerDownNoScheme", [server, line.replace(/\/+$/, "")]);
    return t("optionsServerDown", [server]);
  }
  if (!apiKey) return null;
  try {
    await new LinksApi({ ...apiKey, fetch: (url, init) => fetch(url, init) }).check();
    return null;
  } catch (error) {
    if (error instanceof ApiError && error.kind === "unauthorized") return t("optionsKeyRefused", [apiKey.server]);
    return t("optionsKeyUnchecked", [apiKey.server, error?.detail || error?.kind || String(error)]);
  }
}

$("servers").addEventListener("input", () => fillKeyServers());

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = readForm();
  if (form.error) return status(form.error, "error");
  const insecure = form.next.servers.filter(isInsecureServer);
  const list = form.next.servers.join("\n");
  if (insecure.length && insecureConfirmed !== list) {
    insecureConfirmed = list;
    return status(t("optionsInsecure", [insecure.join(", ")]), "warning");
  }
  // permissions.request must be called straight from the user's gesture, before any await.
  const origins = [...new Set(form.next.servers.map(originPattern))];
  const asked = origins.length ? api.permissions.request({ origins }) : Promise.resolve(true);
  status(t("optionsChecking"));
  asked
    .then(async (granted) => {
      if (!granted) return status(t("optionsPermissionRefused"), "error");
      const problem = await check(form);
      if (problem) return status(problem, "error");
      await api.storage.local.set({ [SETTINGS_KEY]: form.next });
      if (form.apiKey) await api.storage.local.set({ [API_KEY_KEY]: form.apiKey });
      else await api.storage.local.remove(API_KEY_KEY);
      await load();
      return status(t("optionsSaved"));
    })
    .catch((error) => status(String(error?.message || error), "error"));
});

load();
