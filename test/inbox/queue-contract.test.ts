import { randomUUID } from "node:crypto";
import { skipWithoutServer } from "../helpers/requirements.ts";
import fs from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { GraphileJobQueue } from "../../src/inbox/graphile-queue.ts";
import { InProcessJobQueue } from "../../src/inbox/in-process-queue.ts";
import type { JobAttempt, JobHandler, JobQueue, MessageJob } from "../../src/inbox/job-queue.ts";
import { silentLogger } from "../../src/logger.ts";
import { messageJob } from "../helpers/queue-databases.ts";
import { CACHE_DIR, freshServerDatabase, tempDataDir } from "../helpers/databases.ts";
import { waitFor } from "./harness.ts";

/**
 * The inbox port's contract, run against every implementation: the in-process queue, and
 * graphile-worker on embedded Postgres (PGlite over its wire port: no LISTEN, polling) and on a
 * Postgres server when TEST_DATABASE_URL is set.
 */
interface Target {
  name: string;
  /** A transactional store: `add` inside a rolled-back transaction must leave no job. */
  durable: boolean;
  setup(): Promise<{ db: Database | undefined; drop(): Promise<void> }>;
  queue(db: Database | undefined, maxAttempts: number): JobQueue;
}

const logger = silentLogger();
const targets: Target[] = [
  {
    name: "in-process",
    durable: false,
    setup: async () => ({ db: undefined, drop: async () => {} }),
    queue: (_db, maxAttempts) => new InProcessJobQueue({ logger, concurrency: 4, maxAttempts, backoff: () => 50 }),
  },
  {
    name: "graphile-worker on embedded Postgres",
    durable: true,
    setup: async () => {
      const dir = tempDataDir();
      const db = await openDatabase({ databaseUrl: undefined, dataDir: dir, cacheDir: CACHE_DIR, logger, max: 8 });
      await migrate(db.pool);
      await GraphileJobQueue.installSchema(db.pool, logger, true);
      return { db, drop: async () => { await db.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
    },
    queue: (db, maxAttempts) => new GraphileJobQueue({ pool: db!.pool, logger, embedded: true, concurrency: 4, maxAttempts, pollIntervalMs: 100 }),
  },
];
const SERVER = process.env["TEST_DATABASE_URL"];
if (SERVER) {
  targets.push({
    name: "graphile-worker on a Postgres server",
    durable: true,
    setup: async () => {
      const fresh = await freshServerDatabase(SERVER);
      await GraphileJobQueue.installSchema(fresh.db.pool, logger, false);
      return { db: fresh.db, drop: fresh.drop };
    },
    queue: (db, maxAttempts) => new GraphileJobQueue({ pool: db!.pool, logger, embedded: false, concurrency: 4, maxAttempts }),
  });
} else {
  skipWithoutServer("test/inbox/queue-contract.test.ts (graphile-worker on a Postgres server)");
}

interface Run {
  job: MessageJob;
  attempt: JobAttempt;
  start: number;
  end?: number;
}

describe.each(targets)("job queue contract: $name", (target) => {
  let db: Database | undefined;
  let drop: () => Promise<void>;
  let queue: JobQueue | undefined;

  beforeAll(async () => {
    ({ db, drop } = await target.setup());
  });
  afterEach(async () => {
    await queue?.stop();
    queue = undefined;
  });
  afterAll(async () => {
    await drop();
  });

  const add = async (q: JobQueue, j: MessageJob) => {
    await q.add(db ? db.pool : { query: async () => ({}) as never }, j);
    q.added(j);
  };
  /** Starts a queue whose handler records each run and waits for `gate(job)` if given. */
  const started = async (maxAttempts: number, behave: (run: Run) => Promise<void> = async () => {}) => {
    const runs: Run[] = [];
    const q = target.queue(db, maxAttempts);
    queue = q;
    const handler: JobHandler = async (j, attempt) => {
      const run: Run = { job: j, attempt, start: performance.now() };
      runs.push(run);
      try {
        await behave(run);
      } finally {
        run.end = performance.now();
      }
    };
    return { q, runs, start: () => q.start(handler) };
  };

  it("runs a conversation's jobs one at a time in order, and different conversations side by side", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    let releaseA!: () => void;
    const aMayFinish = new Promise<void>((resolve) => (releaseA = resolve));
    const { q, runs, start } = await started(3, async (run) => {
      // A's first job holds until B's first job runs: one conversation must not block another.
      if (run.job.conversationId === a && runs.filter((r) => r.job.conversationId === a).length === 1) await aMayFinish;
      if (run.job.conversationId === b) releaseA();
    });
    const jobsA = [messageJob(a), messageJob(a), messageJob(a)];
    const jobsB = [messageJob(b), messageJob(b)];
    for (const j of jobsA) await add(q, j);
    for (const j of jobsB) await add(q, j);
    await start();
    await waitFor(async () => runs.filter((r) => r.end !== undefined).length === 5, "five jobs done");

    for (const [conversation, jobs] of [[a, jobsA], [b, jobsB]] as const) {
      const mine = runs.filter((r) => r.job.conversationId === conversation);
      expect(mine.map((r) => r.job.messageId)).toEqual(jobs.map((j) => j.messageId));
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.start).toBeGreaterThanOrEqual(mine[i - 1]!.end!);
    }
    const firstA = runs.find((r) => r.job.conversationId === a)!;
    const firstB = runs.find((r) => r.job.conversationId === b)!;
    expect(firstB.start).toBeLessThan(firstA.end!);
  });

  it("makes one job of a message added twice", async () => {
    const c = randomUUID();
    const { q, runs, start } = await started(3);
    const twice = messageJob(c);
    await Promise.all([add(q, twice), add(q, twice)]);
    await add(q, twice);
    const after = messageJob(c);
    await add(q, after);
    // Recovery at start finds the job there and adds none.
    expect(await q.recover([twice])).toBe(0);
    await start();
    // Jobs of a conversation run in order: once the later job ran, a duplicate would have too.
    await waitFor(async () => runs.some((r) => r.job.messageId === after.messageId && r.end !== undefined), "the later job");
    expect(runs.filter((r) => r.job.messageId === twice.messageId)).toHaveLength(1);
  });

  it.skipIf(!target.durable)("has no job when the transaction that stores the message rolls back (store, then acknowledge)", async () => {
    const c = randomUUID();
    const { q, runs, start } = await started(3);
    const lost = messageJob(c);
    const client = await db!.pool.connect();
    try {
      await client.query("begin");
      await q.add(client, lost);
      await client.query("rollback");
    } finally {
      client.release();
    }
    const kept = messageJob(c);
    const tx = await db!.pool.connect();
    try {
      await tx.query("begin");
      await q.add(tx, kept);
      await tx.query("commit");
    } finally {
      tx.release();
    }
    expect(await q.depth()).toMatchObject({ ready: 1, running: 0 });
    await start();
    await waitFor(async () => runs.some((r) => r.job.messageId === kept.messageId && r.end !== undefined), "the committed job");
    expect(runs.map((r) => r.job.messageId)).toEqual([kept.messageId]);
  });

  it("retries a failed job after a backoff, telling the handler when the attempt is the last", async () => {
    const c = randomUUID();
    const { q, runs, start } = await started(2, async (run) => {
      if (run.attempt.number === 1) throw new Error("the model is down");
    });
    const flaky = messageJob(c);
    await add(q, flaky);
    await start();
    await waitFor(async () => runs.length === 2 && runs[1]!.end !== undefined, "the retry");
    expect(runs.map((r) => ({ number: r.attempt.number, final: r.attempt.final }))).toEqual([
      { number: 1, final: false },
      { number: 2, final: true },
    ]);
    // The backoff: the retry did not run at once.
    expect(runs[1]!.start - runs[0]!.end!).toBeGreaterThanOrEqual(40);
  });

  it("stops taking jobs on stop, after letting the running one finish", async () => {
    const c = randomUUID();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { q, runs, start } = await started(3, async (run) => {
      if (run.job.conversationId === c) await gate;
    });
    const running = messageJob(c);
    const waiting = messageJob(c);
    await add(q, running);
    await add(q, waiting);
    await start();
    await waitFor(async () => runs.length === 1, "the first job to start");
    let stopped = false;
    const stopping = q.stop().then(() => {
      stopped = true;
    });
    release();
    await stopping;
    queue = undefined;
    expect(stopped).toBe(true);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.end).toBeDefined();
  });
});
