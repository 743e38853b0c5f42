import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

const esbuild = new URL("../node_modules/esbuild/package.json", import.meta.url);

test(
  "src/content.bundle.js is up to date with the content script's sources (npm run bundle)",
  { skip: !existsSync(esbuild) && "run npm ci first" },
  async () => {
    const { BUNDLE, bundle } = await import("../scripts/bundle.js");
    assert.equal(await readFile(BUNDLE, "utf8"), await bundle());
  },
);

test("the manifest exposes no file to web pages and runs the bundle as the content script", async () => {
  const manifest = JSON.parse(await readFile(new URL("../manifest.json", import.meta.url), "utf8"));
  assert.equal(manifest.web_accessible_resources, undefined);
  assert.deepEqual(
    manifest.content_scripts.map((c) => c.js),
    [["src/content.bundle.js"]],
  );
});

test("the content script touches no storage and knows nothing of the API key", async () => {
  const bundle = await readFile(new URL("../src/content.bundle.js", import.meta.url), "utf8");
  assert.doesNotMatch(bundle, /storage|apiKey|API_KEY/);
});
