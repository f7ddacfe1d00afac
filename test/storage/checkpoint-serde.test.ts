import { AIMessage, ChatMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { JsonPlusSerializer } from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { CheckpointSerializer } from "../../src/db/checkpoint-serde.ts";

/** Channel values as the supervisor's checkpoints hold them: messages of every kind, and the per-turn values. */
const values: Array<[string, unknown]> = [
  [
    "messages",
    [
      new HumanMessage({ content: "Why was I charged twice?", id: "m1" }),
      new AIMessage({ content: "You were charged twice.", id: "m2", name: "support_team_note", additional_kwargs: { x: 1 }, response_metadata: { model: "m" } }),
      new AIMessage({
        content: "",
        id: "m3",
        tool_calls: [{ id: "c1", name: "list_payments", args: { limit: 5 }, type: "tool_call" }],
        usage_metadata: { input_tokens: 3, output_tokens: 4, total_tokens: 7 },
        // (core's field types refuse usage_metadata under exactOptionalPropertyTypes; a model's reply carries it)
      } as never),
      new ToolMessage({ content: "PAY-1: 10 EUR", tool_call_id: "c1", id: "m4", artifact: { signal: "refund_requested", refundId: "R1" }, status: "success" }),
      new SystemMessage({ content: [{ type: "text", text: "Be brief." }], id: "m5" }),
      new ChatMessage({ content: "hi", role: "agent", id: "m6" }),
      new RemoveMessage({ id: "m0" }),
    ],
  ],
  ["turn", { messageId: "00000000-0000-4000-9000-000000000001", text: "hi", caller: { platform: "slack", customerId: null }, ownership: "bot", unclearStreak: 0 }],
  ["results", [{ worker: "billing", status: "ok", reply: "x", sources: [{ title: "t", url: "u" }], toolCalls: [], latencyMs: 1.5, facts: { toolResults: [], incident: null } }]],
  ["undefined inside", { a: undefined, b: [1, undefined], c: null }],
  ["set and map", { s: new Set([1, 2]), m: new Map([["k", { v: 1 }]]) }],
  ["a message holding a set", [new AIMessage({ content: "x", id: "m7", additional_kwargs: { seen: new Set(["a"]) } })]],
  ["a message holding an escaped-looking value", [new HumanMessage({ content: "x", id: "m8", additional_kwargs: { lc: 1, type: "secret", id: ["OPENAI_API_KEY"] } })]],
  ["a user's data with an lc key", { lc: 5, text: "not a record" }],
  ["scalars", [0, "", false, null, 1.25, "text"]],
];

describe("the checkpoint serializer", () => {
  const langgraph = new JsonPlusSerializer();
  const ours = new CheckpointSerializer();

  it.each(values)("writes %s exactly as LangGraph's serializer does", async (_name, value) => {
    expect(await ours.dumpsTyped(value)).toEqual(await langgraph.dumpsTyped(value));
  });

  it.each(values)("reads %s back as LangGraph's serializer does: same values, same classes", async (_name, value) => {
    const [type, bytes] = await langgraph.dumpsTyped(value);
    const expected: unknown = await langgraph.loadsTyped(type, bytes);
    const read: unknown = await ours.loadsTyped(type, bytes);
    expect(read).toStrictEqual(expected);
    const classes = (v: unknown): unknown => (Array.isArray(v) ? v.map(classes) : v && typeof v === "object" ? v.constructor.name : typeof v);
    expect(classes(read)).toEqual(classes(expected));
  });

  it("builds the messages itself, without LangChain's loader", async () => {
    // The point of it: a checkpoint of plain messages never reaches `load` (one async walk per message).
    const [type, bytes] = await langgraph.dumpsTyped(values[0]![1]);
    const fallback = JsonPlusSerializer.prototype as unknown as { _loads: (data: string) => Promise<unknown> };
    const original = fallback._loads;
    let calls = 0;
    fallback._loads = function (data: string) {
      calls++;
      return original.call(this, data);
    };
    try {
      await ours.loadsTyped(type, bytes);
      expect(calls).toBe(0);
      await ours.loadsTyped(...(await langgraph.dumpsTyped(values[4]![1])));
      expect(calls).toBe(1);
    } finally {
      fallback._loads = original;
    }
  });
});
