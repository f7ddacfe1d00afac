import type { App, RespondArguments, webApi } from "@slack/bolt";
import { z } from "zod";
import type { Submission } from "../../src/ports.ts";
import { errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { MAX_MESSAGE_CHARS, type InboundMessage } from "../../src/types.ts";
import { formatConversationKey } from "./conversation-key.ts";
import { mentionsUser, slackTextToPlain } from "./inbound-text.ts";
import { escapeMrkdwn } from "./mrkdwn.ts";
import { type BoundedSet, OnceGuard } from "./memory.ts";
import { SLACK_LIMITS, truncateMrkdwn } from "./render.ts";

/** What the listeners need from the adapter. */
export interface ListenerDeps {
  log: Logger;
  /** Hands a message to the core (`MessageSink.submit`). */
  submit(message: InboundMessage): Promise<Submission>;
  /** Threads the bot takes part in (conversation keys). */
  threads: BoundedSet;
  /** Asks the core whether it has a conversation under this key (optional; after a restart). */
  isKnownConversation: ((conversationKey: string) => Promise<boolean>) | undefined;
  /** How long a `/support` ack may wait for the question to be posted and stored. */
  ackDeadlineMs: number;
  /** Keeps background work visible to `stop()`. */
  track(work: Promise<unknown>): void;
  /** Remembered platform message ids. */
  memorySize: number;
}

export const SUPPORT_COMMAND = "/support";

export const USAGE_TEXT =
  "Ask a question after the command, for example `/support How do I change my billing email?` " +
  "I'll post it in this channel and answer in a thread; reply in that thread to follow up. " +
  "You can also mention me in a channel or send me a direct message.";
export const LOOKING_TEXT = "Looking into it… I'll answer in a thread in this channel.";
export const CANNOT_POST_TEXT =
  "I can't post in this conversation. Invite me with `/invite @Switchboard` and try again, " +
  "or send me a direct message.";
export const FAILED_TEXT = "Sorry, I couldn't take your question just now. Please try again in a minute.";
export const TOO_LONG_TEXT =
  `That's longer than I can read at once (${MAX_MESSAGE_CHARS} characters). Could you shorten it?`;
export const MENTION_HINT_TEXT =
  "Hi! Ask me your question here (mention me with it) and I'll answer in this thread.";

/** Errors of `chat.postMessage` that mean "the bot cannot post there", not "try again". */
const CANNOT_POST = new Set(["not_in_channel", "channel_not_found", "is_archived", "restricted_action"]);

const CommandSchema = z.object({
  team_id: z.string(),
  channel_id: z.string(),
  user_id: z.string(),
  user_name: z.string().optional(),
  text: z.string().default(""),
  trigger_id: z.string(),
});

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

type CommandResult =
  | { kind: "accepted" | "duplicate" }
  | { kind: "cannot_post" | "failed"; error: unknown };

export function registerListeners(app: App, deps: ListenerDeps): void {
  const once = new OnceGuard(deps.memorySize);

  /** Submits unless this platform message id was just handled (retries, mention + message events). */
  const intake = async (message: InboundMessage): Promise<"accepted" | "duplicate"> => {
    const run = await once.run(message.platformMessageId, async () => {
      const submission = await deps.submit(message);
      if (submission.status === "accepted") observe(deps.log, submission);
      return submission.status;
    });
    return run.repeat ? "duplicate" : run.result;
  };

  // /support <question>: the question is posted in the channel (quoted, with who asked) and the
  // answer goes in that post's thread, so the channel sees one line per question and follow-ups
  // stay together. The post has to exist before the message is stored: its ts is the thread key.
  app.command(SUPPORT_COMMAND, async ({ command, ack, respond, client }) => {
    const parsed = CommandSchema.safeParse(command);
    if (!parsed.success) {
      deps.log.warn({ issues: parsed.error.issues.length }, "slack: unreadable slash command");
      await ack(ephemeral(FAILED_TEXT));
      return;
    }
    const cmd = parsed.data;
    const question = slackTextToPlain(cmd.text);
    if (question === "") {
      await ack(ephemeral(USAGE_TEXT));
      return;
    }
    if (question.length > MAX_MESSAGE_CHARS) {
      await ack(ephemeral(TOO_LONG_TEXT));
      return;
    }
    const log = deps.log.child({ kind: "command", channel: cmd.channel_id });

    const work: Promise<CommandResult> = once
      .run(`trigger:${cmd.trigger_id}`, () => takeQuestion(client, cmd, question, log))
      .then((run): CommandResult => (run.repeat ? { kind: "duplicate" } : run.result));

    if (deps.ackDeadlineMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"slow">((resolve) => {
        timer = setTimeout(() => resolve("slow"), deps.ackDeadlineMs);
      });
      const first = await Promise.race([work, deadline]);
      clearTimeout(timer);
      if (first !== "slow") {
        await ack(commandReply(first, log));
        return;
      }
      // Storing is slow (Slack or the database): answer Slack now, tell the user later if it failed.
      log.warn({ deadlineMs: deps.ackDeadlineMs }, "slack: /support acknowledged before it was stored");
    }
    await ack(ephemeral(LOOKING_TEXT));
    deps.track(
      work.then(async (result) => {
        if (result.kind === "cannot_post" || result.kind === "failed") {
          await respond(commandReply(result, log) as RespondArguments);
        }
      }),
    );
  });

  const takeQuestion = async (
    client: webApi.WebClient,
    cmd: z.infer<typeof CommandSchema>,
    question: string,
    log: Logger,
  ): Promise<CommandResult> => {
    let threadTs: string;
    try {
      const posted = await client.chat.postMessage(questionPost(cmd.user_id, question, cmd.channel_id));
      if (!posted.ts) throw new Error("chat.postMessage returned no ts");
      threadTs = posted.ts;
    } catch (error) {
      return CANNOT_POST.has(platformError(error) ?? "") ? { kind: "cannot_post", error } : { kind: "failed", error };
    }
    const conversationKey = formatConversationKey({ teamId: cmd.team_id, channelId: cmd.channel_id, threadTs });
    deps.threads.add(conversationKey);
    const message: InboundMessage = {
      platform: "slack",
      conversationKey,
      userId: cmd.user_id,
      text: question,
      platformMessageId: `trigger:${cmd.trigger_id}`,
      replyContext: { channel: cmd.channel_id, threadTs, askerId: cmd.user_id },
      receivedAt: new Date(),
    };
    if (cmd.user_name) message.userName = cmd.user_name;
    let status: Submission["status"];
    try {
      const submission = await deps.submit(message);
      status = submission.status;
      if (submission.status === "accepted") observe(log, submission);
    } catch (error) {
      await removePost(client, cmd.channel_id, threadTs, log);
      return { kind: "failed", error };
    }
    if (status === "duplicate") {
      // A redelivery after a restart: the question was posted and stored the first time.
      await removePost(client, cmd.channel_id, threadTs, log);
      return { kind: "duplicate" };
    }
    log.info({ conversationKey }, "slack: /support question taken");
    return { kind: "accepted" };
  };

  // A mention in a channel: answered in the mention's thread, which the bot now takes part in.
  app.event("app_mention", async ({ event, body, context, client }) => {
    const e = EventSchema.safeParse(event);
    if (!e.success || e.data.bot_id !== undefined || e.data.subtype !== undefined || !e.data.user) return;
    const teamId = teamOf(body, context.teamId);
    if (!teamId) return;
    const ev = e.data;
    const threadTs = ev.thread_ts ?? ev.ts;
    const conversationKey = formatConversationKey({ teamId, channelId: ev.channel, threadTs });
    deps.threads.add(conversationKey);
    const text = slackTextToPlain(ev.text ?? "", context.botUserId);
    const log = deps.log.child({ kind: "mention", channel: ev.channel });
    if (text === "" || text.length > MAX_MESSAGE_CHARS) {
      // Said once per message, even if Slack delivers the event again.
      await once.run(`${teamId}:${ev.channel}:${ev.ts}`, async () => {
        await client.chat.postMessage({
          channel: ev.channel,
          thread_ts: threadTs,
          text: text === "" ? MENTION_HINT_TEXT : TOO_LONG_TEXT,
        });
      });
      return;
    }
    const status = await intake(inbound(teamId, ev, conversationKey, text, threadTs));
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
    if (ev.channel_type === "im") {
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
      conversationKey = formatConversationKey({ teamId, channelId: ev.channel, threadTs });
      if (!(await isBotThread(conversationKey, ev, context.botUserId))) return;
    }
    const text = slackTextToPlain(ev.text ?? "", context.botUserId);
    if (text === "" || text.length > MAX_MESSAGE_CHARS) return;
    const status = await intake(inbound(teamId, ev, conversationKey, text, threadTs));
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
): InboundMessage {
  return {
    platform: "slack",
    conversationKey,
    userId: ev.user ?? "",
    text,
    // One id per Slack message: its redeliveries, and the app_mention and message events Slack
    // sends for the same message, all carry it.
    platformMessageId: `${teamId}:${ev.channel}:${ev.ts}`,
    replyContext: threadTs === undefined ? { channel: ev.channel } : { channel: ev.channel, threadTs },
    receivedAt: new Date(),
  };
}

function teamOf(body: unknown, fallback: string | undefined): string | undefined {
  const team = (body as { team_id?: unknown }).team_id;
  return typeof team === "string" ? team : fallback;
}

function ephemeral(text: string): RespondArguments {
  return { response_type: "ephemeral", text };
}

function commandReply(result: CommandResult, log: Logger): RespondArguments | undefined {
  switch (result.kind) {
    case "accepted":
      return ephemeral(LOOKING_TEXT);
    case "duplicate":
      return undefined;
    case "cannot_post":
      log.info({ error: platformError(result.error) }, "slack: cannot post the question here");
      return ephemeral(CANNOT_POST_TEXT);
    case "failed":
      log.error({ err: errorMessage(result.error) }, "slack: /support question could not be taken");
      return ephemeral(FAILED_TEXT);
  }
}

/** The channel post a `/support` thread hangs from: who asked, the question quoted. */
function questionPost(userId: string, question: string, channel: string) {
  const quoted = truncateMrkdwn(escapeMrkdwn(question), SLACK_LIMITS.sectionText - 200)
    .split("\n")
    .map((line) => `>${line}`)
    .join("\n");
  return {
    channel,
    text: `<@${userId}> asked: ${truncateMrkdwn(escapeMrkdwn(question), 300)}`,
    blocks: [
      { type: "section" as const, text: { type: "mrkdwn" as const, text: `*<@${userId}> asked:*\n${quoted}` } },
      {
        type: "context" as const,
        elements: [{ type: "mrkdwn" as const, text: "I'll answer in the thread. Reply there to follow up." }],
      },
    ],
    unfurl_links: false,
    unfurl_media: false,
  };
}

async function removePost(client: webApi.WebClient, channel: string, ts: string, log: Logger): Promise<void> {
  try {
    await client.chat.delete({ channel, ts });
  } catch (err) {
    log.warn({ err: errorMessage(err) }, "slack: could not remove the question post");
  }
}

function platformError(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === "string" ? data.error : undefined;
}

/** The core's `done` is not awaited here (replies come through `deliver`); its failure is logged. */
function observe(log: Logger, submission: Extract<Submission, { status: "accepted" }>): void {
  const { conversationId } = submission;
  submission.done.then(
    (outcome) => log.debug({ conversationId, outcome: outcome.kind }, "slack: message processed"),
    (err: unknown) => log.warn({ conversationId, err: errorMessage(err) }, "slack: message processing failed"),
  );
}
