import assert from "node:assert/strict";
import { test } from "node:test";
import { GAP, MARGIN, cardWidth, pickRect, placeCard } from "../src/lib/layout.js";

const viewport = { width: 1280, height: 800 };
const card = { width: 320, height: 200 };
const rect = (left, top, width = 80, height = 18) => ({ left, top, right: left + width, bottom: top + height, width, height });

function inside(pos, size, vp) {
  assert.ok(pos.left >= MARGIN, `left ${pos.left}`);
  assert.ok(pos.top >= MARGIN, `top ${pos.top}`);
  assert.ok(pos.left + pos.width <= vp.width - MARGIN, `right ${pos.left + pos.width}`);
  assert.ok(pos.top + Math.min(size.height, pos.maxHeight) <= vp.height - MARGIN, `bottom ${pos.top}`);
}

test("the card is about 320 px wide and never more than 90vw", () => {
  assert.equal(cardWidth(1280), 320);
  assert.equal(cardWidth(300), 270);
  assert.equal(cardWidth(100), 84);
});

test("by default the card goes below the link, at the pointer", () => {
  const pos = placeCard({ link: rect(100, 100), card, viewport, pointerX: 130 });
  assert.deepEqual(pos, { left: 130, top: 118 + GAP, width: 320, maxHeight: 200, placement: "below" });
});

test("keyboard focus places it below the link at the link's left edge", () => {
  const pos = placeCard({ link: rect(100, 100), card, viewport, pointerX: 500, source: "focus" });
  assert.equal(pos.left, 100);
  assert.equal(pos.placement, "below");
});

test("bottom edge: it flips above the link", () => {
  const link = rect(100, 700);
  const pos = placeCard({ link, card, viewport, pointerX: 110 });
  assert.equal(pos.placement, "above");
  assert.equal(pos.top, 700 - GAP - 200);
  inside(pos, card, viewport);
});

test("right edge: it flips to end at the pointer", () => {
  const pos = placeCard({ link: rect(1150, 100, 120), card, viewport, pointerX: 1200 });
  assert.equal(pos.left, 1200 - 320);
  inside(pos, card, viewport);
});

test("right edge with keyboard: it ends at the link's right edge", () => {
  const pos = placeCard({ link: rect(1100, 100, 100), card, viewport, source: "focus" });
  assert.equal(pos.left, 1200 - 320);
});

test("left edge: a link partly off-screen keeps the card inside", () => {
  const pos = placeCard({ link: rect(-60, 100), card, viewport, pointerX: 5 });
  assert.equal(pos.left, MARGIN);
  inside(pos, card, viewport);
});

test("top edge: a link partly above the viewport keeps the card inside", () => {
  const pos = placeCard({ link: rect(100, -30), card, viewport, pointerX: 110 });
  assert.equal(pos.placement, "below");
  assert.equal(pos.top, MARGIN);
  inside(pos, card, viewport);
});

test("narrow viewport: the card shrinks to 90vw and is clamped", () => {
  const vp = { width: 300, height: 600 };
  const pos = placeCard({ link: rect(200, 100), card, viewport: vp, pointerX: 250 });
  assert.equal(pos.width, 270);
  inside(pos, card, vp);
});

test("no room on either side: the larger side, scrolling inside what is left", () => {
  const vp = { width: 1280, height: 400 };
  const tall = { width: 320, height: 600 };
  const pos = placeCard({ link: rect(100, 250), card: tall, viewport: vp, pointerX: 100 });
  assert.equal(pos.placement, "above");
  assert.equal(pos.maxHeight, 250 - GAP - MARGIN);
  inside(pos, tall, vp);
});

test("a sliver of room is not used: the card covers the link instead", () => {
  const vp = { width: 1280, height: 300 };
  const tall = { width: 320, height: 600 };
  const pos = placeCard({ link: rect(100, 100, 80, 100), card: tall, viewport: vp, pointerX: 100 });
  assert.equal(pos.maxHeight, 300 - 2 * MARGIN);
  inside(pos, tall, vp);
});

test("the line box under the pointer is picked for a wrapped link", () => {
  const rects = [rect(900, 100, 300), rect(0, 120, 200)];
  assert.equal(pickRect(rects, { x: 50, y: 125 }), rects[1]);
  assert.equal(pickRect(rects, null), rects[0]);
  assert.equal(pickRect([], null), null);
});
