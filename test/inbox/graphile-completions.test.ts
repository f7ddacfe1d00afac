import { randomUUID } from "node:crypto";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { interceptClientQueries, statementText } from "../../src/db/intercepted-pool.ts";
import { GraphileJobQueue } from "../../src/inbox/graphile-queue.ts";
import { silentLogger } from "../../src/logger.ts";
import { messageJob, queueDatabases, queueSuite } from "../helpers/queue-databases.ts";
import { waitFor } from "./harness.ts";

/**
 * graphile-worker deletes a job once its task returns; here the task's last statement (the
 * hand-on) already deleted it, so that completion would be a statement and a commit doing nothing,
 * one per message. The queue answers it itself. If a graphile-worker upgrade words its completion
 * otherwise, the statement reaches the database again and this fails: update `COMPLETE_JOB`.
 */
const logger = silentLogger();
const targets = queueDatabases("test/inbox/graphile-completions.test.ts");

/** `pool` whose checked-out clients (graphile-worker's way in) record the text of every statement. */
function recording(pool: pg.Pool, texts: string[]): pg.Pool {
  return interceptClientQueries(pool, (query, send) => {
    texts.push(statementText(query) ?? "");
    return send();
  });
}

describe.each(targets)("graphile-worker's completion of a job the hand-on deleted: $name", (target) => {
  const suite = queueSuite(target);

  it("never reaches the database; the jobs run once each and are gone, the conversation's next one included", async () => {
    const texts: string[] = [];
    const q = new GraphileJobQueue({ pool: recording(suite.db.pool, texts), logger, embedded: target.embedded, concurrency: 2, maxAttempts: 3, pollIntervalMs: 50 });
    suite.queue = q;
    const c = randomUUID();
    const jobs = [0, 1, 2].map(() => messageJob(c));
    for (const j of jobs) await q.add(suite.db.pool, j);
    const ran: string[] = [];
    await q.start(async (j) => {
      ran.push(j.messageId);
    });
    q.added();
    await waitFor(async () => ran.length === 3, "the three jobs");
    await waitFor(async () => (await q.depth()).ready + (await q.depth()).running === 0, "the queue to empty");
    expect(ran).toEqual(jobs.map((j) => j.messageId));
    const left = await suite.db.pool.query("select 1 from graphile_worker._private_jobs where payload->>'conversationId' = $1", [c]);
    expect(left.rowCount).toBe(0);
    // graphile-worker's own statements went through the recorder (its fetches) ...
    expect(texts.some((t) => t.includes("skip locked"))).toBe(true);
    // ... but no completion of its own: neither the unbatched nor the batched wording.
    expect(texts.filter((t) => /^\s*(with j as \(\s*)?delete from "graphile_worker"\._private_jobs/i.test(t))).toEqual([]);
  });
});
