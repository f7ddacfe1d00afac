import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineTool } from "../../agents/workers/define-tool.ts";
import type { WorkerDefinition } from "../../agents/workers/types.ts";
import { compileSupervisor, delay, fakeWorker, scriptedRouter, turn } from "../helpers/graph-fixtures.ts";

/** A worker that takes `waitMs`, then calls a tool that writes (here: records that it ran). */
function slowWriter(name: string, waitMs: number, ran: string[], starts: { n: number }): WorkerDefinition {
  return {
    ...fakeWorker(name, () => ({ status: "ok", reply: "", sources: [] })),
    tools: () => [
      defineTool({ name: "request_refund", description: "writes a refund", schema: z.object({}) }, async () => {
        ran.push(`${name}: refund requested`);
        return "requested";
      }),
    ],
    answerOffline: async (_input, tools) => {
      starts.n++;
      await delay(waitMs);
      await tools.call("request_refund");
      return { status: "ok", reply: "Refund requested.", sources: [] };
    },
  };
}

describe("one time budget per message, shared by its workers", () => {
  it("a worker that runs out of the budget stops: its side-effecting tool never runs, and it is not retried", async () => {
    const ran: string[] = [];
    const starts = { n: 0 };
    const router = scriptedRouter({ "refund please": [{ route: "billing" }] });
    const graph = compileSupervisor([slowWriter("billing", 400, ran, starts)], router, 100);
    const s = await graph.invoke({ turn: turn("refund please") }, { configurable: { thread_id: "budget-1" } });
    expect(s.results).toMatchObject([{ worker: "billing", status: "timeout", error: expect.stringMatching(/100 ms budget/) }]);
    expect(s.handoff).toMatchObject({ reason: "worker_timeout" });
    // Long after the run's own wait is over, the tool still has not run.
    await delay(700);
    expect(ran).toEqual([]);
    expect(starts.n).toBe(1);
  });

  it("the answer goes out with what finished: the slow part is cut at the deadline, not waited for", async () => {
    const ran: string[] = [];
    const router = scriptedRouter({ "refund and plans": [{ route: "billing", question: "refund" }, { route: "faq", question: "plans" }] });
    let slowDone = false;
    const slow = slowWriter("billing", 1500, ran, { n: 0 });
    const graph = compileSupervisor(
      [{ ...slow, answerOffline: async (i, t, d) => { const out = await slow.answerOffline(i, t, d); slowDone = true; return out; } }, fakeWorker("faq", () => ({ status: "ok", reply: "We offer Starter and Business.", sources: [] }))],
      router,
      200,
    );
    const s = await graph.invoke({ turn: turn("refund and plans") }, { configurable: { thread_id: "budget-2" } });
    expect(slowDone).toBe(false);
    expect(s.results.map((r) => `${r.worker}:${r.status}`).sort()).toEqual(["billing:timeout", "faq:ok"]);
    expect(s.reply?.text).toContain("We offer Starter and Business.");
    expect(s.reply?.text).toMatch(/couldn't finish the part about billing/);
    expect(s.handoff?.detail).toMatch(/billing timed out/);
    await delay(1600);
    expect(ran).toEqual([]);
  });

  it("a quick failure is retried while the budget lasts", async () => {
    let calls = 0;
    const router = scriptedRouter({ "plans?": [{ route: "faq" }] });
    const graph = compileSupervisor([fakeWorker("faq", () => { calls++; if (calls === 1) throw new Error("index warming up"); return { status: "ok", reply: "Starter and Business.", sources: [] }; })], router, 5_000);
    const s = await graph.invoke({ turn: turn("plans?") }, { configurable: { thread_id: "budget-3" } });
    expect(calls).toBe(2);
    expect(s.results).toMatchObject([{ status: "ok", reply: "Starter and Business." }]);
  });
});
