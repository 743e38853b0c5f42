import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

const read = async (lang) =>
  JSON.parse(await readFile(new URL(`../_locales/${lang}/messages.json`, import.meta.url), "utf8"));

test("French and English carry the same messages with the same substitutions", async () => {
  const [fr, en] = await Promise.all([read("fr"), read("en")]);
  assert.deepEqual(Object.keys(fr).sort(), Object.keys(en).sort());
  const subs = (m) => (m.match(/\$\d/g) ?? []).sort().join();
  for (const key of Object.keys(en)) {
    assert.equal(subs(fr[key].message), subs(en[key].message), key);
    assert.notEqual(fr[key].message.trim(), "", key);
  }
});

test("every data-i18n key of the extension's pages exists", async () => {
  const en = await read("en");
  for (const page of ["src/options/options.html", "src/popup/popup.html"]) {
    const html = await readFile(new URL(`../${page}`, import.meta.url), "utf8");
    for (const [, key] of html.matchAll(/data-i18n="([^"]+)"/g)) assert.ok(en[key], `${page}: ${key}`);
  }
});
