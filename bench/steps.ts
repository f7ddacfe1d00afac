/**
 * What delegating a worker's step through the queue costs (issue 18, part 3): the same billing
 * step (the real billing worker, offline engine, its tools on the demo tables) run N times in this
 * process (`InProcessSteps`, today's path) and N times delegated to a `switchboard worker --agents
 * billing` child process (`QueuedSteps`: a step row + a graphile-worker job, the result written
 * back and announced by NOTIFY on one LISTEN connection). Steps run one at a time, so the figure
 * is the latency a message pays per delegated step, not a throughput. Prints one JSON object:
 *
 *   inProcessMs / delegatedMs   p50 and p90 of one step's wall-clock time
 *   addedMs                     delegated − in-process, at p50 and p90 (goal: p50 ≤ 10 ms)
 *   cpuMsPerStep                this process (/proc/self/stat), the service (/proc/PID/stat) and
 *                               the Postgres backends of this database (/proc/PID/stat of each
 *                               backend, when readable), per step, for each path
 *
 *   npx tsx bench/steps.ts [steps=300]      (TEST_DATABASE_URL or DATABASE_URL: a Postgres server;
 *                                            run `node scripts/build.mjs` first: the service runs dist/)
 *
 * Runs on a database of its own on that server, dropped at the end. Wall-clock figures swing with
 * the machine's load; the two paths run in alternating blocks so both see the same load.
 */
