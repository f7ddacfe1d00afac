import type { BaseMessage } from "@langchain/core/messages";
import { ToolMessage } from "@langchain/core/messages";
import { z } from "zod";
import type { ToolCallRecord } from "../../src/conversations/conversation-log.ts";
import type { HandoffReason } from "../../src/types.ts";

/**
 * What a tool tells the worker graph besides the text the model reads. It travels as the tool's
 * artifact (`ToolMessage.artifact`, LangChain's `content_and_artifact` format) and on the tool's
 * log entry, never as words in the text: the runner decides on these values, and the text stays a
 * sentence fit for the model, the worker-run log and the console.
 *
 * - `needs_approval`: a refund was opened that waits for a person's approval (hands off).
 * - `escalate`: the worker asked for a person (hands off).
 * - `refund_requested`: a refund was opened that needs no approval (tells the offline answer).
 * - `decline`: the worker cannot answer the question (the supervisor offers it to another).
 */
export const toolSignalSchema = z.discriminatedUnion("signal", [
  z.object({
    signal: z.literal("needs_approval"),
    refundId: z.string(),
    paymentId: z.string(),
    amountCents: z.number().int(),
    limitCents: z.number().int(),
    currency: z.string(),
    /** A readable sentence for the staff card and the console. */
    detail: z.string(),
  }),
  z.object({ signal: z.literal("escalate"), reason: z.string() }),
  z.object({ signal: z.literal("decline"), reason: z.string() }),
  z.object({
    signal: z.literal("refund_requested"),
    refundId: z.string(),
    paymentId: z.string(),
    amountCents: z.number().int(),
    currency: z.string(),
  }),
]);

export type ToolSignal = z.infer<typeof toolSignalSchema>;

/** What a tool returns to its worker: the text for the model, and a signal when it raised one. */
export interface ToolOutcome {
  text: string;
  signal?: ToolSignal;
}

/** A tool-log entry of a worker run: the record the conversation log keeps, plus the signal. */
export interface LoggedToolCall extends ToolCallRecord {
  signal?: ToolSignal;
}

/**
 * The signals in a worker's messages: the artifacts of its tool messages that are signals.
 * Artifacts are checked with the schema, so a tool that returns some other artifact is ignored.
 */
export function signalsIn(messages: readonly BaseMessage[]): ToolSignal[] {
  return messages.flatMap((m) => {
    const signal = ToolMessage.isInstance(m) ? signalOf(m.artifact) : undefined;
    return signal ? [signal] : [];
  });
}

/** A tool message's artifact as a signal; undefined when it is none (or some other artifact). */
export function signalOf(artifact: unknown): ToolSignal | undefined {
  const parsed = toolSignalSchema.safeParse(artifact);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The handoff the signals call for, if any: an approval first (it names the refund waiting),
 * then an escalation.
 */
export function handoffFromSignals(signals: readonly ToolSignal[]): { reason: HandoffReason; detail: string } | undefined {
  for (const s of signals) if (s.signal === "needs_approval") return { reason: "needs_approval", detail: s.detail };
  for (const s of signals) if (s.signal === "escalate") return { reason: "needs_engineer", detail: s.reason };
  return undefined;
}
