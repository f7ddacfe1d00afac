import type { App } from "@slack/bolt";
import { z } from "zod";
import type { Submission } from "../../src/ports.ts";
import { errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { MAX_MESSAGE_CHARS, type InboundMessage } from "../../src/types.ts";
import type { AckGate, AfterAck } from "./after-ack.ts";
import { formatConversationKey, parseConversationKey } from "./conversation-key.ts";
import { mentionsUser, slackTextToPlain } from "./inbound-text.ts";
import { type BoundedSet, OnceGuard } from "./memory.ts";
import { MENTION_HINT_TEXT, TOO_LONG_TEXT } from "./texts.ts";

/** What the listeners need from the adapter. */
export interface ListenerDeps {
  log: Logger;
  /** Hands a message to the core (`MessageSink.submit`). */
  submit(message: InboundMessage): Promise<Submission>;
  /** Threads the bot takes part in (conversation keys). */
  threads: BoundedSet;
  /** Asks the core whether it has a conversation under this key (optional; after a restart). */
  isKnownConversation: ((conversationKey: string) => Promise<boolean>) | undefined;
  /**
   * The user of the conversation under a thread's key, if any (optional). With it, someone writing
   * in another person's thread gets a conversation of their own there; without it, the thread is
   * one conversation whoever writes.
   */
  conversationOwner: ((conversationKey: string) => Promise<string | undefined>) | undefined;
  /** Holds deliveries to a conversation until Slack has the ack of the event that reached it. */
  gate: AckGate;
  /** Runs Web API calls once Slack has its ack. */
  afterAck: AfterAck;
  /** Remembered platform message ids. */
  memorySize: number;
}

const EventSchema = z.object({
  type: z.string(),
  subtype: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string(),
  thread_ts: z.string().optional(),
  channel: z.string(),
  channel_type: z.string().optional(),
  parent_user_id: z.string().optional(),
});
type SlackEvent = z.infer<typeof EventSchema>;

/**
 * Message subtypes that are still a person writing: a thread reply also sent to the channel, a file
 * with a comment. Every other subtype (edits, deletions, joins, bot messages) is ignored.
 */
const HANDLED_SUBTYPES = new Set(["thread_broadcast", "file_share"]);

/**
 * Mentions, direct messages and replies in the bot's threads (`/support` is in
 * support-command.ts). Each listener only stores the message before Slack gets its ack; the
 * answer comes later through the outbox and `deliver`, and a hint the bot posts itself goes out
 * after the ack.
 */
export function registerListeners(app: App, deps: ListenerDeps): void {
  const once = new OnceGuard(deps.memorySize);
  /** Thread key → its conversation's user. Kept once known: a conversation's user never changes. */
  const owners = new Map<string, string>();

  /**
   * The writer's conversation in a channel thread: the thread's own (it was started for them, or
   * nobody's yet), or one of their own in the same thread when it is someone else's. A person's
   * handoff, memory and staff thread are theirs alone, wherever others write.
   */
  const conversationIn = async (threadKey: string, user: string): Promise<{ key: string; own: boolean }> => {
    let owner = owners.get(threadKey);
    if (owner === undefined && deps.conversationOwner) {
      // Unanswered (the database is away), the event is not taken, as when storing it fails:
      // guessing could put the message in someone else's conversation.
      owner = await deps.conversationOwner(threadKey);
      if (owner !== undefined) {
        if (owners.size >= deps.memorySize) owners.clear();
        owners.set(threadKey, owner);
      }
    }
    if (owner === undefined || owner === user) return { key: threadKey, own: true };
    const where = parseConversationKey(threadKey);
    if (!where?.threadTs) return { key: threadKey, own: true };
    return { key: formatConversationKey({ teamId: where.teamId, channelId: where.channelId, threadTs: where.threadTs, userId: user }), own: false };
  };

  /**
   * Submits unless this platform message id was just handled (retries, mention + message events).
   * Deliveries to the conversation wait until the event was acknowledged.
   */
  const intake = async (context: Record<string, unknown>, message: InboundMessage): Promise<"accepted" | "duplicate"> => {
    const release = deps.gate.hold(message.conversationKey);
    try {
      const run = await once.run(message.platformMessageId, async () => {
        const submission = await deps.submit(message);
        if (submission.status === "accepted") observe(deps.log, submission);
        return submission.status;
      });
      return run.repeat ? "duplicate" : run.result;
    } finally {
      deps.afterAck(context, async () => release());
    }
  };

  // A mention in a channel: answered in the mention's thread, which the bot now takes part in.
  app.event("app_mention", async ({ event, body, context, client }) => {
    const e = EventSchema.safeParse(event);
    if (!e.success || e.data.bot_id !== undefined || e.data.subtype !== undefined || !e.data.user) return;
    const teamId = teamOf(body, context.teamId);
    if (!teamId) return;
    const ev = e.data;
    const threadTs = ev.thread_ts ?? ev.ts;
    const threadKey = formatConversationKey({ teamId, channelId: ev.channel, threadTs });
    deps.threads.add(threadKey);
    // A mention inside an existing thread may be in someone else's conversation.
    const mine = ev.thread_ts === undefined || ev.channel_type === "im" ? { key: threadKey, own: true } : await conversationIn(threadKey, ev.user ?? "");
    const conversationKey = mine.key;
    const text = slackTextToPlain(ev.text ?? "", context.botUserId);
    const log = deps.log.child({ kind: "mention", channel: ev.channel });
    if (text === "" || text.length > MAX_MESSAGE_CHARS) {
      // Said once per message, even if Slack delivers the event again; after the ack.
      deps.afterAck(context, () =>
        once.run(`${teamId}:${ev.channel}:${ev.ts}`, async () => {
          await client.chat.postMessage({
            channel: ev.channel,
            thread_ts: threadTs,
            text: text === "" ? MENTION_HINT_TEXT : TOO_LONG_TEXT,
          });
        }),
      );
      return;
    }
    const status = await intake(context, inbound(teamId, ev, conversationKey, text, threadTs, !mine.own));
    log.debug({ conversationKey, status }, "slack: mention taken");
  });

  // Direct messages, and replies in threads the bot takes part in (no mention needed there).
  app.event("message", async ({ event, body, context }) => {
    const e = EventSchema.safeParse(event);
    if (!e.success) return;
    const ev = e.data;
    if (ev.subtype !== undefined && !HANDLED_SUBTYPES.has(ev.subtype)) return; // edits, joins, bots
    if (ev.bot_id !== undefined || !ev.user || ev.user === context.botUserId) return;
    const teamId = teamOf(body, context.teamId);
    if (!teamId) return;

    let conversationKey: string;
    let threadTs: string | undefined;
    let own = true;
    if (ev.channel_type === "im" || ev.channel_type === "mpim") {
      // A group DM is answered like a DM: its people added the bot to talk to it. A message there
      // that mentions the bot also arrives as app_mention, which answers it (in its thread); taking
      // it here too would race that for which conversation it belongs to.
      if (ev.channel_type === "mpim" && context.botUserId && mentionsUser(ev.text ?? "", context.botUserId)) return;
      threadTs = ev.thread_ts;
      conversationKey = formatConversationKey({
        teamId,
        channelId: ev.channel,
        ...(threadTs === undefined ? {} : { threadTs }),
      });
    } else {
      if (ev.thread_ts === undefined || ev.thread_ts === ev.ts) return; // not a thread reply
      // A reply that mentions the bot also arrives as app_mention, which answers it.
      if (context.botUserId && mentionsUser(ev.text ?? "", context.botUserId)) return;
      threadTs = ev.thread_ts;
      const threadKey = formatConversationKey({ teamId, channelId: ev.channel, threadTs });
      if (!(await isBotThread(threadKey, ev, context.botUserId))) return;
      const mine = await conversationIn(threadKey, ev.user);
      conversationKey = mine.key;
      own = mine.own;
    }
    const text = slackTextToPlain(ev.text ?? "", context.botUserId);
    if (text === "" || text.length > MAX_MESSAGE_CHARS) return;
    const status = await intake(context, inbound(teamId, ev, conversationKey, text, threadTs, !own));
    deps.log.debug({ conversationKey, status, kind: ev.channel_type ?? "message" }, "slack: message taken");
  });

  /**
   * Whether a thread reply belongs to a conversation with the bot: a thread it answered in since it
   * started, a thread under its own post (a `/support` question), or one the core knows.
   */
  const isBotThread = async (key: string, ev: SlackEvent, botUserId: string | undefined): Promise<boolean> => {
    if (deps.threads.has(key)) return true;
    let known = botUserId !== undefined && ev.parent_user_id === botUserId;
    if (!known && deps.isKnownConversation) {
      try {
        known = await deps.isKnownConversation(key);
      } catch (err) {
        deps.log.warn({ err: errorMessage(err) }, "slack: could not ask the core about a thread");
      }
    }
    if (known) deps.threads.add(key);
    return known;
  };
}

function inbound(
  teamId: string,
  ev: SlackEvent,
  conversationKey: string,
  text: string,
  threadTs: string | undefined,
  /** In someone else's thread: the answer names whom it is for. */
  mention = false,
): InboundMessage {
  return {
    platform: "slack",
    conversationKey,
    userId: ev.user ?? "",
    text,
    // One id per Slack message: its redeliveries, and the app_mention and message events Slack
    // sends for the same message, all carry it.
    platformMessageId: `${teamId}:${ev.channel}:${ev.ts}`,
    replyContext: {
      channel: ev.channel,
      ...(threadTs === undefined ? {} : { threadTs }),
      ...(mention && ev.user ? { askerId: ev.user } : {}),
    },
    receivedAt: new Date(),
  };
}

function teamOf(body: unknown, fallback: string | undefined): string | undefined {
  const team = (body as { team_id?: unknown }).team_id;
  return typeof team === "string" ? team : fallback;
}

/**
 * The core's `done` is not awaited here (replies come through `deliver`); at debug level its
 * outcome is logged. Only then: `done` is lazy, and waiting on it where another process answers
 * (server mode) reads the outcome back from the database, a query per message for a debug line.
 * The worker that answers logs its own failures.
 */
export function observe(log: Logger, submission: Extract<Submission, { status: "accepted" }>): void {
  if (!log.isLevelEnabled("debug")) return;
  const { conversationId } = submission;
  submission.done.then(
    (outcome) => log.debug({ conversationId, outcome: outcome.kind }, "slack: message processed"),
    (err: unknown) => log.warn({ conversationId, err: errorMessage(err) }, "slack: message processing failed"),
  );
}
