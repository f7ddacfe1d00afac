import { describe, expect, it } from "vitest";
import { inferPlan, planFromPositions, refersBack } from "../../agents/router/plan.ts";
import type { Router, RoutingDecision } from "../../agents/router/types.ts";
import type { WorkerDefinition, WorkerInput, WorkerOutput } from "../../agents/workers/types.ts";
import type { PlanStep, RouteName } from "../../src/types.ts";
import { compileSupervisor, Gate, turn } from "../helpers/graph-fixtures.ts";

/** A worker whose offline answer sees its whole input (the findings of the steps it waits for). */
function worker(name: string, answer: (input: WorkerInput) => Promise<WorkerOutput> | WorkerOutput): WorkerDefinition {
  return { name, title: name, description: `${name} questions`, examples: [`a ${name} question`], systemPrompt: "", tools: () => [], answerOffline: async (input) => answer(input) };
}

/** A router that always decides `decision` (with its plan). */
function planned(routes: Array<{ route: string; question: string }>, plan: PlanStep[] | undefined, scores: Record<string, number> = {}): Router {
  return {
    async route(): Promise<RoutingDecision> {
      return {
        routes: routes.map((r) => ({ route: r.route as RouteName, confidence: 0.9, question: r.question })),
        scores: { billing: 0, tech_support: 0, faq: 0, human: 0, ...Object.fromEntries(routes.map((r) => [r.route, 0.9])), ...scores },
        unsure: false,
        engine: "offline",
        latencyMs: 0,
        ...(plan ? { plan } : {}),
      };
    },
  };
}

describe("a plan with a dependent step", () => {
  const routes = [
    { route: "tech_support", question: "is the service down right now?" },
    { route: "billing", question: "if so can I get a refund for today" },
    { route: "faq", question: "what plans do you offer?" },
  ];
  const plan: PlanStep[] = [
    { id: "s1", worker: "tech_support", question: routes[0]!.question, dependsOn: [] },
    { id: "s2", worker: "billing", question: routes[1]!.question, dependsOn: ["s1"] },
    { id: "s3", worker: "faq", question: routes[2]!.question, dependsOn: [] },
  ];

  it("starts the dependent step after its input finished, hands it the input as data, and still overlaps the independent ones", async () => {
    const events: string[] = [];
    const techStarted = new Gate();
    const faqStarted = new Gate();
    let billingInput: WorkerInput | undefined;
    const graph = compileSupervisor(
      [
        worker("tech_support", async () => {
          events.push("tech:start");
          techStarted.open();
          await faqStarted.wait(); // finishes only once faq is running too: the two overlap
          events.push("tech:end");
          return { status: "ok", reply: "There is an open incident.", sources: [], facts: { incident: { title: "Delayed sync on Android" } } };
        }),
        worker("billing", (input) => {
          events.push("billing:start");
          billingInput = input;
          return { status: "ok", reply: "Refund requested.", sources: [] };
        }),
        worker("faq", async () => {
          events.push("faq:start");
          faqStarted.open();
          await techStarted.wait();
          events.push("faq:end");
          return { status: "ok", reply: "Starter and Business.", sources: [] };
        }),
      ],
      planned(routes, plan),
    );
    const s = await graph.invoke({ turn: turn("is the service down right now? if so can I get a refund for today, and what plans do you offer?") }, { configurable: { thread_id: "t-plan" } });

    expect(events.indexOf("billing:start")).toBeGreaterThan(events.indexOf("tech:end"));
    expect(events.slice(0, 2).sort()).toEqual(["faq:start", "tech:start"]);
    expect(billingInput?.inputs).toEqual([
      expect.objectContaining({ step: "s1", worker: "tech_support", status: "ok", facts: expect.objectContaining({ incident: { title: "Delayed sync on Android" }, toolResults: [] }) }),
    ]);
    // The reply keeps the order the user asked in, whatever order the steps finished in.
    expect(s.reply?.sections.map((x) => x.route)).toEqual(["tech_support", "billing", "faq"]);
    expect(s.results.map((r) => r.step).sort()).toEqual(["s1", "s2", "s3"]);
    expect(s.handoff).toBeNull();
  });

  it("a failed input still reaches the step that waits for it, which answers what it can", async () => {
    let billingInput: WorkerInput | undefined;
    const graph = compileSupervisor(
      [
        worker("tech_support", () => { throw new Error("status page unreachable"); }),
        worker("billing", (input) => { billingInput = input; return { status: "ok", reply: "Here is the refund policy.", sources: [] }; }),
        worker("faq", () => ({ status: "ok", reply: "Plans.", sources: [] })),
      ],
      planned(routes, plan),
    );
    const s = await graph.invoke({ turn: turn("outage refund plans") }, { configurable: { thread_id: "t-plan-failed" } });
    expect(billingInput?.inputs?.[0]).toMatchObject({ step: "s1", status: "failed" });
    expect(s.reply?.text).toContain("Here is the refund policy.");
    expect(s.handoff?.reason).toBe("worker_failed");
  });

  it("without a plan every step waits for nothing", async () => {
    const order: string[] = [];
    const a = new Gate();
    const b = new Gate();
    const graph = compileSupervisor(
      [
        worker("tech_support", async () => { order.push("tech"); a.open(); await b.wait(); return { status: "ok", reply: "t", sources: [] }; }),
        worker("billing", async () => { order.push("billing"); b.open(); await a.wait(); return { status: "ok", reply: "b", sources: [] }; }),
      ],
      planned(routes.slice(0, 2), undefined),
    );
    const s = await graph.invoke({ turn: turn("two things") }, { configurable: { thread_id: "t-parallel" } });
    // Each waited for the other to have started: they ran at the same time.
    expect(order.sort()).toEqual(["billing", "tech"]);
    expect(s.results.every((r) => r.status === "ok")).toBe(true);
  });
});

