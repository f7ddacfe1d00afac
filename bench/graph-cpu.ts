/**
 * CPU of the supervisor graph alone, per turn, in this process: the compiled graph as the
 * composition root builds it (offline engine, the real registry and knowledge base), with
 * LangGraph's in-memory checkpointer (with the service checkpointer's serializer), on the cost benchmark's questions, one conversation per
 * five messages, the tools' SQL on a new migrated database of the Postgres server of
 * DATABASE_URL (default the local one), as in bench/cost.ts's server run. Prints one JSON object: CPU ms per turn (process.cpuUsage), turns.
 *
 * Beside it, measured in the same run (rounds of each in turn, so the machine's load weighs on
 * all alike), LangGraph's own floor: a graph of the same shape whose nodes do nothing
 * (route → Send to one worker → deferred merge, durability "exit", the
 * same checkpointer and run context), `floorMsPerTurn` without and `floorSubgraphMsPerTurn` with
 * the worker node invoking a one-node compiled subgraph, as a worker does. The real figure minus
 * the latter is ours (nodes, state, the worker's tools); the floor is LangGraph's.
 *
 *   npx tsx bench/graph-cpu.ts [turns=2000]
 *
 * What it leaves out (queue, SQL of the turn, Slack rendering) is what bench/cost.ts adds.
 */
import fs from "node:fs";
import inspector from "node:inspector";
import { Annotation, END, MemorySaver, START, Send, StateGraph } from "@langchain/langgraph";
import { loadKnowledgeBase } from "../agents/knowledge/knowledge-base.ts";
import { compileSupervisor } from "../agents/supervisor/graph.ts";
import { offlineRouterFor } from "../agents/trained-router.ts";
import { WorkerRegistry } from "../agents/workers/registry.ts";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/logger.ts";
import { CheckpointSerializer } from "../src/db/checkpoint-serde.ts";
import { freshServerDatabase } from "../test/helpers/databases.ts";
import { QUESTIONS } from "./questions.ts";

const turns = Number(process.argv[2] ?? 2000);
// A new migrated database on the server of DATABASE_URL (as bench/cost.ts's server run): the
// tools' tables exist, so every question is answered, none fails and is retried.
const fresh = await freshServerDatabase(process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres");
const config = loadConfig({ DATABASE_URL: fresh.url, LOG_LEVEL: "silent" });
const pool = fresh.db.pool;
const registry = new WorkerRegistry();
const knowledge = await loadKnowledgeBase(config.knowledgeDir);
const router = offlineRouterFor(registry, { knowledge });
const supervisor = compileSupervisor({ registry, router, deps: { pool, knowledge, config, now: () => new Date() }, logger: silentLogger() }, new MemorySaver(new CheckpointSerializer()));

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
  // A failed worker would measure its error path and retry, not the answer.
  const failed = state.results.find((r) => r.status === "failed" || r.status === "timeout");
  if (failed) throw new Error(`the ${failed.worker} worker failed: ${failed.error}`);
};
// LangGraph's floor: the supervisor's shape with nodes that do nothing (see the top of the file).
const FloorState = Annotation.Root({
  turn: Annotation<{ messageId: string }>(),
  results: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  answered: Annotation<boolean>({ reducer: (_a, b) => b, default: () => false }),
});
const floorSubgraph = new StateGraph(Annotation.Root({ q: Annotation<string>(), a: Annotation<string>() }))
  .addNode("answer", (s: { q: string }) => ({ a: s.q }))
  .addEdge(START, "answer")
  .addEdge("answer", END)
  .compile({ name: "floor_offline", checkpointer: false });
const floorGraph = (withSubgraph: boolean) =>
  new StateGraph(FloorState)
    .addNode("route", () => ({}))
    .addNode(
      "worker",
      async (task: { turn: { messageId: string } }) => ({ results: [withSubgraph ? (await floorSubgraph.invoke({ q: task.turn.messageId }, { configurable: {} })).a : task.turn.messageId] }),
      withSubgraph ? { subgraphs: [floorSubgraph] } : {},
    )
    .addNode("merge", () => ({ answered: true }), { defer: true })
    .addEdge(START, "route")
    .addConditionalEdges("route", (s: typeof FloorState.State) => [new Send("worker", { turn: s.turn })], ["worker"])
    .addEdge("worker", "merge")
    .addEdge("merge", END)
    .compile({ checkpointer: new MemorySaver(new CheckpointSerializer()), name: "floor" })
    .withConfig({ durability: "exit" });
