import { HANG_GUARD_MS } from "../helpers/wait-until.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipWithoutServer } from "../helpers/requirements.ts";
import type { App } from "../../src/app.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { liveWorkers, queueEnv, slackMessage, SlackRecorder, spawnWorker, startGateway, stopWorker, waitFor, type WorkerProcess } from "./harness.ts";

const SERVER = process.env["TEST_DATABASE_URL"];

const CONVERSATIONS = 200;
const PER_CONVERSATION = 5;

describe.skipIf(skipWithoutServer("test/inbox/scale-out.test.ts"))("scale-out: two worker processes on one Postgres", () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>>;
  let slack: SlackRecorder;
  let gateway: App;
  let workers: WorkerProcess[] = [];

  beforeAll(async () => {
    fresh = await freshServerDatabase(SERVER!);
    slack = await SlackRecorder.start();
    // 25 ms of work per message: a conversation's next message arrives while the previous one is still being answered.
    const env = queueEnv(fresh.url, slack, { WORKER_CONCURRENCY: "8", SCRIPTED_WORK_MS: "25" });
    gateway = await startGateway(env);
    workers = [spawnWorker(env, { scripted: true }), spawnWorker(env, { scripted: true })];
    await waitFor(async () => (await liveWorkers(gateway)) === 2, "two workers to register", HANG_GUARD_MS, 100);
  });

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await gateway?.close();
    await slack?.close();
    await fresh?.drop();
  });

  it("answers 200 conversations × 5 messages all sent at once: each once, in arrival order, one job of a conversation at a time", async () => {
    const threads = Array.from({ length: CONVERSATIONS }, (_, c) => `1700000000.${String(c).padStart(6, "0")}`);
    // Every message at once, as a burst of Slack events would come; arrival order is the order
    // they were stored in (per conversation, the database serializes them).
    const submissions = await Promise.all(
      threads.flatMap((thread, c) => Array.from({ length: PER_CONVERSATION }, (_, i) => gateway.intake.submit(slackMessage(thread, `m-${c}-${i}`, `c${c} m${i}`)))),
    );
    expect(submissions.every((s) => s.status === "accepted")).toBe(true);
    const total = CONVERSATIONS * PER_CONVERSATION;
    await waitFor(async () => slack.posted.length >= total && (await finished(gateway)) >= total, `${total} replies`, 180_000, 100);

    // Exactly one reply per message as the user sees it, in the order the messages arrived.
    expect(slack.posted).toHaveLength(total);
    const arrived = await gateway.db.pool.query<{ conversation_key: string; texts: string[] }>(
      `select c.conversation_key, array_agg(m.text order by m.created_at, m.id) as texts
       from messages m join conversations c on c.id = m.conversation_id where m.direction = 'in' group by c.conversation_key`,
    );
    expect(arrived.rows).toHaveLength(CONVERSATIONS);
    for (const row of arrived.rows) {
      const thread = row.conversation_key.split(":").at(-1)!;
      expect(slack.postsIn(thread).map((p) => p.text)).toEqual(row.texts.map((t) => `re: ${t}`));
    }

    // Both processes worked, and no two attempts of one conversation overlapped (database clock).
    const attempts = await gateway.db.pool.query<{ conversation_id: string; worker_id: string; started_at: Date; finished_at: Date | null; result: string }>(
      "select conversation_id, worker_id, started_at, finished_at, result from processing_attempts order by conversation_id, started_at",
    );
    expect(new Set(attempts.rows.map((a) => a.worker_id)).size).toBe(2);
    expect(attempts.rows.every((a) => a.result === "done" && a.finished_at !== null)).toBe(true);
    let overlaps = 0;
    for (let i = 1; i < attempts.rows.length; i++) {
      const [prev, cur] = [attempts.rows[i - 1]!, attempts.rows[i]!];
      if (prev.conversation_id === cur.conversation_id && cur.started_at < prev.finished_at!) overlaps++;
    }
    expect(overlaps).toBe(0);
    expect(attempts.rows).toHaveLength(total);

    // Every message done, every reply recorded once and marked sent, no job left.
    const state = await gateway.db.pool.query<{ done: number; sent: number; jobs: number }>(
      `select (select count(*) from messages where direction = 'in' and status = 'done')::int as done,
              (select count(*) from messages where direction = 'out' and status = 'sent')::int as sent,
              (select count(*) from graphile_worker.jobs)::int as jobs`,
    );
    expect(state.rows[0]).toEqual({ done: total, sent: total, jobs: 0 });
  });
});

async function finished(app: App): Promise<number> {
  return Number((await app.db.pool.query("select count(*) from messages where direction = 'in' and status = 'done'")).rows[0].count);
}
