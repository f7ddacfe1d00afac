import { describe, expect, it } from "vitest";
import { compileSupervisor, delay, fakeWorker, scriptedRouter, turn } from "../helpers/graph-fixtures.ts";

describe("a message whose only worker fails still gets an answer and a handoff", () => {
  const router = scriptedRouter({ "What plans do you offer?": [{ route: "faq" }] });

  it("the lone worker times out", async () => {
    const graph = compileSupervisor([fakeWorker("faq", async () => { await delay(2_000); return { status: "ok", reply: "late", sources: [] }; })], router, 200);
    const s = await graph.invoke({ turn: turn("What plans do you offer?") }, { configurable: { thread_id: "t-timeout" } });
    expect(s.answered).toBe(true);
    expect(s.results.map((r) => r.status)).toEqual(["timeout"]);
    expect(s.handoff?.reason).toBe("worker_timeout");
    expect(s.reply?.text).toMatch(/couldn't finish the part about faq/);
  });

  it("the lone worker throws", async () => {
    const graph = compileSupervisor([fakeWorker("faq", () => { throw new Error("search index gone"); })], router);
    const s = await graph.invoke({ turn: turn("What plans do you offer?") }, { configurable: { thread_id: "t-throw" } });
    expect(s.answered).toBe(true);
    expect(s.results.map((r) => r.status)).toEqual(["failed"]);
    expect(s.handoff?.reason).toBe("worker_failed");
  });
});

describe("merge runs once per message, whichever workers failed", () => {
  it("one worker answers, one throws: one merge, which also decides", async () => {
    const router = scriptedRouter({ "refund and crash": [{ route: "billing", question: "refund" }, { route: "tech_support", question: "crash" }] });
    const graph = compileSupervisor(
      [fakeWorker("billing", () => ({ status: "ok", reply: "Refund requested.", sources: [] })), fakeWorker("tech_support", () => { throw new Error("kb offline"); })],
      router,
    );
    const nodes: string[] = [];
    for await (const update of await graph.stream({ turn: turn("refund and crash") }, { configurable: { thread_id: "t-once" }, streamMode: "updates" })) {
      nodes.push(...Object.keys(update as Record<string, unknown>));
    }
    expect(nodes.filter((n) => n === "merge")).toHaveLength(1);
    expect(nodes).not.toContain("decide");
  });
});