describe("a step its worker cannot answer", () => {
  const routes = [{ route: "faq", question: "does the API support webhooks?" }];

  it("is offered to the next-best worker once, and both attempts are kept", async () => {
    const asked: string[] = [];
    const graph = compileSupervisor(
      [
        worker("faq", (i) => { asked.push(`faq:${i.question}`); return { status: "declined", reply: "I don't know.", sources: [], facts: { declined: "no help article answers it" } }; }),
        worker("tech_support", (i) => { asked.push(`tech:${i.question}`); return { status: "ok", reply: "Yes: Settings → Webhooks.", sources: [] }; }),
        worker("billing", () => ({ status: "ok", reply: "never asked", sources: [] })),
      ],
      planned(routes, undefined, { tech_support: 0.08, billing: 0.01 }),
    );
    const s = await graph.invoke({ turn: turn("does the API support webhooks?") }, { configurable: { thread_id: "t-reassign" } });
    expect(asked).toEqual(["faq:does the API support webhooks?", "tech:does the API support webhooks?"]);
    expect(s.results).toEqual([
      expect.objectContaining({ worker: "faq", step: "s1", status: "declined", reassignedTo: "tech_support" }),
      expect.objectContaining({ worker: "tech_support", step: "s1", status: "ok", reassignedFrom: "faq" }),
    ]);
    expect(s.reply?.text).toBe("Yes: Settings → Webhooks.");
    expect(s.handoff).toBeNull();
  });

  it("goes to a person, with both workers' reasons, when the next one cannot answer it either", async () => {
    const graph = compileSupervisor(
      [
        worker("faq", () => ({ status: "declined", reply: "I don't know.", sources: [], facts: { declined: "no help article answers it" } })),
        worker("tech_support", () => ({ status: "declined", reply: "No article.", sources: [], facts: { declined: "no technical article or incident covers it" } })),
        worker("billing", () => ({ status: "ok", reply: "never asked", sources: [] })),
      ],
      planned(routes, undefined, { tech_support: 0.08, billing: 0.01 }),
    );
    const s = await graph.invoke({ turn: turn("does the API support webhooks?") }, { configurable: { thread_id: "t-no-answer" } });
    expect(s.results.map((r) => `${r.worker}:${r.status}`)).toEqual(["faq:declined", "tech_support:declined"]);
    expect(s.handoff?.reason).toBe("no_answer");
    expect(s.handoff?.detail).toContain("faq (no help article answers it), then tech_support (no technical article or incident covers it)");
    expect(s.reply?.text).not.toContain("I don't know");
  });

  it("a failed step goes to a worker the router thought likely, not to one it ruled out", async () => {
    const failing = () => { throw new Error("billing database unreachable"); };
    const unlikely = compileSupervisor(
      [worker("billing", failing), worker("faq", () => ({ status: "ok", reply: "never asked", sources: [] }))],
      planned([{ route: "billing", question: "refund policy?" }], undefined, { faq: 0.1 }),
      2_000,
    );
    const s1 = await unlikely.invoke({ turn: turn("refund policy?") }, { configurable: { thread_id: "t-fail-unlikely" } });
    expect(s1.results.map((r) => `${r.worker}:${r.status}`)).toEqual(["billing:failed"]);
    expect(s1.handoff?.reason).toBe("worker_failed");

    const likely = compileSupervisor(
      [worker("billing", failing), worker("faq", () => ({ status: "ok", reply: "Refunds within 30 days.", sources: [] }))],
      planned([{ route: "billing", question: "refund policy?" }], undefined, { faq: 0.6 }),
      2_000,
    );
    const s2 = await likely.invoke({ turn: turn("refund policy?") }, { configurable: { thread_id: "t-fail-likely" } });
    expect(s2.results.map((r) => `${r.worker}:${r.status}`)).toEqual(["billing:failed", "faq:ok"]);
    expect(s2.reply?.text).toBe("Refunds within 30 days.");
    expect(s2.handoff).toBeNull();
  });
});

