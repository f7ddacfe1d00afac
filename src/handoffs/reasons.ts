import type { HandoffReason } from "../types.ts";

/**
 * Everything said about a handoff's reason, in one table so the three cannot drift:
 * - `user`: what the user is told when the conversation goes to a person;
 * - `label`: how a staff card and the console name it;
 * - `because`: the bot's memory note ("handed to a person because …").
 * Typed by `HandoffReason`: a new reason cannot be left out.
 */
export const HANDOFF_REASONS: Record<HandoffReason, { user: string; label: string; because: string }> = {
  user_request: {
    user: "I've asked a person from our support team to take over. They'll reply right here.",
    label: "Asked for a person",
    because: "the user asked for a person",
  },
  complaint: {
    user: "I'm sorry about this. I've passed your message to a person on our support team, who will reply right here.",
    label: "Complaint",
    because: "the user is complaining",
  },
  low_confidence: {
    user: "I'm not sure I understand, so I've asked a person from our support team to help. They'll reply right here.",
    label: "The bot is unsure",
    because: "the bot could not tell what the user needs",
  },
  needs_approval: {
    user: "A person from our team needs to approve this; they'll reply right here.",
    label: "Needs approval",
    because: "a request needs a person's approval",
  },
  needs_engineer: {
    user: "I've passed this to our support engineers; a person will reply right here.",
    label: "Needs an engineer",
    because: "it needs an engineer",
  },
  worker_failed: {
    user: "Part of your question hit a problem on my side, so I've asked a person to follow up right here.",
    label: "A worker failed",
    because: "part of the answer failed",
  },
  worker_timeout: {
    user: "Part of your question took too long to answer, so I've asked a person to follow up right here.",
    label: "A worker timed out",
    because: "part of the answer timed out",
  },
  model_failed: {
    user: "Something went wrong on my side, so I've passed your message to a person, who will reply right here.",
    label: "The model failed",
    because: "the model failed",
  },
  no_answer: {
    user: "I couldn't find the answer to part of your question, so I've asked a person from our support team to answer it right here.",
    label: "No worker could answer",
    because: "no worker could answer part of the question",
  },
  processing_failed: {
    user: "I kept running into a problem answering this, so I've passed your message to a person, who will reply right here.",
    label: "Answering kept failing",
    because: "every attempt at answering failed",
  },
};

const pick = <K extends "user" | "label" | "because">(k: K) =>
  Object.fromEntries(Object.entries(HANDOFF_REASONS).map(([reason, texts]) => [reason, texts[k]])) as Record<HandoffReason, string>;

/** What the user is told, per reason. */
export const HANDOFF_TEXT: Record<HandoffReason, string> = pick("user");
/** How a staff card and the console name a reason. */
export const HANDOFF_REASON_LABELS: Record<HandoffReason, string> = pick("label");
/** "handed to a person because …", for the bot's memory note. */
export const HANDOFF_BECAUSE: Record<HandoffReason, string> = pick("because");

/**
 * A handoff's detail as staff read it: an upper-case tool code in front (`NEEDS_APPROVAL: …`,
 * written by older versions of the billing tools) is dropped.
 */
export function readableDetail(detail: string): string {
  return detail.replace(/^[A-Z][A-Z_]{2,}:\s*/, "");
}

/** The first non-empty line of a text, cut to `max` characters. */
export function firstLine(text: string, max = 120): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== "")?.trim() ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
