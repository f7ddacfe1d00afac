import { AIMessage } from "@langchain/core/messages";
import { Send } from "@langchain/langgraph";
import type { KnowledgeBase } from "../knowledge/knowledge-base.ts";
import type { Router, RoutingDecision } from "../router/types.ts";
import { HUMAN_ROUTE } from "../workers/registry.ts";
import type { StepInput, WorkerResult } from "../workers/types.ts";
import { hasDependencies } from "../router/plan.ts";
import { DEFAULT_INNER_SIDE_CONFIDENCE } from "../router/offline/index.ts";
import type { PlanStep } from "../../src/types.ts";
import { finalResults, initialSteps, stepsOf } from "./steps.ts";
import type { HandoffDecision, SupervisorStateType, SupervisorUpdate, WorkerTask } from "./state.ts";

/** A message that is only a greeting, thanks or goodbye (answered as such, never routed). */
export type SmallTalk = "greeting" | "thanks" | "goodbye";

/**
 * Plain functions that decide the supervisor's edges and handoffs; unit-tested without a model.
 */

const COMPLAINT =
  /\b(complain|complaint|unacceptable|terrible|worst|ridiculous|disgust\w*|furious|angry|livid|fed up|useless|pathetic|awful|horrible|scam|lawyer|sue)\b/i;

/**
 * A user asking for a person in so many words ("get me a person please", "I want a manager",
 * "can I speak to someone"). Such a message always gets the `human` route, whatever else it asks.
 */
const PERSON_REQUEST = new RegExp(
  [
    String.raw`\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:a\s+|an\s+|some\s+|the\s+|your\s+)?(?:real\s+|live\s+)?(?:person|human|agent|someone|somebody|manager|supervisor|representative|rep)\b`,
    String.raw`\b(?:get|give|connect|transfer|put)\s+me\s+(?:to\s+|through\s+to\s+|with\s+)?(?:a\s+|an\s+|the\s+|your\s+)?(?:real\s+|live\s+)?(?:person|human|agent|manager|supervisor|representative)\b`,
    String.raw`\bi\s+(?:want|need|demand|would like)\s+(?:to\s+(?:see|get)\s+)?(?:a\s+|an\s+|the\s+|your\s+)?(?:real\s+|live\s+)?(?:person|human|manager|supervisor|human agent|representative)\b`,
  ].join("|"),
  "i",
);

