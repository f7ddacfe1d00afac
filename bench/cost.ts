/**
 * Cost per message (issue 13), measured side by side with its anchor in one run, on a Postgres
 * server this benchmark starts itself (initdb + pg_ctl on a free loopback port; never the shared
 * one), plus the embedded default in a `serve` child process. Prints one JSON object per section:
 *
 *   anchor      graphile-worker's raw no-op job rate on the same server: no named queues (how the
 *               inbox uses it), and one named queue per job (the `conv:<id>` pattern it used
 *               before its per-conversation claim)
 *   server      1 `switchboard worker` (offline engine), HTTP-like intake in this process (the
 *               gateway), Slack out to a local stand-in: msg/s, CPU ms per message for the worker,
 *               the Postgres backends and the gateway (from /proc), commits per message
 *               (pg_stat_database.xact_commit), and the ratio to the anchor's rate
 *   scaleOut    2 workers vs 1, LLM mode against an OpenAI-compatible stand-in answering each call
 *               after 300 ms: the load is bound by model latency, not CPU
 *   statements  the server section's load (1 worker) with pg_stat_statements on: every SQL statement
 *               one message runs (gateway and worker), as calls per message, with the commits per
 *               message beside them (the server is restarted once with the extension preloaded)
 *   embedded    `switchboard serve` on a new data folder (PGlite): idle RSS, 10 HTTP clients,
 *               msg/s, p50/p99 of POST /api/messages, CPU ms per message, data-folder bytes per
 *               message (from a settled folder: after 600 messages of warm-up, which fill pg_wal
 *               to its bound, and the vacuum and checkpoint the service runs every 15 s; to after
 *               the next ones), how much of it is pg_wal, and the folder's size when settled; the
 *               CPU per message of serve's main thread and of its busiest other thread (the
 *               database's), and the load average when the run ended
 *
 *   npx tsx bench/cost.ts [sections=anchor,server,scaleOut,embedded] [messages=1000]
 *
 * The workers and `serve` are the real commands (bin/switchboard.js, dist/: run `npm run build`
 * first). CPU figures are per message and stable; wall-clock figures swing with the machine's
 * load (other work on this machine runs meanwhile): compare them within one run.
 */
import { spawn } from "node:child_process";
import { execSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { makeWorkerUtils, run, type Runner } from "graphile-worker";
import pg from "pg";
import { GraphileJobQueue, graphileLogger } from "../src/inbox/graphile-queue.ts";
import { silentLogger } from "../src/logger.ts";
import { openDatabase } from "../src/db/database.ts";
import { CACHE_DIR, freshServerDatabase, tempDataDir } from "../test/helpers/databases.ts";
import { DisposablePostgres, freePort } from "../test/inbox/disposable-postgres.ts";
import { liveWorkers, queueEnv, slackMessage, SlackRecorder, spawnWorker, startGateway, stopWorker, waitFor } from "../test/inbox/harness.ts";
import { startOpenAIStandIn, structured, structuredOutputName, text } from "../test/stand-ins/openai.ts";
import { QUESTIONS } from "./questions.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const TICK_MS = 1000 / Number(execSync("getconf CLK_TCK").toString().trim() || 100);

// ---- /proc ------------------------------------------------------------------------------------

/** utime + stime (and, with `children`, the CPU of its reaped children) of a process, in ms. */
function cpuMs(pid: number, children = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields after the name: state(3) ... utime(14) stime(15) cutime(16) cstime(17) → index - 3.
    const own = Number(f[11]) + Number(f[12]);
    return (children ? own + Number(f[13]) + Number(f[14]) : own) * TICK_MS;
  } catch {
    return 0;
  }
}

/** utime + stime of each thread of a process, in ms, by thread id (the main thread's id is the pid). */
function threadCpuMs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * TICK_MS);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/**
 * CPU per message of the main thread and of the busiest other thread (embedded `serve`: the
 * database's thread; before it had one, a V8 helper). One thread cannot go faster than one
 * core: 1000 / the larger of the two is the rate this process can reach with the cores it needs.
 */
