import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { VENDORED } from "../scripts/vendor.js";

const root = new URL("../", import.meta.url).pathname;

for (const [from, to] of VENDORED) {
  const installed = `${root}node_modules/${from}`;
  test(
    `src/vendor/${to} is node_modules/${from}, unchanged`,
    { skip: !existsSync(installed) && "run npm ci first" },
    async () => {
      assert.equal(await readFile(`${root}src/vendor/${to}`, "utf8"), await readFile(installed, "utf8"));
    },
  );
}
