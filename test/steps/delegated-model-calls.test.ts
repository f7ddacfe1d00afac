/**
 * A delegated worker's model calls are recorded like an in-process worker's (issue 13's "what did
 * it cost", issue 18's services): the billing service writes them next to the message's other
 * calls, so the console's trace and the token metrics see the router's, billing's and the merge's.
 * LLM mode through the real ChatOpenAI client against the local OpenAI-compatible stand-in.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import { startStepService, type RunningStepService } from "../../src/steps/start-step-service.ts";
import { freshServerDatabase, tempDataDir } from "../helpers/databases.ts";
import { skipWithoutServer } from "../helpers/requirements.ts";
import { waitFor } from "../inbox/harness.ts";
import { startOpenAIStandIn, structured, structuredOutputName, systemPrompt, text, toolNames, toolResults, type OpenAIStandIn } from "../stand-ins/openai.ts";

const SERVER = process.env["TEST_DATABASE_URL"];

describe.skipIf(skipWithoutServer("test/steps/delegated-model-calls.test.ts"))("a delegated worker's model calls", () => {
  let db: Awaited<ReturnType<typeof freshServerDatabase>>;
  let standIn: OpenAIStandIn;
  let supervisor: App;
  let billing: RunningStepService;

  beforeAll(async () => {
    db = await freshServerDatabase(SERVER!);
    standIn = await startOpenAIStandIn((req) => {
      if (structuredOutputName(req) === "route_message") return structured({ routes: [{ route: "billing", confidence: 0.95, question: "Was I charged twice?" }] });
      if (systemPrompt(req).startsWith("You merge answers")) return text("merged");
      if (toolNames(req).includes("list_payments")) return toolResults(req).length ? text("Yes: twice on 1 May; I can refund one.") : { kind: "tool_calls", calls: [{ name: "list_payments", args: { limit: 5 } }] };
      return text("ok");
    });
    const env = { DATABASE_URL: db.url, DEMO_DATA: "on", OPENAI_BASE_URL: standIn.baseUrl, OPENAI_API_KEY: "test", LLM_MODEL: "stand-in-7b", ROUTER_MODE: "llm", LOG_LEVEL: "silent" };
    supervisor = await createApp(loadConfig({ ...env, DATA_DIR: tempDataDir("switchboard-delegated-calls-"), AGENTS: "tech_support,faq" }), silentLogger());
    billing = await startStepService(loadConfig({ ...env, DATA_DIR: tempDataDir("switchboard-delegated-calls-") }), silentLogger(), ["billing"]);
  });

  afterAll(async () => {
    await billing?.close();
    await supervisor?.close();
    await standIn?.close();
    await db?.drop();
  });

  it("are written by the billing service against the message, with the worker's name, tokens and latency, and counted in its metrics", async () => {
    const key = randomUUID();
    const s = await supervisor.intake.submit({ platform: "http", conversationKey: `http:${key}`, userId: "u1", text: "Was I charged twice this month?", platformMessageId: key });
    if (s.status !== "accepted") throw new Error(`not accepted: ${s.status}`);
    const outcome = await s.done;
    expect(outcome).toMatchObject({ kind: "reply" });
    expect(outcome.kind === "reply" && outcome.text).toContain("twice on 1 May");
    // The step ran in the billing service, not here.
    const steps = (await supervisor.db.pool.query("select worker, status, message_id::text from agent_steps where conversation_id = $1", [s.conversationId])).rows;
    expect(steps).toEqual([{ worker: "billing", status: "done", message_id: expect.any(String) }]);

    let calls: Array<{ stage: string; worker: string | null; model: string; promptTokens: number | null; latencyMs: number; outcome: string }> = [];
    await waitFor(async () => {
      const inbound = (await supervisor.log.transcript(s.conversationId)).find((m) => m.direction === "in");
      calls = inbound?.modelCalls ?? [];
      return calls.filter((c) => c.stage === "worker").length >= 2;
    }, "the billing service's model calls recorded");
    const worker = calls.filter((c) => c.stage === "worker");
    expect(worker).toHaveLength(2); // the tool call, then the answer
    for (const c of worker) expect(c).toMatchObject({ worker: "billing", model: "stand-in-7b", outcome: "ok", promptTokens: expect.any(Number) });
    expect(worker.every((c) => c.latencyMs >= 0)).toBe(true);
    expect(calls.filter((c) => c.stage === "router")).toHaveLength(1);
    expect(await billing.metrics.registry.getSingleMetricAsString("switchboard_model_tokens_total")).toMatch(/worker="billing",kind="prompt"\} [1-9]/);
  });
});
