import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { Platform, PlanStep, ReplySection, RouteName } from "../../src/types.ts";
import { hasDependencies } from "../router/plan.ts";
import type { WorkerResult } from "../workers/types.ts";
import { composeReply, sectionsText } from "../../src/turns/compose-reply.ts";
import type { MergedReply } from "./state.ts";

const MERGE_PROMPT = [
  "You merge answers written by specialist support agents into one reply to the customer.",
  "Keep every fact, number, link and next step; drop repetition; do not add facts of your own.",
  "Answer the parts in the order the customer asked them. Use short paragraphs or bullet points and keep the markdown links.",
  // The merged text is the answer every channel shows, laid out like the sections Slack shows.
  "Start each part with its title in bold on a line of its own (**Billing**), as the answers are headed, so the reply keeps their layout. No greeting, no sign-off.",
].join("\n");

/** A worker's answer as a section of the reply; null when it has nothing to show (failed, empty). */
export function sectionOf(result: WorkerResult, title: string): ReplySection | null {
  if (!((result.status === "ok" || result.status === "needs_human") && result.reply.trim())) return null;
  return { route: result.worker as RouteName, title, text: result.reply.trim(), sources: result.sources };
}

/**
 * Whether several answers need a model call to become one reply. Only when some step of the plan
 * waited for another's findings: their answers then overlap (tech support's outage and billing's
 * refund because of it) and the merge drops the repetition. Parts that stand alone each answer a
 * question of their own, under their own title: the sections joined are already the reply the
 * merge would lay out (a section per part, under its bold title). Never on Slack, which shows each
 * answer as a section of its own (bots/slack/render.ts): its text is only the notification
 * fallback. One answer never needs it (see {@link mergeReplies}).
 */
export function needsMerge(plan: readonly PlanStep[], platform: Platform): boolean {
  return platform !== "slack" && hasDependencies(plan);
}

/**
 * One reply from the workers' answers. One answer: as is. Several: a section each (adapters
 * render them as blocks or embeds) and, with a model, one synthesized text; without one (offline,
 * or parts that need no merge: {@link needsMerge}), the sections joined under their titles.
 */
export async function mergeReplies(
  message: string,
  results: WorkerResult[],
  title: (worker: string) => string,
  notes: string[],
  model?: BaseChatModel,
): Promise<MergedReply> {
  const sections = results.flatMap((r) => sectionOf(r, title(r.worker)) ?? []);
  let text: string;
  if (sections.length <= 1) {
    text = sections[0]?.text ?? "";
  } else if (model) {
    const drafts = sections.map((s) => `## ${s.title}\n${s.text}`).join("\n\n");
    try {
      const out = await model.invoke([new SystemMessage(MERGE_PROMPT), new HumanMessage(`Customer's message:\n${message}\n\nAnswers:\n${drafts}`)]);
      text = typeof out.content === "string" && out.content.trim() ? out.content.trim() : sectionsText(sections);
    } catch {
      // The sections are already a complete answer; a failed polish must not lose it.
      text = sectionsText(sections);
    }
  } else {
    text = sectionsText(sections);
  }
  return composeReply({ body: text, sections, notes });
}
