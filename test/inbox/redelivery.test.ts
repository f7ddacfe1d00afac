import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipWithoutServer } from "../helpers/requirements.ts";
import type { App } from "../../src/app.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { queueEnv, slackMessage, SlackRecorder, spawnWorker, startGateway, stopWorker, waitFor, type WorkerProcess } from "./harness.ts";

const SERVER = process.env["TEST_DATABASE_URL"];

describe.skipIf(skipWithoutServer("test/inbox/redelivery.test.ts"))("a platform retry of a message already stored", () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>>;
  let slack: SlackRecorder;
  let gateway: App;
  let env: Record<string, string>;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    fresh = await freshServerDatabase(SERVER!);
    slack = await SlackRecorder.start();
    env = queueEnv(fresh.url, slack);
    gateway = await startGateway(env);
  });

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await gateway?.close();
    await slack?.close();
    await fresh?.drop();
  });

  const jobs = async () =>
    (await gateway.db.pool.query<{ key: string; revision: number }>("select key, revision from graphile_worker.jobs order by id")).rows;

  it("makes no second job and no second reply, before or after the answer", async () => {
    const thread = "1700000002.000200";
    // Before any worker runs: the job waits in the queue.
    const first = await gateway.intake.submit(slackMessage(thread, "ev-1", "is the API down?"));
    expect(first.status).toBe("accepted");
    expect(await jobs()).toEqual([{ key: first.messageId, revision: 0 }]);

    // Slack retries the event: same platform message id, same stored message, the job untouched.
    const retry = await gateway.intake.submit(slackMessage(thread, "ev-1", "is the API down?"));
    expect(retry).toEqual({ status: "duplicate", messageId: first.messageId, conversationId: first.conversationId });
    expect(await jobs()).toEqual([{ key: first.messageId, revision: 0 }]);

    // Retries racing each other: one is stored, with one job.
    const racing = await Promise.all(Array.from({ length: 5 }, () => gateway.intake.submit(slackMessage(thread, "ev-2", "and the dashboard?"))));
    expect(racing.filter((s) => s.status === "accepted")).toHaveLength(1);
    expect(new Set(racing.map((s) => s.messageId)).size).toBe(1);
    expect((await jobs()).map((j) => j.key)).toEqual([first.messageId, racing[0]!.messageId]);

    // Adding a message's job again (recovery at start does) leaves the one job there.
    await gateway.queue.add(gateway.db.pool, { messageId: first.messageId, conversationId: first.conversationId, platform: "slack" });
    expect(await gateway.intake.recover()).toBe(0);
    expect((await jobs()).map((j) => j.key)).toEqual([first.messageId, racing[0]!.messageId]);

    worker = spawnWorker(env, { scripted: true });
    await waitFor(async () => (await jobs()).length === 0 && slack.postsIn(thread).length >= 2, "both answers", 40_000);
    expect(slack.postsIn(thread).map((p) => p.text)).toEqual(["re: is the API down?", "re: and the dashboard?"]);

    // A retry after the answer: still a duplicate, still no job, so nothing can answer it again.
    const late = await gateway.intake.submit(slackMessage(thread, "ev-1", "is the API down?"));
    expect(late.status).toBe("duplicate");
    expect(await gateway.intake.recover()).toBe(0);
    expect(await jobs()).toEqual([]);
    const replies = await gateway.db.pool.query("select in_reply_to from messages where direction = 'out'");
    expect(replies.rows).toHaveLength(2);
    expect(slack.postsIn(thread)).toHaveLength(2);
  });
});
