// V8 settings chosen by command, applied by bin/switchboard.js before anything compiles PGlite's
// WebAssembly (Postgres, 9 MB of it).
import v8 from "node:v8";

/**
 * Commands that open the embedded database for a few statements and exit (`ask`: one message;
 * `migrate`; `agents …`). V8 compiles a WebAssembly function with its baseline compiler (Liftoff)
 * when it is first called, then recompiles the ones that run often with its optimising compiler
 * (TurboFan) on background threads. Postgres' hot functions are large: for `ask` that
 * recompilation was about 1.5 s of CPU, more than the rest of the command, for code that ran a few
 * dozen statements before the process exited. With `--liftoff-only` these commands keep the
 * baseline code (measured on `ask`: CPU about halved, resident memory −90 MB; `migrate` on a new
 * folder with no template, initdb included, used less CPU too).
 *
 * Not for `serve`, `worker`, `chat` or `eval-answers`: they run many messages, and each message's
 * statements run faster in optimised code, which is worth its one compilation there (for `serve`,
 * see {@link SERVE_TIERING_BUDGET}).
 */
const BASELINE_WASM_ONLY = new Set(["ask", "migrate", "agents"]);

/**
 * `serve`: V8 optimises a WebAssembly function once it has run about this much code (its
 * `--wasm-tiering-budget`, a rough count of bytes executed), ten times V8's default of 1,800,000.
 * Opening the database runs much of Postgres once (the folder's catalogs, recovery, the
 * migrations' check, the demo data) and at the default budget V8 optimised those functions for
 * nothing; the functions every message runs still cross the higher budget within the first
 * messages. Measured side by side (`bench/cost.ts embedded 300`, two runs each at load 14–22): CPU
 * per message 31.9, 30.7 ms against 32.1, 31.4 ms at the default; idle RSS 248, 234 MB against
 * 280, 249 MB; and less CPU before the first `/healthz` 200.
 */
const SERVE_TIERING_BUDGET = 18_000_000;

/**
 * The V8 flags for the command line `argv` (`process.argv`: node, the script, then the command).
 * @returns the flags, none for most commands.
 */
export function v8FlagsFor(argv) {
  const command = argv[2] ?? "";
  if (BASELINE_WASM_ONLY.has(command)) return ["--liftoff-only"];
  if (command === "serve") return [`--wasm-tiering-budget=${SERVE_TIERING_BUDGET}`];
  return [];
}

/**
 * Sets {@link v8FlagsFor}'s flags on this process. WebAssembly compiled afterwards follows them
 * (V8 reads its flags when it compiles, and Node leaves them changeable after start).
 * @returns the flags set.
 */
export function applyV8Flags(argv) {
  const flags = v8FlagsFor(argv);
  for (const flag of flags) v8.setFlagsFromString(flag);
  return flags;
}
