// Where the card goes. Pure geometry in CSS pixels relative to the viewport
// (what getBoundingClientRect returns and what `position: fixed` takes).

export const CARD_WIDTH = 320;
export const MARGIN = 8; // kept free between the card and the viewport edge
export const GAP = 6; // between the link and the card
const MIN_ROOM = 120; // below this, a scrolling card is too small to read

/** Card width: about 320 px, never more than 90vw, never wider than the viewport allows. */
export function cardWidth(viewportWidth) {
  return Math.max(0, Math.min(CARD_WIDTH, Math.floor(viewportWidth * 0.9), viewportWidth - 2 * MARGIN));
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), Math.max(low, high));
}

/**
 * Place a card of `card` {width, height} for a link box `link` {left, top,
 * right, bottom} inside `viewport` {width, height}.
 * The card goes below the link, left edge at the pointer's x (mouse) or the
 * link's left edge (keyboard); it flips above when it does not fit below and
 * fits (better) above, flips to end at that x when it would cross the right
 * edge, and is clamped inside the margins otherwise. When neither side has
 * room, it takes the larger side and `maxHeight` tells how tall it may be.
 * Returns {left, top, width, maxHeight, placement: "below"|"above"}.
 */
export function placeCard({ link, card, viewport, pointerX = null, source = "pointer" }) {
  const width = Math.min(card.width, cardWidth(viewport.width));
  const height = card.height;
  const vw = viewport.width;
  const vh = viewport.height;

  const roomBelow = vh - MARGIN - (link.bottom + GAP);
  const roomAbove = link.top - GAP - MARGIN;
  let placement = "below";
  if (source !== "focus" && height > roomBelow && (height <= roomAbove || roomAbove > roomBelow)) {
    placement = "above";
  } else if (source === "focus" && height > roomBelow && height <= roomAbove) {
    // Keyboard: below the link when it fits, so the card never covers what comes next by surprise.
    placement = "above";
  }
  const room = Math.max(0, placement === "below" ? roomBelow : roomAbove);
  // Too tall for its side: scroll inside the room there is, or, when that room
  // is too small to read, cover the link rather than show a sliver.
  let maxHeight = height;
  if (height > room) maxHeight = room >= MIN_ROOM ? room : Math.min(height, Math.max(0, vh - 2 * MARGIN));
  const shown = Math.min(height, maxHeight);
  let top = placement === "below" ? link.bottom + GAP : link.top - GAP - shown;
  top = clamp(top, MARGIN, vh - MARGIN - shown);

  const anchorX = source === "focus" || pointerX === null ? link.left : clamp(pointerX, link.left, link.right);
  let left = anchorX;
  if (left + width > vw - MARGIN) {
    // Flip: end the card at the anchor (or the link's right edge) instead of starting there.
    const end = source === "focus" || pointerX === null ? link.right : anchorX;
    left = end - width;
  }
  left = clamp(left, MARGIN, vw - MARGIN - width);

  return {
    left: Math.round(left),
    top: Math.round(top),
    width: Math.round(width),
    maxHeight: Math.round(maxHeight),
    placement,
  };
}

/** The line box of a (possibly wrapped) link that the pointer is on, else its first box. */
export function pickRect(rects, pointer) {
  const list = Array.from(rects || []).filter((r) => r.width > 0 || r.height > 0);
  if (list.length === 0) return null;
  if (pointer) {
    for (const r of list) {
      if (pointer.x >= r.left && pointer.x <= r.right && pointer.y >= r.top && pointer.y <= r.bottom) return r;
    }
  }
  return list[0];
}
