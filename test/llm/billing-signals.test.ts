/**
 * The real billing worker on the demo billing data (embedded Postgres), through the supervisor
 * graph with a scripted chat model and offline: a refund above the approval limit reaches the
 * graph as a structured tool signal, and becomes a `needs_approval` handoff whose detail is a
 * sentence a person reads, with no tool wording in any reply, detail or tool-log text.
 */
import { fakeModel, type FakeBuiltModel } from "@langchain/core/testing";
import { MemorySaver } from "@langchain/langgraph";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compileSupervisor } from "../../agents/supervisor/graph.ts";
import type { SupervisorStateType } from "../../agents/supervisor/state.ts";
import { billingWorker } from "../../agents/workers/billing/index.ts";
import { WorkerRegistry } from "../../agents/workers/registry.ts";
import type { Database } from "../../src/db/database.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { emptyKnowledge, scriptedRouter, turn } from "../helpers/graph-fixtures.ts";

/** Tool wording that must never reach a person: the old sentinels of the tool results. */
const SENTINEL = /NEEDS_APPROVAL|REQUESTED:|ESCALATED:/;
/** Priya (cus_priya) was charged $250.00 twice for INV-2001: pay_p2 duplicates pay_p1. */
const PRIYA = { platform: "http" as const, userId: "u2", customerId: "cus_priya", conversationId: "c-priya" };
/** Jordan (cus_jordan) was charged $24.00 twice for INV-1004: pay_j5 duplicates pay_j4. */
const JORDAN = { platform: "http" as const, userId: "u1", customerId: "cus_jordan", conversationId: "c-jordan" };
const APPROVAL_DETAIL = /^Refund rf_\w+ of \$250\.00 for payment pay_p2 is above the \$100\.00 approval limit\.$/;

let db: Database;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ db, drop } = await databaseTargets()[0]!.open());
  await db.pool.query(billingWorker.demoSql!);
}, 60_000);
afterAll(() => drop());
// Each test asks for a refund of its own: none is open when it starts.
beforeEach(() => db.pool.query("delete from refunds"));

function supervisor(text: string, model?: FakeBuiltModel) {
  return compileSupervisor(
    {
      registry: new WorkerRegistry([billingWorker]),
      router: scriptedRouter({ [text]: [{ route: "billing" }] }),
      model,
      deps: { pool: db.pool, knowledge: emptyKnowledge, config: { refundApprovalLimit: 100 }, now: () => new Date() },
    },
    new MemorySaver(),
  );
}

/** Everything of a turn a person can see: the reply, the handoff, the worker runs and their tool logs. */
const visible = (s: SupervisorStateType) => JSON.stringify({ reply: s.reply, handoff: s.handoff, results: s.results });

describe("refund above the approval limit", () => {
  it("from a scripted LLM worker: request_refund's signal hands off for approval", async () => {
    const model = fakeModel().respondWithTools([{ name: "request_refund", args: { payment_id: "pay_p2", reason: "duplicate charge" }, id: "call_refund" }]);
    const text = "I was charged twice, refund the second one";

    const state = await supervisor(text, model).invoke({ turn: turn(text, { caller: PRIYA }) }, { configurable: { thread_id: "t-llm-approval" } });

    // The refund waiting for approval is the whole answer: the worker gives it without asking the
    // model again (one model call), in the words the offline engine uses.
    expect(model.callCount).toBe(1);

    const run = state.results[0]!;
    expect(run).toMatchObject({ worker: "billing", status: "needs_human", engine: "llm", handoff: { reason: "needs_approval" } });
    expect(run.handoff?.detail).toMatch(APPROVAL_DETAIL);
    expect(run.toolCalls).toEqual([
      {
        name: "request_refund",
        args: { payment_id: "pay_p2", reason: "duplicate charge" },
        result: expect.stringMatching(/^Refund rf_\w+ of \$250\.00 .*approval/),
        signal: expect.objectContaining({ signal: "needs_approval", refundId: expect.stringMatching(/^rf_/), detail: run.handoff?.detail }),
      },
    ]);
    expect(state.handoff).toEqual(run.handoff);
    expect(state.reply?.text).toMatch(/^You're right — you were charged twice\.\n\nI've opened refund rf_\w+ for \$250\.00, but refunds above \$100\.00 need a person's approval\. A person from our billing team will approve it and reply here\./);
    expect(visible(state)).not.toMatch(SENTINEL);

    const refunds = await db.pool.query("select status from refunds where payment_id = 'pay_p2'");
    expect(refunds.rows).toEqual([{ status: "awaiting_approval" }]);
  });

  it("offline: the same signal, the same handoff", async () => {
    const text = "I was charged twice for my subscription";

    const state = await supervisor(text).invoke({ turn: turn(text, { caller: PRIYA }) }, { configurable: { thread_id: "t-offline-approval" } });

    const run = state.results[0]!;
    expect(run).toMatchObject({ worker: "billing", status: "needs_human", engine: "offline", handoff: { reason: "needs_approval" } });
    expect(run.handoff?.detail).toMatch(APPROVAL_DETAIL);
    expect(run.toolCalls.find((c) => c.name === "request_refund")?.signal).toMatchObject({ signal: "needs_approval", paymentId: "pay_p2" });
    expect(state.handoff).toEqual(run.handoff);
    expect(state.reply?.text).toMatch(/I've opened refund rf_\w+ for \$250\.00, but refunds above \$100\.00 need a person's approval/);
    expect(state.reply?.text).toMatch(/will approve it and reply here/);
    expect(visible(state)).not.toMatch(SENTINEL);
  });
});

describe("refund within the approval limit", () => {
  it("offline: requested at once, no handoff", async () => {
    const text = "I was charged twice this month";

    const state = await supervisor(text).invoke({ turn: turn(text, { caller: JORDAN }) }, { configurable: { thread_id: "t-offline-requested" } });

    const run = state.results[0]!;
    expect(run).toMatchObject({ worker: "billing", status: "ok", engine: "offline" });
    expect(run.toolCalls.find((c) => c.name === "request_refund")?.signal).toMatchObject({ signal: "refund_requested", paymentId: "pay_j5", amountCents: 2_400 });
    expect(state.handoff).toBeNull();
    expect(state.reply?.text).toMatch(/so I've requested it: refund rf_\w+ of \$24\.00 for payment pay_j5\. Refunds take 5–10 business days\./);
    expect(visible(state)).not.toMatch(SENTINEL);
  });
});
