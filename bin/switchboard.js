#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (`npm run build`, which `npm ci` runs itself through
// `prepare`): nothing is transpiled at start.
import { existsSync } from "node:fs";

const entry = new URL("../dist/bots/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("switchboard: the compiled JavaScript (dist/) is missing: run `npm run build` (`npm ci` runs it too).\n");
  process.exit(1);
}
// Stack traces name the TypeScript sources (dist/ has source maps).
process.setSourceMapsEnabled(true);
const { main } = await import(entry.href);
await main();
