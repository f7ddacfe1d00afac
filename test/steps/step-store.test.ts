import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessSteps } from "../../agents/workers/step-runner.ts";
import type { WorkerInput, WorkerResult } from "../../agents/workers/types.ts";
import { CHANNELS, PgListener } from "../../src/db/pg-listener.ts";
import { GraphileJobQueue } from "../../src/inbox/graphile-queue.ts";
import { silentLogger } from "../../src/logger.ts";
import { QueuedSteps } from "../../src/steps/queued-steps.ts";
import { StepStore } from "../../src/steps/step-store.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { skipWithoutServer } from "../helpers/requirements.ts";
import { waitFor } from "../inbox/harness.ts";
import { loadKnowledgeBase } from "../../agents/knowledge/knowledge-base.ts";
import { DEFAULT_KNOWLEDGE_DIR } from "../../src/config.ts";

const SERVER = process.env["TEST_DATABASE_URL"];

const input = (question: string): WorkerInput => ({
  question,
  message: question,
  history: [{ role: "user", text: "earlier" }],
  caller: { platform: "http", userId: "u1", customerId: "cus_jordan", conversationId: randomUUID() },
});

const result = (reply: string): WorkerResult => ({ worker: "billing", question: "q", status: "ok", reply, sources: [], toolCalls: [], latencyMs: 1, engine: "offline" });

