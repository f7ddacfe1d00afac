/**
 * Fewer model calls in LLM mode (issue 13), through the real app and ChatOpenAI against the local
 * OpenAI-compatible stand-in: a worker whose tool result is the answer (the FAQ's help article, a
 * refund now requested, an invoice looked up, an account that is not linked) gives it without a
 * second model call, and parts that stand alone are the reply's sections without a merge call.
 * Each case checks the reply the user sees, and that every call that was made is still recorded.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { ModelCallRecord } from "../../src/conversations/conversation-log.ts";
import { silentLogger } from "../../src/logger.ts";
import type { Outcome } from "../../src/types.ts";
import { tempDataDir } from "../helpers/databases.ts";
import { waitFor } from "../inbox/harness.ts";
import {
  messageText,
  startOpenAIStandIn,
  structured,
  structuredOutputName,
  systemPrompt,
  text,
  toolCalls,
  toolNames,
  type ChatRequest,
  type OpenAIStandIn,
  type Reply,
  type WireMessage,
} from "../stand-ins/openai.ts";

let standIn: OpenAIStandIn;
let app: App;
let dataDir: string;

beforeAll(async () => {
  standIn = await startOpenAIStandIn();
  dataDir = tempDataDir("switchboard-direct-answers-");
  app = await createApp(loadConfig({ OPENAI_BASE_URL: standIn.baseUrl, OPENAI_API_KEY: "test", LLM_MODEL: "stand-in-7b", ROUTER_MODE: "llm", DATA_DIR: dataDir, LOG_LEVEL: "silent" }), silentLogger());
}, 120_000);
afterAll(async () => {
  await standIn.close();
  await app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(async () => {
  standIn.reset();
  await app.db.pool.query("delete from refunds where customer_id = 'cus_jordan'");
});

/** One message from `userId` on the HTTP API (`u1` is Jordan, linked; `u9` is linked to nobody). */
async function ask(said: string, userId = "u1"): Promise<Extract<Outcome, { kind: "reply" }>> {
  const submission = await app.intake.submit({ platform: "http", conversationKey: `http:${randomUUID()}`, userId, text: said, platformMessageId: randomUUID() });
  if (submission.status !== "accepted") throw new Error(`message not accepted: ${submission.status}`);
  const outcome = await submission.done;
  if (outcome.kind !== "reply") throw new Error(`expected a reply, got ${outcome.kind}`);
  return outcome;
}

/** The model calls recorded for the conversation's message, once all `n` are in. */
async function recordedCalls(conversationId: string, n: number): Promise<ModelCallRecord[]> {
  let calls: ModelCallRecord[] = [];
  await waitFor(async () => {
    calls = (await app.log.transcript(conversationId)).find((m) => m.direction === "in")?.modelCalls ?? [];
    return calls.length >= n;
  }, `${n} model calls recorded`);
  return calls;
}

const routeTo = (...parts: Array<{ route: string; question: string }>): Reply => structured({ routes: parts.map((p) => ({ ...p, confidence: 0.9 })) });

/** What the tools answered in the agent's last round, by tool name. */
function lastRound(req: ChatRequest): Map<string, string> {
  const names = new Map(req.messages.flatMap((m) => m.tool_calls ?? []).map((c) => [c.id, c.function.name]));
  const round = new Map<string, string>();
  for (let i = req.messages.length - 1; i >= 0 && req.messages[i]!.role === "tool"; i -= 1) {
    const m = req.messages[i] as WireMessage;
    round.set(names.get(m.tool_call_id ?? "") ?? "?", messageText(m));
  }
  return round;
}

const isFaq = (req: ChatRequest) => systemPrompt(req).startsWith("You answer general questions");
const isBilling = (req: ChatRequest) => toolNames(req).includes("list_payments");
const isTech = (req: ChatRequest) => toolNames(req).includes("service_status");
const PLANS = /^\*\*Plans and pricing\*\*\nAcme Cloud has three plans: Free, Pro and Business\./;

