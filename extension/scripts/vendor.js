// Copy the few third-party browser modules the extension uses from node_modules
// into src/vendor/, unchanged (no bundler): `npm run vendor` after updating one.
// test/vendor.test.js checks that the copies match the installed packages.
import { copyFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const VENDORED = [["tabbable/dist/index.esm.js", "tabbable.js"]];

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [from, to] of VENDORED) {
    await copyFile(join(root, "node_modules", from), join(root, "src", "vendor", to));
    console.log(`src/vendor/${to} <- node_modules/${from}`);
  }
}