describe.skipIf(skipWithoutServer("test/steps/step-store.test.ts"))("delegated steps: who wins each transition", () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>>;
  let store: StepStore;
  const later = () => Date.now() + 60_000;

  beforeAll(async () => {
    fresh = await freshServerDatabase(SERVER!);
    await GraphileJobQueue.installSchema(fresh.db.pool, silentLogger(), false);
    store = new StepStore(fresh.db.pool);
  });
  afterAll(async () => fresh?.drop());

  const row = async (id: string) =>
    (await fresh.db.pool.query("select status, result, error, attempts, claimed_by from agent_steps where id = $1", [id])).rows[0];
  const jobs = async (id: string) => Number((await fresh.db.pool.query("select count(*) from graphile_worker.jobs where key = $1", [id])).rows[0].count);

  it("given up before any service took it: cancelled, its job removed, and a service that comes later does not run it", async () => {
    const id = randomUUID();
    await store.enqueue({ id, worker: "billing", input: input("a"), deadline: later() });
    expect(await jobs(id)).toBe(1);
    expect(await store.giveUp(id)).toBe("queued");
    expect(await row(id)).toMatchObject({ status: "cancelled" });
    expect(await jobs(id)).toBe(0);
    expect(await store.claim(id, "svc-a", 1)).toBeUndefined();
  });

  it("given up while it runs: abandoned, and the late result is ignored, never applied", async () => {
    const id = randomUUID();
    await store.enqueue({ id, worker: "billing", input: input("b"), deadline: later() });
    expect(await store.claim(id, "svc-a", 1)).toMatchObject({ id, worker: "billing", attempts: 1 });
    expect(await store.giveUp(id)).toBe("running");
    expect(await store.finish(id, "svc-a", { result: result("too late") })).toBe(false);
    expect(await row(id)).toMatchObject({ status: "abandoned", result: null, error: "a late result was ignored" });
  });

  it("not started before its deadline: cancelled by the service that finds it, not run", async () => {
    const id = randomUUID();
    await store.enqueue({ id, worker: "billing", input: input("c"), deadline: Date.now() - 1 });
    expect(await store.claim(id, "svc-a", 1)).toBeUndefined();
    expect(await row(id)).toMatchObject({ status: "cancelled", attempts: 0, error: "not started before the message's budget ran out" });
  });

  it("a service that vanished mid-step is taken over: the second one's result counts, the first one's never", async () => {
    const id = randomUUID();
    await store.enqueue({ id, worker: "billing", input: input("d"), deadline: later() });
    await store.claim(id, "svc-a", 1);
    expect(await store.claim(id, "svc-b", 2)).toMatchObject({ attempts: 2 });
    expect(await store.finish(id, "svc-a", { result: result("from a") })).toBe(false);
    expect(await store.finish(id, "svc-b", { result: result("from b") })).toBe(true);
    expect(await row(id)).toMatchObject({ status: "done", claimed_by: "svc-b", result: { reply: "from b" } });
  });

  it("old steps are deleted an hour after their budget ended, jobs nobody took with them; current ones stay", async () => {
    const old = randomUUID();
    const oldQueued = randomUUID();
    const current = randomUUID();
    const hourAgo = Date.now() - 61 * 60_000;
    await store.enqueue({ id: old, worker: "billing", input: input("old"), deadline: hourAgo });
    await store.enqueue({ id: oldQueued, worker: "billing", input: input("old, never taken"), deadline: hourAgo });
    await store.enqueue({ id: current, worker: "billing", input: input("now"), deadline: later() });
    await fresh.db.pool.query("update agent_steps set status = 'done' where id = $1", [old]);
    expect(await jobs(oldQueued)).toBe(1);
    expect(await store.prune(60 * 60_000)).toBeGreaterThanOrEqual(2);
    expect(await row(old)).toBeUndefined();
    expect(await row(oldQueued)).toBeUndefined();
    expect(await jobs(oldQueued)).toBe(0);
    expect(await row(current)).toMatchObject({ status: "queued" });
    expect(await store.prune(60 * 60_000)).toBe(0);
  });

  it("QueuedSteps: the whole input travels (fields it does not know too), the result comes back on NOTIFY, a failure is an error the budget may retry", async () => {
    const listener = new PgListener({ url: fresh.url, logger: silentLogger(), channels: [CHANNELS.stepFinished] });
    await listener.start();
    const knowledge = await loadKnowledgeBase(DEFAULT_KNOWLEDGE_DIR);
    const local = new InProcessSteps([], { pool: fresh.db.pool, knowledge, config: { refundApprovalLimit: 100 }, now: () => new Date() }, undefined);
    // A long safety re-check: the answer must come by the notification.
    const steps = new QueuedSteps({ pool: fresh.db.pool, logger: silentLogger(), local, listener, recheckMs: 600_000 });
    steps.start();
    try {
      const withInputs = { ...input("e"), inputs: [{ worker: "faq", reply: "an earlier step" }] } as WorkerInput;
      const answered = steps.run("billing", withInputs, new AbortController().signal, later());
      // This test is the billing service: it takes the step and answers it.
      const queued = await waitFor(async () => (await fresh.db.pool.query("select id::text, input from agent_steps where status = 'queued' and input->>'question' = 'e'")).rows[0], "the step to be queued");
      expect(queued.input).toEqual(withInputs);
      await store.claim(queued.id, "svc-test", process.pid);
      await store.finish(queued.id, "svc-test", { result: result("from the service") });
      await expect(answered).resolves.toMatchObject({ reply: "from the service" });

      // Expected from the start: the failure may arrive (on NOTIFY) while `finish` is still being awaited.
      const failing = expect(steps.run("billing", input("f"), new AbortController().signal, later())).rejects.toThrow("the billing service failed: the billing database refused");
      const f = await waitFor(async () => (await fresh.db.pool.query("select id::text from agent_steps where status = 'queued' and input->>'question' = 'f'")).rows[0], "the second step");
      await store.claim(f.id, "svc-test", process.pid);
      await store.finish(f.id, "svc-test", { error: "the billing database refused" });
      await failing;

      // The budget runs out while it waits: the wait ends with the budget's reason, the step is cancelled.
      const budget = new AbortController();
      const waiting = steps.run("billing", input("g"), budget.signal, later());
      const g = await waitFor(async () => (await fresh.db.pool.query("select id::text from agent_steps where status = 'queued' and input->>'question' = 'g'")).rows[0], "the third step");
      budget.abort(new Error("budget over"));
      await expect(waiting).rejects.toThrow("budget over");
      await waitFor(async () => (await row(g.id)).status === "cancelled", "the step to be cancelled");
      expect(steps.timeoutText("billing")).toBe("the billing service did not answer");
    } finally {
      await steps.stop();
      await listener.stop();
    }
  });
});
