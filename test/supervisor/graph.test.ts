import { describe, expect, it } from "vitest";
import { compileSupervisor, delay, fakeWorker, scriptedRouter, turn } from "../helpers/graph-fixtures.ts";

const ok = (reply: string) => ({ status: "ok" as const, reply, sources: [] });
const thread = (id: string) => ({ configurable: { thread_id: id } });

describe("supervisor graph", () => {
  it("runs routed workers in parallel: the two workers' runs overlap in time", async () => {
    const spans: Array<[string, number, number]> = [];
    const slow = (name: string) =>
      fakeWorker(name, async () => {
        const start = performance.now();
        await delay(300);
        spans.push([name, start, performance.now()]);
        return ok(`${name} answer`);
      });
    const text = "charged twice and the app crashes";
    const graph = compileSupervisor([slow("billing"), slow("tech_support")], scriptedRouter({ [text]: [{ route: "billing" }, { route: "tech_support" }] }));
    const state = await graph.invoke({ turn: turn(text) }, thread("t-parallel"));

    expect(state.results.map((r) => r.worker).sort()).toEqual(["billing", "tech_support"]);
    // The two runs overlap in time: each started before the other finished (a wall-clock bound
    // on the whole run would fail on a loaded machine and prove less).
    const [a, b] = spans;
    expect(a![1]).toBeLessThan(b![2]);
    expect(b![1]).toBeLessThan(a![2]);
    expect(state.reply?.sections.map((s) => s.route)).toEqual(["billing", "tech_support"]);
    expect(state.reply?.text).toContain("billing answer");
    expect(state.reply?.text).toContain("tech_support answer");
    expect(state.handoff).toBeNull();
  });

  it("keeps the answers that succeeded when one worker fails, and hands off with the reason", async () => {
    const text = "two things";
    let attempts = 0;
    const graph = compileSupervisor(
      [
        fakeWorker("billing", () => ok("billing is fine")),
        fakeWorker("tech_support", () => {
          attempts++;
          throw new Error("knowledge base offline");
        }),
      ],
      scriptedRouter({ [text]: [{ route: "billing" }, { route: "tech_support" }] }),
    );
    const state = await graph.invoke({ turn: turn(text) }, thread("t-fail"));
    expect(attempts).toBe(2); // the node's retry policy tried again before giving up
    expect(state.reply?.text).toContain("billing is fine");
    expect(state.reply?.text).toMatch(/couldn't finish the part about tech_support/i);
    expect(state.handoff).toEqual({ reason: "worker_failed", detail: expect.stringContaining("knowledge base offline") });
    expect(state.results.find((r) => r.worker === "tech_support")?.status).toBe("failed");
  });

  it("times a slow worker out without sinking the other", async () => {
    const text = "slow one";
    let release!: () => void;
    const slowDone = new Promise<void>((resolve) => (release = resolve));
    const graph = compileSupervisor(
      // The slow worker answers only once the graph has returned: that the graph returns at all
      // proves it did not wait for it (no wall-clock bound, which a loaded machine breaks).
      [fakeWorker("billing", () => ok("fast answer")), fakeWorker("tech_support", () => slowDone.then(() => ok("too late")))],
      scriptedRouter({ [text]: [{ route: "billing" }, { route: "tech_support" }] }),
      200,
    );
    const state = await graph.invoke({ turn: turn(text) }, thread("t-timeout"));
    release();
    expect(state.reply?.text).toContain("fast answer");
    expect(state.handoff?.reason).toBe("worker_timeout");
    expect(state.results.find((r) => r.worker === "tech_support")?.status).toBe("timeout");
  });

  it("routes to a fourth worker added only to the registry", async () => {
    const text = "where is my parcel";
    const shipping = fakeWorker("shipping", (q) => ok(`tracking for: ${q}`));
    const graph = compileSupervisor([fakeWorker("billing", () => ok("x")), shipping], scriptedRouter({ [text]: [{ route: "shipping" }] }));
    const state = await graph.invoke({ turn: turn(text) }, thread("t-fourth"));
    expect(state.reply?.text).toBe("tracking for: where is my parcel");
    expect(state.results[0]?.worker).toBe("shipping");
  });

  it("asks one clarifying question, then hands a second unclear message to a person", async () => {
    const graph = compileSupervisor([fakeWorker("billing", () => ok("x"))], scriptedRouter({}));
    const first = await graph.invoke({ turn: turn("hmm") }, thread("t-unclear"));
    expect(first.reply?.text).toMatch(/billing.*technical problem.*general question/s);
    expect(first.handoff).toBeNull();
    expect(first.unclearStreak).toBe(1);
    const second = await graph.invoke({ turn: turn("blorp", { unclearStreak: 1 }) }, thread("t-unclear"));
    expect(second.handoff?.reason).toBe("low_confidence");
    expect(second.unclearStreak).toBe(0);
  });

  it("hands off when the user asks for a person, and calls a complaint a complaint", async () => {
    const graph = compileSupervisor(
      [fakeWorker("billing", () => ok("x"))],
      scriptedRouter({ "let me talk to a human": [{ route: "human" }], "this is unacceptable, I want to complain": [{ route: "human" }] }),
    );
    const asked = await graph.invoke({ turn: turn("let me talk to a human") }, thread("t-human"));
    expect(asked.handoff?.reason).toBe("user_request");
    expect(asked.reply?.text).toMatch(/person/);
    const complaint = await graph.invoke({ turn: turn("this is unacceptable, I want to complain") }, thread("t-complaint"));
    expect(complaint.handoff?.reason).toBe("complaint");
  });

  it("stays silent when a person owns the conversation, but remembers the message", async () => {
    let calls = 0;
    const text = "any news?";
    const graph = compileSupervisor([fakeWorker("billing", () => (calls++, ok("x")))], scriptedRouter({ [text]: [{ route: "billing" }] }));
    const state = await graph.invoke({ turn: turn(text, { ownership: "human" }) }, thread("t-owned"));
    expect(state.answered).toBe(false);
    expect(calls).toBe(0);
    expect(state.messages.at(-1)?.content).toBe(text);
  });

  it("keeps memory per conversation through the checkpointer", async () => {
    const graph = compileSupervisor([fakeWorker("billing", (q) => ok(`re: ${q}`))], scriptedRouter({ a: [{ route: "billing" }], b: [{ route: "billing" }] }));
    await graph.invoke({ turn: turn("a") }, thread("t-mem"));
    const second = await graph.invoke({ turn: turn("b") }, thread("t-mem"));
    expect(second.messages.map((m) => m.content)).toEqual(["a", "re: a", "b", "re: b"]);
    const other = await graph.invoke({ turn: turn("a") }, thread("t-mem-other"));
    expect(other.messages).toHaveLength(2);
  });

});
