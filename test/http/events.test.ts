import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer } from "../../bots/http/server.ts";
import { userHash } from "../../bots/http/user-identity.ts";
import type { Outbox } from "../../src/outbox/outbox.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { Changes } from "../helpers/wait-until.ts";
import { openEventStream } from "./sse-client.ts";

const SECRET = "user-secret-for-the-tests-0123";
const API = { authorization: "Bearer api-secret" };
const CONSOLE = { authorization: "Bearer console-secret" };
const USER = "u-events";

/** The fields a widget sends to say who its user is. */
const as = (userId: string) => ({ userId, userHash: userHash(SECRET, userId) });

describe("GET /api/conversations/:id/events (server-sent events for HTTP users)", () => {
  let s: RunningApp;
  let conversationId: string;
  let handoffId: string;
  let botReply: string;

  beforeAll(async () => {
    s = await startTestApp({ API_TOKEN: "api-secret", API_USER_SECRET: SECRET });
    const first = await postJson(`${s.url}/api/messages`, { ...as(USER), text: "I want to talk to a human" }, API);
    expect(first.status).toBe(200);
    expect(first.body.handoff).toMatchObject({ reason: "user_request" });
    conversationId = first.body.conversationId;
    handoffId = first.body.handoff.id;
    botReply = first.body.reply;
  });
  afterAll(async () => s?.close());

  const eventsUrl = (userId: string, query: Record<string, string> = {}, id = conversationId) =>
    `${s.url}/api/conversations/${id}/events?${new URLSearchParams({ ...as(userId), ...query })}`;
  const staffReply = async (text: string) => {
    const r = await postJson(`${s.url}/api/handoffs/${handoffId}/reply`, { agent: "Dana", text }, CONSOLE);
    expect(r.status).toBe(200);
    expect(r.body.delivery).toBe("sent");
    return r.body.messageId as string;
  };
  const outboundSeqs = async () =>
    (await s.app.db.pool.query<{ id: string; seq: string }>("select id, seq from messages where conversation_id = $1 and direction = 'out' order by seq", [conversationId])).rows;

  it("streams the bot's reply, then a staff reply the moment it is sent", async () => {
    const stream = await openEventStream(eventsUrl(USER), API);
    try {
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      const first = await stream.next();
      const [row] = await outboundSeqs();
      expect(first.id).toBe(row!.seq);
      expect(JSON.parse(first.data)).toMatchObject({ messageId: row!.id, author: { kind: "bot" }, text: botReply, sections: [] });

      const messageId = await staffReply("Hi, Dana here. I'll look into it.");
      const next = await stream.next();
      const data = JSON.parse(next.data);
      expect(data).toEqual({ messageId, author: { kind: "agent", name: "Dana" }, text: "Hi, Dana here. I'll look into it.", sections: [], createdAt: expect.any(String) });
      expect(Number.isNaN(Date.parse(data.createdAt))).toBe(false);
      expect(BigInt(next.id!)).toBeGreaterThan(BigInt(first.id!));
    } finally {
      stream.close();
    }
  });

  it("resumes after Last-Event-ID with only the newer messages, in order, each once", async () => {
    const [bot] = await outboundSeqs();
    // Written while the user is away.
    await staffReply("Second reply, while you were away.");
    const stream = await openEventStream(eventsUrl(USER), { ...API, "last-event-id": bot!.seq });
    try {
      const missed = await stream.take(2);
      expect(missed.map((e) => JSON.parse(e.data).text)).toEqual(["Hi, Dana here. I'll look into it.", "Second reply, while you were away."]);
      // The next event is the next message, not a repeat.
      const third = await staffReply("Third reply.");
      const next = await stream.next();
      expect(JSON.parse(next.data)).toMatchObject({ messageId: third, text: "Third reply." });

      // A client that cannot send the header on its first connection passes the query parameter.
      const again = await openEventStream(eventsUrl(USER, { lastEventId: missed[1]!.id! }), API);
      try {
        expect(JSON.parse((await again.next()).data).text).toBe("Third reply.");
      } finally {
        again.close();
      }
    } finally {
      stream.close();
    }
  });

  it("answers only the conversation's own user; others cannot tell the conversation exists", async () => {
    const refused = async (url: string, headers: Record<string, string> = API) => {
      const r = await openEventStream(url, headers);
      r.close();
      return { status: r.status, code: r.error?.["error"]?.code as string | undefined, message: r.error?.["error"]?.message as string | undefined };
    };
    const base = `${s.url}/api/conversations/${conversationId}/events`;
    expect(await refused(eventsUrl(USER), {})).toMatchObject({ status: 401, code: "unauthorized" });
    expect(await refused(base)).toMatchObject({ status: 400, code: "user_required" });
    expect(await refused(`${base}?userId=${USER}`)).toMatchObject({ status: 401, code: "user_hash_required" });
    expect(await refused(`${base}?userId=${USER}&userHash=${userHash(SECRET, "someone-else")}`)).toMatchObject({ status: 401, code: "bad_user_hash" });
    expect(await refused(`${base}?userId=${USER}&userHash=${userHash("not-the-secret-at-all", USER)}`)).toMatchObject({ status: 401, code: "bad_user_hash" });

    // Another user with a valid hash of their own: the same 404 as for an id that does not exist.
    const other = await refused(eventsUrl("mallory"));
    const missingId = "00000000-0000-4000-8000-000000000000";
    const missing = await refused(eventsUrl("mallory", {}, missingId));
    expect(other).toEqual({ status: 404, code: "unknown_conversation", message: `No conversation ${conversationId}.` });
    expect(missing).toEqual({ status: 404, code: "unknown_conversation", message: `No conversation ${missingId}.` });

    // The same user's conversation on another platform is not an HTTP conversation.
    const slack = await s.app.intake.submit({ platform: "slack", conversationKey: "slack:T1:C1:1700000000.0001", userId: USER, text: "hello from slack", platformMessageId: randomUUID() });
    expect(await refused(eventsUrl(USER, {}, slack.conversationId))).toMatchObject({ status: 404, code: "unknown_conversation" });

    expect(await refused(eventsUrl(USER, { lastEventId: "yesterday" }))).toMatchObject({ status: 400, code: "invalid_last_event_id" });

    // EventSource cannot set headers, other clients may: X-User-Id / X-User-Hash work as well.
    const byHeader = await openEventStream(base, { ...API, "x-user-id": USER, "x-user-hash": userHash(SECRET, USER).toUpperCase() });
    try {
      expect(byHeader.status).toBe(200);
      expect(JSON.parse((await byHeader.next()).data).text).toBe(botReply);
    } finally {
      byHeader.close();
    }
  });

  it("POST /api/messages takes userHash and keeps users apart (API_USER_SECRET)", async () => {
    // What a request stores: inbound messages and conversations. (Replies to the earlier tests'
    // messages may still be landing in the outbox meanwhile; they are not this test's business.)
    const count = async () =>
      Number((await s.app.db.pool.query("select (select count(*) from messages where direction = 'in') + (select count(*) from conversations) as n")).rows[0].n);
    const before = await count();
    expect((await postJson(`${s.url}/api/messages`, { userId: USER, text: "hi" }, API)).status).toBe(401);
    expect((await postJson(`${s.url}/api/messages`, { userId: USER, userHash: userHash(SECRET, "x"), text: "hi" }, API)).status).toBe(401);
    // Someone else's conversation id is answered as one that does not exist, and nothing is stored.
    const foreign = await postJson(`${s.url}/api/messages`, { ...as("mallory"), text: "what did they say?", conversationId }, API);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toEqual({ code: "unknown_conversation", message: `No conversation ${conversationId}. Omit conversationId to start a new one.` });
    expect(await count()).toBe(before);

    // A client message id is the user's own: another user's same id is a new message.
    const mine = await postJson(`${s.url}/api/messages`, { ...as("alice"), text: "what plans do you offer", messageId: "widget-1" }, API);
    expect(mine.status).toBe(200);
    const theirs = await postJson(`${s.url}/api/messages`, { ...as("bob"), text: "what plans do you offer", messageId: "widget-1" }, API);
    expect(theirs.status).toBe(200);
    expect(theirs.body.conversationId).not.toBe(mine.body.conversationId);
    const again = await postJson(`${s.url}/api/messages`, { ...as("alice"), text: "what plans do you offer", messageId: "widget-1" }, API);
    expect(again.status).toBe(409);
    expect(again.body.conversationId).toBe(mine.body.conversationId);
  });

  it("picks up messages another process recorded (the poll), and lets go when the client leaves", async () => {
    // A server whose outbox never wakes it, as for messages a worker process records.
    const subscriptions = new Changes();
    let subscribed = 0;
    let released = 0;
    const silentOutbox: Pick<Outbox, "onRecorded" | "visibleAfter"> = {
      visibleAfter: (...args) => s.app.outbox.visibleAfter(...args),
      onRecorded: () => {
        subscribed++;
        subscriptions.notify();
        return () => {
          released++;
          subscriptions.notify();
        };
      },
    };
    const other = await createHttpServer({ ...s.app, outbox: silentOutbox });
    const url = await other.listen({ port: 0, host: "127.0.0.1" });
    try {
      const last = (await outboundSeqs()).at(-1)!;
      const stream = await openEventStream(`${url}/api/conversations/${conversationId}/events?${new URLSearchParams(as(USER))}`, { ...API, "last-event-id": last.seq });
      await subscriptions.until(() => subscribed === 1, "the stream to subscribe");
      const sent = await s.app.outbox.send({ conversationId, inReplyTo: null, author: { kind: "system" }, text: "Your refund was approved.", idempotencyKey: `test:${randomUUID()}` });
      const event = await stream.next();
      expect(JSON.parse(event.data)).toMatchObject({ messageId: sent.messageId, author: { kind: "system" }, text: "Your refund was approved." });
      stream.close();
      await subscriptions.until(() => released === 1, "the stream to unsubscribe after the client left");
    } finally {
      await other.close();
    }
  });

  it("ends open streams when the server closes", async () => {
    const server = await createHttpServer(s.app);
    const url = await server.listen({ port: 0, host: "127.0.0.1" });
    const stream = await openEventStream(`${url}/api/conversations/${conversationId}/events?${new URLSearchParams(as(USER))}`, API);
    await stream.next();
    await server.close();
    await expect(stream.take(100)).rejects.toThrow(/ended|terminated/);
  });
});
