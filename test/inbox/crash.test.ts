import { HANG_GUARD_MS } from "../helpers/wait-until.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipWithoutServer } from "../helpers/requirements.ts";
import type { App } from "../../src/app.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { queueEnv, slackMessage, SlackRecorder, spawnWorker, startGateway, stopWorker, waitFor, type WorkerProcess } from "./harness.ts";

const SERVER = process.env["TEST_DATABASE_URL"];

/** Thread X: the worker dies while Slack has the reply's post in flight. */
const X = "1700000001.000100";
/** Thread Y: the worker dies while the graph runs (messages saying "slow" take a minute there). */
const Y = "1700000001.000200";
/** Thread Z: the worker is stopped with SIGTERM while it answers. */
const Z = "1700000001.000300";
/** Thread W: Slack takes the reply's post, and the worker dies before it hears so. */
const W = "1700000001.000400";

describe.skipIf(skipWithoutServer("test/inbox/crash.test.ts"))("workers that die or are stopped in the middle of a message", () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>>;
  let slack: SlackRecorder;
  let gateway: App;
  let env: Record<string, string>;
  let survivor: WorkerProcess | undefined;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    fresh = await freshServerDatabase(SERVER!);
    slack = await SlackRecorder.start();
    // A dead worker's jobs go to another after a second without its heartbeat.
    env = queueEnv(fresh.url, slack, { WORKER_LEASE_MS: "1000", WORKER_CONCURRENCY: "4" });
    gateway = await startGateway(env);
  });
  afterAll(async () => {
    if (survivor) await stopWorker(survivor);
    await gateway?.close();
    await slack?.close();
    await fresh?.drop();
  });

  const query = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await gateway.db.pool.query<T>(sql, values)).rows;
  const send = async (thread: string, key: string, text: string) => {
    const s = await gateway.intake.submit(slackMessage(thread, key, text));
    if (s.status !== "accepted") throw new Error(`${key} not accepted`);
    ids[key] = s.messageId;
  };
  const attemptsOf = (key: string) =>
    query<{ worker_id: string; result: string | null }>("select worker_id, result from processing_attempts where message_id = $1 order by started_at", [ids[key]]);

  it("SIGKILL: the next worker answers each message once, sending a reply already recorded rather than answering again, and the rest in order", async () => {
    slack.holdPosts((thread) => thread === X);
    const doomed = spawnWorker({ ...env, SCRIPTED_SLOW_MS: "60000" }, { scripted: true });
    await send(X, "x-1", "first question");
    await send(X, "x-2", "second question");
    await send(Y, "y-1", "slow question");
    await send(Y, "y-2", "quick question");

    // X's reply is recorded and its post in flight; Y's graph is running: kill the worker now.
    const held = await waitFor(async () => slack.held[0], "X's reply to reach Slack", HANG_GUARD_MS);
    expect(held.text).toBe("re: first question");
    await waitFor(async () => (await attemptsOf("y-1")).length === 1, "Y's first message to start", HANG_GUARD_MS);
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    await held.aborted;
    expect(slack.posted).toHaveLength(0);
    const [x1] = await query<{ status: string; reply: string; locked: boolean }>(
      `select m.status, o.status as reply,
              exists (select 1 from graphile_worker.jobs where key = m.id::text and locked_at is not null) as locked
       from messages m join messages o on o.idempotency_key = 'reply:' || m.id::text where m.id = $1`,
      [ids["x-1"]],
    );
    // The reply is claimed for delivery ('sending', until its claim runs out) and the job still locked.
    expect(x1).toEqual({ status: "processing", reply: "sending", locked: true });
    expect(await query("select 1 from messages where in_reply_to = $1", [ids["y-1"]])).toHaveLength(0);

    slack.holdPosts(() => false);
    survivor = spawnWorker(env, { scripted: true });
    // X's reply stays claimed by the dead worker until the outbox's claim runs out, and X's second
    // reply is delivered after it: a generous deadline, longer than any claim.
    await waitFor(async () => slack.postsIn(X).length >= 2 && slack.postsIn(Y).length >= 2, "all four answers after the restart", 200_000, 100);

    expect(slack.postsIn(X).map((p) => p.text)).toEqual(["re: first question", "re: second question"]);
    expect(slack.postsIn(Y).map((p) => p.text)).toEqual(["re: slow question", "re: quick question"]);
    for (const key of ["x-1", "y-1"]) {
      const attempts = await attemptsOf(key);
      expect(attempts.map((a) => a.result)).toEqual([null, "done"]); // the killed attempt never finished
      expect(attempts[1]!.worker_id).not.toBe(attempts[0]!.worker_id);
    }
    expect(await query("select 1 from messages where direction = 'out'")).toHaveLength(4);
  }, 240_000);

  it("SIGTERM: the worker finishes the message it is answering, takes no new one, and exits", async () => {
    const worker = survivor!;
    await send(Z, "z-1", "slow final question");
    await send(Z, "z-2", "one more");
    await waitFor(async () => (await attemptsOf("z-1")).length === 1, "Z's first message to start", HANG_GUARD_MS);
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);

    expect(slack.postsIn(Z).map((p) => p.text)).toEqual(["re: slow final question"]);
    expect((await gateway.log.getMessage(ids["z-1"]!))?.status).toBe("done");
    // The next message waits in the queue for another worker; nothing holds it.
    expect((await gateway.log.getMessage(ids["z-2"]!))?.status).toBe("received");
    expect(await query("select key, locked_at from graphile_worker.jobs")).toEqual([{ key: ids["z-2"], locked_at: null }]);
    expect(await query("select id from queue_workers")).toEqual([]);
  });

  it("SIGKILL after Slack took a post but before the worker heard back: the next worker finds the post and does not post it again", async () => {
    slack.holdPosts((thread) => thread === W, "accepted");
    const doomed = spawnWorker(env, { scripted: true });
    await send(W, "w-1", "a question whose answer is posted once");
    const held = await waitFor(async () => slack.held.find((h) => h.threadTs === W), "W's reply to reach Slack", HANG_GUARD_MS);
    expect(slack.postsIn(W).map((p) => p.text)).toEqual(["re: a question whose answer is posted once"]);
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    await held.aborted;
    slack.holdPosts(() => false);
    const [before] = await query<{ status: string; attempts: number }>("select status, attempts from messages where idempotency_key = 'reply:' || $1", [ids["w-1"]]);
    // Posted in Slack, not recorded as sent: the dead worker's claim is all the database knows.
    expect(before).toEqual({ status: "sending", attempts: 1 });

    survivor = spawnWorker(env, { scripted: true });
    await send(W, "w-2", "and a follow-up");
    await waitFor(async () => slack.postsIn(W).length >= 2, "the follow-up's answer after the restart", 200_000, 100);
    expect(slack.postsIn(W).map((p) => p.text)).toEqual(["re: a question whose answer is posted once", "re: and a follow-up"]);
    const [after] = await query<{ status: string; attempts: number; parts_sent: number }>(
      "select status, attempts, parts_sent from messages where idempotency_key = 'reply:' || $1",
      [ids["w-1"]],
    );
    // The second attempt found the part by its metadata and recorded it, instead of posting it again.
    expect(after).toEqual({ status: "sent", attempts: 2, parts_sent: 1 });
  }, 240_000);
});
