/**
 * LLM mode against the reference pattern (issue 13): the same 3-topic message answered, side by
 * side in one run and against the same local OpenAI-compatible stand-in (each call answered after
 * a fixed latency), by
 *
 *   switchboard  the real app (`createApp`, ROUTER_MODE=llm, embedded Postgres with the demo data):
 *                structured routing, the workers in parallel, merge when it is needed
 *   reference    `@langchain/langgraph-supervisor`'s `createSupervisor` with three
 *                `createReactAgent` agents, each with the Switchboard worker's own system prompt
 *                and tools (the same tool objects, on the same database), in a MemorySaver
 *
 * The scripted model behaves the same for both: an agent calls its tools (billing: list_payments,
 * then request_refund for the duplicate; tech support: service_status and search_knowledge_base
 * at once; FAQ: its knowledge tool), then answers; the reference supervisor hands off to each
 * agent in turn and then writes the final answer. Refunds of the demo customer are deleted before
 * each message, so every message finds the same double charge.
 *
 * Prints one JSON object: wall ms per message (median, p90) for both and their ratio, model calls
 * per message for both and their ratio, tokens per message (as the stand-in reported them).
 *
 *   npx tsx bench/llm.ts [messages=8] [latencyMs=250]
 */
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { createSupervisor } from "@langchain/langgraph-supervisor";
import { createChatModel } from "../agents/engines/llm.ts";
import type { Caller, ToolRunConfig } from "../agents/workers/types.ts";
import { createApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/logger.ts";
import { tempDataDir } from "../test/helpers/databases.ts";
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
  type Reply,
  type WireMessage,
} from "../test/stand-ins/openai.ts";

const MESSAGE = "I was charged twice, the app crashes on login, and what plans do you offer?";
const PARTS = [
  { route: "billing", confidence: 0.95, question: "I was charged twice." },
  { route: "tech_support", confidence: 0.92, question: "The app crashes on login." },
  { route: "faq", confidence: 0.9, question: "What plans do you offer?" },
];
const messages = Number(process.argv[2] ?? 8);
const latencyMs = Number(process.argv[3] ?? 250);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The tool messages at the end of a request: what the agent's last round of tool calls returned. */
function lastRound(req: ChatRequest): WireMessage[] {
  const tail: WireMessage[] = [];
  for (let i = req.messages.length - 1; i >= 0 && req.messages[i]!.role === "tool"; i -= 1) tail.unshift(req.messages[i]!);
  return tail;
}
const toolNameOf = (req: ChatRequest, m: WireMessage) =>
  req.messages.flatMap((x) => x.tool_calls ?? []).find((c) => c.id === m.tool_call_id)?.function.name ?? m.name ?? "?";

/** One worker agent's next move, the same for Switchboard's workers and the reference's agents. */
function agentTurn(req: ChatRequest): Reply {
  const tools = toolNames(req);
  const round = lastRound(req);
  const got = (name: string) => round.find((m) => toolNameOf(req, m) === name);
  if (tools.includes("list_payments")) {
    const payments = got("list_payments");
    if (payments) {
      const dup = messageText(payments).split("\n").find((l) => l.includes("DUPLICATE"));
      return toolCalls({ name: "request_refund", args: { payment_id: dup?.split(":")[0] ?? "pay_j5", reason: "duplicate charge" } });
    }
    const refund = got("request_refund");
    if (refund) return text(`You were charged twice for the same invoice. ${messageText(refund).split(". ")[0]}. Refunds take 5–10 business days to reach your card.`);
    return toolCalls({ name: "list_payments", args: { limit: 10 } });
  }
  if (tools.includes("service_status")) {
    const docs = got("search_knowledge_base");
    if (docs) {
      const link = messageText(docs).match(/\[[^\]]+\]\(https?:[^)]+\)/)?.[0] ?? "";
      return text(`There is no open incident. Update the app, clear its cache and sign in again; see ${link}. If it still crashes, tell me which app you use.`);
    }
    return toolCalls({ name: "service_status" }, { name: "search_knowledge_base", args: { query: "app crashes on login" } });
  }
  // FAQ: its knowledge tool (whichever it has), then the answer from what it found.
  const tool = tools.find((t) => t !== "escalate_to_human" && t !== "cannot_answer") ?? "search_knowledge_base";
  const found = round.find((m) => toolNameOf(req, m) === tool);
  if (found) {
    const link = messageText(found).match(/\[[^\]]+\]\(https?:[^)]+\)/)?.[0] ?? "";
    return text(`We offer Free, Pro and Business plans; see ${link} for what each includes.`);
  }
  return toolCalls({ name: tool, args: tool === "search_knowledge_base" ? { query: "what plans do you offer" } : { question: "What plans do you offer?" } });
}

/** The reference supervisor: hand off to each agent in turn, then answer from their replies. */
function supervisorTurn(req: ChatRequest): Reply {
  const done = new Set(req.messages.filter((m) => m.role === "tool").map((m) => messageText(m).match(/^Successfully transferred to (\w+)/)?.[1]).filter(Boolean));
  const next = ["billing", "tech_support", "faq"].find((a) => !done.has(a));
  if (next) return toolCalls({ name: `transfer_to_${next}` });
  const answers = req.messages.filter((m) => m.role === "assistant" && m.content && !m.tool_calls?.length).map(messageText);
  return text(answers.join("\n\n"));
}

