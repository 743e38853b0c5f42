// The card on the page: a host element at the end of the document (or of the
// link's shadow root) holding a closed shadow root, placed beside its link and
// kept inside the viewport. It is a non-modal dialog reached with Tab from its
// link (lib/focus.js says which key does what; this file does it).

import { buildCard, CARD_CSS, cardModel } from "../lib/card.js";
import { followingIn } from "../lib/focus.js";
import { cardWidth, pickRect, placeCard } from "../lib/layout.js";
import { tabbable } from "../vendor/tabbable.js";

// The card's shadow root is closed so that pages can neither read nor restyle it. The
// end-to-end tests build a copy with "open" to audit it with axe-core (tests/extension/build.py).
const SHADOW_MODE = "closed";

let sheet = null;

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

function viewportSize() {
  const de = document.documentElement;
  const standards = document.compatMode === "CSS1Compat" && de.clientWidth > 0;
  return {
    width: standards ? de.clientWidth : window.innerWidth,
    height: standards ? de.clientHeight : window.innerHeight,
  };
}

export class CardView {
  /** `id` names the host (the link's aria-describedby points at it). */
  constructor(id) {
    this.id = id;
    this.host = null;
    this.shadow = null;
    this.card = null;
    this.anchor = null; // {link, source}
    this.savedDescribedBy = null;
  }

  get open() {
    return this.host !== null;
  }

  get link() {
    return this.anchor?.link ?? null;
  }

  /** Build and place the card for `link`; false when there is nothing to show. */
  show(link, data, source, pointer, onResize) {
    const model = cardModel(data);
    if (!model) return false;
    this.remove();
    const host = document.createElement("balise-card");
    host.id = this.id;
    host.setAttribute("role", "dialog");
    host.setAttribute("aria-label", model.label);
    styleHost(host);
    this.shadow = host.attachShadow({ mode: SHADOW_MODE });
    adoptStyles(this.shadow);
    this.card = buildCard(document, model, { idPrefix: this.id, onToggle: onResize });
    this.shadow.appendChild(this.card);
    const root = link.getRootNode();
    (root && root.nodeType === 11 ? root : document.documentElement).appendChild(host);
    this.host = host;
    this.anchor = { link, source };
    this.position(pointer);
    host.style.setProperty("visibility", "visible", "important");
    this.savedDescribedBy = link.getAttribute("aria-describedby");
    link.setAttribute("aria-describedby", this.savedDescribedBy ? `${this.savedDescribedBy} ${this.id}` : this.id);
    return true;
  }

  remove() {
    if (this.anchor) {
      const { link } = this.anchor;
      if (this.savedDescribedBy) link.setAttribute("aria-describedby", this.savedDescribedBy);
      else link.removeAttribute("aria-describedby");
    }
    this.host?.remove();
    this.host = null;
    this.shadow = null;
    this.card = null;
    this.anchor = null;
    this.savedDescribedBy = null;
  }

  /** Place the card beside its link; false when the link is gone from view. */
  position(pointer) {
    if (!this.host || !this.anchor) return false;
    const { link, source } = this.anchor;
    if (!link.isConnected) return false;
    const viewport = viewportSize();
    const at = source === "pointer" ? pointer : null;
    const rect = pickRect(link.getClientRects(), at);
    if (!rect || rect.bottom < 0 || rect.top > viewport.height || rect.right < 0 || rect.left > viewport.width) {
      return false;
    }
    const host = this.host;
    const width = cardWidth(viewport.width);
    host.style.setProperty("width", `${width}px`, "important");
    host.style.setProperty("max-height", "none", "important");
    const height = this.card.getBoundingClientRect().height;
    const pos = placeCard({ link: rect, card: { width, height }, viewport, pointerX: at ? at.x : null, source });
    host.style.setProperty("left", `${pos.left}px`, "important");
    host.style.setProperty("top", `${pos.top}px`, "important");
    host.style.setProperty("width", `${pos.width}px`, "important");
    host.style.setProperty("max-height", `${pos.maxHeight}px`, "important");
    host.dataset.placement = pos.placement;
    return true;
  }

  // ---- keyboard -----------------------------------------------------------------

  /** The card's controls in focus order: section toggles, then the footer links. */
  controls() {
    return this.card ? [...this.card.querySelectorAll("button, a[href]")] : [];
  }

  /** Index of the focused control, or -1 when the focus is not in the card. */
  focusedIndex() {
    const active = this.shadow?.activeElement ?? null;
    return active ? this.controls().indexOf(active) : -1;
  }

  hasFocus() {
    return this.shadow?.activeElement != null;
  }

  /** Keyboard focus in the card (a mouse click on a toggle focuses it too, but not visibly). */
  hasFocusVisible() {
    const active = this.shadow?.activeElement;
    if (!active) return false;
    try {
      return active.matches(":focus-visible");
    } catch {
      return true;
    }
  }

  focusFirst() {
    this.controls()[0]?.focus({ preventScroll: true });
  }

  /** The page's next tabbable element after the card's link, or null. */
  following() {
    if (!this.link) return null;
    const order = tabbable(document.documentElement, { getShadowRoot: true });
    return followingIn(order, this.link, this.host);
  }
}