describe("a worker whose tool result is the answer", () => {
  it("FAQ: the help article the search found is the reply, with its source; one worker call", async () => {
    standIn.script((req) => {
      if (structuredOutputName(req) === "route_message") return routeTo({ route: "faq", question: "What plans do you offer?" });
      if (isFaq(req) && lastRound(req).size === 0) return toolCalls({ name: "search_knowledge_base", args: { query: "plans offered" } });
      return text("a second FAQ call: not expected");
    });

    const outcome = await ask("what plans do you offer?");

    expect(outcome.text).toMatch(PLANS);
    expect(outcome.text).not.toContain("not expected");
    expect(outcome.sections).toEqual([expect.objectContaining({ route: "faq", sources: [expect.objectContaining({ url: "https://help.acme.example/faq/plans-and-pricing" })] })]);
    expect(standIn.requests).toHaveLength(2);
    const calls = await recordedCalls(outcome.conversationId, 2);
    expect(calls.map((c) => c.worker ?? c.stage).sort()).toEqual(["faq", "router"]);
    const run = (await app.log.transcript(outcome.conversationId)).find((m) => m.direction === "in")?.workerRuns?.[0];
    expect(run).toMatchObject({ worker: "faq", status: "ok", engine: "llm", toolCalls: [{ name: "search_knowledge_base", args: { query: "plans offered" } }] });
  });

  it("FAQ: a search that finds nothing goes back to the model, which declines", async () => {
    standIn.script((req) => {
      if (structuredOutputName(req) === "route_message") return routeTo({ route: "faq", question: "Do you sell garden gnomes?" });
      if (isFaq(req)) {
        const round = lastRound(req);
        if (round.size === 0) return toolCalls({ name: "search_knowledge_base", args: { query: "garden gnomes" } });
        if (round.get("search_knowledge_base")?.startsWith("NO_MATCH")) return toolCalls({ name: "cannot_answer", args: { reason: "no article on gnomes" } });
        return text("Another specialist will take this.");
      }
      // The step passed on: tech support finds nothing either.
      if (isTech(req)) return lastRound(req).size === 0 ? toolCalls({ name: "cannot_answer", args: { reason: "not technical" } }) : text("Passing it on.");
      return text("Passing it on.");
    });

    const outcome = await ask("do you sell garden gnomes?");

    const faqCalls = standIn.requests.filter((r) => isFaq(r.body));
    expect(faqCalls).toHaveLength(3);
    expect(outcome.text).not.toMatch(PLANS);
  });

  it("billing: a refund now requested is the reply, as the offline engine words it; no call after request_refund", async () => {
    standIn.script((req) => {
      if (structuredOutputName(req) === "route_message") return routeTo({ route: "billing", question: "I was charged twice." });
      if (!isBilling(req)) return text("unexpected");
      const round = lastRound(req);
      const payments = round.get("list_payments");
      if (payments) {
        const dup = payments.split("\n").find((l) => l.includes("DUPLICATE"));
        return toolCalls({ name: "request_refund", args: { payment_id: dup!.split(":")[0]!, reason: "duplicate charge" } });
      }
      if (round.size === 0) return toolCalls({ name: "list_payments", args: { limit: 10 } });
      return text("a third billing call: not expected");
    });

    const outcome = await ask("I was charged twice");

    expect(outcome.text).toMatch(
      /^You're right — you were charged twice\.\n\nDuplicate charges are always refunded, so I've requested it: refund rf_\w+ of \$24\.00 for payment pay_j5\. Refunds take 5–10 business days/,
    );
    expect(outcome.handoff).toBeNull();
    expect(standIn.requests.filter((r) => isBilling(r.body))).toHaveLength(2);
    expect((await recordedCalls(outcome.conversationId, 3)).map((c) => c.worker ?? c.stage).sort()).toEqual(["billing", "billing", "router"]);
    const refunds = await app.db.pool.query("select status from refunds where payment_id = 'pay_j5'");
    expect(refunds.rows).toHaveLength(1);
  });

  it("billing: an invoice looked up is the reply, with where to download it", async () => {
    standIn.script((req) => {
      if (structuredOutputName(req) === "route_message") return routeTo({ route: "billing", question: "Show me invoice INV-1004." });
      if (isBilling(req) && lastRound(req).size === 0) return toolCalls({ name: "get_invoice", args: { number: "INV-1004" } });
      return text("a second billing call: not expected");
    });

    const outcome = await ask("show me invoice INV-1004");

    expect(outcome.text).toMatch(/^INV-1004: \$24\.00 for \S+ to \S+, issued \S+, due \S+, paid\.\n\nYou can download every invoice as a PDF from the Acme dashboard → Settings → Billing → Invoices\.$/);
    expect(standIn.requests).toHaveLength(2);
  });

  it("billing: an account that is not linked gets how to link it, nothing else", async () => {
    standIn.script((req) => {
      if (structuredOutputName(req) === "route_message") return routeTo({ route: "billing", question: "How much do I owe?" });
      if (isBilling(req) && lastRound(req).size === 0) return toolCalls({ name: "account_summary" });
      return text("a second billing call: not expected");
    });

    const outcome = await ask("how much do I owe?", "u9");

    expect(outcome.text).toMatch(/^I can't see billing details yet because this chat account isn't linked to an Acme account\. To link it, open the Acme dashboard → Settings → Integrations → Connect chat/);
    expect(standIn.requests).toHaveLength(2);
  });

  it("a lookup that is not the whole answer still goes back to the model", async () => {
    standIn.script((req) => {
      if (structuredOutputName(req) === "route_message") return routeTo({ route: "billing", question: "Why is my bill higher than usual?" });
      if (!isBilling(req)) return text("unexpected");
      return lastRound(req).size === 0 ? toolCalls({ name: "list_invoices", args: { limit: 3 } }) : text("Your last three invoices were $24.00 each: it is not higher.");
    });

    const outcome = await ask("why is my bill higher than usual?");

    expect(outcome.text).toBe("Your last three invoices were $24.00 each: it is not higher.");
    expect(standIn.requests).toHaveLength(3);
  });
});

