/**
 * The LLM engine through the real @langchain/openai client (ChatOpenAI, as `createChatModel`
 * builds it from OPENAI_BASE_URL) against a local OpenAI-compatible stand-in: the requests a
 * user's model server would get, and what Switchboard does with the answers, including when the
 * endpoint fails.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LlmRouter, createChatModel } from "../../agents/engines/llm.ts";
import type { Router, RoutingDecision } from "../../agents/router/types.ts";
import { defaultWorkers } from "../../agents/workers/registry.ts";
import type { WorkerResult } from "../../agents/workers/types.ts";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig, type RouterMode } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import type { Outcome } from "../../src/types.ts";
import { tempDataDir } from "../helpers/databases.ts";
import {
  failure,
  messageText,
  startOpenAIStandIn,
  structured,
  structuredOutputName,
  systemPrompt,
  text,
  toolCalls,
  toolNames,
  toolResults,
  type JsonSchema,
  type OpenAIStandIn,
} from "../stand-ins/openai.ts";

let standIn: OpenAIStandIn;

/** The fallback the LLM router must use when the model fails; records that it was asked. */
class StubOfflineRouter implements Router {
  asked = 0;
  async route(text: string): Promise<RoutingDecision> {
    this.asked++;
    return {
      routes: [{ route: "faq", confidence: 0.7, question: text }],
      scores: { billing: 0, tech_support: 0, faq: 0.7, human: 0 },
      unsure: false,
      engine: "offline",
      latencyMs: 1,
    };
  }
}

function routeEnum(schema: JsonSchema | undefined): unknown[] | undefined {
  return schema?.properties?.["routes"]?.items?.properties?.["route"]?.enum;
}

describe("LlmRouter through ChatOpenAI", () => {
  beforeAll(async () => {
    standIn = await startOpenAIStandIn();
  });
  afterEach(() => standIn.reset());
  afterAll(() => standIn.close());

  const model = (llmModel = "gpt-4o-mini") => createChatModel({ openaiApiKey: "test", openaiBaseUrl: standIn.baseUrl, llmModel });
  const message = "I was charged twice this month and the app crashes when I log in";

  it("returns two routes with confidences and sub-questions from structured output (json_schema)", async () => {
    standIn.enqueue(
      structured({
        routes: [
          { route: "tech_support", confidence: 0.88, question: "The app crashes when I log in." },
          { route: "billing", confidence: 0.95, question: "I was charged twice this month." },
          { route: "faq", confidence: 0.2, question: "Anything else?" },
        ],
      }),
    );
    const fallback = new StubOfflineRouter();
    const decision = await new LlmRouter(model(), defaultWorkers, fallback).route(message);

    expect(decision).toMatchObject({
      engine: "llm",
      unsure: false,
      // Most confident first; the 0.2 guess is below the bar and only shows in the scores.
      routes: [
        { route: "billing", confidence: 0.95, question: "I was charged twice this month." },
        { route: "tech_support", confidence: 0.88, question: "The app crashes when I log in." },
      ],
      scores: { billing: 0.95, tech_support: 0.88, faq: 0.2, human: 0 },
    });
    expect(decision.error).toBeUndefined();
    expect(fallback.asked).toBe(0);

    // What went over the wire: one request, the configured key and model, a json_schema
    // response format naming every worker and "human", the workers' descriptions, the message.
    expect(standIn.requests).toHaveLength(1);
    const req = standIn.requests[0]!;
    expect(req.authorization).toBe("Bearer test");
    expect(req.body.model).toBe("gpt-4o-mini");
    expect(req.body.stream).toBeFalsy();
    expect(req.body.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "route_message", strict: true } });
    const schema = req.body.response_format?.type === "json_schema" ? req.body.response_format.json_schema.schema : undefined;
    expect(routeEnum(schema)).toEqual(["billing", "tech_support", "faq", "human"]);
    expect(systemPrompt(req.body)).toContain("- billing: Charges, payments, invoices");
    expect(messageText(req.body.messages.at(-1))).toBe(message);
  });

  it("reads structured output sent as a forced function call, for models without json_schema", async () => {
    standIn.enqueue(structured({ routes: [{ route: "human", confidence: 0.9, question: "Can I talk to a person?" }] }));
    const decision = await new LlmRouter(model("gpt-4-turbo"), defaultWorkers, new StubOfflineRouter()).route("Can I talk to a person?");

    expect(decision.routes).toEqual([{ route: "human", confidence: 0.9, question: "Can I talk to a person?" }]);
    const req = standIn.requests[0]!.body;
    expect(req.response_format).toBeUndefined();
    expect(req.tool_choice).toEqual({ type: "function", function: { name: "route_message" } });
    expect(routeEnum(req.tools?.[0]?.function.parameters)).toEqual(["billing", "tech_support", "faq", "human"]);
  });

  it("asks again when the model answers outside the schema, and uses the valid answer", async () => {
    // The schema check runs inside the client's retried call (chat.completions.parse), so an
    // invalid answer is retried like a failed request.
    standIn.enqueue(
      structured({ routes: [{ route: "shipping", confidence: 0.9, question: "where is my parcel" }] }),
      structured({ routes: [{ route: "faq", confidence: 0.85, question: "where is my parcel" }] }),
    );
    const fallback = new StubOfflineRouter();
    const decision = await new LlmRouter(model(), defaultWorkers, fallback).route("where is my parcel");

    expect(decision.engine).toBe("llm");
    expect(decision.routes).toEqual([{ route: "faq", confidence: 0.85, question: "where is my parcel" }]);
    expect(fallback.asked).toBe(0);
    expect(standIn.requests).toHaveLength(2);
  });
});

