import assert from "node:assert/strict";
import { test } from "node:test";
import { buildCard, cardModel, domainOf, paragraphs, safeHttpUrl, strings } from "../src/lib/card.js";
import { byClass, fakeDocument } from "./fake-dom.js";

const summary = {
  slug: "dsk42",
  short_url: "https://s.example.org/dsk42",
  target_url: "https://www.lemonde.fr/article",
  lang: "fr",
  title: "Le titre",
  teaser: "Une phrase d'accroche.",
  recap: "Premier paragraphe.\n\nSecond paragraphe\nsur deux lignes.",
  neutral: null,
  example: "",
  optimistic: "Espoir.",
  source_url: null,
  origin: "author",
  updated_at: "2024-01-01T00:00:00Z",
};

test("headings are localised from the summary's language", () => {
  assert.equal(strings("fr").recap, "Récapitulatif factuel");
  assert.equal(strings("fr").neutral, "Point de vue neutre");
  assert.equal(strings("fr").example, "Exemple");
  assert.equal(strings("fr").optimistic, "Point de vue optimiste");
  assert.equal(strings("fr").pessimistic, "Point de vue pessimiste");
  assert.equal(strings("fr").source_url, "Article en référence");
  assert.equal(strings("en").recap, "Factual recap");
  assert.equal(strings("en").neutral, "Neutral view");
  assert.equal(strings("en").example, "Example");
  assert.equal(strings("en").optimistic, "Optimistic view");
  assert.equal(strings("en").pessimistic, "Pessimistic view");
  assert.equal(strings("en").source_url, "Source article");
  assert.equal(strings("en-GB").recap, "Factual recap");
  assert.equal(strings("de").recap, "Factual recap");
  assert.equal(strings(undefined).recap, "Factual recap");
});

test("paragraphs split on blank lines and keep single newlines", () => {
  assert.deepEqual(paragraphs("a\n\nb\nc\n \n\nd"), ["a", "b\nc", "d"]);
  assert.deepEqual(paragraphs(null), []);
  assert.deepEqual(paragraphs("  "), []);
});

test("only http(s) URLs are kept", () => {
  assert.equal(safeHttpUrl("javascript:alert(1)"), null);
  assert.equal(safeHttpUrl("data:text/html,x"), null);
  assert.equal(safeHttpUrl(" https://x.test/a"), "https://x.test/a");
  assert.equal(domainOf("https://www.lemonde.fr/a"), "lemonde.fr");
});

test("the model has title and teaser, present sections in order, source domain and preview link", () => {
  const model = cardModel(summary);
  assert.equal(model.lang, "fr");
  assert.equal(model.title, "Le titre");
  assert.equal(model.teaser, "Une phrase d'accroche.");
  assert.equal(model.domain, "lemonde.fr");
  assert.deepEqual(
    model.sections.map((s) => [s.key, s.heading, s.paragraphs]),
    [
      ["recap", "Récapitulatif factuel", ["Premier paragraphe.", "Second paragraphe\nsur deux lignes."]],
      ["optimistic", "Point de vue optimiste", ["Espoir."]],
    ],
  );
  assert.deepEqual(model.source, {
    heading: "Article en référence",
    url: "https://www.lemonde.fr/article",
    label: "lemonde.fr",
  });
  assert.deepEqual(model.preview, { label: "Aperçu Balise", url: "https://s.example.org/dsk42+" });
});

test("source_url wins over the target; hostile URLs are dropped", () => {
  const model = cardModel({ ...summary, lang: "en", source_url: "https://news.test/x" });
  assert.equal(model.source.url, "https://news.test/x");
  assert.equal(model.source.heading, "Source article");
  const bad = cardModel({ ...summary, source_url: "javascript:alert(1)", target_url: "data:x", short_url: "javascript:1" });
  assert.equal(bad.source, null);
  assert.equal(bad.preview, null);
  assert.equal(bad.domain, null);
});

test("what is not a summary gives no card", () => {
  for (const value of [null, undefined, "x", [], {}, { title: 3 }]) assert.equal(cardModel(value), null);
});

test("very long text is cut", () => {
  const model = cardModel({ ...summary, title: "x".repeat(5000) });
  assert.ok(model.title.length <= 300);
  assert.ok(model.title.endsWith("…"));
});

test("markup from the network stays text: the card is built with textContent only", () => {
  const evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
  const model = cardModel({ ...summary, title: evil, teaser: evil, recap: evil });
  const card = buildCard(fakeDocument, model);
  assert.equal(card.find(byClass("title")).textContent, evil);
  assert.equal(card.find(byClass("teaser")).textContent, evil);
  assert.equal(card.find(byClass("para")).textContent, evil);
  assert.equal(card.findAll((n) => n.tagName === "img" || n.tagName === "script").length, 0);
});

