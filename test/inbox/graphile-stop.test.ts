import { randomUUID } from "node:crypto";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { interceptClientQueries, statementText } from "../../src/db/intercepted-pool.ts";
import { GraphileJobQueue } from "../../src/inbox/graphile-queue.ts";
import type { MessageJob } from "../../src/inbox/job-queue.ts";
import { createLogger, silentLogger } from "../../src/logger.ts";
import { messageJob, queueDatabases, queueSuite } from "../helpers/queue-databases.ts";
import { waitFor } from "./harness.ts";

/**
 * A stop while idle workers of the pool are fetching: graphile-worker lets a fetch that was
 * already sent run the job it finds, even after the pool was told to stop. Seen in CI (the
 * queue contract's "stops taking jobs on stop" on a loaded machine): the running job's hand-on
 * made the conversation's next job while another worker's fetch was on its way, and that job ran
 * after `stop()`. Here every fetch takes long, so a fetch is always on its way when `stop()` comes.
 */
const logger = silentLogger();
const targets = queueDatabases("test/inbox/graphile-stop.test.ts");

/**
 * `pool` whose checked-out clients (graphile-worker's way in) wait `ms` before each job fetch (its
 * statement that locks with `skip locked`) is sent; `sent` gets the text of every statement.
 */
function slowFetches(pool: pg.Pool, ms: number, sent: string[]): pg.Pool {
  return interceptClientQueries(pool, async (query, send) => {
    const text = statementText(query) ?? "";
    if (text.includes("skip locked")) await sleep(ms);
    sent.push(text);
    return send();
  });
}

describe.each(targets)("a stop while workers fetch jobs: $name", (target) => {
  const suite = queueSuite(target);

  const newQueue = (pool: pg.Pool, log = logger) =>
    new GraphileJobQueue({ pool, logger: log, embedded: target.embedded, concurrency: 4, maxAttempts: 3, pollIntervalMs: 10 });

  it("runs nothing after stop(): the job a late fetch took goes back to the queue, with its attempt, for the next start", async () => {
    const c = randomUUID();
    const runs: Array<{ messageId: string; attempt: number }> = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    const handler = async (j: MessageJob, attempt: { number: number }) => {
      runs.push({ messageId: j.messageId, attempt: attempt.number });
      if (first) {
        first = false;
        await gate;
      }
    };
    const [running, waiting] = [messageJob(c), messageJob(c)];
    const lines: Array<{ level: number; msg: string }> = [];
    const out = new PassThrough();
    out.on("data", (chunk: Buffer) => lines.push(...chunk.toString().trim().split("\n").map((l) => JSON.parse(l) as { level: number; msg: string })));
    const sent: string[] = [];
    const q = newQueue(slowFetches(suite.db.pool, 150, sent), createLogger("info", out, "json"));
    suite.queue = q;
    for (const j of [running, waiting]) {
      await q.add(suite.db.pool, j);
      q.added();
    }
    await q.start(handler);
    await waitFor(async () => runs.length === 1, "the first job to start");
    // Idle workers poll every 10 ms and each fetch takes 150 ms: fetches are on their way now.
    await sleep(100);
    const stopping = q.stop();
    release();
    await stopping;
    suite.queue = undefined;
    // Fetches sent before the stop have all come back by now.
    await sleep(300);
    expect(runs.map((r) => r.messageId)).toEqual([running.messageId]);
    // Giving a job back is no failure: nothing is logged as a warning or an error, and
    // graphile-worker's failure write never reaches the database. (Two late fetches can take the
    // same job one after the other, both in this pool: the first one's failure write, by pool id,
    // would undo the second one's lock and count its attempt.)
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    expect(sent.filter((t) => t.includes("last_error"))).toEqual([]);

    // The next start runs the waiting message, as its first attempt.
    const next = newQueue(suite.db.pool);
    suite.queue = next;
    await next.start(handler);
    await waitFor(async () => runs.length === 2, "the waiting job after the restart");
    expect(runs[1]).toEqual({ messageId: waiting.messageId, attempt: 1 });
  });
});
