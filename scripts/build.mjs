// `npm run build` (and `prepare`, which `npm ci` runs): compiles src/, bots/ and agents/ to
// dist/ with tsc (type-checking is `npm run typecheck`'s job, so it is skipped here), then copies
// the files the code reads beside itself — migrations, the demo knowledge base, the router
// corpus, demo SQL — to the same relative places, so `import.meta.dirname`-relative paths mean
// the same in dist/ as in the sources. It builds into a new folder and swaps it in, so a deleted
// source leaves nothing behind and a command started meanwhile never sees half a build.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const dist = path.join(root, "dist");
const next = path.join(root, `dist.next-${process.pid}`);
const old = path.join(root, `dist.old-${process.pid}`);
// Sources edited while this runs are newer than the stamp (below), so the next check rebuilds.
const started = new Date();

fs.rmSync(next, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const result = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json"), "--noCheck", "--outDir", next], { stdio: "inherit" });
if (result.status !== 0) {
  fs.rmSync(next, { recursive: true, force: true });
  process.exit(result.status ?? 1);
}
const notCode = (src) => fs.statSync(src).isDirectory() || !/\.(ts|tsx|mts|cts)$/.test(src);
for (const dir of ["src", "bots", "agents"]) {
  fs.cpSync(path.join(root, dir), path.join(next, dir), { recursive: true, filter: notCode });
}
fs.cpSync(path.join(root, "migrations"), path.join(next, "migrations"), { recursive: true });
// When the sources were built: the test suite's "is dist/ current?" check (test/global-setup.ts).
fs.writeFileSync(path.join(next, ".built"), `${started.toISOString()}\n`);
fs.utimesSync(path.join(next, ".built"), started, started);

if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(next, dist);
fs.rmSync(old, { recursive: true, force: true });