function threadSplit(before: Map<number, number>, after: Map<number, number>, pid: number, messages: number) {
  const delta = [...after].map(([tid, ms]) => [tid, ms - (before.get(tid) ?? 0)] as const);
  const main = delta.find(([tid]) => tid === pid)?.[1] ?? 0;
  const other = Math.max(0, ...delta.filter(([tid]) => tid !== pid).map(([, ms]) => ms));
  return { mainThreadCpuMsPerMessage: round1(main / messages), busiestOtherThreadCpuMsPerMessage: round1(other / messages) };
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** CPU of a Postgres server: the postmaster, its live children (backends, checkpointer…) and the ones it reaped. */
function postgresCpuMs(postmaster: number): number {
  return cpuMs(postmaster, true) + childrenOf(postmaster).reduce((n, pid) => n + cpuMs(pid), 0);
}

function rssMb(pid: number): number {
  const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/);
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}

function gatewayCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function duBytes(dir: string): number {
  return Number(execSync(`du -sb ${JSON.stringify(dir)}`).toString().split("\t")[0]);
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function commits(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>("select xact_commit as n from pg_stat_database where datname = current_database()");
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}

// ---- anchor: graphile-worker's own rate ------------------------------------------------------

async function anchor(server: DisposablePostgres, jobs: number, namedQueues: boolean) {
  const fresh = await freshServerDatabase(server.url);
  const logger = silentLogger();
  try {
    await GraphileJobQueue.installSchema(fresh.db.pool, logger, false);
    const utils = await makeWorkerUtils({ pgPool: fresh.db.pool, logger: graphileLogger(logger) });
    await fresh.db.pool.query(
      `select graphile_worker.add_job('noop', '{}'::json, queue_name => case when $2 then 'q:' || i::text end) from generate_series(1, $1) i`,
      [jobs, namedQueues],
    );
    let done = 0;
    let finished!: () => void;
    const all = new Promise<void>((resolve) => (finished = resolve));
    const started = performance.now();
    const runner: Runner = await run({
      pgPool: fresh.db.pool,
      concurrency: 8,
      noHandleSignals: true,
      logger: graphileLogger(logger),
      parsedCronItems: [],
      taskList: {
        noop: async () => {
          if (++done === jobs) finished();
        },
      },
    });
    await all;
    const seconds = (performance.now() - started) / 1000;
    await runner.stop();
    await utils.release();
    return Math.round(jobs / seconds);
  } finally {
    await fresh.drop();
  }
}

// ---- server mode ------------------------------------------------------------------------------

interface ServerRun {
  workers: number;
  messages: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  workerCpuMsPerMessage: number;
  postgresCpuMsPerMessage: number;
  gatewayCpuMsPerMessage: number;
  commitsPerMessage: number;
  statements?: Array<{ perMessage: number; query: string }>;
}

async function serverRun(server: DisposablePostgres, opts: { workers: number; conversations: number; perConversation: number; extraEnv?: Record<string, string>; statements?: boolean }): Promise<ServerRun> {
  const fresh = await freshServerDatabase(server.url);
  if (opts.statements) await fresh.db.pool.query("create extension if not exists pg_stat_statements");
  const slack = await SlackRecorder.start();
  // BENCH_WORKER_NODE_OPTIONS reaches the workers only (the gateway runs in this process), e.g. a
  // `--require` of a CPU profiler (`--cpu-prof` is not allowed in NODE_OPTIONS).
  const env = queueEnv(fresh.url, slack, {
    LOG_LEVEL: "error",
    ...(process.env["BENCH_WORKER_NODE_OPTIONS"] ? { NODE_OPTIONS: process.env["BENCH_WORKER_NODE_OPTIONS"] } : {}),
    ...opts.extraEnv,
  });
  const gateway = await startGateway(env);
  const procs = Array.from({ length: opts.workers }, () => spawnWorker(env));
  const postmaster = server.pid()!;
  let stopped = false;
  try {
    await waitFor(async () => (await liveWorkers(gateway)) === opts.workers, `${opts.workers} workers`, 120_000, 100);
    // Let start-up work (training, migrations) settle before counting.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const total = opts.conversations * opts.perConversation;
    const before = {
      workers: procs.reduce((n, p) => n + cpuMs(p.child.pid!), 0),
      postgres: postgresCpuMs(postmaster),
      gateway: gatewayCpuMs(),
      commits: await commits(fresh.url),
    };
    if (opts.statements) await fresh.db.pool.query("select pg_stat_statements_reset()");
    await Promise.all(
      Array.from({ length: opts.conversations }, async (_, c) => {
        const thread = `1700000000.${String(c).padStart(6, "0")}`;
        for (let i = 0; i < opts.perConversation; i++) {
          await gateway.intake.submit(slackMessage(thread, `bench-${c}-${i}`, QUESTIONS[i % QUESTIONS.length]!));
        }
      }),
    );
    await waitFor(async () => slack.posted.length >= total && (await sentReplies(gateway.db.pool)) >= total, `${total} replies`, 900_000, 100);
    const after = {
      workers: procs.reduce((n, p) => n + cpuMs(p.child.pid!), 0),
      postgres: postgresCpuMs(postmaster),
      gateway: gatewayCpuMs(),
    };
    const statements = opts.statements ? await statementsPerMessage(fresh.db.pool, total) : undefined;
    // pg_stat_database counts what backends have reported: a busy one reports at most once a
    // second, an idle one later still. Read once the workers' and the gateway's backends are gone
    // (a backend reports when it exits): a handful of their stopping statements are counted too.
    await Promise.all(procs.map(stopWorker));
    await gateway.close();
    stopped = true;
    const commitCount = (await commits(fresh.url)) - before.commits;
    const latencies = await fresh.db.pool.query<{ ms: number }>(
      `select extract(epoch from (o.processed_at - m.created_at)) * 1000 as ms
       from messages m join messages o on o.idempotency_key = 'reply:' || m.id::text where m.direction = 'in' order by 1`,
    );
    const span = await fresh.db.pool.query<{ s: number }>(
      `select extract(epoch from (max(o.processed_at) - min(m.created_at))) as s
       from messages m join messages o on o.idempotency_key = 'reply:' || m.id::text where m.direction = 'in'`,
    );
    const ms = latencies.rows.map((x) => Number(x.ms));
    return {
      workers: opts.workers,
      messages: total,
      perSecond: Math.round(total / Number(span.rows[0]?.s ?? 1)),
      p50Ms: Math.round(quantile(ms, 0.5)),
      p99Ms: Math.round(quantile(ms, 0.99)),
      workerCpuMsPerMessage: round1((after.workers - before.workers) / total),
      postgresCpuMsPerMessage: round1((after.postgres - before.postgres) / total),
      gatewayCpuMsPerMessage: round1((after.gateway - before.gateway) / total),
      commitsPerMessage: round1(commitCount / total),
      ...(statements ? { statements } : {}),
    };
  } finally {
    if (!stopped) {
      await Promise.all(procs.map(stopWorker));
      await gateway.close();
    }
    await slack.close();
    await fresh.drop();
  }
}

/** What pg_stat_statements counted in this database since its reset, per message, most frequent first. */
async function statementsPerMessage(pool: pg.Pool, total: number): Promise<Array<{ perMessage: number; query: string }>> {
  const r = await pool.query<{ calls: string; query: string }>(
    `select calls, query from pg_stat_statements
     where dbid = (select oid from pg_database where datname = current_database())
       and query not like '%pg_stat_statements%'
     order by calls desc`,
  );
  const rows = r.rows.map((x) => ({ perMessage: Math.round((Number(x.calls) / total) * 100) / 100, query: x.query.replace(/\s+/g, " ").slice(0, 160) }));
  return [{ perMessage: round1(rows.reduce((n, x) => n + x.perMessage, 0)), query: "(all)" }, ...rows.filter((x) => x.perMessage >= 0.05)];
}

/** Restarts `server` with pg_stat_statements preloaded (its defaults count top-level statements, and utility ones: begin, commit). */
async function withStatementStats(server: DisposablePostgres): Promise<void> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    await c.query("alter system set shared_preload_libraries = 'pg_stat_statements'");
  } finally {
    await c.end();
  }
  server.kill();
  await server.restart();
}

