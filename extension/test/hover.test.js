import assert from "node:assert/strict";
import { test } from "node:test";
import { HoverMachine, normalizeDelays } from "../src/lib/hover.js";
import { fakeClock } from "./fake-clock.js";

function setup(delays = { fetch: 150, show: 500, hide: 300 }) {
  const clock = fakeClock();
  const log = [];
  const machine = new HoverMachine({
    clock,
    delays,
    effects: {
      fetch: (target, token, source) => log.push(["fetch", target, token, source, clock.now()]),
      abort: (target, token) => log.push(["abort", target, token, clock.now()]),
      show: (target, data, source) => log.push(["show", target, data, source, clock.now()]),
      hide: (target) => log.push(["hide", target, clock.now()]),
    },
  });
  const kinds = () => log.map((e) => e[0]);
  return { clock, log, machine, kinds };
}

test("a pass shorter than the fetch delay sends nothing", () => {
  const { clock, machine, kinds } = setup();
  machine.enter("a");
  clock.tick(149);
  machine.leave("a");
  clock.tick(5000);
  assert.deepEqual(kinds(), []);
  assert.equal(machine.state, "idle");
  assert.equal(clock.pending(), 0);
});

test("the request starts after the fetch delay; the card shows at the show delay when the answer is early", () => {
  const { clock, machine, log } = setup();
  machine.enter("a");
  clock.tick(150);
  assert.deepEqual(log[0].slice(0, 2), ["fetch", "a"]);
  assert.equal(log[0][4], 150);
  const token = log[0][2];
  clock.tick(50);
  assert.equal(machine.answer(token, { title: "T" }), true);
  assert.equal(log.length, 1);
  clock.tick(299);
  assert.equal(log.length, 1);
  clock.tick(1);
  assert.deepEqual(log[1], ["show", "a", { title: "T" }, "pointer", 500]);
});

test("a late answer shows the card as soon as it arrives", () => {
  const { clock, machine, log } = setup();
  machine.enter("a");
  clock.tick(900);
  machine.answer(log[0][2], { title: "T" });
  assert.equal(log[1][0], "show");
  assert.equal(log[1][4], 900);
});

test("leaving after the request started aborts it and drops its late answer", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a");
  clock.tick(200);
  machine.leave("a");
  assert.deepEqual(kinds(), ["fetch", "abort"]);
  assert.equal(machine.answer(log[0][2], { title: "late" }), false);
  clock.tick(5000);
  assert.deepEqual(kinds(), ["fetch", "abort"]);
});

test("an answer for an earlier hover is dropped when another link is hovered", () => {
  const { clock, machine, log } = setup();
  machine.enter("a");
  clock.tick(200);
  const first = log[0][2];
  machine.enter("b");
  clock.tick(200);
  const second = log.find((e) => e[0] === "fetch" && e[1] === "b")[2];
  assert.equal(machine.answer(first, { title: "A" }), false);
  assert.equal(machine.answer(second, { title: "B" }), true);
  clock.tick(500);
  const shows = log.filter((e) => e[0] === "show");
  assert.equal(shows.length, 1);
  assert.equal(shows[0][1], "b");
});

test("the card hides the hide delay after the pointer leaves", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a");
  clock.tick(150);
  machine.answer(log[0][2], {});
  clock.tick(350);
  machine.leave("a");
  clock.tick(299);
  assert.deepEqual(kinds(), ["fetch", "show"]);
  clock.tick(1);
  assert.deepEqual(kinds(), ["fetch", "show", "hide"]);
  assert.equal(log[2][2], 800);
  assert.equal(machine.state, "idle");
});

test("moving onto the card keeps it open; leaving the card hides it", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a");
  clock.tick(150);
  machine.answer(log[0][2], {});
  clock.tick(350);
  machine.leave("a");
  clock.tick(100);
  machine.enterCard();
  clock.tick(10000);
  assert.deepEqual(kinds(), ["fetch", "show"]);
  machine.leaveCard();
  clock.tick(300);
  assert.deepEqual(kinds(), ["fetch", "show", "hide"]);
});

test("coming back to the link from the card keeps it open", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a");
  clock.tick(150);
  machine.answer(log[0][2], {});
  clock.tick(350);
  machine.leave("a");
  machine.enterCard();
  machine.leaveCard();
  clock.tick(100);
  machine.enter("a");
  clock.tick(10000);
  assert.deepEqual(kinds(), ["fetch", "show"]);
});

