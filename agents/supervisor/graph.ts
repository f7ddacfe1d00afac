import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, RemoveMessage } from "@langchain/core/messages";
import { Command, END, START, Send, StateGraph, type BaseCheckpointSaver, type RetryPolicy } from "@langchain/langgraph";
import { errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { recordModelCalls, type ModelCallSink } from "../engines/model-calls.ts";
import { untracedRunContext } from "../engines/untraced-context.ts";
import type { Router } from "../router/types.ts";
import type { WorkerRegistry } from "../workers/registry.ts";
import type { WorkerDeps, WorkerResult } from "../workers/types.ts";
import { InProcessSteps, type StepRunner } from "../workers/step-runner.ts";
import { composeReply, withNotes } from "../../src/turns/compose-reply.ts";
import { mergeReplies, needsMerge, sectionOf } from "./merge.ts";
import type { PartDone } from "../../src/ports.ts";
import { runWithinBudget } from "./worker-budget.ts";
import { HANDOFF_TEXT, answerMessage, decideHandoff, failureNotes, fanOut, isUnclear, routeTurn, smallTalkOf, taskFor, unansweredBody } from "./routing.ts";
import { finalResults, inputsFor, nextWorkerFor, readySteps, stepsOf } from "./steps.ts";
import { SupervisorState, type SupervisorStateType, type SupervisorUpdate, type WorkerTask } from "./state.ts";

export interface SupervisorOptions {
  registry: WorkerRegistry;
  router: Router;
  deps: WorkerDeps;
  /** Chat model for tool-calling workers and merging; undefined: the offline engine. */
  model?: BaseChatModel | undefined;
  /**
   * Time budget of the workers answering one message, in ms (WORKER_TIMEOUT_MS): they run in
   * parallel against one deadline; a failed attempt is retried only while it lasts. Default 20000.
   */
  workerTimeoutMs?: number;
  /** Memory kept in the graph's messages, in messages. Default 40. */
  memoryMessages?: number;
  /** Told of every chat-model call the compiled graph makes (router, workers, merge). Default: none. */
  modelCalls?: ModelCallSink | undefined;
  /** Where a node's retry is logged (LangGraph's own notice goes to stdout through console.log). Default: none. */
  logger?: Logger | undefined;
  /**
   * Where each worker's steps run: in this process, or delegated through the shared queue to the
   * process that runs the worker (src/steps/). Default: every registry worker in this process.
   */
  steps?: StepRunner | undefined;
}

/**
 * The supervisor graph, uncompiled (the composition root compiles it with the Postgres
 * checkpointer, thread id = conversation id):
 *
 *   route ──Send×n──→ <worker>… ──→ merge → END
 *     │ └(no worker)──────────────→ merge
 *     └(human-owned: guard)→ END
 *
 * DESIGN's steps in three nodes: `route` loads the context (clears the turn's channels, keeps the
 * message in memory), checks ownership and routes; `merge` merges the answers and decides on a
 * handoff. Each node is a superstep of LangGraph's, and a superstep costs CPU on every message.
 *
 * Workers are nodes named after their registry entry, fanned out with `Send` so they run in
 * parallel; each has a retry policy, a timeout and an error handler, so one failing worker
 * leaves the others' answers intact, and is registered with the worker's compiled subgraphs.
 */
export function createSupervisor(opts: SupervisorOptions) {
  const { registry, router } = opts;
  // Without LangSmith tracing, LangChain's run context holds no RunTree (CPU per turn; see there).
  untracedRunContext();
  const steps: StepRunner = opts.steps ?? new InProcessSteps(registry.workers, opts.deps, opts.model);
  const title = (name: string) => registry.get(name)?.title ?? name;
  const memory = opts.memoryMessages ?? 40;
  const budgetMs = opts.workerTimeoutMs ?? 20_000;

  // Node names include the registry's worker names, known only at run time: hence `string`.
  const builder: StateGraph<typeof SupervisorState.spec, SupervisorStateType, SupervisorUpdate, string> = new StateGraph(SupervisorState);
  const graph = builder
    .addNode(
      "route",
      // A new turn: the previous turn's channels cleared, the message remembered (redacted at
      // intake), the oldest turns forgotten so the checkpoint and the prompts stay bounded; then,
      // when the bot owns the conversation, the message routed (its workers' budget starts there,
      // and every step of it shares the deadline). One node, not two: a node is one more
      // superstep of LangGraph's (~0.3 ms of CPU per turn).
      async (s: SupervisorStateType) => {
        const { update, state } = loadContext(s, memory);
        if (guard(s) === END) return update;
        const routed = await routeTurn(router, state, { knowledge: opts.deps.knowledge, workers: registry.names });
        return { ...update, ...routed, deadline: Date.now() + budgetMs };
      },
      { retryPolicy: loggedRetry("route", opts.logger, { maxAttempts: 2, initialInterval: 200 }) },
    )
    .addNode(
      "merge",
      // Deferred: runs once, after every worker branch (answered or failed) has finished, or
      // straight after `route` when no worker was sent. Merges the answers into one reply and
      // decides whether a person takes the conversation over.
      async (s: SupervisorStateType) => {
        const plan = stepsOf(s.decision, registry.names);
        let merged: SupervisorStateType["reply"] = null;
        if (plan.length > 0) {
          const notes = failureNotes(s.results, title);
          // A model merges only answers that overlap (a step waited for another): `needsMerge`.
          const model = needsMerge(plan, s.turn.caller.platform) ? opts.model : undefined;
          const answers = finalResults(s.results, plan).filter((r) => r.status !== "declined");
          merged = await mergeReplies(s.turn.text, answers, title, notes, model);
        }
        const decided = { ...s, reply: merged };
        const handoff = decideHandoff(decided);
        const unclear = isUnclear(decided);
        const answer = merged?.text ? merged : composeReply({ body: unansweredBody(decided, handoff) });
        const reply = withNotes(answer, [handoff ? HANDOFF_TEXT[handoff.reason] : null]);
        return {
          handoff,
          answered: true,
          // Small talk neither counts as unclear nor clears the streak.
          unclearStreak: handoff ? 0 : unclear ? s.turn.unclearStreak + 1 : smallTalkOf(s.turn.text) ? s.turn.unclearStreak : 0,
          reply,
          messages: [answerMessage(decided, reply.text)],
        };
      },
      { defer: true },
    )
    .addNode(
      "dispatch",
      // Steps that wait for others: sent once every step they wait for is over, with its findings.
      (s: SupervisorStateType) => {
        const plan = stepsOf(s.decision, registry.names);
        const ready = readySteps(plan, s.results, s.dispatched);
        // Nothing more to start: the edge to the deferred `merge`, which runs once all is over.
        if (ready.length === 0) return {};
        return new Command({
          update: { dispatched: ready.map((step) => step.id) },
          goto: ready.map((step) => new Send(step.worker, taskFor(step, s, plan, inputsFor(step, s.results)))),
        });
      },
      { ends: registry.names },
    )
    .addEdge(START, "route")
    // A conversation a person owns ends after `route` remembered its message (`guard`).
    .addConditionalEdges("route", (s: SupervisorStateType) => (guard(s) === END ? END : fanOut(s, registry.names)), [...registry.names, "merge", END])
    .addEdge("dispatch", "merge")
    .addEdge("merge", END);

  for (const name of registry.names) {
    graph.addNode(
      name,
      async (task: WorkerTask, config) => {
        const input = { question: task.question, message: task.turn.text, history: task.history, caller: task.turn.caller, inputs: task.inputs };
        const run = await runWithinBudget(
          (signal) => steps.run(name, input, signal, task.deadline, task.turn.messageId),
          (status, error, latencyMs) => failedRun(task, status, error, latencyMs),
          { deadline: task.deadline, budgetMs, parent: config.signal, timeoutText: steps.timeoutText?.(name) },
        );
        const result: WorkerResult = { ...run, step: task.step.id, ...(task.tried.length ? { reassignedFrom: task.tried.at(-1)! } : {}) };
        // A step its worker could not answer is offered to the next-best worker, once, before a
        // person takes it; both runs are kept (the first marked as passed on).
        const tried = [...task.tried, name];
        const next = nextWorkerFor(result, tried, task.scores, registry.names, task.deadline - Date.now(), task.siblings.filter((w) => w !== task.step.worker));
        if (next) {
          return new Command({ update: { results: [{ ...result, reassignedTo: next }] }, goto: new Send(next, { ...task, worker: next, tried }) });
        }
        // Streamed to the turn runner as it happens (LangGraph's custom stream), so a chat reply can
        // show the parts that are ready while the others are still being worked on. Named by the
        // step's own worker, whoever answered it: that is the part the user is waiting for.
        if (task.siblings.length > 1) {
          const section = result.status === "declined" ? null : sectionOf(result, title(name));
          const done: PartDone = { kind: "part_done", worker: task.step.worker, section, parts: task.siblings.map((w) => ({ worker: w, title: title(w) })) };
          config.writer?.(done);
        }
        // Every worker node has its edge to the deferred `merge`; a step of a plan with waiting
        // steps also tells `dispatch` it is over.
        return task.planned ? new Command({ update: { results: [result] }, goto: "dispatch" }) : { results: [result] };
      },
      {
        // The worker's own compiled graphs: LangGraph lists them as this node's subgraphs
        // (`getSubgraphs`, the graph drawing, streaming with `subgraphs: true`).
        subgraphs: steps.subgraphs(name),
        // Retries and the time limit are the message budget's (`runWithinBudget`); this handler
        // only catches what escapes it. It is a node of its own, without the worker's edge to
        // `merge`, so it routes there itself: a message must never end without an answer.
        errorHandler: (task: WorkerTask, error) =>
          new Command({ update: { results: [{ ...failedRun(task, "failed", error.error, 0), step: task.step.id }] }, goto: task.planned ? ["dispatch", "merge"] : "merge" }),
        ends: [...registry.names, "dispatch", "merge"],
      },
    );
    graph.addEdge(name, "merge");
  }
  return graph;
}

/** A conversation a person owns is theirs: the message is relayed, not answered. */
export function guard(s: SupervisorStateType): "route" | typeof END {
  return s.turn.ownership === "bot" ? "route" : END;
}

/**
 * The start of a turn: the `update` that clears the previous turn's channels and remembers the
 * message, forgetting the oldest messages beyond `memory`, and the `state` it leaves (what the
 * router reads in the same node).
 */
export function loadContext(s: SupervisorStateType, memory: number): { update: SupervisorUpdate; state: SupervisorStateType } {
  const forgotten = Math.max(0, s.messages.length + 1 - memory);
  const forget = s.messages.slice(0, forgotten).flatMap((m) => (m.id ? [new RemoveMessage({ id: m.id })] : []));
  const message = new HumanMessage({ content: s.turn.text, id: s.turn.messageId });
  const reset = { decision: null, reply: null, handoff: null, answered: false, unclearStreak: s.turn.unclearStreak };
  return {
    update: { ...reset, results: null, dispatched: null, messages: [...forget, message] },
    state: { ...s, ...reset, results: [], dispatched: [], messages: [...s.messages.slice(forgotten), message] },
  };
}

function failedRun(task: WorkerTask, status: "failed" | "timeout", error: unknown, latencyMs: number): WorkerResult {
  return {
    worker: task.worker,
    question: task.question,
    status,
    reply: "",
    sources: [],
    toolCalls: [],
    error: errorMessage(error),
    latencyMs,
    engine: "none",
  };
}

/** The uncompiled supervisor graph, as {@link createSupervisor} builds it. */
export type SupervisorGraph = ReturnType<typeof createSupervisor>;

/**
 * The supervisor compiled with a checkpointer (thread id = conversation id), named `supervisor`.
 * What the composition root runs; its type is {@link CompiledSupervisor}.
 */
export function compileSupervisor(opts: SupervisorOptions, checkpointer: BaseCheckpointSaver): CompiledSupervisor {
  // A turn never resumes from an intermediate step (each message starts a fresh run from START),
  // so only the state at the end of the run is saved: one checkpoint per turn, not one per step.
  // Model calls are recorded from the graph's callbacks, which see the turn each call belongs to.
  const callbacks = opts.modelCalls ? { callbacks: [recordModelCalls(opts.modelCalls, opts.registry.names)] } : {};
  return createSupervisor(opts).compile({ checkpointer, name: "supervisor" }).withConfig({ durability: "exit", ...callbacks });
}

/**
 * The compiled supervisor. Among its methods: `invoke({ turn }, { configurable: { thread_id } })`
 * resolving to the final {@link SupervisorStateType}, and the checkpoint methods `getState` and
 * `updateState(config, { messages }, asNode)`.
 */
export type CompiledSupervisor = ReturnType<SupervisorGraph["compile"]>;

/** HTTP statuses LangGraph's default policy does not retry (a request that will fail the same way). */
const NO_RETRY_STATUS = new Set([400, 401, 402, 403, 404, 405, 406, 407, 409]);

/**
 * A node's retry policy whose retries are logged through the service's logger, not printed by
 * LangGraph to stdout: `logWarning: false`, and a `retryOn` that decides as LangGraph's default
 * does (not a cancellation, a graph error or a request refused for good) and says so when it retries.
 */
export function loggedRetry(node: string, logger: Logger | undefined, policy: { maxAttempts: number; initialInterval: number }): RetryPolicy {
  return {
    ...policy,
    logWarning: false,
    retryOn: (error: unknown) => {
      const e = (error ?? {}) as { name?: string; message?: string; code?: string; status?: number; response?: { status?: number } };
      const status = e.response?.status ?? e.status;
      const retry =
        !(e.name === "AbortError" || e.message?.startsWith("Cancel") || e.message?.startsWith("AbortError")) &&
        e.name !== "GraphValueError" &&
        e.code !== "ECONNABORTED" &&
        !(status !== undefined && NO_RETRY_STATUS.has(Number(status)));
      if (retry) logger?.warn({ node, err: errorMessage(error) }, "supervisor: a step failed; retrying it");
      return retry;
    },
  };
}
