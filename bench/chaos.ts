/**
 * Chaos benchmark of the durable inbox (issue #11): a gateway (`switchboard serve --role gateway`)
 * and two workers (`switchboard worker`, the offline engine) on a Postgres server this script
 * starts itself (initdb + pg_ctl on a free port, as test/inbox/database-outage.test.ts does). A
 * burst of HTTP API messages goes in; during it one worker is killed with SIGKILL (it stays
 * dead: the other must carry on), then the database's postmaster is killed with SIGKILL and
 * started again on the same port and data folder a few seconds later. Replies reach the HTTP
 * users' webhook (a recorder here), so a reply delivered twice is seen as the user would.
 *
 *   npx tsx bench/chaos.ts [conversations=100] [messages=3] [outage-ms=3000] [scripted] [verbose]
 *
 * `scripted` runs the workers with the tests' scripted supervisor (test/inbox/worker-main.mjs)
 * instead of the offline engine. Prints the counts: acknowledged, answered once, lost,
 * duplicated, answered by a graph run twice, and the recovery times. This is a benchmark, not a
 * test: it reports and never fails on numbers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { DisposablePostgres, freePort } from "../test/inbox/disposable-postgres.ts";
import { QUESTIONS as BENCH_QUESTIONS } from "./questions.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const numbers = args.filter((a) => /^\d+$/.test(a)).map(Number);
const CONVERSATIONS = numbers[0] ?? 100;
const PER_CONVERSATION = numbers[1] ?? 3;
const OUTAGE_MS = numbers[2] ?? 3000;
const SCRIPTED = args.includes("scripted");
const TOTAL = CONVERSATIONS * PER_CONVERSATION;

const QUESTIONS = [...BENCH_QUESTIONS, "The dashboard shows error 502 since this morning"];

interface Proc {
  name: string;
  child: ChildProcess;
  port: number;
  output: () => string;
}

/** The HTTP users' webhook: every delivery, with when it came. */
class WebhookRecorder {
  readonly deliveries: Array<{ key: string; at: number }> = [];
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      let raw = "";
      req.on("data", (d) => (raw += String(d)));
      req.on("end", () => {
        try {
          const body = JSON.parse(raw) as { idempotencyKey?: string };
          if (body.idempotencyKey) this.deliveries.push({ key: body.idempotencyKey, at: Date.now() });
        } catch {
          // not ours
        }
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** Replies (not give-up notices) delivered so far. */
  replies(): number {
    return this.deliveries.filter((d) => d.key.startsWith("reply:")).length;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

function spawnProc(name: string, argv: string[], env: Record<string, string>, port: number): Proc {
  const child = spawn(process.execPath, argv, { cwd: ROOT, env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr?.on("data", (d) => {
    output = (output + String(d)).slice(-4_000_000);
  });
  return { name, child, port, output: () => output };
}

async function status(url: string, init?: RequestInit): Promise<number | undefined> {
  try {
    return (await fetch(url, { ...init, signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return undefined;
  }
}

async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const seconds = (ms: number | undefined) => (ms === undefined ? "n/a" : `${(ms / 1000).toFixed(1)} s`);

async function main(): Promise<void> {
  const missing = DisposablePostgres.unavailable();
  if (missing) throw new Error(`cannot run: ${missing}`);
  const server = await DisposablePostgres.start();
  const webhook = new WebhookRecorder();
  const webhookUrl = await webhook.start();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-chaos-"));
  const env: Record<string, string> = {
    DATABASE_URL: server.url,
    DATA_DIR: dataDir,
    WEBHOOK_URL: webhookUrl,
    WEBHOOK_SECRET: "chaos-bench-webhook-secret",
    DEMO_DATA: "off",
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    ...(process.env["WORKER_LEASE_MS"] ? { WORKER_LEASE_MS: process.env["WORKER_LEASE_MS"] } : {}),
  };
  const procs: Proc[] = [];
  const admin = new pg.Pool({ connectionString: server.url, max: 2 });
  admin.on("error", () => {});
  try {
    const gatewayPort = await freePort();
    const gateway = spawnProc("gateway", [path.join(ROOT, "bin/switchboard.js"), "serve", "--role", "gateway", "--port", String(gatewayPort)], env, gatewayPort);
    procs.push(gateway);
    const api = `http://127.0.0.1:${gatewayPort}`;
    await until(async () => (await status(`${api}/healthz`)) === 200, "the gateway", 120_000, 250);
    const workers: Proc[] = [];
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const argv = SCRIPTED ? [path.join(ROOT, "test/inbox/worker-main.mjs")] : [path.join(ROOT, "bin/switchboard.js"), "worker", "--port", String(port)];
      workers.push(spawnProc(`worker-${i + 1}`, argv, { ...env, WORKER_PORT: String(port), SCRIPTED_WORK_MS: "20" }, port));
    }
    procs.push(...workers);
    for (const w of workers) await until(async () => (await status(`http://127.0.0.1:${w.port}/healthz`)) === 200, w.name, 120_000, 250);
    const pids = Object.fromEntries(procs.map((p) => [p.name, p.child.pid]));

    // The burst: every conversation's first message at once; each next one as soon as the
    // previous was taken (200 with the reply, or 202 queued). A 503 is sent again after its
    // Retry-After (capped at 1 s here), with the same messageId, as a careful client does.
    const http = { ok200: 0, queued202: 0, duplicate409: 0, refused503: 0, other: 0, networkErrors: 0 };
    const acknowledged = new Set<string>();
    const started = Date.now();
    const senders = Array.from({ length: CONVERSATIONS }, async (_, c) => {
      let conversationId: string | undefined;
      for (let i = 0; i < PER_CONVERSATION; i++) {
        const messageId = `chaos-${c}-${i}`;
        for (;;) {
          let r: Response;
          try {
            r = await fetch(`${api}/api/messages`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ userId: `chaos-user-${c}`, text: QUESTIONS[(c + i) % QUESTIONS.length], messageId, ...(conversationId ? { conversationId } : {}) }),
              signal: AbortSignal.timeout(120_000),
            });
          } catch {
            http.networkErrors++;
            await sleep(1000);
            continue;
          }
          const body = (await r.json().catch(() => ({}))) as { conversationId?: string };
          if (r.status === 200 || r.status === 202 || r.status === 409) {
            if (r.status === 200) http.ok200++;
            else if (r.status === 202) http.queued202++;
            else http.duplicate409++;
            acknowledged.add(messageId);
            conversationId ??= body.conversationId;
            break;
          }
          if (r.status === 503) http.refused503++;
          else http.other++;
          await sleep(1000);
        }
      }
    });

    // The chaos, timed by answers delivered so far.
    await until(() => webhook.replies() >= Math.round(TOTAL * 0.2), "a fifth of the answers", 600_000);
    const victim = workers[0]!;
    const victimIds = (await admin.query<{ id: string }>("select id from queue_workers where pid = $1", [victim.child.pid])).rows.map((r) => r.id);
    victim.child.kill("SIGKILL");
    const workerKilledAt = Date.now();
    const heldByVictim = (await admin.query<{ key: string }>("select key from graphile_worker.jobs where locked_by = any($1::text[])", [victimIds])).rows.map((r) => r.key);

    await until(() => webhook.replies() >= Math.round(TOTAL * 0.4), "two fifths of the answers", 600_000);
    // Jobs the surviving worker was running when the database died (the dead worker's wait for its lease).
    const inFlightAtKill = (
      await admin.query<{ key: string }>("select key from graphile_worker.jobs where locked_by is not null and not (locked_by = any($1::text[]))", [victimIds])
    ).rows.map((r) => r.key);
    const repliesAtKill = webhook.replies();
    server.kill();
    const dbKilledAt = Date.now();
    // While it is down: what the gateway and the surviving worker say about themselves.
    // A new user's message is sent too (each time a new one): the gateway must refuse it plainly.
    const health = { gateway: new Map<number | string, number>(), worker: new Map<number | string, number>(), post: new Map<number | string, number>() };
    const survivor = workers[1]!;
    const count = (m: Map<number | string, number>, s: number | string) => m.set(s, (m.get(s) ?? 0) + 1);
    let probes = 0;
    const sampling = (async () => {
      while (server.pid() === undefined || Date.now() - dbKilledAt < OUTAGE_MS) {
        count(health.gateway, (await status(`${api}/healthz`)) ?? "no answer");
        count(health.worker, (await status(`http://127.0.0.1:${survivor.port}/healthz`)) ?? "no answer");
        const messageId = `chaos-probe-${probes++}`;
        const posted = await fetch(`${api}/api/messages`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ userId: "chaos-probe", text: "Are you there?", messageId }),
          signal: AbortSignal.timeout(120_000),
        }).then(
          async (r) => `${r.status}${r.status === 503 ? ` ${((await r.json()) as { error?: { code?: string } }).error?.code} retry-after=${r.headers.get("retry-after")}` : ""}`,
          () => "no answer",
        );
        if (posted.startsWith("200") || posted.startsWith("202")) acknowledged.add(messageId);
        count(health.post, posted);
        await sleep(250);
      }
    })();
    await sleep(OUTAGE_MS);
    await server.restart();
    const dbBackAt = Date.now();
    await sampling;

    await until(() => webhook.replies() > repliesAtKill || undefined, "the first answer after the restart", 600_000, 50);
    const firstAnswerAfterRestart = webhook.deliveries.find((d) => d.at >= dbBackAt && d.key.startsWith("reply:"))?.at;
    await Promise.all(senders);
    const sentAll = Date.now();
    // Every acknowledged message answered (or given up), or ten minutes.
    const answeredKeys = () => new Set(webhook.deliveries.map((d) => d.key.replace(/^(reply|giveup):/, "")));
    const ids = async () =>
      new Map(
        (await admin.query<{ id: string; pmid: string }>("select id::text, platform_message_id as pmid from messages where direction = 'in'")).rows.map((r) => [r.id, r.pmid]),
      );
    await until(
      async () => {
        const answered = answeredKeys();
        const stored = await ids().catch(() => undefined);
        return stored !== undefined && stored.size >= acknowledged.size && [...stored.keys()].every((id) => answered.has(id));
      },
      "every acknowledged message to be answered",
      600_000,
      500,
    ).catch((err: unknown) => console.error(String(err)));
    const drainedAt = Date.now();
    const inFlightAnsweredAt = Math.max(
      ...inFlightAtKill.map((id) => webhook.deliveries.find((d) => d.key === `reply:${id}` || d.key === `giveup:${id}`)?.at ?? Number.NaN),
    );
    const victimAnsweredAt = Math.max(...heldByVictim.map((id) => webhook.deliveries.find((d) => d.key.endsWith(id))?.at ?? Number.NaN));

    // The counts.
    const stored = await ids();
    const perMessage = new Map<string, number>();
    for (const d of webhook.deliveries) {
      if (!d.key.startsWith("reply:") && !d.key.startsWith("giveup:")) continue;
      const id = d.key.replace(/^(reply|giveup):/, "");
      perMessage.set(id, (perMessage.get(id) ?? 0) + 1);
    }
    const storedIds = [...stored.keys()];
    const answeredOnce = storedIds.filter((id) => perMessage.get(id) === 1).length;
    const lost = storedIds.filter((id) => !perMessage.has(id)).length;
    const duplicated = storedIds.filter((id) => (perMessage.get(id) ?? 0) > 1).length;
    // The webhook is at-least-once with an Idempotency-Key (README): what a receiver that drops
    // repeats by that key still sees twice is a message answered under two different keys.
    const keysPerMessage = new Map<string, Set<string>>();
    for (const d of webhook.deliveries) {
      const id = d.key.replace(/^(reply|giveup):/, "");
      keysPerMessage.set(id, (keysPerMessage.get(id) ?? new Set()).add(d.key));
    }
    const duplicatedAfterDedupe = storedIds.filter((id) => (keysPerMessage.get(id)?.size ?? 0) > 1).length;
    const q = async (sql: string) => Number((await admin.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
    const doneTwice = await q("select count(*) as n from (select message_id from processing_attempts where result = 'done' group by message_id having count(*) > 1) x");
    const routedTwice = await q("select count(*) as n from (select message_id from routing_decisions group by message_id having count(*) > 1) x");
    const workerRunsTwice = await q("select count(*) as n from (select message_id from worker_runs group by message_id, worker having count(*) > 1) x");
    const givenUp = await q("select count(*) as n from messages where idempotency_key like 'giveup:%'");
    const jobsLeft = await q("select count(*) as n from graphile_worker.jobs");
    const unfinished = await q("select count(*) as n from messages where direction = 'in' and status not in ('done', 'failed')");
    const alive = Object.fromEntries(procs.map((p) => [p.name, p.child.exitCode === null && p.child.signalCode === null ? `alive (pid ${p.child.pid})` : `exited (${p.child.signalCode ?? p.child.exitCode})`]));
    const replacedPools = procs.map((p) => (p.output().match(/replacing the worker pool/g) ?? []).length).reduce((a, b) => a + b, 0);
    const unhandled = procs.map((p) => (p.output().match(/unhandled promise rejection/g) ?? []).length).reduce((a, b) => a + b, 0);

    const out = (label: string, value: unknown) => console.log(`${label.padEnd(52)} ${String(value)}`);
    console.log(`\nchaos: ${CONVERSATIONS} conversations × ${PER_CONVERSATION} messages, ${SCRIPTED ? "scripted workers" : "offline engine"}, 2 workers (one SIGKILLed), database down ${OUTAGE_MS} ms + restart`);
    out("acknowledged (200/202/409 from the gateway)", acknowledged.size);
    out("stored inbound messages", stored.size);
    out("answered once (one reply delivered to the user)", answeredOnce);
    out("lost (acknowledged, never answered)", lost);
    out("duplicated (reply delivered more than once)", duplicated);
    out("  … still twice after dropping repeats by Idempotency-Key", duplicatedAfterDedupe);
    out("graph ran twice: 'done' attempts > 1", doneTwice);
    out("graph ran twice: routing decisions > 1", routedTwice);
    out("graph ran twice: worker runs (message, worker) > 1", workerRunsTwice);
    out("handed to a person instead (give-up notices)", givenUp);
    out("jobs left in the queue / messages unfinished", `${jobsLeft} / ${unfinished}`);
    out("HTTP: 200 / 202 / 409 / 503 / other / network errors", `${http.ok200} / ${http.queued202} / ${http.duplicate409} / ${http.refused503} / ${http.other} / ${http.networkErrors}`);
    out("gateway /healthz while the database was down", [...health.gateway].map(([s, n]) => `${s}×${n}`).join(", "));
    out("worker /healthz while the database was down", [...health.worker].map(([s, n]) => `${s}×${n}`).join(", "));
    out("POST /api/messages (new user) while it was down", [...health.post].map(([s, n]) => `${s}×${n}`).join(", "));
    out("database down (kill → restarted and accepting)", seconds(dbBackAt - dbKilledAt));
    out("recovery: restart → first answer", seconds(firstAnswerAfterRestart === undefined ? undefined : firstAnswerAfterRestart - dbBackAt));
    out(`recovery: restart → last of the ${inFlightAtKill.length} jobs running at the kill answered`, Number.isNaN(inFlightAnsweredAt) ? "not all answered" : seconds(Math.max(0, inFlightAnsweredAt - dbBackAt)));
    out(`worker SIGKILL → last of its ${heldByVictim.length} locked jobs answered (lease ${process.env["WORKER_LEASE_MS"] ?? 30000} ms)`, Number.isNaN(victimAnsweredAt) ? "not all answered" : seconds(victimAnsweredAt - workerKilledAt));
    out("burst start → all sent / all answered", `${seconds(sentAll - started)} / ${seconds(drainedAt - started)}`);
    out("worker pools replaced after stale locks", replacedPools);
    out("unhandled rejections logged (and survived)", unhandled);
    for (const [name, state] of Object.entries(alive)) out(`${name} (pid at start ${pids[name]})`, state);

    // Where each anomaly comes from: the SIGKILLed worker (README's one window: a reply the
    // platform took before it was recorded as sent), or the database outage.
    const routedTwiceIds = (await admin.query<{ id: string }>("select message_id::text as id from routing_decisions group by message_id having count(*) > 1")).rows.map((r) => r.id);
    const duplicatedIds = storedIds.filter((id) => (perMessage.get(id) ?? 0) > 1);
    const cause = (id: string) => (heldByVictim.includes(id) ? "held by the SIGKILLed worker" : inFlightAtKill.includes(id) ? "running at the database kill" : "neither");
    const when = (at: number) => `worker kill ${at >= workerKilledAt ? "+" : ""}${((at - workerKilledAt) / 1000).toFixed(1)} s, db kill ${at >= dbKilledAt ? "+" : ""}${((at - dbKilledAt) / 1000).toFixed(1)} s`;
    for (const id of duplicatedIds) {
      const times = webhook.deliveries.filter((d) => d.key.endsWith(id)).map((d) => when(d.at));
      console.log(`  duplicated ${id}: ${cause(id)}; delivered at ${times.join(" | ")}`);
    }
    for (const id of routedTwiceIds) console.log(`  graph ran twice ${id}: ${cause(id)}`);
    if (args.includes("verbose")) {
      // The jobs running at the database kill: their attempts and deliveries.
      for (const id of inFlightAtKill) {
        const attempts = await admin.query<{ worker_id: string; result: string | null; error: string | null; at: number }>(
          "select worker_id, result, error, extract(epoch from started_at) * 1000 as at from processing_attempts where message_id = $1 order by started_at",
          [id],
        );
        const reply = await admin.query<{ status: string; attempts: number; error: string | null }>("select status, attempts, error from messages where idempotency_key = $1", [`reply:${id}`]);
        console.log(`  running at the kill ${id}: attempts ${attempts.rows.map((a) => `[${when(Number(a.at))}: ${a.result ?? "never finished"}${a.error ? ` (${a.error.slice(0, 60)})` : ""}]`).join(" ")}; reply ${JSON.stringify(reply.rows[0])}; delivered ${webhook.deliveries.filter((d) => d.key.endsWith(id)).map((d) => when(d.at)).join(" | ")}`);
      }
    }
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
    await Promise.all(procs.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? new Promise((r) => p.child.once("exit", r)) : undefined)));
    await admin.end().catch(() => {});
    await webhook.close();
    await server.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
