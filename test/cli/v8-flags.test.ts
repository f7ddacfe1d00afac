import { execFile } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const FLAGS_MODULE = pathToFileURL(path.resolve(import.meta.dirname, "../../bin/v8-flags.js")).href;

/**
 * (module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add)): a
 * function small enough to call millions of times, compiled after the flags are set, as PGlite's
 * Postgres is.
 */
const WASM = [0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 9, 1, 7, 0, 32, 0, 65, 1, 106, 11];

interface Tiering {
  flags: string[];
  optimised: boolean;
  baseline: boolean;
  batches: number;
}

/**
 * In a new Node process: bin/switchboard.js's `applyV8Flags` for `command`, then a WebAssembly
 * function called in batches until V8 has optimised it (TurboFan), or `maxBatches` batches. V8's
 * own test functions (`--allow-natives-syntax`) say which compiler's code the function runs.
 */
async function tiering(command: string, maxBatches: number): Promise<Tiering> {
  const script = `
    const { applyV8Flags } = await import(${JSON.stringify(FLAGS_MODULE)});
    const flags = applyV8Flags(["node", "switchboard", ${JSON.stringify(command)}]);
    const { instance } = await WebAssembly.instantiate(new Uint8Array(${JSON.stringify(WASM)}));
    const f = instance.exports.f;
    let x = 0, batches = 0;
    for (; batches < ${maxBatches} && !%IsTurboFanFunction(f); batches++) {
      for (let i = 0; i < 10000; i++) x = f(x);
      await new Promise((r) => setImmediate(r));
    }
    process.stdout.write(JSON.stringify({ flags, optimised: %IsTurboFanFunction(f), baseline: %IsLiftoffFunction(f), batches }));
  `;
  const { stdout } = await run(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e", script], { timeout: 120_000 });
  return JSON.parse(stdout) as Tiering;
}

describe("V8 flags by command (bin/v8-flags.js)", () => {
  it("one-shot database commands keep WebAssembly on baseline code; serve and the other long-running commands optimise it", async () => {
    // The long-running commands first: how many batches V8 needed to optimise the function here,
    // now (a loaded machine's background threads take longer), is what the one-shot commands then get.
    let needed = 0;
    const atDefault: number[] = [];
    for (const command of ["worker", "chat", "eval-answers"]) {
      const t = await tiering(command, 1_000_000);
      expect(t, command).toMatchObject({ flags: [], optimised: true });
      atDefault.push(t.batches);
      needed = Math.max(needed, t.batches);
    }
    // serve optimises too, later: ten times the default budget.
    const serve = await tiering("serve", 1_000_000);
    expect(serve).toMatchObject({ flags: ["--wasm-tiering-budget=18000000"], optimised: true });
    expect(serve.batches).toBeGreaterThan(Math.min(...atDefault));
    needed = Math.max(needed, serve.batches);
    for (const command of ["ask", "migrate", "agents"]) {
      const t = await tiering(command, needed * 20 + 50);
      expect(t, command).toMatchObject({ flags: ["--liftoff-only"], optimised: false, baseline: true });
    }
  });
});
