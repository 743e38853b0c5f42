// The content script proper. One set of capture-phase listeners on the
// document; no page scans; a link that matches nothing costs a few property
// reads. The timing lives in HoverMachine, the card in lib/card.js, the
// geometry in lib/layout.js; this file wires them to the DOM and the worker.

import { buildCard, CARD_CSS, cardModel } from "../lib/card.js";
import { HoverMachine } from "../lib/hover.js";
import { cardWidth, pickRect, placeCard } from "../lib/layout.js";
import { classifyLink, compileServers, isSiteDisabled, lookupKey, matchShortLink } from "../lib/matcher.js";
import { normalizeSettings, SETTINGS_KEY } from "../lib/settings.js";

const api = globalThis.browser ?? globalThis.chrome;
const instance = Math.random().toString(36).slice(2, 10);
const CARD_ID = `balise-card-${instance}`;
const MAX_ALSO = 99; // with the hovered link: one batch of at most 100

let settings = normalizeSettings(undefined);
let compiled = [];
let hosts = new Set();
let listening = false;

let pointerLink = null; // the candidate link under the pointer
let focusLink = null; // the candidate link with keyboard focus
let onCard = false;
let pointer = null; // {x, y} where the pointer entered the link
const sentKeys = new Set(); // mode "known": URLs already asked about from this page

const machine = new HoverMachine({
  delays: settings.delays,
  effects: { fetch: startLookup, abort: abortLookup, show: showCard, hide: hideCard },
});

export async function start() {
  const stored = await api.storage.local.get(SETTINGS_KEY);
  apply(normalizeSettings(stored[SETTINGS_KEY]));
  api.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && changes[SETTINGS_KEY]) apply(normalizeSettings(changes[SETTINGS_KEY].newValue));
  });
}

function apply(next) {
  machine.cancel();
  settings = next;
  compiled = compileServers(next.servers);
  hosts = new Set(compiled.map((c) => c.host));
  machine.setDelays(next.delays);
  const on = compiled.length > 0 && !isSiteDisabled(location.hostname, next.disabledSites);
  if (on !== listening) listen(on);
}

const LISTENERS = [
  ["pointerover", onPointerOver],
  ["pointerout", onPointerOut],
  ["focusin", onFocusIn],
  ["focusout", onFocusOut],
  ["keydown", onKeyDown],
  ["visibilitychange", () => document.hidden && machine.cancel()],
];

function listen(on) {
  listening = on;
  for (const [type, fn] of LISTENERS) {
    if (on) document.addEventListener(type, fn, { capture: true, passive: true });
    else document.removeEventListener(type, fn, { capture: true, passive: true });
  }
}

// ---- what is under the pointer or the focus -------------------------------

const described = new WeakMap(); // link -> {href, info}

/** `{server, url, kind}` when this link is worth a look-up, else null. Cheap for the rest. */
function describe(link) {
  const href = link.href;
  const seen = described.get(link);
  if (seen && seen.href === href) return seen.info;
  let info = null;
  if (settings.mode === "known" ? /^https?:/.test(href) : hosts.has(link.host)) {
    info = classifyLink(href, { compiled, mode: settings.mode, pageUrl: location.href });
  }
  described.set(link, { href, info });
  return info;
}

/** Walk the composed path once: the card host, or the nearest link with an href. */
function hitTest(event) {
  const path = event.composedPath();
  for (const node of path) {
    if (node === host) return { card: true, link: null };
    if (node.nodeType !== 1) continue;
    const name = node.localName;
    if ((name === "a" || name === "area") && typeof node.href === "string" && node.href) {
      return { card: false, link: describe(node) ? node : null };
    }
  }
  return { card: false, link: null };
}

function onPointerOver(event) {
  if (event.pointerType === "touch") return;
  const hit = hitTest(event);
  if (hit.card) {
    if (pointerLink) machine.leave(pointerLink, "pointer");
    pointerLink = null;
    if (!onCard) machine.enterCard();
    onCard = true;
    return;
  }
  if (onCard) {
    onCard = false;
    machine.leaveCard();
  }
  if (hit.link === pointerLink) return;
  if (pointerLink) machine.leave(pointerLink, "pointer");
  pointerLink = hit.link;
  if (pointerLink) {
    pointer = { x: event.clientX, y: event.clientY };
    machine.enter(pointerLink, "pointer");
  }
}

