/**
 * Every model call is recorded (issue 13): the router's, each worker's, the merge's, with the model
 * name, the tokens the endpoint reported, latency and outcome, next to the worker runs of its
 * message; tokens are counted by worker in /metrics, and the console's routing trace lists the
 * calls. Through the real ChatOpenAI client against the local OpenAI-compatible stand-in.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { conversationPage } from "../../bots/console/pages.ts";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { ModelCallRecord } from "../../src/conversations/conversation-log.ts";
import { silentLogger } from "../../src/logger.ts";
import type { Outcome, Platform } from "../../src/types.ts";
import { tempDataDir } from "../helpers/databases.ts";
import { waitFor } from "../inbox/harness.ts";
import { failure, startOpenAIStandIn, structured, structuredOutputName, systemPrompt, text, toolNames, toolResults, type ChatRequest, type OpenAIStandIn, type Reply } from "../stand-ins/openai.ts";

let standIn: OpenAIStandIn;
let app: App | undefined;
let dataDir: string | undefined;

async function startApp(): Promise<App> {
  standIn = await startOpenAIStandIn();
  dataDir = tempDataDir("switchboard-model-calls-");
  const config = loadConfig({ OPENAI_BASE_URL: standIn.baseUrl, OPENAI_API_KEY: "test", LLM_MODEL: "stand-in-7b", ROUTER_MODE: "llm", DATA_DIR: dataDir, LOG_LEVEL: "silent" });
  app = await createApp(config, silentLogger());
  return app;
}

afterEach(async () => {
  await standIn.close();
  await app?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  app = undefined;
  dataDir = undefined;
});

async function ask(a: App, said: string, platform: Platform = "http"): Promise<Extract<Outcome, { kind: "reply" }>> {
  const conversationKey = platform === "slack" ? `slack:C0TEST:${Date.now() / 1000}` : `http:${randomUUID()}`;
  const submission = await a.intake.submit({ platform, conversationKey, userId: "u1", text: said, platformMessageId: randomUUID() });
  if (submission.status !== "accepted") throw new Error(`message not accepted: ${submission.status}`);
  const outcome = await submission.done;
  if (outcome.kind !== "reply") throw new Error(`expected a reply, got ${outcome.kind}`);
  return outcome;
}

async function callsOf(a: App, conversationId: string, n: number): Promise<ModelCallRecord[]> {
  let calls: ModelCallRecord[] = [];
  await waitFor(async () => {
    const inbound = (await a.log.transcript(conversationId)).find((m) => m.direction === "in");
    calls = inbound?.modelCalls ?? [];
    return calls.length >= n;
  }, `${n} model calls recorded`);
  return calls;
}

/**
 * Billing answers after one tool call; tech support at once; merge joins the drafts. Routed as
 * two independent parts, or (`after`) billing waiting for tech support's findings, whose answers
 * overlap and are merged by the model.
 */
