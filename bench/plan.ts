/**
 * What a plan's dependent step costs in wall time (issue 18): LLM mode against the local
 * OpenAI-compatible stand-in, every model call answered after a fixed latency, through the whole
 * app (intake, queue, supervisor graph, workers, merge, conversation log). One message, "I was
 * charged while your app was down yesterday, can I get that back?", is planned by the router as
 * tech_support's outage lookup, then billing's refund decision `after` it. Each worker calls one
 * tool and then answers, so each step is two model calls. The same message with no `after` (both
 * steps independent) runs in alternating blocks beside it, as the anchor: there the steps overlap.
 *
 * For each message, from the conversation log: the steps' own latencies (worker runs), the
 * router's and the merge's model-call latencies (the independent message has no merge call: its
 * parts stand alone), and the message's wall time (submit to reply).
 * Prints one JSON object:
 *
 *   dependent.stepsMs          the two steps' latencies added (p50): the floor a chain can reach
 *   dependent.chainMs          wall time minus the router and merge calls (p50): the steps' part
 *   dependent.chainOverStepSum chainMs / stepsMs (p50 and p90 of per-message ratios; goal ≤ 1.15)
 *   dependent.wallOverModelSum whole wall time / (router + both steps + merge)
 *   dependent.handOffMs        from tech support's last model answer to billing's first model call:
 *                              the tech step's end, the dispatch, the billing step's start (p50, p90)
 *   dependent.billingStepsGivenTheFinding   billing first calls given tech support's service_status result as data
 *   independent.chainOverSlowestStep   the anchor: steps overlap, so close to 1, not 2
 *   cpuMsPerMessage            this process's CPU (/proc/self/stat) per message, each kind
 *
 *   npx tsx bench/plan.ts [messages=40] [latencyMs=200]   (embedded Postgres; TEST_DATABASE_URL
 *                                                          or DATABASE_URL: a fresh database there)
 */
import { execSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { createApp, type App } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/logger.ts";
import { freshServerDatabase, tempDataDir } from "../test/helpers/databases.ts";
import { startOpenAIStandIn, structured, structuredOutputName, systemPrompt, text, toolNames, toolResults, type ChatRequest, type Reply } from "../test/stand-ins/openai.ts";

const MESSAGES = Number(process.argv[2] ?? 40);
const LATENCY_MS = Number(process.argv[3] ?? 200);
const BLOCK = 10;
const WARMUP = 3;
const SERVER = process.env["TEST_DATABASE_URL"] ?? process.env["DATABASE_URL"];
const TICK_MS = 1000 / Number(execSync("getconf CLK_TCK").toString().trim() || 100);
const MESSAGE = "I was charged while your app was down yesterday, can I get that back?";

function cpuMs(): number {
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = "dependent" | "independent";

let inputsHandedOn = 0;
/** When tech support's answer left the stand-in and when billing's first call arrived (dependent kind). */
let techAnsweredAt = 0;
const handOffs: number[] = [];

/** The scripted model: a plan from the router, one tool call then an answer from each worker, a merge. */
function script(kind: () => Kind) {
  return async (req: ChatRequest): Promise<Reply> => {
    const arrived = performance.now();
    if (kind() === "dependent" && toolNames(req).includes("list_payments") && !toolResults(req).length && techAnsweredAt) {
      handOffs.push(arrived - techAnsweredAt);
      techAnsweredAt = 0;
    }
    await sleep(LATENCY_MS);
    if (structuredOutputName(req) === "route_message") {
      return structured({
        routes: [
          { route: "tech_support", confidence: 0.92, question: "Was the app down yesterday?", after: [] },
          { route: "billing", confidence: 0.9, question: "Can I get back what I was charged while the app was down?", after: kind() === "dependent" ? [0] : [] },
        ],
      });
    }
    if (systemPrompt(req).startsWith("You merge answers")) return text("Yesterday's outage is confirmed, and the charge from that day can be refunded.");
    const tools = toolNames(req);
    if (tools.includes("service_status")) {
      if (!toolResults(req).length) return { kind: "tool_calls", calls: [{ name: "service_status", args: {} }] };
      techAnsweredAt = performance.now();
      return text("Yes: login was degraded yesterday from 09:00 to 11:30 UTC.");
    }
    if (tools.includes("list_payments")) {
      // A dependent billing step is handed tech support's finding: count the first calls that carry it.
      if (!toolResults(req).length && /Findings of the steps this part waits for.*service_status/s.test(JSON.stringify(req.messages))) inputsHandedOn++;
      return toolResults(req).length ? text("The charge during the outage qualifies for a refund.") : { kind: "tool_calls", calls: [{ name: "list_payments", args: { limit: 5 } }] };
    }
    return text("ok");
  };
}

interface Sample {
  wall: number;
  router: number;
  merge: number;
  steps: number[];
}

/** `merged`: whether the reply needs the merge call (only when a step waited for another: agents/supervisor/merge.ts). */
async function ask(app: App, merged: boolean): Promise<Sample> {
  const started = performance.now();
  const submission = await app.intake.submit({ platform: "http", conversationKey: `http:${randomUUID()}`, userId: "u1", text: MESSAGE, platformMessageId: randomUUID() });
  if (submission.status !== "accepted") throw new Error(`not accepted: ${submission.status}`);
  const outcome = await submission.done;
  const wall = performance.now() - started;
  if (outcome.kind !== "reply") throw new Error(`expected a reply, got ${outcome.kind}`);
  // The log is written before the reply is released; the model calls may follow a moment later.
  for (let i = 0; i < 100; i++) {
    const inbound = (await app.log.transcript(outcome.conversationId)).find((m) => m.direction === "in");
    const calls = inbound?.modelCalls ?? [];
    const runs = inbound?.workerRuns ?? [];
    if (runs.length === 2 && calls.some((c) => c.stage === "router") && (!merged || calls.some((c) => c.stage === "merge"))) {
      if (runs.some((r) => r.status !== "ok")) throw new Error(`a step did not answer: ${JSON.stringify(runs)}`);
      const of = (stage: string) => calls.filter((c) => c.stage === stage).reduce((n, c) => n + c.latencyMs, 0);
      return { wall, router: of("router"), merge: of("merge"), steps: runs.map((r) => r.latencyMs) };
    }
    await sleep(20);
  }
  throw new Error("the message's runs and model calls were not recorded");
}

async function main(): Promise<void> {
  let kind: Kind = "dependent";
  const standIn = await startOpenAIStandIn(script(() => kind));
  const dataDir = tempDataDir("switchboard-bench-plan-");
  const fresh = SERVER ? await freshServerDatabase(SERVER) : undefined;
  const config = loadConfig({
    OPENAI_BASE_URL: standIn.baseUrl,
    OPENAI_API_KEY: "bench",
    LLM_MODEL: "stand-in",
    ROUTER_MODE: "llm",
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    ...(fresh ? { DATABASE_URL: fresh.url } : {}),
  });
  const app = await createApp(config, silentLogger());
  try {
    for (let i = 0; i < WARMUP; i++) for (const k of ["dependent", "independent"] as const) ((kind = k), await ask(app, k === "dependent"));
    const samples: Record<Kind, Sample[]> = { dependent: [], independent: [] };
    inputsHandedOn = 0;
    handOffs.length = 0;
    const cpu: Record<Kind, number> = { dependent: 0, independent: 0 };
    for (let done = 0; done < MESSAGES; done += BLOCK) {
      for (const k of ["dependent", "independent"] as const) {
        kind = k;
        const before = cpuMs();
        for (let i = 0; i < Math.min(BLOCK, MESSAGES - done); i++) samples[k].push(await ask(app, k === "dependent"));
        cpu[k] += cpuMs() - before;
      }
    }
    const p = (xs: number[]) => ({ p50: round(quantile(xs, 0.5)), p90: round(quantile(xs, 0.9)) });
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const chain = (s: Sample) => s.wall - s.router - s.merge;
    const dep = samples.dependent;
    const ind = samples.independent;
    console.log(
      JSON.stringify({
        bench: "plan",
        messages: MESSAGES,
        modelLatencyMs: LATENCY_MS,
        modelCallsPerMessage: "router 1, tech_support 2 (tool call, answer), billing 2, merge 1",
        database: fresh ? "server" : "embedded",
        dependent: {
          stepsMs: p(dep.map((s) => sum(s.steps))),
          chainMs: p(dep.map(chain)),
          wallMs: p(dep.map((s) => s.wall)),
          chainOverStepSum: p(dep.map((s) => chain(s) / sum(s.steps))),
          wallOverModelSum: p(dep.map((s) => s.wall / (s.router + sum(s.steps) + s.merge))),
          handOffMs: p(handOffs),
          billingStepsGivenTheFinding: `${inputsHandedOn}/${dep.length}`,
        },
        independent: {
          slowestStepMs: p(ind.map((s) => Math.max(...s.steps))),
          chainMs: p(ind.map(chain)),
          wallMs: p(ind.map((s) => s.wall)),
          chainOverSlowestStep: p(ind.map((s) => chain(s) / Math.max(...s.steps))),
        },
        cpuMsPerMessage: { dependent: round(cpu.dependent / MESSAGES), independent: round(cpu.independent / MESSAGES) },
      }),
    );
  } finally {
    await app.close();
    await standIn.close();
    await fresh?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