function onPointerOut(event) {
  if (event.relatedTarget !== null || event.pointerType === "touch") return;
  // Left the window (or into a frame).
  if (pointerLink) machine.leave(pointerLink, "pointer");
  pointerLink = null;
  if (onCard) machine.leaveCard();
  onCard = false;
}

function onFocusIn(event) {
  const hit = hitTest(event);
  if (hit.card || !hit.link || hit.link === focusLink) return;
  // Only keyboard focus: a mouse click also focuses the link, and must not pin the card.
  if (!matchesFocusVisible(hit.link)) return;
  if (focusLink) machine.leave(focusLink, "focus");
  focusLink = hit.link;
  machine.enter(focusLink, "focus");
}

function onFocusOut() {
  if (!focusLink) return;
  const link = focusLink;
  focusLink = null;
  machine.leave(link, "focus");
}

function onKeyDown(event) {
  // The page still sees the key: we neither stop it nor prevent its default.
  if (event.key === "Escape" || event.key === "Esc") machine.escape();
}

function matchesFocusVisible(link) {
  try {
    return link.matches(":focus-visible");
  } catch {
    return true;
  }
}

// ---- talking to the worker -------------------------------------------------

let titleLink = null;
let savedTitle = null;

function startLookup(link, token) {
  const info = describe(link);
  if (!info) {
    machine.answer(token, null);
    return;
  }
  suppressTitle(link);
  const message = { type: "lookup", instance, token, url: info.url, kind: info.kind, server: info.server };
  // A link outside the batches sent so far brings the next batch of the page's links along.
  if (info.kind === "known" && !sentKeys.has(info.url)) message.also = collectAlso(info.url);
  api.runtime.sendMessage(message).then(
    (response) => {
      if (response && "summary" in response) {
        const accepted = machine.answer(token, response.summary);
        if (accepted && !response.summary) restoreTitle();
      } else if (response?.error !== "aborted") {
        if (machine.answer(token, null)) restoreTitle();
      }
    },
    () => {
      if (machine.answer(token, null)) restoreTitle();
      if (!api.runtime?.id) teardown();
    },
  );
}

function abortLookup(link, token) {
  restoreTitle();
  api.runtime.sendMessage({ type: "abort", instance, token }).catch(() => {});
}

/**
 * Mode "known": the other links of the page to ask about in the same batch,
 * those in view first, each URL once per page, never the page's own URL.
 */
function collectAlso(hovered) {
  sentKeys.add(hovered);
  const pageKey = lookupKey(location.href);
  const inView = [];
  const rest = [];
  const seen = new Set();
  const vh = window.innerHeight;
  for (const a of document.links) {
    if (inView.length >= MAX_ALSO) break;
    const href = a.href;
    if (typeof href !== "string" || !/^https?:/.test(href)) continue;
    const key = lookupKey(href);
    if (!key || seen.has(key) || sentKeys.has(key) || key === pageKey || matchShortLink(key, compiled)) continue;
    seen.add(key);
    const r = a.getBoundingClientRect();
    if (r.bottom > 0 && r.top < vh && (r.width > 0 || r.height > 0)) inView.push(key);
    else if (rest.length < MAX_ALSO) rest.push(key);
  }
  const out = inView.concat(rest).slice(0, MAX_ALSO);
  for (const key of out) sentKeys.add(key);
  return out;
}

function teardown() {
  machine.cancel();
  listen(false);
}

// ---- the card ----------------------------------------------------------------

let host = null;
let cardNode = null;
let anchor = null; // {link, source}
let savedDescribedBy = null;
let sheet = null;
let frame = 0;

function suppressTitle(link) {
  restoreTitle();
  if (!link.hasAttribute("title")) return;
  titleLink = link;
  savedTitle = link.getAttribute("title");
  link.removeAttribute("title");
}

function restoreTitle() {
  if (titleLink && savedTitle !== null && !titleLink.hasAttribute("title")) {
    titleLink.setAttribute("title", savedTitle);
  }
  titleLink = null;
  savedTitle = null;
}