const floors = { floorMsPerTurn: floorGraph(false), floorSubgraphMsPerTurn: floorGraph(true) };
const floorTurn = (graph: (typeof floors)[keyof typeof floors]) => async (i: number) => {
  const state = await graph.invoke({ turn: { messageId: String(i) } }, { configurable: { thread_id: String(Math.floor(i / 5)) } });
  if (!state.answered) throw new Error("no answer");
};

const runs: Record<string, (i: number) => Promise<void>> = { cpuMsPerTurn: turn, floorMsPerTurn: floorTurn(floors.floorMsPerTurn), floorSubgraphMsPerTurn: floorTurn(floors.floorSubgraphMsPerTurn) };
// Warm-up: JIT, the knowledge base's first searches.
for (const run of Object.values(runs)) for (let i = 0; i < 200; i++) await run(i);
// GRAPH_CPU_PROFILE=FILE: a CPU profile of the measured turns of the real graph (not the warm-up, not the floor), for chrome://inspect.
const profileFile = process.env["GRAPH_CPU_PROFILE"];
const session = profileFile ? new inspector.Session() : undefined;
const profiles: CpuProfile[] = [];
if (session) {
  session.connect();
  await post(session, "Profiler.enable");
}
// Rounds of each in turn, so a change of the machine's load weighs on all of them alike.
const ROUNDS = 10;
const cpuMs: Record<string, number> = {};
let wallMs = 0;
for (let round = 0; round < ROUNDS; round++) {
  const from = 1000 + Math.floor((round * turns) / ROUNDS);
  const to = 1000 + Math.floor(((round + 1) * turns) / ROUNDS);
  for (const [name, run] of Object.entries(runs)) {
    const profiled = session && name === "cpuMsPerTurn";
    if (profiled) await post(session, "Profiler.start");
    const before = process.cpuUsage();
    const t0 = performance.now();
    for (let i = from; i < to; i++) await run(i);
    const cpu = process.cpuUsage(before);
    if (name === "cpuMsPerTurn") wallMs += performance.now() - t0;
    cpuMs[name] = (cpuMs[name] ?? 0) + (cpu.user + cpu.system) / 1000;
    if (profiled) profiles.push(((await post(session, "Profiler.stop")) as { profile: CpuProfile }).profile);
  }
}
const perTurn = (ms: number) => Math.round((ms / turns) * 100) / 100;
const figures = Object.fromEntries(Object.entries(cpuMs).map(([name, ms]) => [name, perTurn(ms)]));
process.stdout.write(`${JSON.stringify({ turns, ...figures, oursMsPerTurn: perTurn(cpuMs["cpuMsPerTurn"]! - cpuMs["floorSubgraphMsPerTurn"]!), wallMsPerTurn: perTurn(wallMs) })}\n`);
if (profileFile) fs.writeFileSync(profileFile, JSON.stringify(mergeProfiles(profiles)));
await fresh.drop();

function post(s: inspector.Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => s.post(method, (err, result) => (err ? reject(err) : resolve(result))));
}

interface CpuProfile {
  nodes: Array<{ id: number; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}
/** One profile of the rounds' profiles (node ids renumbered apart), so the measured turns read as one. */
function mergeProfiles(parts: CpuProfile[]): CpuProfile | undefined {
  let offset = 0;
  const merged: CpuProfile = { nodes: [], startTime: parts[0]?.startTime ?? 0, endTime: parts.at(-1)?.endTime ?? 0, samples: [], timeDeltas: [] };
  for (const p of parts) {
    const shift = (id: number) => id + offset;
    merged.nodes.push(...p.nodes.map((n) => ({ ...n, id: shift(n.id), ...(n.children ? { children: n.children.map(shift) } : {}) })));
    merged.samples.push(...p.samples.map(shift));
    merged.timeDeltas.push(...p.timeDeltas);
    offset += Math.max(0, ...p.nodes.map((n) => n.id));
  }
  return parts.length ? merged : undefined;
}
