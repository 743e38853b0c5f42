// Keyboard access to the card. Pure: given a key and where the focus is, say
// what to do; src/content/card-view.js does it.
//
// The card is a non-modal dialog (WAI-ARIA: role "dialog", named, not modal).
// It sits in the focus order right after its link, as an HTML popover sits
// after its invoker:
//   link --Tab--> first control of the card ... last control --Tab--> what follows the link
//   first control --Shift+Tab--> link
//   Escape anywhere in the card or on the link: close; focus back on the link
// The page's own Tab order is untouched when no card is open.

/**
 * What a keydown does. `where` is "link" (focus on the card's link), "card"
 * (on one of its controls) or anything else; `index` and `count` place the
 * focused control among the card's controls. Returns "enter", "link",
 * "after", "close" or null (let the browser and the page have the key).
 */
export function cardKey(event, { where, open, index = -1, count = 0 }) {
  if (!open || event.altKey || event.ctrlKey || event.metaKey) return null;
  if (event.key === "Escape" || event.key === "Esc") return where === "link" || where === "card" ? "close" : null;
  if (event.key !== "Tab") return null;
  if (where === "link") return event.shiftKey || count === 0 ? null : "enter";
  if (where !== "card") return null;
  if (event.shiftKey) return index <= 0 ? "link" : null;
  return index >= count - 1 ? "after" : null;
}

/**
 * The element that follows `link` in `order` (the page's tabbable elements in
 * focus order), skipping `exclude`; when `link` is not in it, the first one
 * after it in the document. Null when nothing follows.
 */
export function followingIn(order, link, exclude = null) {
  const candidates = order.filter((el) => el !== exclude);
  const at = candidates.indexOf(link);
  if (at >= 0) return candidates[at + 1] ?? null;
  const FOLLOWING = 4; // Node.DOCUMENT_POSITION_FOLLOWING
  return candidates.find((el) => link.compareDocumentPosition(el) & FOLLOWING) ?? null;
}
