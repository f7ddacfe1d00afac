#!/usr/bin/env node
// Runs the bundled JavaScript in dist/ (`npm run build`, which `npm ci` runs itself through
// `prepare`): nothing is transpiled at start, and a few dozen files load instead of ~1,500 modules.
import { existsSync } from "node:fs";
import module from "node:module";

const entry = new URL("../dist/bots/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("switchboard: the compiled JavaScript (dist/) is missing: run `npm run build` (`npm ci` runs it too).\n");
  process.exit(1);
}
// Stack traces name dist/'s JavaScript (whitespace-minified, names kept). Source maps are not
// turned on here: Node then reads the map of every file it loads (the bundle's and PGlite's are
// large), about 0.1–0.7 s of CPU per start. `NODE_OPTIONS=--enable-source-maps` names the TypeScript lines.
// Node 22 and later keep V8's compiled code of the bundle between starts (in the OS's temporary
// folder; NODE_COMPILE_CACHE names another); Node 20 has no such cache and skips this.
module.enableCompileCache?.();
const { main } = await import(entry.href);
await main();
