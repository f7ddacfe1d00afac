#!/usr/bin/env node
// Runs the bundled JavaScript in dist/ (`npm run build`, which `npm ci` runs itself through
// `prepare`): nothing is transpiled at start, and a few dozen files load instead of ~1,500 modules.
import { existsSync } from "node:fs";
import module from "node:module";
import { applyV8Flags } from "./v8-flags.js";

/** Commands whose work ends when their action returns. */
const ONE_SHOT = new Set(["ask", "chat", "route", "eval"]);

// Before any module loads PGlite (see v8-flags.js: one-shot database commands keep baseline WebAssembly code).
applyV8Flags(process.argv);

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
// A one-shot command is done when main returns: its database is closed, its output written (stdout
// and stderr are synchronous on Linux for files, pipes and terminals; the logger writes
// synchronously too). Node would still spend 0.1–0.3 s after the last handle closed (the embedded
// database's sockets) before exiting, measured on `ask`; exit now. `serve` and `worker` keep running after main returns.
if (ONE_SHOT.has(process.argv[2] ?? "")) process.exit();
