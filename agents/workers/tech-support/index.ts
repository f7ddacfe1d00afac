import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { WorkerDefinition, WorkerDeps } from "../types.ts";
import { defineTool } from "../define-tool.ts";
import { relevantHits } from "../../knowledge/knowledge-base.ts";
import { uniqueSources } from "../../knowledge/citation.ts";
import { SEARCH_TOOL, answerFromKnowledge, searchTool } from "../knowledge-tools.ts";

const PLATFORM_WORDS = /\b(ios|iphone|ipad|android|web|browser|chrome|safari|firefox|edge|desktop|mac|macos|windows|linux|app store)\b/i;
const ERROR_DETAIL = /\b(error|code|says|message|shows|\d{3})\b|["“'].+["”']/i;
/**
 * Something that broke, as opposed to a how-to: only then can the platform or the error text
 * change the answer, so only then does the worker ask for them.
 */
const MALFUNCTION = /\b(crash\w*|freez\w*|hangs?|hanging|error\w*|fail\w*|broken|bug|stuck|blank|won'?t|doesn'?t|does not|isn'?t|is not|not (work\w*|load\w*|sync\w*|open\w*|show\w*|start\w*)|can'?t|cannot|unable|keeps? (closing|crashing|logging)|rejected|invalid|never (arrived|came))\b/i;
/** A question about the service's state ("is it down?"), which the status page answers either way. */
const STATUS_QUESTION = /\b(down|outage|not loading|everyone|status|unavailable)\b/i;
const ESCALATE = /\b(still (crash|broken|not|doesn|does ?n)|didn'?t (help|work|fix)|doesn'?t (help|work)|tried (that|everything|all)|bug report|report a bug|data loss|lost (my|all) (data|notes))/i;

function statusTool(deps: WorkerDeps) {
  return defineTool(
    { name: "service_status", description: "Open incidents on Acme Cloud's status page (outages, degraded features).", schema: z.object({}) },
    async () => {
      const r = await deps.pool.query<{ title: string; status: string; message: string; components: string[]; started_at: Date }>(
        "select title, status, message, components, started_at from incidents where resolved_at is null order by started_at desc",
      );
      if (r.rows.length === 0) return "All systems operational: no open incidents.";
      return r.rows
        .map((i) => `INCIDENT (${i.status}, since ${i.started_at.toISOString().slice(0, 16).replace("T", " ")} UTC): ${i.title} — ${i.message} [components: ${i.components.join(", ")}]`)
        .join("\n");
    },
  );
}

/** Tech support: the technical knowledge base plus the service-status table. */
export const techSupportWorker: WorkerDefinition = {
  name: "tech_support",
  title: "Technical support",
  description:
    "Problems using the product: crashes, errors, login and password trouble, sign-up and verification, sync, integrations, API, outages, things that do not work.",
  examples: [
    "the app crashes when I log in",
    "I can't reset my password",
    "sync is not working on my phone",
    "I get error 429 from the API",
    "the verification email never arrived",
    "the desktop app won't install",
    "is the service down",
    "two-factor codes are rejected",
    "SSO sign-in stopped working for our team",
    "single sign-on is broken, nobody in our company can log in",
  ],
  systemPrompt: [
    "You are the technical support specialist of Acme Cloud.",
    "First check service_status for an open incident that explains the problem; then search the knowledge base (search_knowledge_base).",
    "Answer with concrete steps from the docs and cite each doc you used as a markdown link [title](url).",
    "Only when something is broken (a crash, an error) and the user did not say which app (web, iOS, Android, desktop) or what exact error they see, ask for it at the end. Never end a how-to answer with a question.",
    "Never invent settings, menus or error codes that the docs do not mention.",
    "If neither the status page nor the docs say anything about the question and nothing is broken, call cannot_answer with the reason.",
  ].join("\n"),
  tools: (deps) => [
    searchTool(deps.knowledge),
    statusTool(deps),
  ],
  demoSql: fs.readFileSync(path.join(import.meta.dirname, "demo-data.sql"), "utf8"),

  async answerOffline(input, tools, deps) {
    const q = input.question;
    const status = await tools.call("service_status");
    await tools.call(SEARCH_TOOL, { query: q });
    const incident = status.startsWith("INCIDENT") ? relevantIncident(status, q) : undefined;
    // For a step that waits for this one (billing deciding a refund after an outage, say).
    const facts = { incident: incident ? incidentFacts(incident) : null, allOperational: !status.startsWith("INCIDENT") };
    const parts: string[] = [];
    if (incident) parts.push(`There is an open incident that may explain this: ${incident.replace(/^INCIDENT /, "")}`);

    if (ESCALATE.test(q)) {
      return {
        status: "needs_human",
        reply: [...parts, "Thanks for the details — this needs one of our engineers to look at your account. I've passed it on with what you told me; they'll reply here."].join("\n\n"),
        sources: uniqueSources(relevantHits(deps.knowledge, q, { limit: 1 })),
        handoff: { reason: "needs_engineer", detail: `Reported: ${q.slice(0, 300)}` },
        facts,
      };
    }
    const answer = answerFromKnowledge(deps.knowledge, q, "tech");
    if (!answer) {
      if (MALFUNCTION.test(q) || incident) {
        parts.push("I couldn't find a known fix for that yet. So I can help, tell me: what exactly happens (the exact error text, if any), and which app you use — web, iOS, Android or desktop?");
        return { status: "ok", reply: parts.join("\n\n"), sources: [], facts };
      }
      if (STATUS_QUESTION.test(q)) {
        return { status: "ok", reply: "All systems are operational right now: our status page has no open incident.", sources: [], facts };
      }
      // Nothing broken and nothing written about it: not a question this worker can answer.
      return { status: "declined", reply: "I couldn't find an article about that.", sources: [], facts: { ...facts, declined: "no technical article or incident covers it" } };
    }
    parts.push(answer.text);
    const closing = closingQuestion(q);
    if (closing) parts.push(closing);
    return { status: "ok", reply: parts.join("\n\n"), sources: answer.sources, facts };
  },
};

/**
 * The question that ends a troubleshooting answer, when the answer needs it: something broke and
 * the user did not say on which app, or what the error says. A how-to gets none.
 */
export function closingQuestion(question: string): string | undefined {
  if (!MALFUNCTION.test(question)) return undefined;
  const missing = [
    !PLATFORM_WORDS.test(question) ? "which app you use (web, iOS, Android or desktop)" : "",
    !ERROR_DETAIL.test(question) ? "the exact error message you see" : "",
  ].filter(Boolean);
  return missing.length ? `If that doesn't fix it, tell me ${missing.join(" and ")}, and I'll dig further.` : undefined;
}

/** The incident line whose components or title share a word with the question; with an outage question, the first. */
function relevantIncident(status: string, question: string): string | undefined {
  const lines = status.split("\n");
  const words = new Set(question.toLowerCase().match(/[a-z]{4,}/g) ?? []);
  const hit = lines.find((l) => (l.toLowerCase().match(/[a-z]{4,}/g) ?? []).some((w) => words.has(w)));
  if (hit) return hit;
  return STATUS_QUESTION.test(question) ? lines[0] : undefined;
}

/** An incident line of the `service_status` tool as data: `INCIDENT (status, since …): title — message [components: a, b]`. */
export function incidentFacts(line: string): { title: string; status: string; since: string; components: string[] } | { title: string } {
  const m = /^INCIDENT \(([^,]+), since ([^)]+)\): (.+?) — .*\[components: ([^\]]*)\]$/.exec(line);
  if (!m) return { title: line.replace(/^INCIDENT /, "") };
  return { status: m[1]!, since: m[2]!, title: m[3]!, components: m[4]!.split(",").map((c) => c.trim()).filter(Boolean) };
}
