// The content script proper. One set of capture-phase listeners on the
// document; no page scans; a link that matches nothing costs a few property
// reads. The timing lives in HoverMachine, the card in card-view.js, the
// keyboard plan in lib/focus.js; this file wires them to the DOM and the worker.
//
// It reads no storage: the worker sends it the settings (never an API key).

import { cardKey } from "../lib/focus.js";
import { HoverMachine } from "../lib/hover.js";
import { classifyLink, compileServers, isSamePage, isSiteDisabled, lookupKey, matchShortLink } from "../lib/matcher.js";
import { normalizeSettings } from "../lib/settings.js";
import { CardView } from "./card-view.js";

const api = globalThis.browser ?? globalThis.chrome;
const instance = Math.random().toString(36).slice(2, 10);
const MAX_ALSO = 99; // with the hovered link: one batch of at most 100

let settings = normalizeSettings(undefined);
let compiled = [];
let hosts = new Set();
let listening = false;

let pointerLink = null; // the candidate link under the pointer
let focusLink = null; // the candidate link with keyboard focus
let onCard = false; // the pointer is on the card
let pointer = null; // {x, y} where the pointer entered the link
let quietFocus = false; // focus moved by hideCard: not a user's move
const sentKeys = new Set(); // mode "known": URLs already asked about from this page
const answers = new Map(); // token -> server that answered (for the "seen" report)

const view = new CardView(`balise-card-${instance}`);
const machine = new HoverMachine({
  delays: settings.delays,
  effects: { fetch: startLookup, abort: abortLookup, show: showCard, hide: hideCard },
});

