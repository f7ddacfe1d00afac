import type { App, RespondArguments, webApi } from "@slack/bolt";
import { z } from "zod";
import { AdapterError, errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { DeliveryRefused } from "../../src/outbox/delivery-refused.ts";
import type { DeliveryProgress, DeliveryResult, SubmitOptions, Submission } from "../../src/ports.ts";
import { MAX_MESSAGE_CHARS, type InboundMessage, type OutboundReply } from "../../src/types.ts";
import type { AckGate, AfterAck } from "./after-ack.ts";
import { commandIdOf, formatConversationKey, parseConversationKey, type SlackConversation } from "./conversation-key.ts";
import { slackTextToPlain } from "./inbound-text.ts";
import { observe } from "./listeners.ts";
import { escapeMrkdwn } from "./mrkdwn.ts";
import { renderReply, SLACK_LIMITS, truncateMrkdwn } from "./render.ts";
import type { SlackReplyContext } from "./reply-context.ts";
import { findPostedParts, partMetadata } from "./posted-parts.ts";
import { CANNOT_POST_TEXT, FAILED_TEXT, LOOKING_TEXT, TOO_LONG_TEXT, USAGE_TEXT } from "./texts.ts";

/**
 * `/support <question>`: the question is posted in the channel (quoted, with who asked) and the
 * answer goes in that post's thread, so the channel sees one line per question and follow-ups
 * stay together.
 *
 * Store first, post after the ack: the listener stores the question under a placeholder key of
 * its own (`slack:T:C:cmd.<trigger>`) together with a question post in the outbox, and answers
 * Slack. The outbox delivers the post (`deliverQuestion`, once the ack is out), which moves the
 * conversation to the post's thread; the answer follows it there. When the question cannot be
 * posted, the asker is told, and answered, privately through the command's `response_url`.
 */

export const SUPPORT_COMMAND = "/support";

/** Errors of `chat.postMessage` that mean "the bot cannot post there", not "try again". */
export const CANNOT_POST = new Set(["not_in_channel", "channel_not_found", "is_archived", "restricted_action"]);

export interface SupportCommandDeps {
  log: Logger;
  /** Hands the question to the core (`MessageSink.submit`), with its question post. */
  submit(message: InboundMessage, options: SubmitOptions): Promise<Submission>;
  /** Holds deliveries to the placeholder conversation until Slack has its ack. */
  gate: AckGate;
  afterAck: AfterAck;
}

const CommandSchema = z.object({
  team_id: z.string(),
  channel_id: z.string(),
  user_id: z.string(),
  user_name: z.string().optional(),
  text: z.string().default(""),
  trigger_id: z.string().min(1),
  response_url: z.string().url().optional(),
});

export function registerSupportCommand(app: App, deps: SupportCommandDeps): void {
  app.command(SUPPORT_COMMAND, async ({ command, ack, context }) => {
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
    const conversationKey = formatConversationKey({ teamId: cmd.team_id, channelId: cmd.channel_id, commandId: commandIdOf(cmd.trigger_id) });
    if (!parseConversationKey(conversationKey)) {
      log.warn("slack: /support from a team or channel id this adapter cannot address");
      await ack(ephemeral(FAILED_TEXT));
      return;
    }

    const release = deps.gate.hold(conversationKey);
    let reply: RespondArguments | undefined;
    try {
      const message: InboundMessage = {
        platform: "slack",
        conversationKey,
        userId: cmd.user_id,
        text: question,
        platformMessageId: `trigger:${cmd.trigger_id}`,
        replyContext: { channel: cmd.channel_id, askerId: cmd.user_id, ...(cmd.response_url ? { responseUrl: cmd.response_url } : {}) },
        receivedAt: new Date(),
      };
      if (cmd.user_name) message.userName = cmd.user_name;
      const submission = await deps.submit(message, { questionPost: true });
      if (submission.status === "accepted") {
        observe(log, submission);
        log.info({ conversationId: submission.conversationId }, "slack: /support question taken");
        reply = ephemeral(LOOKING_TEXT);
      }
      // A duplicate (a redelivery): the first delivery said "looking into it" already.
    } catch (err) {
      log.error({ err: errorMessage(err) }, "slack: /support question could not be taken");
      reply = ephemeral(FAILED_TEXT);
    }
    try {
      await ack(reply);
    } finally {
      // Over Socket Mode this runs now, after the ack went out in `ack()`; over HTTP once the response is written.
      deps.afterAck(context, async () => release());
    }
  });
}

/**
 * Posts a `/support` question in its channel (the outbox's `question_post`) and moves the
 * conversation to the post's thread. Not resumable by parts: an attempt that posted but was not
 * recorded posts again (a repeated question beats an answer with no thread to go in).
 */
export async function deliverQuestion(
  client: webApi.WebClient,
  reply: OutboundReply,
  where: SlackConversation,
  ctx: SlackReplyContext,
  log: Logger,
  progress?: DeliveryProgress,
): Promise<DeliveryResult> {
  if (where.commandId === undefined) {
    throw new DeliveryRefused("slack", `a question post belongs to a /support command, not to ${reply.conversationKey}`);
  }
  const channel = ctx.channel ?? where.channelId;
  // A later attempt may follow a post Slack took whose answer never came (posted-parts.ts).
  const earlier =
    (progress?.attempt ?? 1) > 1
      ? (await findPostedParts(client, { channel, threadTs: undefined }, reply.idempotencyKey, log)).get(0)
      : undefined;
  if (earlier) log.info("slack: the /support question was posted by an earlier attempt; answering in its thread");
  const ts = earlier ?? (await postQuestion(client, reply, ctx, channel, log));
  if (!ts) throw new AdapterError("slack", "chat.postMessage returned no ts for the question");
  const conversationKey = formatConversationKey({ teamId: where.teamId, channelId: where.channelId, threadTs: ts });
  log.debug({ conversationKey }, "slack: /support question posted");
  return {
    moveTo: { conversationKey, replyContext: { channel, threadTs: ts, ...(ctx.askerId ? { askerId: ctx.askerId } : {}) } },
  };
}

async function postQuestion(
  client: webApi.WebClient,
  reply: OutboundReply,
  ctx: SlackReplyContext,
  channel: string,
  log: Logger,
): Promise<string | undefined> {
  try {
    const posted = await client.chat.postMessage({
      ...questionPost(ctx.askerId, reply.text, channel),
      metadata: partMetadata(reply.idempotencyKey, 0),
    });
    return posted.ts;
  } catch (err) {
    const code = platformError(err);
    if (code !== undefined && CANNOT_POST.has(code)) {
      log.info({ error: code }, "slack: cannot post the question here; answering privately");
      if (ctx.responseUrl) {
        await postToResponseUrl(ctx.responseUrl, ephemeral(CANNOT_POST_TEXT)).catch((e: unknown) =>
          log.warn({ err: errorMessage(e) }, "slack: could not tell the asker the question cannot be posted"),
        );
      }
      throw new DeliveryRefused("slack", `cannot post the question in ${channel} (${code})`, { cause: err });
    }
    throw new AdapterError("slack", `chat.postMessage failed (${code ?? errorMessage(err)}) posting the question`, { cause: err });
  }
}

/**
 * A reply to a `/support` question that was never posted (the bot cannot post in the channel):
 * private to the asker, through the command's `response_url` (Slack takes 5 posts in 30 minutes).
 */
export async function deliverPrivately(reply: OutboundReply, ctx: SlackReplyContext, progress: DeliveryProgress | undefined): Promise<void> {
  if (!ctx.responseUrl) throw new DeliveryRefused("slack", "the /support question has no thread and no response_url to answer through");
  const messages = renderReply(reply);
  for (const [index, message] of messages.entries()) {
    if (index < (progress?.partsSent ?? 0)) continue;
    try {
      await postToResponseUrl(ctx.responseUrl, { response_type: "ephemeral", replace_original: false, text: message.text, blocks: message.blocks });
    } catch (err) {
      if (err instanceof DeliveryRefused) throw err;
      throw new AdapterError("slack", `response_url post failed (${errorMessage(err)}) on part ${index + 1} of ${messages.length}`, { cause: err });
    }
    await progress?.partSent(index, undefined, messages.length);
  }
}

/** POSTs to a `response_url`. Slack answers 404 once the URL expired or was used up: refused for good. */
async function postToResponseUrl(url: string, body: RespondArguments): Promise<void> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return;
  if (res.status === 404 || res.status === 410) throw new DeliveryRefused("slack", `response_url answered ${res.status} (expired or used up)`);
  throw new Error(`response_url answered ${res.status}`);
}

/** The channel post a `/support` thread hangs from: who asked, the question quoted. */
export function questionPost(askerId: string | undefined, question: string, channel: string) {
  const who = askerId === undefined ? "Someone" : `<@${askerId}>`;
  const quoted = truncateMrkdwn(escapeMrkdwn(question), SLACK_LIMITS.sectionText - 200)
    .split("\n")
    .map((line) => `>${line}`)
    .join("\n");
  return {
    channel,
    text: `${who} asked: ${truncateMrkdwn(escapeMrkdwn(question), 300)}`,
    blocks: [
      { type: "section" as const, text: { type: "mrkdwn" as const, text: `*${who} asked:*\n${quoted}` } },
      {
        type: "context" as const,
        elements: [{ type: "mrkdwn" as const, text: "I'll answer in the thread. Reply there to follow up." }],
      },
    ],
    unfurl_links: false,
    unfurl_media: false,
  };
}

export function platformError(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === "string" ? data.error : undefined;
}

function ephemeral(text: string): RespondArguments {
  return { response_type: "ephemeral", text };
}