/** Messages that are only a greeting, thanks or goodbye: answered as such, never routed. */
const SMALL_TALK: Array<[SmallTalk, RegExp]> = [
  ["thanks", /^(?:(?:ok(?:ay)?|great|perfect|awesome|cool|brilliant|nice|got it|that(?:'s| is) all|that helps?|that worked)[\s,.!]*)*(?:thanks?|thank\s+you|thx|ty|cheers|much appreciated|appreciate\s+it)(?:\s+(?:so|very)\s+much|\s+a\s+lot|\s+again|\s+for\s+(?:the|your)\s+help)?[\s,.!:)]*(?:(?:bye|goodbye|have a (?:good|nice|great) (?:day|one))[\s.!]*)?$/i],
  ["goodbye", /^(?:ok(?:ay)?[\s,.!]*)?(?:bye|goodbye|see\s+you|see\s+ya|have\s+a\s+(?:good|nice|great)\s+(?:day|one|evening))[\s,.!:)]*$/i],
  ["greeting", /^(?:(?:hi|hello|hey|hiya|howdy|yo|good\s+(?:morning|afternoon|evening)|greetings)(?:\s+(?:there|all|team|everyone|folks|again))?[\s,.!?]*)+(?:(?:is\s+)?(?:any(?:one|body)\s+(?:there|here|around)|are\s+you\s+there|how\s+are\s+you(?:\s+doing)?)[\s?!.]*)?$/i],
];

/** Which kind of small talk a message is, if it is nothing else. */
export function smallTalkOf(text: string): SmallTalk | null {
  const t = text.trim().replace(/[\u2018\u2019]/g, "'");
  if (t.length > 80) return null;
  for (const [kind, re] of SMALL_TALK) if (re.test(t)) return kind;
  return null;
}

/** What the bot answers to small talk. */
export const SMALL_TALK_TEXT: Record<SmallTalk, string> = {
  greeting: "Hello! What can I help you with today? I can help with billing, technical problems, or general questions about Acme Cloud.",
  thanks: "You're welcome! If anything else comes up, just write here.",
  goodbye: "Goodbye! Write here any time you need help.",
};

/**
 * The `route` node: small talk is answered as such and never routed; anything else goes to the
 * router with the conversation's last turns and the previous message's routes (the offline
 * router's prior for short follow-ups, the model's transcript), and a user who asks for a person
 * in so many words, or complains, gets the `human` route.
 */
export async function routeTurn(router: Router, s: SupervisorStateType, known?: KnownAnswers): Promise<SupervisorUpdate> {
  if (smallTalkOf(s.turn.text)) {
    const decision: RoutingDecision = { routes: [], scores: {}, unsure: false, engine: "offline", latencyMs: 0 };
    return { decision };
  }
  const text = s.turn.text; // redacted at intake
  const context = { previousRoutes: previousRoutes(s), transcript: historyOf(s) };
  const routed = await router.route(text, context);
  let decision = withPersonCues(routed, text);
  // "get me a person please, my SSO is broken": the words asking for a person drown the rest
  // (the router reads it all as a request for a person), so the rest is routed on its own and a
  // worker answers it while the person is on the way.
  const rest = besidesPerson(text);
  if (rest !== null && !decision.routes.some((r) => r.route !== HUMAN_ROUTE)) {
    const alone = await router.route(rest, context);
    decision = withRequestBesides(decision, known ? withKnownAnswer(alone, rest, known) : alone, rest);
  }
  return { decision: known ? withKnownAnswer(decision, text, known) : decision };
}

/** Filler around a request for a person ("please", "now", "asap") that asks nothing itself. */
const FILLER = /^(?:[\s,.;:!?()\-\u2013\u2014]|\b(?:please|pls|plz|now|asap|right now|right away|thanks|thank you|because|since|as|and|so)\b)+/i;

/** Words that lead into a request for a person ("can I", "I'd like to", "hi, please"). */
const LEAD_IN = /(?:\b(?:can|could|may|might)\s+(?:i|we)|\bi(?:'d|\s+would)\s+(?:like|love)\s+to|\bi\s+(?:want|need)\s+to|\b(?:please|pls|plz|just|hi|hello|hey|so|and))[\s,.;:!?]*$/i;

/**
 * What a message asks besides a person, with the words asking for one taken out ("get me a
 * person please, my SSO is broken" → "my SSO is broken"), or null when it asks nothing else.
 */
export function besidesPerson(text: string): string | null {
  const m = PERSON_REQUEST.exec(text);
  if (!m) return null;
  const before = text.slice(0, m.index).replace(LEAD_IN, "").trim();
  const after = text.slice(m.index + m[0].length).replace(FILLER, "").trim();
  const rest = [before.replace(/[\s,.;:!?\-\u2013\u2014]+$/u, ""), after].filter(Boolean).join(". ");
  return (rest.match(/\p{L}{2,}/gu) ?? []).length >= 2 ? rest : null;
}

/**
 * How confident the router must be of the rest of a message that asks for a person: as sure as
 * of a side cut off inside a sentence (the offline router's `DEFAULT_INNER_SIDE_CONFIDENCE`), so
 * that what is left around the request ("I want to talk to a human <script>…") is not read as a
 * request of its own.
 */
export const REST_CONFIDENCE = DEFAULT_INNER_SIDE_CONFIDENCE;

/** A person's decision with the worker routes `alone` found for the rest of the message added. */
export function withRequestBesides(decision: RoutingDecision, alone: RoutingDecision, rest: string): RoutingDecision {
  const workers = alone.routes.filter((r) => r.route !== HUMAN_ROUTE && r.confidence >= REST_CONFIDENCE).map((r) => ({ ...r, question: rest }));
  if (workers.length === 0) return decision;
  const scores = { ...decision.scores };
  for (const r of workers) scores[r.route] = Math.max(scores[r.route] ?? 0, r.confidence);
  const known = alone.fromKnowledge === undefined ? {} : { fromKnowledge: alone.fromKnowledge };
  return { ...decision, ...known, routes: [...workers, ...decision.routes], scores, unsure: false };
}

/** The knowledge base, and which worker answers from each of its folders. */
export interface KnownAnswers {
  knowledge: KnowledgeBase;
  /** Worker names of the registry; a folder's worker must be one of them. */
  workers: readonly string[];
}

/**
 * How much of a message's meaningful words an article must cover (its search score, 0..1) for an
 * unsure router to be overruled by it. Set high: "how much has the dow changed today" finds the
 * pricing article at 0.86 (for "much" and "changed"), a product question its article at 0.96–1.
 */
export const KNOWN_ANSWER_SCORE = 0.9;

/** Which worker answers from an article of each knowledge-base folder. */
const FOLDER_WORKER = { faq: "faq", tech: "tech_support" } as const;

/**
 * The right article whoever routes: when the router could not place a message (unsure, no
 * route, no person asked for) but the knowledge base has an article covering nearly all of its
 * words ("How do I set up SSO with Okta?"), the article's worker answers it, instead of the user
 * being asked what the message is about.
 */
export function withKnownAnswer(decision: RoutingDecision, text: string, known: KnownAnswers): RoutingDecision {
  if (!decision.unsure || decision.routes.length > 0) return decision;
  const hit = known.knowledge.search(text, { limit: 1 })[0];
  if (!hit || hit.score < KNOWN_ANSWER_SCORE) return decision;
  const worker = FOLDER_WORKER[hit.doc.collection];
  if (!known.workers.includes(worker)) return decision;
  return {
    ...decision,
    routes: [{ route: worker, confidence: hit.score, question: text }],
    scores: { ...decision.scores, [worker]: Math.max(decision.scores[worker] ?? 0, hit.score) },
    unsure: false,
    fromKnowledge: hit.doc.id,
  };
}

/** Where the worker routes of a turn are kept on the bot's answer (its `response_metadata`). */
const ROUTES_METADATA = "switchboard_routes";

/** The bot's answer to a turn, carrying the turn's worker routes for the next one's prior. */
export function answerMessage(s: SupervisorStateType, text: string): AIMessage {
  const routes = (s.decision?.routes ?? []).map((r) => r.route).filter((r) => r !== HUMAN_ROUTE);
  return new AIMessage({ content: text, response_metadata: routes.length > 0 ? { [ROUTES_METADATA]: routes } : {} });
}

/**
 * The worker routes of the latest earlier turn that had any (the offline router's prior for a
 * follow-up), read from the bot's answers in the conversation's memory.
 */
export function previousRoutes(s: SupervisorStateType): string[] {
  for (let i = s.messages.length - 1; i >= 0; i--) {
    const routes: unknown = s.messages[i]!.response_metadata?.[ROUTES_METADATA];
    if (Array.isArray(routes) && routes.length > 0) return routes.filter((r): r is string => typeof r === "string");
  }
  return [];
}

/**
 * A decision with the `human` route added when the user asks for a person in so many words, or
 * complains while the router is unsure: such a user must reach a person, whatever the
 * classifier made of the rest ("get me a person please, my SSO is broken": tech support and a
 * person).
 */
export function withPersonCues(decision: RoutingDecision, text: string): RoutingDecision {
  if (decision.routes.some((r) => r.route === HUMAN_ROUTE)) return decision;
  if (!PERSON_REQUEST.test(text) && !(decision.unsure && COMPLAINT.test(text))) return decision;
  const human = { route: HUMAN_ROUTE, confidence: Math.max(decision.scores[HUMAN_ROUTE] ?? 0, 0.9), question: text };
  return { ...decision, routes: [...decision.routes, human], scores: { ...decision.scores, [HUMAN_ROUTE]: human.confidence }, unsure: false };
}

/**
 * Conditional edge after `route`: one `Send` per step that waits for nothing (they run in
 * parallel; a waiting step is sent by `dispatch` once its inputs are in), else straight to
 * `merge`, which then only decides.
 */
export function fanOut(state: SupervisorStateType, workerNames: readonly string[]): Send[] | "merge" {
  const plan = stepsOf(state.decision, workerNames);
  if (plan.length === 0) return "merge";
  return initialSteps(plan).map((step) => new Send(step.worker, taskFor(step, state, plan, [])));
}

/** The task of one plan step, for its worker's node. */
export function taskFor(step: PlanStep, state: SupervisorStateType, plan: readonly PlanStep[], inputs: StepInput[]): WorkerTask {
  return {
    worker: step.worker,
    question: step.question,
    step,
    inputs,
    tried: [],
    scores: state.decision?.scores ?? {},
    planned: hasDependencies(plan),
    turn: state.turn,
    history: historyOf(state),
    deadline: state.deadline,
    siblings: [...new Set(plan.map((s) => s.worker))],
  };
}

/** The last few turns (before this message) as plain text, for workers' context. */
export function historyOf(state: SupervisorStateType, turns = 6): Array<{ role: "user" | "assistant"; text: string }> {
  return state.messages
    .slice(0, -1)
    .slice(-turns)
    .map((m) => ({ role: m.getType() === "human" ? ("user" as const) : ("assistant" as const), text: String(m.content) }));
}

/**
 * Whether this turn goes to a person, and why. Order matters: an explicit request first, then a
 * worker that could not finish, then a failure, then a second unclear message in a row.
 */
export function decideHandoff(state: SupervisorStateType): HandoffDecision | null {
  const routes = state.decision?.routes ?? [];
  if (routes.some((r) => r.route === "human")) {
    return COMPLAINT.test(state.turn.text)
      ? { reason: "complaint", detail: "The user is complaining and should hear from a person." }
      : { reason: "user_request", detail: "The user asked for a person." };
  }
  const results = finalResults(state.results);
  const needs = results.find((r) => r.status === "needs_human");
  if (needs?.handoff) return needs.handoff;
  if (needs) return { reason: "needs_engineer", detail: `${needs.worker} could not finish.` };
  const failed = results.find((r) => r.status === "failed" || r.status === "timeout");
  if (failed) {
    return {
      reason: failed.status === "timeout" ? "worker_timeout" : "worker_failed",
      detail: `${failed.worker} ${failed.status === "timeout" ? "timed out" : "failed"}: ${failed.error ?? "unknown error"}${passedOnBy(state.results, failed)}`,
    };
  }
  const declined = results.find((r) => r.status === "declined");
  if (declined) {
    return { reason: "no_answer", detail: `No worker could answer "${declined.question.slice(0, 200)}": ${declinedBy(state.results, declined)}.` };
  }
  if (state.decision?.unsure && state.turn.unclearStreak >= 1 && !smallTalkOf(state.turn.text)) {
    return { reason: "low_confidence", detail: "Two unclear messages in a row." };
  }
  return null;
}

/**
 * The body of a turn no worker answered: the small-talk reply, or the clarifying question when
 * the router was unsure (an out-of-scope message too: no worker answers a question nobody asked
 * it); empty otherwise.
 */
export function unansweredBody(s: SupervisorStateType, handoff: HandoffDecision | null): string {
  const talk = smallTalkOf(s.turn.text);
  if (talk) return SMALL_TALK_TEXT[talk];
  return isUnclear(s) && !handoff ? CLARIFY_TEXT : "";
}

/** The router was unsure and no worker ran: the turn counts toward the unclear streak. */
export function isUnclear(s: SupervisorStateType): boolean {
  return (s.decision?.unsure ?? false) && s.results.length === 0 && !smallTalkOf(s.turn.text);
}

export const CLARIFY_TEXT =
  "I want to make sure I get you to the right place. Is this about **billing** (charges, invoices, refunds), a **technical problem** with the app, or a **general question** about Acme Cloud? A sentence more about it helps.";

export { HANDOFF_TEXT } from "../../src/handoffs/reasons.ts";

/** Every worker that tried the step of `last` (it was passed on), with what stopped it. */
function attemptsOf(all: readonly WorkerResult[], last: WorkerResult): WorkerResult[] {
  return all.filter((r) => r.step !== undefined && r.step === last.step);
}

/** ", after billing declined it" when the failed run had taken over the step from another worker. */
function passedOnBy(all: readonly WorkerResult[], last: WorkerResult): string {
  const before = attemptsOf(all, last).filter((r) => r !== last);
  return before.length ? ` (it took the step over after ${before.map((r) => `${r.worker} ${r.status === "declined" ? "could not answer it" : r.status}`).join(", ")})` : "";
}

/** "faq: no help article answers it; tech_support: …": each worker that declined the step, and why. */
function declinedBy(all: readonly WorkerResult[], last: WorkerResult): string {
  const attempts = attemptsOf(all, last);
  return (attempts.length ? attempts : [last]).map((r) => `${r.worker}${typeof r.facts?.declined === "string" ? ` (${r.facts.declined})` : r.error ? ` (${r.error})` : ""}`).join(", then ");
}

/** Failed worker runs as user-facing notes, so a partial answer says what is missing. */
export function failureNotes(results: WorkerResult[], titles: (worker: string) => string): string[] {
  return finalResults(results)
    .filter((r) => r.status === "failed" || r.status === "timeout")
    .map((r) => `I couldn't finish the part about ${titles(r.worker).toLowerCase()} just now.`);
}