async function sentReplies(pool: pg.Pool): Promise<number> {
  return Number((await pool.query("select count(*) from messages where direction = 'out' and status = 'sent'")).rows[0].count);
}

// ---- scale-out with a model stand-in at 300 ms per call -----------------------------------------

async function scaleOut(server: DisposablePostgres, conversations: number) {
  const model = await startOpenAIStandIn(async (req) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (structuredOutputName(req) === "route_message") {
      const question = req.messages.at(-1)?.content;
      return structured({ routes: [{ route: "faq", confidence: 0.9, question: typeof question === "string" ? question : "" }] });
    }
    return text("Here is what our help centre says about that.");
  });
  try {
    const extraEnv = { OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: "bench", ROUTER_MODE: "llm", WORKER_TIMEOUT_MS: "60000" };
    const one = await serverRun(server, { workers: 1, conversations, perConversation: 2, extraEnv });
    const two = await serverRun(server, { workers: 2, conversations, perConversation: 2, extraEnv });
    return { modelLatencyMs: 300, oneWorker: one.perSecond, twoWorkers: two.perSecond, speedup: round1(two.perSecond / Math.max(1, one.perSecond)), modelCalls: model.requests.length, p50Ms: { one: one.p50Ms, two: two.p50Ms } };
  } finally {
    await model.close();
  }
}

