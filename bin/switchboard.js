#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step, so `npx switchboard` works
// right after `npm ci` and always runs the code in the checkout.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../bots/cli/main.ts");
await main();