test("Escape closes at once and the card stays closed until the link is left", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a");
  clock.tick(150);
  machine.answer(log[0][2], {});
  clock.tick(350);
  assert.equal(machine.escape(), true);
  assert.deepEqual(kinds(), ["fetch", "show", "hide"]);
  machine.enter("a");
  clock.tick(5000);
  assert.deepEqual(kinds(), ["fetch", "show", "hide"]);
  assert.equal(machine.escape(), false);
  machine.leave("a");
  machine.enter("a");
  clock.tick(150);
  assert.deepEqual(kinds(), ["fetch", "show", "hide", "fetch"]);
});

test("Escape while loading aborts the request", () => {
  const { clock, machine, kinds } = setup();
  machine.enter("a");
  clock.tick(200);
  machine.escape();
  assert.deepEqual(kinds(), ["fetch", "abort"]);
});

test("an unknown link shows nothing and is not asked again while hovered", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a");
  clock.tick(150);
  machine.answer(log[0][2], null);
  clock.tick(5000);
  machine.enter("a");
  clock.tick(5000);
  assert.deepEqual(kinds(), ["fetch"]);
});

test("keyboard focus opens with source focus and pointer leave does not close it", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a", "focus");
  clock.tick(150);
  assert.equal(log[0][3], "focus");
  machine.answer(log[0][2], {});
  clock.tick(350);
  assert.equal(log[1][3], "focus");
  machine.enter("a", "pointer");
  machine.leave("a", "pointer");
  clock.tick(1000);
  assert.deepEqual(kinds(), ["fetch", "show"]);
  machine.leave("a", "focus");
  clock.tick(300);
  assert.deepEqual(kinds(), ["fetch", "show", "hide"]);
});

test("a visible card hides at once when another link is hovered", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a");
  clock.tick(150);
  machine.answer(log[0][2], {});
  clock.tick(350);
  machine.enter("b");
  assert.deepEqual(kinds(), ["fetch", "show", "hide"]);
});

test("delays come from settings and are clamped", () => {
  assert.deepEqual(normalizeDelays(undefined), { fetch: 150, show: 500, hide: 300 });
  assert.deepEqual(normalizeDelays({ fetch: "20", show: -5, hide: 1e9 }), { fetch: 20, show: 0, hide: 10000 });
  assert.deepEqual(normalizeDelays({ fetch: null, show: "x" }), { fetch: 150, show: 500, hide: 300 });
  const { clock, machine, kinds } = setup({ fetch: 0, show: 0, hide: 0 });
  machine.enter("a");
  clock.tick(0);
  assert.deepEqual(kinds(), ["fetch"]);
});

test("a cleared delay field takes its default, not 0", () => {
  assert.deepEqual(normalizeDelays({ fetch: "", show: "  ", hide: "0" }), { fetch: 150, show: 500, hide: 0 });
});

test("keyboard focus in the card holds it open after the pointer leaves, until focus leaves too", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a", "focus");
  clock.tick(150);
  machine.answer(log[0][2], {});
  clock.tick(350);
  // Tab into the card: focus leaves the link and enters the card.
  machine.leave("a", "focus");
  machine.enterCard("focus");
  machine.enterCard("pointer");
  machine.leaveCard("pointer");
  clock.tick(5000);
  assert.deepEqual(kinds(), ["fetch", "show"]);
  assert.equal(machine.visible, true);
  // Shift+Tab back to the link: the card stays.
  machine.leaveCard("focus");
  machine.enter("a", "focus");
  clock.tick(5000);
  assert.deepEqual(kinds(), ["fetch", "show"]);
  // Focus leaves the link for the page: the card hides after the hide delay.
  machine.leave("a", "focus");
  clock.tick(300);
  assert.deepEqual(kinds(), ["fetch", "show", "hide"]);
  assert.equal(machine.visible, false);
});

test("Escape from inside the card closes it, and focus back on its link does not reopen it", () => {
  const { clock, machine, log, kinds } = setup();
  machine.enter("a", "focus");
  clock.tick(150);
  machine.answer(log[0][2], {});
  clock.tick(350);
  machine.leave("a", "focus");
  machine.enterCard("focus");
  assert.equal(machine.escape(), true);
  machine.enter("a", "focus");
  clock.tick(5000);
  assert.deepEqual(kinds(), ["fetch", "show", "hide"]);
  machine.leave("a", "focus");
  machine.enter("a", "focus");
  clock.tick(500);
  assert.deepEqual(kinds(), ["fetch", "show", "hide", "fetch"]);
});
