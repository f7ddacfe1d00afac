import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GraphileJobQueue } from "../../src/inbox/graphile-queue.ts";
import type { MessageJob } from "../../src/inbox/job-queue.ts";
import { silentLogger } from "../../src/logger.ts";
import { messageJob, queueDatabases, queueSuite } from "../helpers/queue-databases.ts";
import { waitFor } from "./harness.ts";

/**
 * A lock a live worker holds for a job none of its handlers runs: what a database outage leaves
 * when graphile-worker's release of a finished job (or the answer to its fetch) is lost with the
 * connection. The worker itself must notice and let the job (and its conversation) go on; its
 * liveness heartbeat keeps anyone else from doing so.
 */
const logger = silentLogger();
const targets = queueDatabases("test/inbox/stale-locks.test.ts");

describe.each(targets)("stale locks of a live worker: $name", (target) => {
  const suite = queueSuite(target);

  const start = async () => {
    const runs: Array<{ messageId: string; attempt: number; workerId: string | undefined }> = [];
    // The lease is long: nothing here may be released because a worker looks dead.
    const q = new GraphileJobQueue({ pool: suite.db.pool, logger, embedded: target.embedded, concurrency: 2, pollIntervalMs: 100, staleLockMs: 400, leaseMs: 60_000 });
    suite.queue = q;
    await q.start(async (job, attempt) => {
      runs.push({ messageId: job.messageId, attempt: attempt.number, workerId: q.workerId });
    });
    return { q, runs, workerId: q.workerId! };
  };
  /** Adds a job already locked by `workerId`, as a fetch that went through would leave it (`attempts`: as many as it has then). */
  const addLocked = async (q: GraphileJobQueue, j: MessageJob, workerId: string, attempts?: number) => {
    const client = await suite.db.pool.connect();
    try {
      await client.query("begin");
      await q.add(client, j);
      await client.query("update graphile_worker._private_jobs set locked_by = $1, locked_at = now(), attempts = coalesce($3, attempts + 1) where key = $2", [workerId, j.messageId, attempts ?? null]);
      await client.query("commit");
    } finally {
      client.release();
    }
  };
  const locksOf = async (workerId: string) => Number((await suite.db.pool.query("select count(*) from graphile_worker.jobs where locked_by = $1", [workerId])).rows[0].count);
  const headOf = async (conversationId: string) =>
    (await suite.db.pool.query<{ head: string | null }>("select head from conversation_claims where conversation_id = $1", [conversationId])).rows[0]?.head;

  it("a job locked by this worker but not running is released by the same worker, and its conversation goes on in order", async () => {
    const { q, runs, workerId } = await start();
    const conversation = randomUUID();
    const [first, second] = [messageJob(conversation), messageJob(conversation)];
    await addLocked(q, first, workerId);
    await q.add(suite.db.pool, second);
    q.added();

    await waitFor(async () => runs.length >= 2, "both jobs to run", 30_000);
    expect(runs.map((r) => r.messageId)).toEqual([first.messageId, second.messageId]);
    // The lost attempt counts; the job runs again as its second.
    expect(runs[0]!.attempt).toBe(2);
    // The worker went on under a new id; nothing is left locked under the old one, which is gone.
    expect(runs[0]!.workerId).not.toBe(workerId);
    await waitFor(async () => (await locksOf(workerId)) === 0, "the old id's locks to be released", 30_000);
    await waitFor(async () => (await suite.db.pool.query("select 1 from queue_workers where id = $1", [workerId])).rowCount === 0, "the old id to unregister", 30_000);
    await waitFor(async () => Number((await suite.db.pool.query("select count(*) from graphile_worker.jobs")).rows[0].count) === 0, "the queue to empty", 30_000);
  });

  it("a conversation's claim left to a job that is gone (its hand-on lost with the connection) is released too", async () => {
    const { q, runs } = await start();
    const j = messageJob(randomUUID());
    // The claim names a head whose job graphile-worker completed without the hand-on.
    await suite.db.pool.query("insert into conversation_claims (conversation_id, head, head_platform) values ($1, $2, 'http')", [j.conversationId, randomUUID()]);
    await q.add(suite.db.pool, j);
    q.added();

    await waitFor(async () => runs.length >= 1, "the job to run", 30_000);
    expect(runs[0]).toMatchObject({ messageId: j.messageId, attempt: 1 });
    await waitFor(async () => (await headOf(j.conversationId)) === null, "the claim to be free", 30_000);
  });

  it("a last attempt locked by this worker but not running is released, and the conversation goes on without it", async () => {
    const { q, runs, workerId } = await start();
    const conversation = randomUUID();
    const [lost, next] = [messageJob(conversation), messageJob(conversation)];
    // A worker died (or lost the answer) on the job's last attempt: released, it cannot run again.
    await addLocked(q, lost, workerId, 4);
    await q.add(suite.db.pool, next);
    q.added();

    await waitFor(async () => runs.length >= 1, "the next job to run", 30_000);
    expect(runs.map((r) => r.messageId)).toEqual([next.messageId]);
    await waitFor(async () => (await headOf(conversation)) === null, "the claim to be free", 30_000);
    expect(await locksOf(workerId)).toBe(0);
    // The lost job stays, as failed (its message is the next turn's to answer first).
    expect(await q.depth()).toMatchObject({ failed: 1, running: 0 });
    await suite.db.pool.query("select graphile_worker.remove_job($1)", [lost.messageId]);
  });

  it("a job that is running is not taken for stale, however long it runs", async () => {
    let finish!: () => void;
    const running = new Promise<void>((resolve) => (finish = resolve));
    const q = new GraphileJobQueue({ pool: suite.db.pool, logger, embedded: target.embedded, concurrency: 2, pollIntervalMs: 100, staleLockMs: 200, leaseMs: 60_000 });
    suite.queue = q;
    const seen: string[] = [];
    await q.start(async (j) => {
      seen.push(j.messageId);
      await running;
    });
    const workerId = q.workerId!;
    const j = messageJob(randomUUID());
    await q.add(suite.db.pool, j);
    q.added();
    await waitFor(async () => seen.length === 1, "the job to start", 30_000);
    // Many sweeps pass (every 100 ms); the job stays with this worker, and runs once.
    await waitFor(async () => {
      const r = await suite.db.pool.query<{ locked_by: string; age: number }>(
        "select locked_by, extract(epoch from now() - locked_at) * 1000 as age from graphile_worker.jobs where key = $1",
        [j.messageId],
      );
      return r.rows[0] && Number(r.rows[0].age) > 1500 ? r.rows[0] : undefined;
    }, "the job to have run for a while", 30_000, 100);
    expect(q.workerId).toBe(workerId);
    finish();
    await waitFor(async () => Number((await suite.db.pool.query("select count(*) from graphile_worker.jobs")).rows[0].count) === 0, "the job to complete", 30_000);
    expect(seen).toEqual([j.messageId]);
  });
});