function script(req: ChatRequest): Reply {
  if (structuredOutputName(req) === "route_message") return structured({ routes: PARTS });
  if (systemPrompt(req).startsWith("You merge answers")) return text(messageText(req.messages.at(-1)).split("Answers:\n")[1] ?? "");
  if (toolNames(req).some((t) => t.startsWith("transfer_to_"))) return supervisorTurn(req);
  return agentTurn(req);
}

const standIn = await startOpenAIStandIn(async (req) => {
  await sleep(latencyMs);
  return script(req);
});
const dataDir = tempDataDir("switchboard-bench-llm-");
const config = loadConfig({ OPENAI_BASE_URL: standIn.baseUrl, OPENAI_API_KEY: "bench", LLM_MODEL: "stand-in", ROUTER_MODE: "llm", DATA_DIR: dataDir, LOG_LEVEL: "silent" });
const app = await createApp(config, silentLogger());

// The reference: the workers' own prompts and tools, the same model client settings.
const deps = { pool: app.db.pool, knowledge: app.knowledge, config, now: () => new Date() };
const llm = createChatModel(config);
const agents = app.registry.workers.map((w) => createReactAgent({ llm, tools: w.tools(deps), name: w.name, prompt: w.systemPrompt }));
const reference = createSupervisor({
  agents,
  llm,
  prompt: "You are the supervisor of Acme Cloud's support team. Hand each part of the customer's message to the agent for it (billing, tech_support, faq), one at a time, then answer the customer with what they found.",
}).compile({ checkpointer: new MemorySaver() });

const resetRefunds = () => app.db.pool.query("delete from refunds where customer_id = 'cus_jordan'");

interface Sample {
  wallMs: number;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  reply: string;
}

async function measure(run: () => Promise<string>): Promise<Sample> {
  await resetRefunds();
  const before = standIn.requests.length;
  const started = performance.now();
  const reply = await run();
  const wallMs = performance.now() - started;
  const made = standIn.requests.slice(before);
  const bad = made.filter((r) => r.status !== 200);
  if (bad.length) throw new Error(`bench: ${bad.length} model calls failed (${bad.map((r) => r.reply).join(", ")})`);
  return {
    wallMs,
    calls: made.length,
    promptTokens: made.reduce((n, r) => n + (r.usage?.prompt_tokens ?? 0), 0),
    completionTokens: made.reduce((n, r) => n + (r.usage?.completion_tokens ?? 0), 0),
    reply,
  };
}

async function switchboard(): Promise<string> {
  const submission = await app.intake.submit({ platform: "http", conversationKey: `http:${randomUUID()}`, userId: "u1", text: MESSAGE, platformMessageId: randomUUID() });
  if (submission.status !== "accepted") throw new Error(`bench: message not accepted (${submission.status})`);
  const outcome = await submission.done;
  if (outcome.kind !== "reply") throw new Error(`bench: expected a reply, got ${outcome.kind}`);
  return outcome.text;
}

async function langgraphSupervisor(): Promise<string> {
  const conversationId = randomUUID();
  const caller: Caller = { platform: "http", userId: "u1", customerId: "cus_jordan", conversationId };
  const configurable: ToolRunConfig & { thread_id: string } = { caller, toolLog: [], thread_id: conversationId };
  const out = await reference.invoke({ messages: [new HumanMessage(MESSAGE)] }, { configurable, recursionLimit: 50 });
  const last = out.messages.at(-1);
  return last instanceof AIMessage || typeof last?.content === "string" ? String(last?.content) : JSON.stringify(last?.content);
}

const samples = { switchboard: [] as Sample[], reference: [] as Sample[] };
// One warm-up each (JIT, pools, the router's first call), then alternating, so load swings hit both.
await measure(switchboard);
await measure(langgraphSupervisor);
for (let i = 0; i < messages; i += 1) {
  samples.switchboard.push(await measure(switchboard));
  samples.reference.push(await measure(langgraphSupervisor));
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number, d = 1) => Number(x.toFixed(d));
const summary = (xs: Sample[]) => ({
  wallMs: { median: round(quantile(xs.map((s) => s.wallMs), 0.5)), p90: round(quantile(xs.map((s) => s.wallMs), 0.9)) },
  modelCalls: round(mean(xs.map((s) => s.calls)), 2),
  tokens: { prompt: round(mean(xs.map((s) => s.promptTokens)), 0), completion: round(mean(xs.map((s) => s.completionTokens)), 0) },
});
const sw = summary(samples.switchboard);
const ref = summary(samples.reference);
console.log(
  JSON.stringify(
    {
      message: MESSAGE,
      messages,
      modelLatencyMs: latencyMs,
      switchboard: { ...sw, reply: samples.switchboard.at(-1)?.reply },
      reference: { package: "@langchain/langgraph-supervisor", ...ref, reply: samples.reference.at(-1)?.reply },
      ratio: {
        wallMedian: round(sw.wallMs.median / ref.wallMs.median, 3),
        wallP90: round(sw.wallMs.p90 / ref.wallMs.p90, 3),
        modelCalls: round(sw.modelCalls / ref.modelCalls, 3),
        tokens: round((sw.tokens.prompt + sw.tokens.completion) / (ref.tokens.prompt + ref.tokens.completion), 3),
      },
      loadAverage: fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number),
    },
    null,
    2,
  ),
);

await app.close();
await standIn.close();
fs.rmSync(dataDir, { recursive: true, force: true });