import { spawn } from "node:child_process";
import { execSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { billingWorker } from "../agents/workers/billing/index.ts";
import { loadKnowledgeBase } from "../agents/knowledge/knowledge-base.ts";
import { InProcessSteps } from "../agents/workers/step-runner.ts";
import type { WorkerInput } from "../agents/workers/types.ts";
import { DEFAULT_KNOWLEDGE_DIR } from "../src/config.ts";
import { CHANNELS, PgListener } from "../src/db/pg-listener.ts";
import { GraphileJobQueue } from "../src/inbox/graphile-queue.ts";
import { silentLogger } from "../src/logger.ts";
import { QueuedSteps } from "../src/steps/queued-steps.ts";
import { freshServerDatabase, tempDataDir } from "../test/helpers/databases.ts";
import { waitFor } from "../test/inbox/harness.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const SERVER = process.env["TEST_DATABASE_URL"] ?? process.env["DATABASE_URL"];
const STEPS = Number(process.argv[2] ?? 300);
const BLOCK = 50;
const WARMUP = 30;
const TICK_MS = 1000 / Number(execSync("getconf CLK_TCK").toString().trim() || 100);

/** utime + stime of a process, in ms (0 when it cannot be read). */
function cpuMs(pid: number | "self"): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

const round = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  if (!SERVER) throw new Error("set TEST_DATABASE_URL (or DATABASE_URL) to a Postgres server, e.g. postgres://postgres@127.0.0.1:5432/postgres");
  const fresh = await freshServerDatabase(SERVER);
  const logger = silentLogger();
  let service: ReturnType<typeof spawn> | undefined;
  const listener = new PgListener({ url: fresh.url, logger, channels: [CHANNELS.stepFinished] });
  try {
    const pool = fresh.db.pool;
    await GraphileJobQueue.installSchema(pool, logger, false);
    await pool.query(billingWorker.demoSql!);
    const knowledge = await loadKnowledgeBase(DEFAULT_KNOWLEDGE_DIR);
    const deps = { pool, knowledge, config: { refundApprovalLimit: 100 }, now: () => new Date() };
    const inProcess = new InProcessSteps([billingWorker], deps, undefined);
    await listener.start();
    const delegated = new QueuedSteps({ pool, logger, local: new InProcessSteps([], deps, undefined), listener });
    delegated.start();

    service = spawn(process.execPath, [path.join(ROOT, "test/steps/step-main.mjs")], {
      cwd: ROOT,
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", AGENTS: "billing", DATABASE_URL: fresh.url, DATA_DIR: tempDataDir("switchboard-bench-"), LOG_LEVEL: "warn", WORKER_CONCURRENCY: "1" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const servicePid = service.pid!;
    await waitFor(async () => (await pool.query("select 1 from queue_workers where pid = $1", [servicePid])).rows.length > 0, "the billing service to start", 120_000, 100);

    const input: WorkerInput = {
      question: "Show me my last invoice",
      message: "Show me my last invoice",
      history: [],
      caller: { platform: "http", userId: "u1", customerId: "cus_jordan", conversationId: "00000000-0000-4000-8000-000000000001" },
    };
    const step = async (runner: InProcessSteps | QueuedSteps): Promise<number> => {
      const started = performance.now();
      const result = await runner.run("billing", input, new AbortController().signal, Date.now() + 30_000);
      if (result.status !== "ok" || !result.reply.includes("INV-")) throw new Error(`unexpected answer: ${JSON.stringify(result).slice(0, 300)}`);
      return performance.now() - started;
    };
    // Our connections' backends (the pool's, the LISTEN one): their CPU is the database's share.
    const backends = async () => (await pool.query<{ pid: number }>("select pid from pg_stat_activity where datname = current_database()")).rows.map((r) => r.pid);
    const dbCpu = (pids: number[]) => pids.reduce((n, p) => n + cpuMs(p), 0);

    for (let i = 0; i < WARMUP; i++) {
      await step(inProcess);
      await step(delegated);
    }
    const times = { inProcess: [] as number[], delegated: [] as number[] };
    const cpu = { inProcess: { self: 0, service: 0, postgres: 0 }, delegated: { self: 0, service: 0, postgres: 0 } };
    for (let done = 0; done < STEPS; done += BLOCK) {
      for (const kind of ["inProcess", "delegated"] as const) {
        const runner = kind === "inProcess" ? inProcess : delegated;
        const pids = await backends();
        const before = { self: cpuMs("self"), service: cpuMs(servicePid), postgres: dbCpu(pids) };
        for (let i = 0; i < Math.min(BLOCK, STEPS - done); i++) times[kind].push(await step(runner));
        cpu[kind].self += cpuMs("self") - before.self;
        cpu[kind].service += cpuMs(servicePid) - before.service;
        cpu[kind].postgres += dbCpu(pids) - before.postgres;
      }
    }
    const steps = await pool.query<{ status: string; n: number }>("select status, count(*)::int as n from agent_steps group by status");
    // Where a delegated step's time goes, on the database clock: queued until a service took it, then run there.
    const phases = await pool.query<{ queued: number; running: number }>(
      `select percentile_cont(0.5) within group (order by extract(epoch from started_at - created_at) * 1000) as queued,
              percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at) * 1000) as running
       from agent_steps where status = 'done'`,
    );
    const perStep = (c: { self: number; service: number; postgres: number }) => ({
      supervisor: round(c.self / STEPS),
      service: round(c.service / STEPS),
      postgres: round(c.postgres / STEPS),
      total: round((c.self + c.service + c.postgres) / STEPS),
    });
    const p = (xs: number[]) => ({ p50: round(quantile(xs, 0.5)), p90: round(quantile(xs, 0.9)) });
    const report = {
      bench: "steps",
      steps: STEPS,
      worker: "billing (offline engine, demo tables)",
      inProcessMs: p(times.inProcess),
      delegatedMs: p(times.delegated),
      addedMs: {
        p50: round(quantile(times.delegated, 0.5) - quantile(times.inProcess, 0.5)),
        p90: round(quantile(times.delegated, 0.9) - quantile(times.inProcess, 0.9)),
        goalP50: 10,
      },
      delegatedPhasesP50Ms: { queuedUntilTaken: round(Number(phases.rows[0]?.queued)), runInService: round(Number(phases.rows[0]?.running)) },
      cpuMsPerStep: { inProcess: perStep(cpu.inProcess), delegated: perStep(cpu.delegated) },
      stepRows: Object.fromEntries(steps.rows.map((r) => [r.status, r.n])),
      clockTickMs: TICK_MS,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    await delegated.stop();
  } finally {
    await listener.stop();
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service!.once("exit", resolve));
      service.kill("SIGTERM");
      await exited;
    }
    await fresh.drop();
  }
}

await main();