describe("the app in llm mode, through ChatOpenAI", () => {
  let app: App | undefined;
  let dataDir: string | undefined;

  // A stand-in per test: requests of one test's app can never reach another test's script.
  async function startApp(mode: RouterMode): Promise<App> {
    standIn = await startOpenAIStandIn();
    dataDir = tempDataDir("switchboard-llm-");
    const config = loadConfig({ OPENAI_BASE_URL: standIn.baseUrl, OPENAI_API_KEY: "test", ROUTER_MODE: mode, DATA_DIR: dataDir, LOG_LEVEL: "silent" });
    app = await createApp(config, silentLogger());
    return app;
  }

  afterEach(async () => {
    // The endpoint goes first, so a model call still in flight fails fast and close() can drain.
    await standIn.close();
    await app?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    app = undefined;
    dataDir = undefined;
  });

  /** Sends one message as the demo user `u1` on the HTTP API (linked to cus_jordan) and waits for the outcome. */
  async function ask(a: App, said: string): Promise<Extract<Outcome, { kind: "reply" }>> {
    const submission = await a.intake.submit({
      platform: "http",
      conversationKey: `http:${randomUUID()}`,
      userId: "u1",
      text: said,
      platformMessageId: randomUUID(),
    });
    if (submission.status !== "accepted") throw new Error(`message not accepted: ${submission.status}`);
    const outcome = await submission.done;
    if (outcome.kind !== "reply") throw new Error(`expected a reply, got ${outcome.kind}`);
    return outcome;
  }

  /** The worker results the supervisor checkpointed for a conversation (they carry the engine). */
  async function checkpointedResults(a: App, conversationId: string): Promise<WorkerResult[]> {
    const tuple = await new PostgresSaver(a.db.pool).getTuple({ configurable: { thread_id: conversationId } });
    return (tuple?.checkpoint.channel_values["results"] ?? []) as WorkerResult[];
  }

  it("answers a two-part message: structured routing, tool-calling workers on the demo data, their answers as the reply's sections", async () => {
    const a = await startApp("llm");
    standIn.script((req) => {
      if (structuredOutputName(req) === "route_message") {
        return structured({
          routes: [
            { route: "billing", confidence: 0.94, question: "I was charged twice this month." },
            { route: "tech_support", confidence: 0.9, question: "The app crashes when I log in." },
          ],
        });
      }
      const results = toolResults(req);
      if (toolNames(req).includes("list_payments")) {
        const payments = results.find((r) => r.name === "list_payments");
        if (!payments) return toolCalls({ name: "list_payments", args: { limit: 5 } });
        const duplicate = payments.content.split("\n").find((l) => l.includes("DUPLICATE"));
        return text(`You were charged twice: ${duplicate}. I can refund the duplicate.`);
      }
      if (toolNames(req).includes("search_knowledge_base")) {
        const docs = results.find((r) => r.name === "search_knowledge_base");
        if (!docs) return toolCalls({ name: "search_knowledge_base", args: { query: "app crashes on login" } });
        const link = docs.content.match(/\[[^\]]+\]\(https?:[^)]+\)/)?.[0];
        return text(`Sign out, clear the app's cache and sign in again; see ${link}.`);
      }
      return failure(400, "stand-in script: unexpected request");
    });

    const outcome = await ask(a, "I was charged twice this month and the app crashes when I log in");

    // The user gets both answers, built from what the tools found in the demo data, each under its
    // title: the parts stand alone (neither waited for the other), so no model call merges them.
    expect(outcome.engine).toBe("llm");
    expect(outcome.handoff).toBeNull();
    expect(outcome.routes).toEqual([
      { route: "billing", confidence: 0.94 },
      { route: "tech_support", confidence: 0.9 },
    ]);
    expect(outcome.text.startsWith("**Billing**\nYou were charged twice: pay_j5")).toBe(true);
    expect(outcome.text).toContain("\n\n**Technical support**\nSign out, clear the app's cache and sign in again");
    expect(outcome.text).toMatch(/You were charged twice: pay_j5: \$24\.00 .* — DUPLICATE of pay_j4/);
    expect(outcome.text).toMatch(/\]\(https:\/\/help\.acme\.example\/[^)]+\)/);
    expect(outcome.sections.map((s) => s.route)).toEqual(["billing", "tech_support"]);

    // Route, billing agent twice (tool call, answer), tech agent twice; no merge: nothing unscripted.
    expect(standIn.unscripted).toEqual([]);
    expect(standIn.requests.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const billingCalls = standIn.requests.filter((r) => toolNames(r.body).includes("list_payments"));
    expect(billingCalls).toHaveLength(2);
    // The tool really ran against the database: its result went back to the model.
    expect(toolResults(billingCalls[1]!.body)).toEqual([{ name: "list_payments", content: expect.stringContaining("pay_j5") }]);
    // The billing tools offer the model no way to name a customer: the caller comes from the service.
    const billingTools = billingCalls[0]!.body.tools ?? [];
    expect(billingTools.map((t) => t.function.name)).toEqual(expect.arrayContaining(["account_summary", "list_payments", "get_invoice", "request_refund", "escalate_to_human"]));
    for (const t of billingTools) {
      expect(Object.keys(t.function.parameters?.properties ?? {}).filter((p) => /customer|user|account|email/i.test(p)), t.function.name).toEqual([]);
    }

    // The conversation log has the routing decision and both worker runs with their tool calls.
    const transcript = await a.log.transcript(outcome.conversationId);
    const inbound = transcript.find((m) => m.direction === "in");
    expect(inbound?.routing).toMatchObject({ engine: "llm", error: null, routes: [{ route: "billing" }, { route: "tech_support" }] });
    const runs = Object.fromEntries((inbound?.workerRuns ?? []).map((r) => [r.worker, r]));
    expect(runs["billing"]).toMatchObject({
      status: "ok",
      engine: "llm",
      error: null,
      toolCalls: [{ name: "list_payments", args: { limit: 5 }, result: expect.stringContaining("pay_j5") }],
    });
    expect(runs["billing"]?.reply).toContain("DUPLICATE of pay_j4");
    expect(runs["tech_support"]).toMatchObject({ status: "ok", toolCalls: [{ name: "search_knowledge_base", args: { query: "app crashes on login" } }] });
    expect(runs["tech_support"]?.sources.length).toBeGreaterThan(0);
    expect(transcript.find((m) => m.direction === "out")?.text).toBe(outcome.text);
  });

  it("retries a failing endpoint, then answers with the offline engine and records why", async () => {
    const a = await startApp("llm");
    standIn.script(() => failure(500, "model server is down"));

    const outcome = await ask(a, "I was charged twice this month");

    // The user still gets the billing answer, from the offline engine, over the same demo data.
    expect(outcome.engine).toBe("llm->offline");
    expect(outcome.routes.map((r) => r.route)).toEqual(["billing"]);
    expect(outcome.text).toContain("pay_j5");
    expect(outcome.handoff).toBeNull();

    // Each model call was tried three times (the client's two retries) before giving up:
    // three routing requests, three from the billing agent, and no merge call for one answer.
    expect(standIn.requests.map((r) => r.status)).toEqual([500, 500, 500, 500, 500, 500]);
    expect(standIn.requests.filter((r) => structuredOutputName(r.body) === "route_message")).toHaveLength(3);
    expect(standIn.requests.filter((r) => toolNames(r.body).includes("list_payments"))).toHaveLength(3);

    const transcript = await a.log.transcript(outcome.conversationId);
    const inbound = transcript.find((m) => m.direction === "in");
    expect(inbound?.routing?.engine).toBe("llm->offline");
    expect(inbound?.routing?.error).toMatch(/500.*model server is down/);
    expect(inbound?.workerRuns).toHaveLength(1);
    expect(inbound?.workerRuns[0]).toMatchObject({ worker: "billing", status: "ok", engine: "llm->offline", error: expect.stringMatching(/^model failed, offline answer used: .*model server is down/) });
    // The offline path's tool calls, not the agent's.
    expect(inbound?.workerRuns[0]?.toolCalls.map((c) => c.name)).toEqual(["account_summary", "list_payments", "request_refund"]);

    const results = await checkpointedResults(a, outcome.conversationId);
    expect(results.map((r) => [r.worker, r.engine])).toEqual([["billing", "llm->offline"]]);
  }, 60_000);

  it("in hybrid mode asks the model only when the offline router is unsure", async () => {
    const a = await startApp("hybrid");
    standIn.script((req) =>
      structuredOutputName(req) === "route_message"
        ? structured({ routes: [{ route: "faq", confidence: 0.8, question: "Do you have a student discount?" }] })
        : failure(400, "stand-in script: unexpected request"),
    );

    const confident = await a.router.route("I was charged twice this month");
    expect(confident.engine).toBe("hybrid:offline");
    expect(confident.routes[0]?.route).toBe("billing");
    expect(standIn.requests).toHaveLength(0);

    // A message the offline router cannot place (checked here, so retraining it cannot silently
    // turn this into a second "confident" case).
    const unclearText = ["question about that thing from before", "about the thing from before", "so what about it then"].find((t) => {
      const d = a.offlineRouter.classify(t);
      return d.unsure || Math.max(0, ...d.routes.map((r) => r.confidence)) < a.config.hybridThreshold;
    });
    expect(unclearText, "no candidate message is unclear to the offline router").toBeDefined();
    const unclear = await a.router.route(unclearText!);
    expect(unclear.engine).toBe("hybrid:llm");
    expect(unclear.routes).toEqual([{ route: "faq", confidence: 0.8, question: "Do you have a student discount?" }]);
    expect(standIn.requests).toHaveLength(1);
    expect(structuredOutputName(standIn.requests[0]!.body)).toBe("route_message");
  });
});