export async function start() {
  api.runtime.onMessage.addListener((message, sender) => {
    if (sender.id === api.runtime.id && message?.type === "settings") apply(normalizeSettings(message.settings));
  });
  // Until the worker answers with the settings, remember where the pointer went: a pointer
  // already resting on a link then gets its card without having to move again.
  let early = null;
  const remember = (event) => {
    early = { path: event.composedPath(), x: event.clientX, y: event.clientY, type: event.pointerType };
  };
  document.addEventListener("pointerover", remember, PASSIVE);
  try {
    const response = await api.runtime.sendMessage({ type: "settings" });
    apply(normalizeSettings(response?.settings));
  } finally {
    document.removeEventListener("pointerover", remember, PASSIVE);
  }
  const target = early?.path.find((node) => node.nodeType === 1);
  if (listening && target?.matches(":hover")) pointerOver(early.path, early.x, early.y, early.type);
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

const PASSIVE = { capture: true, passive: true };
const LISTENERS = [
  ["pointerover", onPointerOver, PASSIVE],
  ["pointerout", onPointerOut, PASSIVE],
  ["focusin", onFocusIn, PASSIVE],
  ["focusout", onFocusOut, PASSIVE],
  // Not passive: Tab into and out of the card replaces the browser's move (and only that).
  ["keydown", onKeyDown, { capture: true }],
  ["visibilitychange", () => document.hidden && machine.cancel(), PASSIVE],
];

function listen(on) {
  listening = on;
  for (const [type, fn, options] of LISTENERS) {
    if (on) document.addEventListener(type, fn, options);
    else document.removeEventListener(type, fn, options);
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
function hitTest(path) {
  if (view.host && path.includes(view.host)) return { card: true, link: null };
  for (const node of path) {
    if (node.nodeType !== 1) continue;
    const name = node.localName;
    if ((name === "a" || name === "area") && typeof node.href === "string" && node.href) {
      return { card: false, link: describe(node) ? node : null };
    }
  }
  return { card: false, link: null };
}

function onPointerOver(event) {
  pointerOver(event.composedPath(), event.clientX, event.clientY, event.pointerType);
}

function pointerOver(path, x, y, pointerType) {
  if (pointerType === "touch") return;
  const hit = hitTest(path);
  if (hit.card) {
    if (pointerLink) machine.leave(pointerLink, "pointer");
    pointerLink = null;
    if (!onCard) machine.enterCard("pointer");
    onCard = true;
    return;
  }
  if (onCard) {
    onCard = false;
    machine.leaveCard("pointer");
  }
  if (hit.link === pointerLink) return;
  if (pointerLink) machine.leave(pointerLink, "pointer");
  pointerLink = hit.link;
  if (pointerLink) {
    pointer = { x, y };
    machine.enter(pointerLink, "pointer");
  }
}

function onPointerOut(event) {
  if (event.relatedTarget !== null || event.pointerType === "touch") return;
  // Left the window (or into a frame).
  if (pointerLink) machine.leave(pointerLink, "pointer");
  pointerLink = null;
  if (onCard) machine.leaveCard("pointer");
  onCard = false;
}

function onFocusIn(event) {
  if (quietFocus) return;
  const hit = hitTest(event.composedPath());
  if (hit.card) {
    // Only keyboard focus holds the card open: after a click on a toggle, leaving with the
    // pointer still closes it.
    if (view.hasFocusVisible()) machine.enterCard("focus");
    return;
  }
  if (!hit.link || hit.link === focusLink) return;
  // Only keyboard focus: a mouse click also focuses the link, and must not pin the card.
  if (!matchesFocusVisible(hit.link)) return;
  focusOn(hit.link);
}

function focusOn(link) {
  if (focusLink === link) return;
  if (focusLink) machine.leave(focusLink, "focus");
  focusLink = link;
  machine.enter(link, "focus");
}

function onFocusOut(event) {
  if (quietFocus) return;
  // Moves between the card's own controls are not seen out here (same shadow root).
  if (view.host && event.composedPath().includes(view.host)) machine.leaveCard("focus");
  if (!focusLink) return;
  const link = focusLink;
  focusLink = null;
  machine.leave(link, "focus");
}

function onKeyDown(event) {
  // The page still sees every key; only Tab into, out of and within the card edges is ours.
  const inCard = view.hasFocus();
  if (inCard) machine.enterCard("focus"); // the keyboard is used in the card: it holds it open
  const onLink = view.link !== null && event.composedPath()[0] === view.link;
  const where = inCard ? "card" : onLink ? "link" : "page";
  const open = view.open;
  const action = cardKey(event, { where, open, index: view.focusedIndex(), count: view.controls().length });
  if (action === "enter") {
    event.preventDefault();
    view.focusFirst();
  } else if (action === "link") {
    event.preventDefault();
    backToLink();
  } else if (action === "after") {
    event.preventDefault();
    const next = view.following();
    if (next) next.focus();
    else backToLink();
  } else if (action === "close" && inCard) {
    backToLink();
    machine.escape();
  } else if (event.key === "Escape" || event.key === "Esc") {
    machine.escape();
  }
}

/** Focus back on the card's link, as the keyboard user left it. */
function backToLink() {
  const link = view.link;
  if (!link) return;
  link.focus({ preventScroll: true });
  focusOn(link); // even where the browser does not count this focus as :focus-visible
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
        if (response.summary) answers.set(token, response.server);
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
 * those in view first, each URL once per page, never a link to the page
 * itself (whatever its query: it may carry the page's secrets).
 */
function collectAlso(hovered) {
  sentKeys.add(hovered);
  const inView = [];
  const rest = [];
  const seen = new Set();
  const vh = window.innerHeight;
  for (const a of document.links) {
    if (inView.length >= MAX_ALSO) break;
    const href = a.href;
    if (typeof href !== "string" || !/^https?:/.test(href)) continue;
    const key = lookupKey(href);
    if (!key || seen.has(key) || sentKeys.has(key) || isSamePage(key, location.href)) continue;
    if (matchShortLink(key, compiled)) continue;
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

function showCard(link, data, source) {
  const server = answers.get(machine.token);
  answers.clear();
  if (!view.show(link, data, source, pointer, () => view.position(pointer))) return;
  // Shown: now, and only now, the server may count a preview view (the token alone goes).
  if (server) api.runtime.sendMessage({ type: "seen", server, token: data.seen_token }).catch(() => {});
  if (titleLink !== link) suppressTitle(link);
  document.addEventListener("scroll", onViewportChange, PASSIVE);
  window.addEventListener("resize", onViewportChange, { passive: true });
}

function hideCard() {
  const hadFocus = view.hasFocus();
  const link = view.link;
  removeCard();
  restoreTitle();
  // Focus was in the card (another link was hovered, the page scrolled it away): do not leave
  // it on <body>. Quietly: this runs inside the machine's own transition.
  if (hadFocus && link?.isConnected) {
    quietFocus = true;
    try {
      link.focus({ preventScroll: true });
    } finally {
      quietFocus = false;
    }
  }
}

function removeCard() {
  view.remove();
  onCard = false;
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  document.removeEventListener("scroll", onViewportChange, PASSIVE);
  window.removeEventListener("resize", onViewportChange, { passive: true });
}

function onViewportChange() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    // The pointer position is stale once the page moves: follow the link instead.
    pointer = null;
    if (!view.position(pointer)) machine.cancel();
  });
}
