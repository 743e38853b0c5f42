// Options page: edits `settings`, asks for each server's origin at runtime
// (optional_host_permissions) and checks `<server>/healthz` before saving.

import { normalizeServer, originPattern } from "../lib/matcher.js";
import { normalizeSettings, SETTINGS_KEY } from "../lib/settings.js";

const api = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);
const t = (key, subs) => api.i18n.getMessage(key, subs) || key;

for (const node of document.querySelectorAll("[data-i18n]")) {
  const text = api.i18n.getMessage(node.dataset.i18n);
  if (text) node.textContent = text;
}
document.documentElement.lang = api.i18n.getUILanguage().split("-")[0];

function lines(value) {
  return value
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);
}

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function load() {
  const stored = await api.storage.local.get(SETTINGS_KEY);
  const s = normalizeSettings(stored[SETTINGS_KEY]);
  $("servers").value = s.servers.join("\n");
  $("disabled").value = s.disabledSites.join("\n");
  for (const radio of document.querySelectorAll("input[name=mode]")) radio.checked = radio.value === s.mode;
  $("delay-fetch").value = s.delays.fetch;
  $("delay-show").value = s.delays.show;
  $("delay-hide").value = s.delays.hide;
}

async function healthy(server) {
  try {
    const response = await fetch(`${server}/healthz`, {
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      signal: AbortSignal.timeout(8000),
    });
    return response.status === 200;
  } catch {
    return false;
  }
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const servers = [];
  for (const line of lines($("servers").value)) {
    const server = normalizeServer(line);
    if (!server) return status(t("optionsInvalidServer", [line]), true);
    if (!servers.includes(server)) servers.push(server);
  }
  const next = normalizeSettings({
    servers,
    mode: document.querySelector("input[name=mode]:checked")?.value,
    disabledSites: lines($("disabled").value),
    delays: { fetch: $("delay-fetch").value, show: $("delay-show").value, hide: $("delay-hide").value },
  });
  // permissions.request must be called straight from the user's gesture, before any await.
  const origins = [...new Set(servers.map(originPattern))];
  const asked = origins.length ? api.permissions.request({ origins }) : Promise.resolve(true);
  status(t("optionsChecking"));
  asked
    .then(async (granted) => {
      if (!granted) return status(t("optionsPermissionRefused"), true);
      for (const server of servers) {
        if (!(await healthy(server))) return status(t("optionsServerDown", [server]), true);
      }
      await api.storage.local.set({ [SETTINGS_KEY]: next });
      await load();
      return status(t("optionsSaved"));
    })
    .catch((error) => status(String(error?.message || error), true));
});

load();
