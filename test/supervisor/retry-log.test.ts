import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/logger.ts";
import type { Router } from "../../agents/router/types.ts";
import { compileSupervisor, fakeWorker, turn } from "../helpers/graph-fixtures.ts";

describe("a retried step is logged through the service's logger, not printed to stdout", () => {
  afterEach(() => vi.restoreAllMocks());

  it("the router fails once: the turn is answered, one warning names the step, and console.log is never called", async () => {
    const printed = vi.spyOn(console, "log").mockImplementation(() => {});
    let lines = "";
    const logger = createLogger("warn", new Writable({ write: (chunk, _e, done) => ((lines += String(chunk)), done()) }), "json");
    let calls = 0;
    const router: Router = {
      route: async () => {
        calls += 1;
        if (calls === 1) throw new Error("router backend hiccup");
        return { routes: [{ route: "faq", confidence: 0.9, question: "what plans do you offer?" }], scores: {}, unsure: false, engine: "offline", latencyMs: 1 };
      },
    };
    const graph = compileSupervisor([fakeWorker("faq", () => ({ status: "ok", reply: "Three plans.", sources: [] }))], router, 5_000, logger);
    const state = await graph.invoke({ turn: turn("what plans do you offer?") }, { configurable: { thread_id: "retry-log" } });

    expect(calls).toBe(2);
    expect(state.reply?.text).toContain("Three plans.");
    expect(printed).not.toHaveBeenCalled();
    const warnings = lines.trim().split("\n").map((l) => JSON.parse(l) as { node?: string; err?: string; msg?: string });
    expect(warnings).toEqual([expect.objectContaining({ node: "route", err: "router backend hiccup", msg: "supervisor: a step failed; retrying it" })]);
  });
});