describe("plans from the routers", () => {
  it("the offline plan: a later part that refers back waits for the earlier one", () => {
    const text = "is the service down right now? if so can I get a refund for today";
    const plan = inferPlan(text, [
      { route: "billing", confidence: 0.88, question: "if so can I get a refund for today" },
      { route: "tech_support", confidence: 0.67, question: "is the service down right now?" },
    ]);
    expect(plan).toEqual([
      { id: "s1", worker: "tech_support", question: "is the service down right now?", dependsOn: [] },
      { id: "s2", worker: "billing", question: "if so can I get a refund for today", dependsOn: ["s1"] },
    ]);
  });

  it("independent parts get no plan", () => {
    expect(inferPlan("I was charged twice and the app crashes on login", [
      { route: "billing", confidence: 0.9, question: "I was charged twice" },
      { route: "tech_support", confidence: 0.9, question: "the app crashes on login" },
    ])).toBeUndefined();
  });

  it.each([
    ["if so, can I get a refund?", true],
    ["In that case refund me", true],
    ["then can you retry the payment", true],
    ["can you retry it?", true],
    ["can I get that back?", true],
    ["what plans do you offer?", false],
    ["I was charged twice this month and want the money back", false],
    ["the app crashes on login", false],
  ])("refersBack(%j) is %s", (part, expected) => {
    expect(refersBack(part)).toBe(expected);
  });

  it("the model's plan: positions become step ids, only earlier and kept entries count", () => {
    const entries = [
      { route: "tech_support", after: [] },
      { route: "billing", after: [0, 2] }, // 2 is later: ignored
      { route: "faq", after: [1] },
    ];
    const routes = [
      { route: "billing", confidence: 0.9, question: "refund the outage" },
      { route: "tech_support", confidence: 0.9, question: "was it down?" },
    ];
    expect(planFromPositions(entries, routes)).toEqual([
      { id: "s1", worker: "tech_support", question: "was it down?", dependsOn: [] },
      { id: "s2", worker: "billing", question: "refund the outage", dependsOn: ["s1"] },
    ]);
    expect(planFromPositions([{ route: "faq", after: [] }, { route: "billing", after: [] }], routes)).toBeUndefined();
  });
});
