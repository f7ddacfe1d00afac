import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOKING_TEXT, USAGE_TEXT } from "../../bots/slack/texts.ts";
import { eventCallback, slashCommandPayload } from "../stand-ins/slack-requests.ts";
import { APP_TOKEN, BOT_TOKEN, startHarness, VERIFICATION_TOKEN, type Harness } from "./harness.ts";

describe("Slack over Socket Mode (real Bolt SocketModeReceiver, WebSocket stand-in)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ transport: "socket" });
  });

  afterAll(async () => {
    await h?.close();
  });

  it("connects with the app token from apps.connections.open", async () => {
    await h.socket!.waitForConnection();
    const [open] = h.api.callsTo("apps.connections.open");
    expect(open?.token).toBe(APP_TOKEN);
    expect(h.adapter.transports).toEqual(["socket"]);
  });

  it("acks /support over the socket with the ephemeral note, then answers in the question's thread", async () => {
    const envelope = h.socket!.send(
      "slash_commands",
      slashCommandPayload({ text: "How do I add a seat?", channelId: "C0SOCKET", triggerId: "socket-1", token: VERIFICATION_TOKEN }),
    );
    const acked = await envelope.ack;
    const ackedAt = performance.now();
    expect(acked).toEqual({ response_type: "ephemeral", text: LOOKING_TEXT });

    // Posted only after the ack went out over the socket.
    const question = await h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "C0SOCKET");
    expect(question.at).toBeGreaterThan(ackedAt);
    const threadTs = question.response["ts"] as string;
    const answer = await h.api.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === threadTs);
    expect(answer.token).toBe(BOT_TOKEN);
    expect(answer.args["text"]).toBe("<@U0ALICE> Answer to: How do I add a seat?");
    const [stored] = h.sink.storedFor(`slack:T0TEST:C0SOCKET:${threadTs}`);
    expect(stored?.message).toMatchObject({ text: "How do I add a seat?", platformMessageId: "trigger:socket-1" });
  });

  it("answers /support without a question with usage help", async () => {
    const attempts = h.sink.attempts.length;
    const envelope = h.socket!.send("slash_commands", slashCommandPayload({ text: "" }));
    expect(await envelope.ack).toEqual({ response_type: "ephemeral", text: USAGE_TEXT });
    expect(h.sink.attempts.length).toBe(attempts);
  });

  it("answers a DM event once, even when the envelope is redelivered", async () => {
    const body = eventCallback({ type: "message", channel: "D0SOCK", channel_type: "im", ts: "1700001000.000100", text: "hello" });
    await h.socket!.send("events_api", body).ack;
    await h.sink.waitForDelivery((r) => r.conversationKey === "slack:T0TEST:D0SOCK");
    await h.socket!.send("events_api", body, { retryAttempt: 1, retryReason: "timeout" }).ack;
    // Events are acked before listeners run; a later message in the same DM is the barrier.
    const next = eventCallback({ type: "message", channel: "D0SOCK", channel_type: "im", ts: "1700001001.000100", text: "thanks" });
    await h.socket!.send("events_api", next).ack;
    await h.sink.waitForDelivery((r) => r.text === "Answer to: thanks");
    expect(h.sink.storedFor("slack:T0TEST:D0SOCK").map((s) => s.message.text)).toEqual(["hello", "thanks"]);
    expect(h.api.callsTo("chat.postMessage", (c) => c.args["channel"] === "D0SOCK")).toHaveLength(2);
  });

  it("keeps the app token and bot token out of the log", () => {
    const logs = h.logs.text;
    expect(logs).toContain("apps.connections.open");
    expect(logs).not.toContain(APP_TOKEN);
    expect(logs).not.toContain(BOT_TOKEN);
    expect(logs).not.toContain(VERIFICATION_TOKEN);
  });
});
