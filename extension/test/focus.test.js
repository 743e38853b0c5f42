import assert from "node:assert/strict";
import { test } from "node:test";
import { cardKey, followingIn } from "../src/lib/focus.js";

const tab = { key: "Tab" };
const shiftTab = { key: "Tab", shiftKey: true };
const esc = { key: "Escape" };

test("Tab on the link of an open card goes into the card; Shift+Tab goes back as usual", () => {
  assert.equal(cardKey(tab, { where: "link", open: true, count: 3 }), "enter");
  assert.equal(cardKey(shiftTab, { where: "link", open: true, count: 3 }), null);
  assert.equal(cardKey(tab, { where: "link", open: false, count: 3 }), null, "no card: the page's Tab");
  assert.equal(cardKey(tab, { where: "link", open: true, count: 0 }), null, "nothing to focus in it");
  assert.equal(cardKey(tab, { where: "page", open: true, count: 3 }), null);
});

test("inside the card, Tab moves through the controls and leaves after the last one", () => {
  const at = (index) => ({ where: "card", open: true, index, count: 3 });
  assert.equal(cardKey(tab, at(0)), null, "the browser moves within the card");
  assert.equal(cardKey(tab, at(1)), null);
  assert.equal(cardKey(tab, at(2)), "after");
  assert.equal(cardKey(shiftTab, at(2)), null);
  assert.equal(cardKey(shiftTab, at(0)), "link");
});

test("Escape closes from the link or the card; other keys and modifiers are the page's", () => {
  assert.equal(cardKey(esc, { where: "card", open: true, index: 1, count: 3 }), "close");
  assert.equal(cardKey({ key: "Esc" }, { where: "link", open: true }), "close");
  assert.equal(cardKey(esc, { where: "page", open: true }), null);
  assert.equal(cardKey({ key: "Enter" }, { where: "card", open: true, index: 0, count: 3 }), null);
  assert.equal(cardKey({ key: "Tab", ctrlKey: true }, { where: "link", open: true, count: 3 }), null);
  assert.equal(cardKey({ key: "Tab", altKey: true }, { where: "card", open: true, index: 2, count: 3 }), null);
});

/** Elements ordered in the document by `pos`, as compareDocumentPosition sees them. */
function node(pos) {
  return { pos, compareDocumentPosition: (other) => (other.pos > pos ? 4 : 2) };
}

test("leaving the card forward lands on what follows the link in the page's focus order", () => {
  const [a, link, b, c, host] = [1, 2, 3, 4, 5].map(node);
  assert.equal(followingIn([a, link, b, c], link), b);
  assert.equal(followingIn([a, link, host, b], link, host), b, "never the card itself");
  assert.equal(followingIn([a, link], link), null);
  // A link taken out of the order (tabindex=-1): the first tabbable after it in the document.
  assert.equal(followingIn([a, b, c], link), b);
});