test("sections start closed and open on demand", () => {
  let toggled = null;
  const card = buildCard(fakeDocument, cardModel(summary), { idPrefix: "c1", onToggle: (k, o) => (toggled = [k, o]) });
  assert.equal(card.getAttribute("lang"), "fr");
  const buttons = card.findAll(byClass("toggle"));
  assert.deepEqual(
    buttons.map((b) => b.find(byClass("heading")).textContent),
    ["Récapitulatif factuel", "Point de vue optimiste"],
  );
  const body = card.find((n) => n.getAttribute("id") === "c1-recap");
  assert.equal(body.hidden, true);
  assert.equal(buttons[0].getAttribute("aria-expanded"), "false");
  assert.equal(buttons[0].getAttribute("aria-controls"), "c1-recap");
  buttons[0].listeners.get("click")();
  assert.equal(body.hidden, false);
  assert.equal(buttons[0].getAttribute("aria-expanded"), "true");
  assert.deepEqual(toggled, ["recap", true]);
});

test("the footer links to the source article and the + preview page", () => {
  const card = buildCard(fakeDocument, cardModel(summary));
  const links = card.findAll((n) => n.tagName === "a");
  assert.deepEqual(
    links.map((a) => a.getAttribute("href")),
    ["https://www.lemonde.fr/article", "https://s.example.org/dsk42+"],
  );
  assert.ok(links.every((a) => a.getAttribute("rel") === "noopener noreferrer"));
  assert.equal(links[0].textContent, "Article en référencelemonde.fr");
});

test("no source file parses markup: no innerHTML, outerHTML, insertAdjacentHTML or document.write", async () => {
  const { readdir, readFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const root = new URL("../src/", import.meta.url).pathname;
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith(".js"));
  assert.ok(files.length >= 8);
  for (const file of files) {
    const source = await readFile(join(root, file), "utf8");
    assert.doesNotMatch(source, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment/, file);
  }
});

test("no telemetry: network calls are made only by the worker, the options page and the popup", async () => {
  const { readdir, readFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const root = new URL("../src/", import.meta.url).pathname;
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith(".js"));
  const callers = [];
  for (const file of files) {
    // Comments out (they may name the effects), code in.
    const source = (await readFile(join(root, file), "utf8")).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    if (/(?<![.\w])fetch\(/.test(source)) callers.push(file);
    assert.doesNotMatch(source, /sendBeacon|XMLHttpRequest|WebSocket|EventSource/, file);
  }
  // The worker (look-ups, seen reports), the options page (health and key checks), the popup
  // (the links API with the marketer's key): each only to a configured server.
  assert.deepEqual(callers.sort(), ["background.js", "options/options.js", "popup/popup.js"]);
});

test("the card is named for screen readers after its title, in its language", () => {
  assert.equal(cardModel(summary).label, "Aperçu Balise : Le titre");
  assert.equal(cardModel({ ...summary, lang: "en", title: "A $& title" }).label, "Balise preview: A $& title");
  assert.equal(cardModel({ ...summary, title: undefined }).label, "Aperçu Balise : Une phrase d'accroche.");
});

test("the chevrons are decoration, hidden from screen readers; toggles say what they control", () => {
  const card = buildCard(fakeDocument, cardModel(summary), { idPrefix: "x" });
  const toggles = card.findAll(byClass("toggle"));
  assert.ok(toggles.length > 0);
  for (const toggle of toggles) {
    assert.equal(toggle.find(byClass("chevron")).getAttribute("aria-hidden"), "true");
    assert.equal(toggle.getAttribute("type"), "button");
    assert.match(toggle.getAttribute("aria-controls"), /^x-/);
  }
});

// A link without a summary, answered with its target page's own card (issue 12, item 3).
const pageCard = {
  slug: "sanscarte",
  short_url: "https://s.example.org/sanscarte",
  target_url: "https://www.lemonde.fr/article",
  lang: "fr",
  title: "Le titre de la page",
  teaser: "La description que la page donne d'elle-même.",
  origin: "page",
  updated_at: "2026-01-01T00:00:00Z",
  seen_token: "t",
};

test("a page's own card shows title and teaser, marked as the page's description, no sections", () => {
  const model = cardModel({ ...pageCard, recap: "Jamais montré.", source_url: "https://ailleurs.test/" });
  assert.equal(model.mark, "Description de la page");
  assert.equal(model.title, "Le titre de la page");
  assert.equal(model.teaser, "La description que la page donne d'elle-même.");
  assert.deepEqual(model.sections, []);
  assert.equal(model.source.url, "https://www.lemonde.fr/article");
  assert.equal(cardModel({ ...pageCard, lang: "en" }).mark, "The page's own description");
  assert.equal(cardModel({ ...pageCard, lang: null }).mark, "The page's own description");
  assert.equal(cardModel(summary).mark, null, "a summary carries no mark");

  const card = buildCard(fakeDocument, model);
  const classes = card.children.map((n) => n.getAttribute("class"));
  assert.deepEqual(classes, ["domain", "title", "mark", "teaser", "footer"]);
  assert.equal(card.find(byClass("mark")).textContent, "Description de la page");
  assert.equal(card.findAll(byClass("toggle")).length, 0);
  assert.equal(buildCard(fakeDocument, cardModel(summary)).find(byClass("mark")), null);
});