// ---- embedded default -----------------------------------------------------------------------------

async function embedded(messages: number, clients: number) {
  const dataDir = tempDataDir("switchboard-bench-embedded-");
  const port = await freePort();
  // BENCH_SERVE_NODE_ARGS: Node flags for `serve`, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (written when it exits).
  const nodeArgs = (process.env["BENCH_SERVE_NODE_ARGS"] ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, "bin/switchboard.js"), "serve", "--port", String(port)], {
    cwd: ROOT,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", DATA_DIR: dataDir, LOG_LEVEL: "error", API_TOKEN: "",
      // The per-user limit (60 a minute) is not what this measures: a client faster than one message a second would be refused.
      RATE_LIMIT_PER_MINUTE: "1000000" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += String(d)));
  const url = `http://127.0.0.1:${port}`;
  try {
    const spawned = performance.now();
    await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200, `serve ready (${stderr.slice(-500)})`, 120_000, 50);
    const readyMs = Math.round(performance.now() - spawned);
    // Idle: the start-up's garbage has had time to go.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const idleRssMb = rssMb(child.pid!);

    const ask = async (userId: string, conversationId: string | undefined, i: number) => {
      const t0 = performance.now();
      const res = await fetch(`${url}/api/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ userId, text: QUESTIONS[i % QUESTIONS.length], ...(conversationId ? { conversationId } : {}) }),
      });
      const body = (await res.json()) as { conversationId?: string };
      if (res.status !== 200) throw new Error(`POST /api/messages: ${res.status} ${JSON.stringify(body)}`);
      return { ms: performance.now() - t0, conversationId: body.conversationId };
    };
    const load = async (n: number, tag: string) => {
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          let conversation: string | undefined;
          while (next < n) {
            const i = next++;
            const r = await ask(`bench-${tag}-${c}`, conversation, i);
            conversation = r.conversationId;
            latencies.push(r.ms);
          }
        }),
      );
      return { seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b) };
    };
    // Warm-up: the first conversations' rows and memories, pg_wal filled to its bound
    // (`max_wal_size`, recycled from then on), the space the memory's rewritten rows need between
    // two vacuums; then the service's periodic vacuum and checkpoint (every 15 s). What the data
    // folder grows by from there is what each message adds for good; what it held at that point
    // is reported beside it (`settledMb`, of it `walMb0`).
    await load(600, "warm");
    await new Promise((resolve) => setTimeout(resolve, 16_000));
    // The tables' sizes are read over serve's own database (another process's connection to it).
    const shared = await openDatabase({ databaseUrl: undefined, dataDir, cacheDir: CACHE_DIR, logger: silentLogger(), max: 1 });
    const tables0 = await tableBytes(shared.pool);
    const bytes0 = duBytes(dataDir);
    const wal0 = duBytes(path.join(dataDir, "pgdata", "pg_wal"));
    const cpu0 = cpuMs(child.pid!);
    const threads0 = threadCpuMs(child.pid!);
    const run = await load(messages, "run");
    const cpu1 = cpuMs(child.pid!);
    const threads1 = threadCpuMs(child.pid!);
    // Wait for the service's periodic vacuum and checkpoint, as a running service gets them.
    await new Promise((resolve) => setTimeout(resolve, 16_000));
    const bytes1 = duBytes(dataDir);
    const wal1 = duBytes(path.join(dataDir, "pgdata", "pg_wal"));
    const tables1 = await tableBytes(shared.pool);
    await shared.close();
    const tablesBytesPerMessage = Object.fromEntries(
      [...tables1]
        .map(([table, bytes]) => [table, Math.round((bytes - (tables0.get(table) ?? 0)) / messages)] as const)
        .filter(([, perMessage]) => perMessage !== 0)
        .sort((a, b) => b[1] - a[1]),
    );
    return {
      clients,
      messages,
      readyMs,
      idleRssMb,
      perSecond: Math.round(messages / run.seconds),
      p50Ms: Math.round(quantile(run.latencies, 0.5)),
      p99Ms: Math.round(quantile(run.latencies, 0.99)),
      cpuMsPerMessage: round1((cpu1 - cpu0) / messages),
      ...threadSplit(threads0, threads1, child.pid!, messages),
      loadAverage: fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
      dataFolderBytesPerMessage: Math.round((bytes1 - bytes0) / messages),
      walBytesPerMessage: Math.round((wal1 - wal0) / messages),
      settledMb: round1(bytes0 / (1024 * 1024)),
      walMb0: round1(wal0 / (1024 * 1024)),
      walMb: round1(wal1 / (1024 * 1024)),
      tablesBytesPerMessage,
      rssAfterMb: rssMb(child.pid!),
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Each table's size with its indexes and TOAST (public and graphile_worker), bytes. */
async function tableBytes(pool: pg.Pool): Promise<Map<string, number>> {
  const r = await pool.query<{ name: string; bytes: string }>(
    `select n.nspname || '.' || c.relname as name, pg_total_relation_size(c.oid) as bytes
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r' and n.nspname in ('public', 'graphile_worker')`,
  );
  return new Map(r.rows.map((row) => [row.name, Number(row.bytes)]));
}

