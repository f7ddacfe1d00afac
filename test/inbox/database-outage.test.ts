import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { DatabaseUnavailableError } from "../../src/db/connection-errors.ts";
import { StorageError } from "../../src/errors.ts";
import { ConversationLeases } from "../../src/inbox/conversation-leases.ts";
import { silentLogger } from "../../src/logger.ts";
import { DisposablePostgres, freePort } from "./disposable-postgres.ts";
import { queueEnv, slackMessage, SlackRecorder, spawnWorker, startGateway, stopWorker, waitFor, type WorkerProcess } from "./harness.ts";

/**
 * issue #11, item 3: a gateway and two worker processes on a Postgres server that is killed
 * (`kill -9` of its postmaster) in the middle of a run and started again on the same port and
 * data folder. The server is this test's own (initdb + pg_ctl), never a shared one.
 */
const MISSING = DisposablePostgres.unavailable();
const CI = process.env["CI"] === "true";
if (MISSING && !CI) console.warn(`test/inbox/database-outage.test.ts skipped: ${MISSING}. It starts (and kills) a Postgres server of its own.`);

const CONVERSATIONS = 12;
const PER_CONVERSATION = 5;
/** How long the database stays down. */
const OUTAGE_MS = 2500;

describe.skipIf(MISSING !== undefined && !CI)("the database server dies and comes back", () => {
  let server: DisposablePostgres;
  let slack: SlackRecorder;
  let gateway: App;
  let workers: Array<WorkerProcess & { port: number }> = [];
  let runLog: string;

  beforeAll(async () => {
    // Under CI the test must run: missing server binaries are a failure there, not a skip.
    if (MISSING) throw new Error(`CI=true but ${MISSING}: this test needs initdb and pg_ctl to start and kill a Postgres server of its own`);
    server = await DisposablePostgres.start();
    slack = await SlackRecorder.start();
    runLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-runs-")), "runs.log");
    // The default lease (30 s): the workers stay alive, so nothing here is released for a dead worker.
    const env = queueEnv(server.url, slack, { WORKER_CONCURRENCY: "4", SCRIPTED_WORK_MS: "40", SCRIPTED_RUN_LOG: runLog, HOST: "127.0.0.1" });
    gateway = await startGateway(env);
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      workers.push({ ...spawnWorker({ ...env, WORKER_PORT: String(port) }, { scripted: true }), port });
    }
    await waitFor(async () => (await healthz(workers[0]!)) === 200 && (await healthz(workers[1]!)) === 200, "both workers to be healthy", 60_000, 100);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await gateway?.close();
    await slack?.close();
    await server?.destroy();
    if (runLog) fs.rmSync(path.dirname(runLog), { recursive: true, force: true });
  });

  it("while it is down the pool throws DatabaseUnavailableError (a StorageError) — on connect, on query, on a checked-out client — and works again once it is back", async () => {
    const pool = gateway.db.pool;
    const client = await pool.connect();
    server.kill();
    // The killed postmaster's backends answer until they notice it is gone: the first failure counts.
    const failure = await waitFor(async () => client.query("select 1").then(() => undefined, (err: unknown) => err), "the checked-out connection to break", 30_000, 50);
    expect(failure).toBeInstanceOf(DatabaseUnavailableError);
    client.release(true);
    await untilDown(pool);
    await expect(pool.query("select 1")).rejects.toBeInstanceOf(StorageError);
    await expect(pool.connect()).rejects.toBeInstanceOf(DatabaseUnavailableError);
    // A statement that is wrong stays what it is.
    await server.restart();
    await waitFor(async () => pool.query("select 1").then(() => true, () => false), "the pool to reach the server again", 30_000, 100);
    await expect(pool.query("select * from no_such_table")).rejects.not.toBeInstanceOf(StorageError);
  });

  it("a conversation lease whose release the outage swallowed is released once the server is back, not when it expires", async () => {
    // Two processes' lease tables: `a` holds the conversation when the server dies.
    const conversationId = (await gateway.db.pool.query<{ id: string }>(
      "insert into conversations (platform, conversation_key, user_id) values ('http', $1, 'u-lease') returning id",
      [`http:lease-${Date.now()}`],
    )).rows[0]!.id;
    const a = new ConversationLeases({ pool: gateway.db.pool, logger: silentLogger(), leaseMs: 600_000 });
    const b = new ConversationLeases({ pool: gateway.db.pool, logger: silentLogger(), leaseMs: 600_000, waitMs: 120_000 });
    try {
      await a.run(conversationId, async () => {
        server.kill();
        await untilDown(gateway.db.pool);
      });
      await server.restart();
      // Without the retried release `b` would wait for the 10-minute expiry, past its 2-minute wait.
      await expect(b.run(conversationId, async () => "b ran")).resolves.toBe("b ran");
      expect((await gateway.db.pool.query("select 1 from conversation_leases where conversation_id = $1", [conversationId])).rowCount).toBe(0);
    } finally {
      a.close();
      b.close();
    }
  }, 180_000);

  it("kill -9 of the postmaster mid-run: every acknowledged message is answered once, in order, by the same two worker processes", async () => {
    const pids = workers.map((w) => w.child.pid);
    const threads = Array.from({ length: CONVERSATIONS }, (_, c) => `1700000002.${String(c).padStart(6, "0")}`);
    const acknowledged = new Map<string, string[]>(threads.map((t) => [t, []]));
    let refused = 0;
    // The last messages of each conversation are written once the server is gone.
    let gone!: () => void;
    const serverGone = new Promise<void>((resolve) => (gone = resolve));

    // Each conversation's user writes one message after another; a message the gateway could not
    // store is sent again (as Slack redelivers an event it got no answer for) until it is taken.
    const senders = threads.map(async (thread, c) => {
      for (let i = 0; i < PER_CONVERSATION; i++) {
        if (i === PER_CONVERSATION - 2) await serverGone;
        const text = `c${c} m${i}`;
        for (;;) {
          try {
            const s = await gateway.intake.submit(slackMessage(thread, `outage-${c}-${i}`, text));
            acknowledged.get(thread)!.push(text);
            expect(s.status === "accepted" || s.status === "duplicate").toBe(true);
            break;
          } catch (err) {
            if (!(err instanceof StorageError)) throw err;
            refused++;
            await pause(100);
          }
        }
        await pause(50);
      }
    });

    // Mid-run: some answers are out, more are being answered and more are still to come.
    await waitFor(async () => slack.posted.length >= 12, "the first answers", 60_000);
    // Posts reaching Slack from now on are held until the database is back: a post Slack took
    // while the database was gone could not be recorded as sent and would be posted again (the
    // window README's "Exactly one answer" names; no platform takes an idempotency key). The
    // kill comes with a reply in flight, once every post Slack already took is recorded.
    slack.holdPosts(() => true);
    await waitFor(async () => slack.held.length > 0, "a reply on its way to Slack", 60_000);
    await waitFor(async () => (await sentReplies(gateway)) >= slack.posted.length, "the posts Slack took to be recorded", 30_000);
    const killed = server.kill();

    // While it is down: storing a message fails with a StorageError (the API's 503), and each
    // worker's health check answers 503.
    await untilDown(gateway.db.pool);
    gone();
    await expect(gateway.intake.submit(slackMessage(threads[0]!, "outage-probe", "are you there?"))).rejects.toBeInstanceOf(StorageError);
    for (const w of workers) await waitFor(async () => (await healthz(w)) === 503, `worker ${w.child.pid} /healthz to answer 503`, 30_000, 100);
    await pause(OUTAGE_MS);
    await server.restart();
    expect(server.pid()).not.toBe(killed);
    slack.holdPosts(() => false);
    for (const held of slack.held) held.release();

    await Promise.all(senders);
    const total = CONVERSATIONS * PER_CONVERSATION;
    expect([...acknowledged.values()].flat()).toHaveLength(total);
    expect(refused).toBeGreaterThan(0);

    // Every acknowledged message answered: generous deadlines, no clock in the assertions.
    await waitFor(async () => slack.posted.length >= total && (await finishedMessages(gateway)) >= total, `${total} answers after the restart`, 180_000, 200).catch(
      async (err: unknown) => {
        // What was left, so a failure here can be explained (it has been seen once, under load).
        const logs = workers.map((w) => `worker ${w.child.pid} (exit ${w.child.exitCode ?? "-"}): ${w.output().slice(-3000)}`).join("\n");
        throw new Error(`${(err as Error).message}; posted ${slack.posted.length}, held ${slack.held.length}; ${await stateOf(gateway)}\n${logs}`);
      },
    );
    await waitFor(async () => (await jobsLeft(gateway)) === 0, "the queue to empty", 60_000, 200);

    // Exactly once each, in the order they were sent.
    expect(slack.posted).toHaveLength(total);
    for (const thread of threads) {
      expect(slack.postsIn(thread).map((p) => p.text)).toEqual(acknowledged.get(thread)!.map((t) => `re: ${t}`));
    }
    const rows = await gateway.db.pool.query<{ done: number; sent: number; probe: number }>(
      `select (select count(*) from messages where direction = 'in' and status = 'done')::int as done,
              (select count(*) from messages where direction = 'out' and status = 'sent')::int as sent,
              (select count(*) from messages where platform_message_id = 'outage-probe')::int as probe`,
    );
    expect(rows.rows[0]).toEqual({ done: total, sent: total, probe: 0 });
    // Every message was answered by a graph run (a run the outage cut short is run again).
    const runs = fs.readFileSync(runLog, "utf8").trim().split("\n");
    expect(new Set(runs).size).toBe(total);

    // The same two processes did it: nobody restarted them, and both are healthy and registered.
    for (const w of workers) {
      expect(w.child.exitCode).toBeNull();
      expect(w.child.signalCode).toBeNull();
      await waitFor(async () => (await healthz(w)) === 200, `worker ${w.child.pid} /healthz to answer 200 again`, 30_000, 100);
    }
    expect(workers.map((w) => w.child.pid)).toEqual(pids);
    const registered = await gateway.db.pool.query<{ pid: number }>("select distinct pid from queue_workers order by pid");
    expect(registered.rows.map((r) => r.pid).sort()).toEqual([...pids].sort());
  }, 400_000);
});

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until the pool's queries fail: the killed postmaster's backends are gone too. */
async function untilDown(pool: App["db"]["pool"]): Promise<void> {
  await waitFor(async () => pool.query("select 1").then(() => false, (err: unknown) => err instanceof StorageError), "the server to be gone", 30_000, 50);
}