const twoWorkers = (after = false) => (req: ChatRequest): Reply => {
  if (structuredOutputName(req) === "route_message") {
    return structured({
      routes: [
        { route: "tech_support", confidence: 0.9, question: "The app crashes when I log in." },
        { route: "billing", confidence: 0.94, question: "I was charged twice this month.", after: after ? [0] : [] },
      ],
    });
  }
  if (systemPrompt(req).startsWith("You merge answers")) return text("Both answers, merged.");
  if (toolNames(req).includes("list_payments")) {
    return toolResults(req).length ? text("You were charged twice; I can refund the duplicate.") : { kind: "tool_calls", calls: [{ name: "list_payments", args: { limit: 5 } }] };
  }
  return text("Sign out and in again.");
};

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("model calls", () => {
  it("records the router's, each worker's and the merge's calls with model, tokens and latency; counts tokens by worker; shows them in the console", async () => {
    const a = await startApp();
    standIn.script(twoWorkers(true));
    const outcome = await ask(a, "I was charged twice this month and the app crashes when I log in");
    expect(outcome.text).toBe("Both answers, merged.");

    const calls = await callsOf(a, outcome.conversationId, standIn.requests.length);
    expect(standIn.requests).toHaveLength(5);
    expect(calls).toHaveLength(5);
    expect(calls.map((c) => c.worker ?? c.stage).sort()).toEqual(["billing", "billing", "merge", "router", "tech_support"]);
    for (const c of calls) {
      expect(c).toMatchObject({ model: "stand-in-7b", outcome: "ok", error: null });
      expect(c.latencyMs).toBeGreaterThan(0);
    }
    // The tokens are the ones the endpoint reported, call by call.
    const reported = standIn.requests.map((r) => r.usage!);
    expect(sum(calls.map((c) => c.promptTokens!))).toBe(sum(reported.map((u) => u.prompt_tokens)));
    expect(sum(calls.map((c) => c.completionTokens!))).toBe(sum(reported.map((u) => u.completion_tokens)));
    const billingRequests = standIn.requests.filter((r) => toolNames(r.body).includes("list_payments"));
    const billingCalls = calls.filter((c) => c.worker === "billing");
    expect(sum(billingCalls.map((c) => c.promptTokens!))).toBe(sum(billingRequests.map((r) => r.usage!.prompt_tokens)));

    const metrics = await a.metrics.registry.metrics();
    expect(metrics).toContain(`switchboard_model_tokens_total{worker="billing",kind="prompt"} ${sum(billingCalls.map((c) => c.promptTokens!))}`);
    expect(metrics).toMatch(/switchboard_model_tokens_total\{worker="router",kind="completion"\} [1-9]/);
    expect(metrics).toMatch(/switchboard_model_tokens_total\{worker="merge",kind="prompt"\} [1-9]/);

    const conversation = (await a.log.getConversation(outcome.conversationId))!;
    const page = conversationPage({ agent: "lead", csrf: "x", now: new Date() }, conversation, await a.log.transcript(outcome.conversationId), []).value;
    const table = page.slice(page.indexOf('data-testid="model-calls"'));
    expect(table).toContain("stand-in-7b");
    expect(table).toContain("tech_support");
    expect(table).toContain("merge");
  });

  it("records failed calls with the error and no tokens", async () => {
    const a = await startApp();
    standIn.script(() => failure(500, "model server is down"));
    const outcome = await ask(a, "I was charged twice this month");
    expect(outcome.engine).toBe("llm->offline");

    // One call each for the router and the billing worker (the client's retries are inside them).
    const calls = await callsOf(a, outcome.conversationId, 2);
    expect(calls.map((c) => c.worker ?? c.stage).sort()).toEqual(["billing", "router"]);
    for (const c of calls) expect(c).toMatchObject({ outcome: "failed", promptTokens: null, completionTokens: null, error: expect.stringMatching(/model server is down/) });
  }, 60_000);

  it("skips the merge call on Slack, which shows each worker's answer as a section of its own", async () => {
    const a = await startApp();
    standIn.script(twoWorkers(true));
    const outcome = await ask(a, "I was charged twice this month and the app crashes when I log in", "slack");
    expect(outcome.sections.map((s) => s.route)).toEqual(["tech_support", "billing"]);
    expect(standIn.requests.filter((r) => systemPrompt(r.body).startsWith("You merge answers"))).toHaveLength(0);
    // The text (Slack's notification fallback, the log, the memory) is the sections under their titles.
    // This Slack user is not linked to an account: list_payments said so, and that is billing's
    // whole answer (how to link it), given without a second model call.
    expect(outcome.text).toContain("**Billing**\nI can't see billing details yet because this chat account isn't linked to an Acme account.");
    expect(outcome.text).toContain("**Technical support**\nSign out and in again.");
    const calls = await callsOf(a, outcome.conversationId, 3);
    expect(calls.map((c) => c.worker ?? c.stage).sort()).toEqual(["billing", "router", "tech_support"]);
    expect(standIn.requests).toHaveLength(3);
  });
});