function styleHost(el) {
  const set = (name, value) => el.style.setProperty(name, value, "important");
  set("all", "initial");
  set("position", "fixed");
  set("z-index", "2147483647");
  set("display", "block");
  set("left", "0px");
  set("top", "0px");
  set("margin", "0");
  set("padding", "0");
  set("border", "0");
  set("transform", "none");
  set("visibility", "hidden");
  set("pointer-events", "auto");
}

function adoptStyles(root) {
  try {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CARD_CSS);
    }
    root.adoptedStyleSheets = [sheet];
    return;
  } catch {
    // Older engines: a <style> element works too (CSSOM-created, no markup parsed).
  }
  const style = document.createElement("style");
  style.textContent = CARD_CSS;
  root.appendChild(style);
}

function showCard(link, data, source) {
  const model = cardModel(data);
  if (!model) return;
  removeCard();
  host = document.createElement("balise-card");
  host.id = CARD_ID;
  host.setAttribute("role", "tooltip");
  styleHost(host);
  const shadow = host.attachShadow({ mode: "closed" });
  adoptStyles(shadow);
  cardNode = buildCard(document, model, { idPrefix: CARD_ID, onToggle: () => position() });
  shadow.appendChild(cardNode);
  const root = link.getRootNode();
  (root && root.nodeType === 11 ? root : document.documentElement).appendChild(host);
  anchor = { link, source };
  position();
  host.style.setProperty("visibility", "visible", "important");

  savedDescribedBy = link.getAttribute("aria-describedby");
  link.setAttribute("aria-describedby", savedDescribedBy ? `${savedDescribedBy} ${CARD_ID}` : CARD_ID);
  if (titleLink !== link) suppressTitle(link);
  document.addEventListener("scroll", onViewportChange, { capture: true, passive: true });
  window.addEventListener("resize", onViewportChange, { passive: true });
}

function hideCard() {
  removeCard();
  restoreTitle();
}

function removeCard() {
  if (anchor) {
    const { link } = anchor;
    if (savedDescribedBy) link.setAttribute("aria-describedby", savedDescribedBy);
    else link.removeAttribute("aria-describedby");
  }
  host?.remove();
  host = null;
  cardNode = null;
  anchor = null;
  savedDescribedBy = null;
  onCard = false;
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  document.removeEventListener("scroll", onViewportChange, { capture: true, passive: true });
  window.removeEventListener("resize", onViewportChange, { passive: true });
}

function viewportSize() {
  const de = document.documentElement;
  const standards = document.compatMode === "CSS1Compat" && de.clientWidth > 0;
  return {
    width: standards ? de.clientWidth : window.innerWidth,
    height: standards ? de.clientHeight : window.innerHeight,
  };
}

/** Place the card beside its link; false when the link is gone from view. */
function position() {
  if (!host || !anchor) return false;
  const { link, source } = anchor;
  if (!link.isConnected) return false;
  const viewport = viewportSize();
  const rect = pickRect(link.getClientRects(), source === "pointer" ? pointer : null);
  if (!rect || rect.bottom < 0 || rect.top > viewport.height || rect.right < 0 || rect.left > viewport.width) {
    return false;
  }
  const width = cardWidth(viewport.width);
  host.style.setProperty("width", `${width}px`, "important");
  host.style.setProperty("max-height", "none", "important");
  const height = cardNode.getBoundingClientRect().height;
  const pos = placeCard({
    link: rect,
    card: { width, height },
    viewport,
    pointerX: source === "pointer" && pointer ? pointer.x : null,
    source,
  });
  host.style.setProperty("left", `${pos.left}px`, "important");
  host.style.setProperty("top", `${pos.top}px`, "important");
  host.style.setProperty("width", `${pos.width}px`, "important");
  host.style.setProperty("max-height", `${pos.maxHeight}px`, "important");
  host.dataset.placement = pos.placement;
  return true;
}

function onViewportChange() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    // The pointer position is stale once the page moves: follow the link instead.
    pointer = null;
    if (!position()) machine.cancel();
  });
}
