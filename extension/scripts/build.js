// Build both packages into dist/ (or the folder given as argument):
// balise-firefox-<v>.zip with `web-ext build` from the source tree as it is, and
// balise-chromium-<v>.zip from a copy whose manifest drops the keys Chromium
// does not know (it warns about them).
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import webExt from "web-ext";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = process.argv[2] ? resolve(process.argv[2]) : join(root, "dist");
// The folders themselves too: web-ext otherwise packs them empty. README.md is for developers.
const ignoreFiles = [
  "test",
  "test/**",
  "scripts",
  "scripts/**",
  "dist",
  "dist/**",
  "node_modules",
  "node_modules/**",
  "package.json",
  "package-lock.json",
  "README.md",
];
const manifest = JSON.parse(await readFile(join(root, "manifest.json"), "utf8"));
const version = manifest.version;

await mkdir(dist, { recursive: true });
await webExt.cmd.build(
  { sourceDir: root, artifactsDir: dist, ignoreFiles, overwriteDest: true, filename: `balise-firefox-${version}.zip` },
  { shouldExitProgram: false },
);

const stage = join(dist, "chromium");
await rm(stage, { recursive: true, force: true });
for (const entry of ["manifest.json", "_locales", "icons", "src"]) {
  await cp(join(root, entry), join(stage, entry), { recursive: true });
}
const chromium = structuredClone(manifest);
delete chromium.browser_specific_settings;
delete chromium.background.scripts;
await writeFile(join(stage, "manifest.json"), `${JSON.stringify(chromium, null, 2)}\n`);
await webExt.cmd.build(
  { sourceDir: stage, artifactsDir: dist, overwriteDest: true, filename: `balise-chromium-${version}.zip` },
  { shouldExitProgram: false },
);
await rm(stage, { recursive: true, force: true });
console.log(`built ${dist}/balise-firefox-${version}.zip and balise-chromium-${version}.zip`);