// ---- main -----------------------------------------------------------------------------------------

const [sectionsArg = "anchor,server,scaleOut,embedded", messagesArg = "1000"] = process.argv.slice(2);
const sections = new Set(sectionsArg.split(","));
const messages = Number(messagesArg);
const out = (section: string, figures: object) => process.stdout.write(`${JSON.stringify({ section, ...figures })}\n`);

const needsServer = ["anchor", "server", "scaleOut", "statements"].some((s) => sections.has(s));
const unavailable = needsServer ? DisposablePostgres.unavailable() : undefined;
if (unavailable) {
  process.stderr.write(`bench/cost.ts: cannot start a Postgres of its own: ${unavailable}\n`);
  process.exit(1);
}
const server = needsServer ? await DisposablePostgres.start() : undefined;
try {
  let anchorRate: number | undefined;
  if (server && sections.has("anchor")) {
    anchorRate = await anchor(server, 4000, false);
    out("anchor", { graphileNoopJobsPerSecond: anchorRate, graphileNoopJobsPerSecondOneNamedQueuePerJob: await anchor(server, 2000, true), concurrency: 8 });
  }
  if (server && sections.has("server")) {
    const r = await serverRun(server, { workers: 1, conversations: Math.max(1, Math.round(messages / 5)), perConversation: 5 });
    out("server", { engine: "offline", ...r, ...(anchorRate ? { ratioToGraphileNoop: Math.round((r.perSecond / anchorRate) * 100) / 100 } : {}) });
  }
  if (server && sections.has("statements")) {
    await withStatementStats(server);
    const r = await serverRun(server, { workers: 1, conversations: Math.max(1, Math.round(messages / 5)), perConversation: 5, statements: true });
    const { statements, ...figures } = r;
    out("statements", figures);
    for (const s of statements ?? []) process.stdout.write(`${s.perMessage.toFixed(2).padStart(6)}  ${s.query}\n`);
  }
  if (server && sections.has("scaleOut")) out("scaleOut", await scaleOut(server, 60));
  if (sections.has("embedded")) out("embedded", await embedded(Math.min(messages, 1000), 10));
} finally {
  await server?.destroy();
}
