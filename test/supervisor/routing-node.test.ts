import { describe, expect, it } from "vitest";
import type { RouteContext, Router, RoutingDecision } from "../../agents/router/types.ts";
import { offlineRouterFor } from "../../agents/trained-router.ts";
import { CLARIFY_TEXT, SMALL_TALK_TEXT, besidesPerson, smallTalkOf, withPersonCues } from "../../agents/supervisor/routing.ts";
import { WorkerRegistry } from "../../agents/workers/registry.ts";
import { compileSupervisor, fakeWorker, scriptedRouter, turn } from "../helpers/graph-fixtures.ts";

const ok = (reply: string) => ({ status: "ok" as const, reply, sources: [] });
const thread = (id: string) => ({ configurable: { thread_id: id } });
const workers = () => ["billing", "tech_support", "faq"].map((name) => fakeWorker(name, (q) => ok(`${name}: ${q}`)));

/** A router that records what it was given and answers from a table. */
function recordingRouter(table: Record<string, string[]>) {
  const seen: Array<{ text: string; context: RouteContext | undefined }> = [];
  const router: Router = {
    async route(text, context): Promise<RoutingDecision> {
      seen.push({ text, context });
      const routes = (table[text] ?? []).map((route) => ({ route, confidence: 0.9, question: text }));
      return { routes, scores: {}, unsure: routes.length === 0, engine: "offline", latencyMs: 0 };
    },
  };
  return { router, seen };
}

describe("small talk", () => {
  it.each([
    ["hello?", "greeting"],
    ["Hi there!", "greeting"],
    ["good morning, anyone there?", "greeting"],
    ["thanks!", "thanks"],
    ["ok thank you so much", "thanks"],
    ["bye", "goodbye"],
  ])("%j is %s", (text, kind) => expect(smallTalkOf(text)).toBe(kind));

  it.each(["hello, I was charged twice", "thanks but the app still crashes", "hi I need a refund"])("%j is not only small talk", (text) => {
    expect(smallTalkOf(text)).toBeNull();
  });

  it("answers a greeting as one, never opens a handoff, and leaves the unclear streak as it was", async () => {
    const { router, seen } = recordingRouter({});
    const graph = compileSupervisor(workers(), router);
    const state = await graph.invoke({ turn: turn("hello?", { unclearStreak: 1 }) }, thread("t-hello"));
    expect(state.reply?.text).toBe(SMALL_TALK_TEXT.greeting);
    expect(state.handoff).toBeNull();
    expect(state.results).toEqual([]);
    expect(state.unclearStreak).toBe(1);
    expect(seen).toEqual([]); // the router (and a hybrid's model) is not asked
    const thanks = await graph.invoke({ turn: turn("thanks!") }, thread("t-hello"));
    expect(thanks.reply?.text).toBe(SMALL_TALK_TEXT.thanks);
    expect(thanks.handoff).toBeNull();
  });
});

describe("a person, asked for or needed", () => {
  it("adds the human route to a message that asks for a person, keeping its other routes", () => {
    const d = withPersonCues(
      { routes: [{ route: "tech_support", confidence: 0.8, question: "my SSO is broken" }], scores: {}, unsure: false, engine: "offline", latencyMs: 0 },
      "get me a person please, my SSO is broken",
    );
    expect(d.routes.map((r) => r.route)).toEqual(["tech_support", "human"]);
  });

  it.each([
    ["get me a person please, my SSO is broken", "my SSO is broken"],
    ["my invoice is wrong, I want a manager", "my invoice is wrong"],
    ["can I speak to a human? the app crashes on login", "the app crashes on login"],
    ["get me a person please", null],
    ["I want a manager now!", null],
  ])("%j asks, besides a person: %j", (text, rest) => expect(besidesPerson(text)).toBe(rest));

  it("hands off on 'get me a person' even when the router saw only billing, and answers the rest", async () => {
    const text = "get me a person please, my SSO is broken";
    const graph = compileSupervisor(workers(), scriptedRouter({ [text]: [{ route: "billing" }] }));
    const state = await graph.invoke({ turn: turn(text) }, thread("t-person"));
    expect(state.handoff?.reason).toBe("user_request");
  });

  it("hands a complaint the router is unsure about to a person, as a complaint", async () => {
    const graph = compileSupervisor(workers(), scriptedRouter({}));
    const state = await graph.invoke({ turn: turn("I am furious") }, thread("t-furious"));
    expect(state.handoff?.reason).toBe("complaint");
    expect(state.reply?.text).not.toBe(CLARIFY_TEXT);
  });
});

describe("with the offline router", () => {
  const router = offlineRouterFor(new WorkerRegistry());

  it("answers an out-of-scope message with the clarifying question, not a worker's answer", async () => {
    const graph = compileSupervisor(workers(), router);
    const state = await graph.invoke({ turn: turn("who is going to win the election") }, thread("t-oos"));
    expect(state.results).toEqual([]);
    expect(state.reply?.text).toBe(CLARIFY_TEXT);
    expect(state.handoff).toBeNull();
  });

  it("opens a handoff for 'get me a person please, my SSO is broken' and still has tech support answer the SSO part", async () => {
    const graph = compileSupervisor(workers(), router);
    const state = await graph.invoke({ turn: turn("get me a person please, my SSO is broken") }, thread("t-person-sso"));
    expect(state.handoff?.reason).toBe("user_request");
    expect(state.decision?.routes.map((r) => r.route).sort()).toEqual(["human", "tech_support"]);
    expect(state.results.map((r) => r.worker)).toEqual(["tech_support"]);
    expect(state.reply?.text).toContain("tech_support: my SSO is broken");
  });

  it.each(["get me a person please", "I want to talk to a human <script>window.__pwned = 1</script>"])(
    "asks for a person only when nothing else is asked: no worker runs for %j",
    async (text) => {
      const graph = compileSupervisor(workers(), router);
      const state = await graph.invoke({ turn: turn(text) }, thread(`t-person-only-${text.length}`));
      expect(state.handoff?.reason).toBe("user_request");
      expect(state.decision?.routes.map((r) => r.route)).toEqual(["human"]);
      expect(state.results).toEqual([]);
    },
  );

  it("routes a follow-up by the previous turn's route", async () => {
    const graph = compileSupervisor(workers(), router);
    const first = await graph.invoke({ turn: turn("what plans do you offer?") }, thread("t-follow"));
    expect(first.results.map((r) => r.worker)).toEqual(["faq"]);
    const second = await graph.invoke({ turn: turn("and on Pro?") }, thread("t-follow"));
    expect(second.decision?.fromContext).toBe("faq");
    expect(second.results.map((r) => r.worker)).toEqual(["faq"]);
  });
});

describe("context for the router", () => {
  it("gives the router the previous turn's routes and the transcript", async () => {
    const { router, seen } = recordingRouter({ "my card was charged twice": ["billing"], "and the month before?": ["billing"] });
    const graph = compileSupervisor(workers(), router);
    await graph.invoke({ turn: turn("my card was charged twice") }, thread("t-ctx"));
    await graph.invoke({ turn: turn("and the month before?") }, thread("t-ctx"));
    expect(seen[0]?.context).toEqual({ previousRoutes: [], transcript: [] });
    expect(seen[1]?.context?.previousRoutes).toEqual(["billing"]);
    expect(seen[1]?.context?.transcript).toEqual([
      { role: "user", text: "my card was charged twice" },
      { role: "assistant", text: "billing: my card was charged twice" },
    ]);
  });
});