describe("parts that stand alone", () => {
  it("three independent parts: each answer under its title is the reply, no merge call; six calls, all recorded with tokens", async () => {
    standIn.script((req) => {
      if (structuredOutputName(req) === "route_message") {
        return routeTo(
          { route: "billing", question: "I was charged twice." },
          { route: "tech_support", question: "The app crashes on login." },
          { route: "faq", question: "What plans do you offer?" },
        );
      }
      if (systemPrompt(req).startsWith("You merge answers")) return text("merged: not expected");
      const round = lastRound(req);
      if (isBilling(req)) {
        const payments = round.get("list_payments");
        if (payments) return toolCalls({ name: "request_refund", args: { payment_id: payments.split("\n").find((l) => l.includes("DUPLICATE"))!.split(":")[0]!, reason: "duplicate charge" } });
        return toolCalls({ name: "list_payments" });
      }
      if (isTech(req)) {
        return round.size ? text("No incident is open. Update the app and sign in again.") : toolCalls({ name: "service_status" }, { name: "search_knowledge_base", args: { query: "app crashes on login" } });
      }
      return round.size ? text("a second FAQ call: not expected") : toolCalls({ name: "search_knowledge_base", args: { query: "plans" } });
    });

    const outcome = await ask("I was charged twice, the app crashes on login, and what plans do you offer?");

    expect(outcome.sections.map((s) => s.route)).toEqual(["billing", "tech_support", "faq"]);
    expect(outcome.text).toMatch(/^\*\*Billing\*\*\nYou're right — you were charged twice\.\n\nDuplicate charges are always refunded/);
    expect(outcome.text).toContain("\n\n**Technical support**\nNo incident is open. Update the app and sign in again.\n\n**General questions**\n**Plans and pricing**\nAcme Cloud has three plans");
    expect(outcome.text).not.toContain("not expected");

    expect(standIn.requests).toHaveLength(6);
    const calls = await recordedCalls(outcome.conversationId, 6);
    expect(calls.map((c) => c.worker ?? c.stage).sort()).toEqual(["billing", "billing", "faq", "router", "tech_support", "tech_support"]);
    const reported = standIn.requests.reduce((n, r) => n + r.usage!.prompt_tokens, 0);
    expect(calls.reduce((n, c) => n + (c.promptTokens ?? 0), 0)).toBe(reported);
    const metrics = await app.metrics.registry.metrics();
    expect(metrics).toMatch(/switchboard_model_tokens_total\{worker="faq",kind="prompt"\} [1-9]/);
    expect(metrics).not.toMatch(/switchboard_model_tokens_total\{worker="merge",kind="prompt"\} [1-9]/);
  });
});
