/**
 * The offline engine's tool calls (agents/workers/worker-graph.ts `toolKit`): without LangChain's
 * tracing they run without the graph's callbacks (no callback manager, no tool run per call:
 * nobody listens for them), and still answer, log and signal as the model's tool calls do.
 */
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { untracedRunContext } from "../../agents/engines/untraced-context.ts";
import { defineTool } from "../../agents/workers/define-tool.ts";
import { WorkerRunner } from "../../agents/workers/worker-graph.ts";
import type { WorkerDefinition } from "../../agents/workers/types.ts";
import { emptyKnowledge, fakeWorker } from "../helpers/graph-fixtures.ts";

const refundWorker: WorkerDefinition = {
  ...fakeWorker("billing", () => ({ status: "ok", reply: "", sources: [] })),
  tools: () => [
    defineTool({ name: "request_refund", description: "requests a refund", schema: z.object({ payment_id: z.string() }) }, async ({ payment_id }, config) => ({
      text: `refund requested for ${payment_id} of ${(config.configurable as { caller: { userId: string } }).caller.userId}`,
      signal: { signal: "refund_requested", refundId: "R-1", paymentId: payment_id, amountCents: 900, currency: "EUR" },
    })),
  ],
  answerOffline: async (_input, tools) => {
    const outcome = await tools.run("request_refund", { payment_id: "PAY-7" });
    return { status: "ok", reply: `${outcome.text} (${outcome.signal?.signal ?? "no signal"})`, sources: [] };
  },
};

describe("the offline engine's tool calls", () => {
  it("run without the graph's callbacks when LangChain does not trace, with the same answer, log and signal", async () => {
    expect(untracedRunContext()).toBe(true);
    const seen: string[] = [];
    const observer = BaseCallbackHandler.fromMethods({
      handleToolStart: () => void seen.push("tool"),
      handleChainStart: () => void seen.push("chain"),
    });
    const runner = new WorkerRunner(refundWorker, { pool: undefined as never, knowledge: emptyKnowledge, config: { refundApprovalLimit: 10_000 }, now: () => new Date() }, undefined);
    const caller = { platform: "slack" as const, userId: "U7", customerId: "C1", conversationId: "c" };
    const result = await runner.run({ question: "refund", message: "refund", history: [], caller }, new AbortController().signal, [observer]);

    expect(result.reply).toBe("refund requested for PAY-7 of U7 (refund_requested)");
    expect(result.toolCalls).toEqual([{ name: "request_refund", args: { payment_id: "PAY-7" }, result: "refund requested for PAY-7 of U7", signal: expect.objectContaining({ signal: "refund_requested" }) }]);
    // The worker's graph is still observed; its offline tool call is not a run of its own.
    expect(seen).toContain("chain");
    expect(seen).not.toContain("tool");
  });
});
