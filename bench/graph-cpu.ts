/**
 * CPU of the supervisor graph alone, per turn, in this process: the compiled graph as the
 * composition root builds it (offline engine, the real registry and knowledge base), with
 * LangGraph's in-memory checkpointer, on the cost benchmark's questions, one conversation per
 * five messages. Prints one JSON object: CPU ms per turn (process.cpuUsage), turns.
 *
 *   npx tsx bench/graph-cpu.ts [turns=2000]
 *
 * What it leaves out (queue, SQL of the turn, Slack rendering) is what bench/cost.ts adds.
 */
import fs from "node:fs";
import inspector from "node:inspector";
import { MemorySaver } from "@langchain/langgraph";
import pg from "pg";
import { loadKnowledgeBase } from "../agents/knowledge/knowledge-base.ts";
import { compileSupervisor } from "../agents/supervisor/graph.ts";
import { offlineRouterFor } from "../agents/trained-router.ts";
import { WorkerRegistry } from "../agents/workers/registry.ts";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/logger.ts";
import { QUESTIONS } from "./questions.ts";

const turns = Number(process.argv[2] ?? 2000);
const config = loadConfig({ DATABASE_URL: process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres", LOG_LEVEL: "silent" });
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
const registry = new WorkerRegistry();
const knowledge = await loadKnowledgeBase(config.knowledgeDir);
const router = offlineRouterFor(registry, { knowledge });
const supervisor = compileSupervisor({ registry, router, deps: { pool, knowledge, config, now: () => new Date() }, logger: silentLogger() }, new MemorySaver());

const turn = async (i: number) => {
  const conversationId = `00000000-0000-4000-8000-${String(Math.floor(i / 5)).padStart(12, "0")}`;
  const messageId = `00000000-0000-4000-9000-${String(i).padStart(12, "0")}`;
  const state = await supervisor.invoke(
    {
      turn: {
        messageId,
        text: QUESTIONS[i % QUESTIONS.length]!,
        caller: { platform: "slack", userId: "U1", customerId: null, conversationId },
        ownership: "bot",
        unclearStreak: 0,
      },
    },
    { configurable: { thread_id: conversationId } },
  );
  if (!state.answered) throw new Error("no answer");
};
// Warm-up: JIT, the knowledge base's first searches.
for (let i = 0; i < 200; i++) await turn(i);
// GRAPH_CPU_PROFILE=FILE: a CPU profile of the measured turns (not the warm-up), for chrome://inspect.
const profileFile = process.env["GRAPH_CPU_PROFILE"];
const session = profileFile ? new inspector.Session() : undefined;
if (session) {
  session.connect();
  await post(session, "Profiler.enable");
  await post(session, "Profiler.start");
}
const before = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < turns; i++) await turn(1000 + i);
const cpu = process.cpuUsage(before);
process.stdout.write(`${JSON.stringify({ turns, cpuMsPerTurn: Math.round(((cpu.user + cpu.system) / 1000 / turns) * 100) / 100, wallMsPerTurn: Math.round(((performance.now() - t0) / turns) * 100) / 100 })}\n`);
if (session && profileFile) fs.writeFileSync(profileFile, JSON.stringify(((await post(session, "Profiler.stop")) as { profile: unknown }).profile));
await pool.end();

function post(s: inspector.Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => s.post(method, (err, result) => (err ? reject(err) : resolve(result))));
}
