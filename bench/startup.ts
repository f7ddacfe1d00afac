/**
 * Start-up cost: how long `switchboard serve` takes to answer its first `/healthz` with 200 on a
 * new embedded data folder, and what one CLI command costs, as the compiled JavaScript that
 * `bin/switchboard.js` runs (`npm run build` first) side by side with the same sources run
 * through tsx (how the project started before it shipped JavaScript) and a bare `node` start.
 * CPU milliseconds are the stable figure on a shared machine (wall-clock time swings with load).
 *
 *   npx tsx bench/startup.ts [runs=3] [baseline checkout, e.g. /work/main]
 *
 * Prints one JSON object: for each case, the median and every run of `wallMs` and `cpuMs` (user +
 * system of the process: for `serve` up to its first 200, read from /proc; for a command, the
 * whole run, from this process's children's times), and for `serve` its resident memory at that
 * moment (`rssMb`). With a baseline checkout (built), its `bin/switchboard.js` runs the same
 * cases, side by side: the runs go round the cases (run 1 of every case, then run 2, …) so a
 * change in the machine's load falls on all of them alike. Caches (CACHE_DIR: the migrated
 * database template, the trained router, the parsed knowledge base) are warmed by one unmeasured
 * start of each binary first, as a machine that has started Switchboard before has them. Linux
 * only (/proc).
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "bin/switchboard.js");
const runs = Number(process.argv[2] ?? 3);
const BASELINE = process.argv[3] ? path.join(path.resolve(process.argv[3]), "bin/switchboard.js") : undefined;
const TICK_MS = 1000 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces). */
function stat(pid: number | "self"): string[] {
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return s.slice(s.lastIndexOf(")") + 2).split(" ");
}
/** CPU ms of a live process (utime + stime). */
const cpuOf = (pid: number) => (Number(stat(pid)[11]) + Number(stat(pid)[12])) * TICK_MS;
/** Resident memory of a live process, MB. */
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
/** CPU ms of this process's finished, waited-for children (cutime + cstime). */
const childrenCpu = () => (Number(stat("self")[13]) + Number(stat("self")[14])) * TICK_MS;

const ENV = { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", LOG_LEVEL: "warn" };
const TSX = ["--import", "tsx", "--input-type=module", "-e", "const { main } = await import('./bots/cli/main.ts'); await main(['node', 'switchboard', ...process.argv.slice(1)]);", "--"];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

interface Run {
  wallMs: number;
  cpuMs: number;
  rssMb?: number;
}

function command(argv: string[], args: string[], env: Record<string, string> = {}): Run {
  const before = childrenCpu();
  const started = performance.now();
  const r = spawnSync(process.execPath, [...argv, ...args], { cwd: ROOT, env: { ...ENV, ...env }, encoding: "utf8" });
  const wallMs = performance.now() - started;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return { wallMs, cpuMs: childrenCpu() - before };
}

async function serveReady(argv: string[], existing?: string): Promise<Run> {
  const port = await freePort();
  const dataDir = existing ?? fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-bench-"));
  const started = performance.now();
  const child = spawn(process.execPath, [...argv, "serve"], { cwd: ROOT, env: { ...ENV, HOST: "127.0.0.1", PORT: String(port), DATA_DIR: dataDir }, stdio: "ignore" });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited (${child.exitCode}) before it was ready`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
      if (ok) return { wallMs: performance.now() - started, cpuMs: cpuOf(child.pid!), rssMb: rssOf(child.pid!) };
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    // SIGTERM: a clean stop, so an existing folder is left as a stopped service leaves it.
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(killer);
    if (!existing) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (all: Run[]) => ({
  wallMs: Math.round(median(all.map((r) => r.wallMs))),
  cpuMs: Math.round(median(all.map((r) => r.cpuMs))),
  ...(all[0]?.rssMb !== undefined ? { rssMb: Math.round(median(all.map((r) => r.rssMb ?? 0))) } : {}),
  runs: all.map((r) => ({ wallMs: Math.round(r.wallMs), cpuMs: Math.round(r.cpuMs), ...(r.rssMb !== undefined ? { rssMb: Math.round(r.rssMb) } : {}) })),
});

if (!fs.existsSync(path.join(ROOT, "dist/.built"))) throw new Error("dist/ is missing: run `npm run build` first");
if (BASELINE && !fs.existsSync(path.join(path.dirname(BASELINE), "../dist/.built"))) throw new Error(`${BASELINE}: its dist/ is missing: build it first`);
const askDir = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-bench-ask-"));
command([BIN], ["migrate"], { DATA_DIR: askDir });

/** Every case, by name: one run each time it is called. */
const cases: Array<[string, () => Promise<Run> | Run]> = [["node -e 0 (the floor)", () => command(["-e", "0"], [])]];
const bins: Array<[string, string[]]> = [["", [BIN]], ...(BASELINE ? ([[`baseline ${path.dirname(path.dirname(BASELINE))}: `, [BASELINE]]] as Array<[string, string[]]>) : [])];
for (const [prefix, bin] of bins) {
  cases.push(
    [`${prefix}switchboard --help`, () => command(bin, ["--help"])],
    [`${prefix}switchboard route TEXT`, () => command(bin, ["route", "I was charged twice"])],
    [`${prefix}switchboard ask TEXT (existing embedded folder)`, () => command(bin, ["ask", "what plans do you offer"], { DATA_DIR: askDir })],
    [`${prefix}serve: first /healthz 200 (new embedded folder)`, () => serveReady(bin)],
    [`${prefix}serve: first /healthz 200 (existing embedded folder)`, () => serveReady(bin, askDir)],
  );
}
cases.push(
  ["switchboard --help, sources through tsx", () => command(TSX, ["--help"])],
  ["switchboard route TEXT, sources through tsx", () => command(TSX, ["route", "I was charged twice"])],
  ["switchboard ask TEXT, sources through tsx", () => command(TSX, ["ask", "what plans do you offer"], { DATA_DIR: askDir })],
  ["serve: first /healthz 200, sources through tsx", () => serveReady(TSX)],
  ["serve: first /healthz 200 (existing folder), sources through tsx", () => serveReady(TSX, askDir)],
);

const loadAtStart = os.loadavg().map((l) => Number(l.toFixed(2)));
// Warm the caches each binary makes on its first start (CACHE_DIR).
for (const [, bin] of bins) await serveReady(bin);
const results = new Map<string, Run[]>(cases.map(([name]) => [name, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, fn] of cases) results.get(name)!.push(await fn());
}
const result = {
  machine: { cpus: os.cpus().length, loadavgAtStart: loadAtStart, loadavgAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))), node: process.version },
  runs,
  ...Object.fromEntries([...results].map(([name, all]) => [name, summary(all)])),
};
fs.rmSync(askDir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