async function healthz(w: { port: number }): Promise<number | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${w.port}/healthz`, { signal: AbortSignal.timeout(5000) });
    return r.status;
  } catch {
    return undefined;
  }
}

async function sentReplies(app: App): Promise<number> {
  return Number((await app.db.pool.query("select count(*) from messages where direction = 'out' and status = 'sent'")).rows[0].count);
}

async function finishedMessages(app: App): Promise<number> {
  return Number((await app.db.pool.query("select count(*) from messages where direction = 'in' and status = 'done'")).rows[0].count);
}

/** Messages by direction and status, the jobs, claims and leases left (for a failure's message). */
async function stateOf(app: App): Promise<string> {
  const q = async (sql: string) => JSON.stringify((await app.db.pool.query(sql)).rows);
  try {
    return [
      `messages ${await q("select direction, status, count(*)::int as n from messages group by 1, 2 order by 1, 2")}`,
      `jobs ${await q("select id, attempts, max_attempts, run_at, locked_by, left(last_error, 200) as last_error from graphile_worker.jobs order by id limit 20")}`,
      `claims ${await q("select * from conversation_claims limit 20")}`,
      `leases ${await q("select * from conversation_leases limit 20")}`,
    ].join("; ");
  } catch (err) {
    return `state not read: ${(err as Error).message}`;
  }
}

async function jobsLeft(app: App): Promise<number> {
  return Number((await app.db.pool.query("select count(*) from graphile_worker.jobs")).rows[0].count);
}
