import { createHash } from "node:crypto";
import {
  MessageFlags,
  RESTJSONErrorCodes,
  Routes,
  ThreadAutoArchiveDuration,
  type REST,
  type RESTGetAPIWebhookWithTokenMessageResult,
  type RESTPostAPIChannelMessageJSONBody,
} from "discord.js";
import type { DeliveryProgress } from "../../src/ports.ts";
import type { OutboundReply } from "../../src/types.ts";
import type { Logger } from "../../src/logger.ts";
import { AdapterError } from "../../src/errors.ts";
import { DeliveryRefused } from "../../src/outbox/delivery-refused.ts";
import { parseConversationKey } from "./conversation-key.ts";
import { DiscordReplyContextSchema, type DiscordReplyContext } from "./reply-context.ts";
import { renderReply } from "./render.ts";
import { splitMessage } from "./split-message.ts";
import { describeDiscordError, discordErrorCode, isExpiredInteraction, undeliverableReason } from "./errors.ts";
import { RecentIds } from "./recent-ids.ts";

type InteractionContext = Extract<DiscordReplyContext, { kind: "interaction" }>;
type ThreadContext = Extract<DiscordReplyContext, { kind: "thread" }>;

export interface DeliveryOptions {
  /** A REST client holding the bot token (the gateway client's own). */
  rest: REST;
  logger: Logger;
  /** Whether a channel is known to exist (the gateway client's cache), to skip creating it. */
  channelExists: (channelId: string) => boolean;
}

/**
 * Sends replies to Discord over REST only, from ids in the conversation key and the stored reply
 * context: no discord.js object from the gateway is needed, so a reply produced after a restart
 * (or by another process) is delivered the same way.
 */
export class DiscordDelivery {
  readonly #rest: REST;
  readonly #logger: Logger;
  readonly #channelExists: (channelId: string) => boolean;
  /** Interactions deferred by this process whose response has not been edited yet. */
  readonly #pendingOriginals = new RecentIds(5_000);
  /** Interactions whose deferred response has been edited: later messages are follow-ups. */
  readonly #editedOriginals = new RecentIds(5_000);
  /** Typing indicators in flight per channel: a message waits for its channel's indicator. */
  readonly #typing = new Map<string, Promise<void>>();

  constructor(options: DeliveryOptions) {
    this.#rest = options.rest;
    this.#logger = options.logger;
    this.#channelExists = options.channelExists;
  }

  /**
   * Sends the reply's chunks from `progress.partsSent` on, reporting each one Discord accepted, so
   * a retried delivery that failed half way through a long answer does not post a part twice.
   */
  async deliver(reply: OutboundReply, progress: DeliveryProgress = FROM_START): Promise<void> {
    const conversation = parseConversationKey(reply.conversationKey);
    if (reply.platform !== "discord" || !conversation) {
      // Stored that way, it will never name a channel: retrying cannot help.
      throw new DeliveryRefused("discord", `Not a Discord conversation key: ${reply.conversationKey}`);
    }
    const context = this.#parseContext(reply);
    const rendered = renderReply(reply);
    const chunks = splitMessage(rendered);
    const log = this.#logger.child({
      conversationId: reply.conversationId,
      conversationKey: reply.conversationKey,
      idempotencyKey: reply.idempotencyKey,
    });
    if (chunks.length === 0) {
      log.warn("empty reply not sent to Discord");
      return;
    }
    const key = new PartTracker(progress, reply.idempotencyKey, reply.revises?.refs ?? []);
    key.context = context;
    if (reply.kind === "partial") log.debug({ parts: chunks.length }, "posting the parts of an answer that are ready");
    switch (context?.kind) {
      case "interaction":
        await this.#toInteraction(key, context, rendered, chunks, log);
        break;
      case "thread":
        await this.#toThread(key, context, conversation.channelId, chunks, log);
        break;
      case "message":
        await this.#toChannel(key, context.channelId, chunks, context.messageId);
        break;
      case "channel":
        await this.#toChannel(key, context.channelId, chunks);
        break;
      default:
        // No context (a staff reply relayed later, say): the key names the channel, and in a
        // shared channel the person it is for, who is named (and notified) at the top.
        if (conversation.kind === "guild" && conversation.userId !== undefined) {
          const userId = conversation.userId;
          const parts = key.sent > 0 ? chunks : splitMessage(`<@${userId}> ${rendered}`);
          await this.#sendAll(key, parts, (chunk, index) =>
            this.#post(conversation.channelId, chunk, { nonce: key.nonce(index), ...(index === 0 ? { mentionUser: userId } : {}) }),
          );
        } else {
          await this.#toChannel(key, conversation.channelId, chunks);
        }
    }
    await this.#removeExtras(key, chunks.length, context, log);
    log.info({ parts: chunks.length, via: context?.kind ?? "channel", revised: key.earlier.length > 0 }, "reply delivered to Discord");
  }

  /**
   * Replaces a part of the earlier version in place (PATCH). Its ref when it did; undefined when
   * Discord no longer has that message, or its interaction expired: the part is sent anew.
   */
  async #edit(ref: string, content: string, context: DiscordReplyContext | undefined): Promise<string | undefined> {
    const where = parseRef(ref);
    if (!where) return undefined;
    try {
      if (where.kind === "channel") {
        await this.#rest.patch(Routes.channelMessage(where.channelId, where.messageId), { body: editBody(content) });
      } else {
        if (context?.kind !== "interaction") return undefined;
        await this.#rest.patch(Routes.webhookMessage(context.applicationId, context.interactionToken, where.messageId), { body: editBody(content), auth: false });
      }
      return ref;
    } catch (err) {
      const code = discordErrorCode(err);
      if (isExpiredInteraction(err) || (typeof code === "number" && GONE_CODES.has(code))) return undefined;
      throw wrap(err, "edit the earlier version of the answer");
    }
  }

  /** Parts of the earlier version beyond this one's are removed, so the conversation reads as one answer. */
  async #removeExtras(key: PartTracker, count: number, context: DiscordReplyContext | undefined, log: Logger): Promise<void> {
    for (const ref of key.earlier.slice(count)) {
      const where = ref ? parseRef(ref) : undefined;
      if (!where) continue;
      const route =
        where.kind === "channel"
          ? this.#rest.delete(Routes.channelMessage(where.channelId, where.messageId))
          : context?.kind === "interaction"
            ? this.#rest.delete(Routes.webhookMessage(context.applicationId, context.interactionToken, where.messageId), { auth: false })
            : undefined;
      await route?.catch((err: unknown) => log.warn({ ...describeDiscordError(err) }, "could not remove a part of the earlier version"));
    }
  }

  /**
   * Edits the deferred `/support` response with a short note, unless an answer already did.
   * Used when the core decided not to answer (a person owns the conversation) or failed, so the
   * user is not left with "thinking…" until the interaction expires.
   */
  async settleInteraction(context: InteractionContext, text: string): Promise<void> {
    try {
      if (!(await this.#originalPending(context))) return;
      await this.#editOriginal(context, text);
    } catch (err) {
      this.#logger.warn({ ...describeDiscordError(err) }, "could not update the /support response");
    }
  }

  /**
   * Shows "Bot is typing…" in a channel (best effort). A message posted there afterwards waits for
   * the indicator's request, so the indicator never lands after the answer.
   */
  showTyping(channelId: string): void {
    const request = this.#rest.post(Routes.channelTyping(channelId)).then(
      () => undefined,
      (err: unknown) => this.#logger.debug({ ...describeDiscordError(err), channelId }, "typing indicator failed"),
    );
    this.#typing.set(channelId, request);
    void request.finally(() => {
      if (this.#typing.get(channelId) === request) this.#typing.delete(channelId);
    });
  }

  #parseContext(reply: OutboundReply): DiscordReplyContext | undefined {
    if (reply.replyContext === undefined) return undefined;
    const parsed = DiscordReplyContextSchema.safeParse(reply.replyContext);
    if (parsed.success) return parsed.data;
    // Do not lose the answer over a bad context: the conversation key still names the channel.
    this.#logger.warn(
      { conversationKey: reply.conversationKey, issues: parsed.error.issues.map((i) => i.path.join(".")) },
      "invalid Discord reply context; posting in the conversation's channel",
    );
    return undefined;
  }

  async #toInteraction(
    key: PartTracker,
    context: InteractionContext,
    rendered: string,
    chunks: string[],
    log: Logger,
  ): Promise<void> {
    try {
      await this.#sendAll(key, chunks, async (chunk) =>
        (await this.#originalPending(context))
          ? this.#editOriginal(context, chunk)
          : this.#followUp(context, chunk),
      );
    } catch (err) {
      if (!isExpiredInteraction(err)) throw wrap(err, "answer the /support command");
      // Interaction tokens live 15 minutes; a slow answer (or one after a restart) goes to the
      // channel instead, mentioning the person who asked.
      log.info({ ...describeDiscordError(err) }, "interaction expired; posting the answer in its channel");
      const started = key.sent > 0;
      const parts = started ? chunks : splitMessage(`<@${context.userId}> ${rendered}`);
      await this.#sendAll(key, parts, (chunk, index) =>
        this.#post(context.channelId, chunk, { nonce: key.nonce(index), ...(index === 0 && !started ? { mentionUser: context.userId } : {}) }),
      );
    }
  }

  async #toThread(
    key: PartTracker,
    context: ThreadContext,
    threadId: string,
    chunks: string[],
    log: Logger,
  ): Promise<void> {
    const ready = this.#channelExists(threadId) || (await this.#startThread(context, log));
    if (ready) {
      await this.#sendAll(key, chunks, (chunk, index) => this.#post(threadId, chunk, { nonce: key.nonce(index) }));
      return;
    }
    // No thread (missing Create Public Threads permission, a locked channel): answer in place.
    await this.#toChannel(key, context.parentChannelId, chunks, context.messageId);
  }

  /** Starts the thread on the message; `true` when it exists afterwards. */
  async #startThread(context: ThreadContext, log: Logger): Promise<boolean> {
    try {
      await this.#rest.post(Routes.threads(context.parentChannelId, context.messageId), {
        body: { name: context.threadName, auto_archive_duration: ThreadAutoArchiveDuration.OneDay },
      });
      return true;
    } catch (err) {
      if (discordErrorCode(err) === RESTJSONErrorCodes.ThreadAlreadyCreatedForMessage) return true;
      log.warn({ ...describeDiscordError(err) }, "could not start a thread; replying in the channel");
      return false;
    }
  }

  async #toChannel(key: PartTracker, channelId: string, chunks: string[], replyTo?: string): Promise<void> {
    await this.#sendAll(key, chunks, (chunk, index) =>
      this.#post(channelId, chunk, { nonce: key.nonce(index), ...(index === 0 && replyTo ? { replyTo } : {}) }),
    );
  }

  /** Sends (or, for a later version of an answer, edits in place) each part not sent yet, reporting where it is. */
  async #sendAll(
    key: PartTracker,
    chunks: string[],
    send: (chunk: string, index: number) => Promise<string>,
  ): Promise<void> {
    for (let index = key.sent; index < chunks.length; index++) {
      const chunk = chunks[index] ?? "";
      const earlier = key.earlier[index];
      const ref = (earlier ? await this.#edit(earlier, chunk, key.context) : undefined) ?? (await send(chunk, index));
      await key.mark(index, ref);
    }
  }

  /** Posts a message; its ref (`c/<channel>/<message>`). */
  async #post(
    channelId: string,
    content: string,
    options: { nonce: string; replyTo?: string; mentionUser?: string },
  ): Promise<string> {
    const body: RESTPostAPIChannelMessageJSONBody = {
      ...messageBody(content, options.mentionUser),
      // Discord returns the message already made with this nonce (for a few minutes) instead of
      // posting it again: a retry after a post whose answer was lost (timeout, crash) is harmless.
      nonce: options.nonce,
      enforce_nonce: true,
      ...(options.replyTo
        ? { message_reference: { message_id: options.replyTo, fail_if_not_exists: false } }
        : {}),
    };
    await this.#typing.get(channelId);
    try {
      const posted = (await this.#rest.post(Routes.channelMessages(channelId), { body })) as { id?: string };
      return `c/${channelId}/${posted.id ?? ""}`;
    } catch (err) {
      throw wrap(err, `post in channel ${channelId}`);
    }
  }

  /** Records that this process deferred the interaction: its first answer edits the response. */
  markDeferred(interactionId: string): void {
    this.#pendingOriginals.add(interactionId);
  }

  /**
   * Whether the deferred response still shows "thinking…" and the answer should replace it,
   * rather than follow it. Known in memory for interactions this process handled; after a restart
   * Discord is asked (the response carries the Loading flag until it is edited), so a second
   * message to the same interaction never overwrites the first answer.
   */
  async #originalPending(context: InteractionContext): Promise<boolean> {
    if (this.#editedOriginals.has(context.interactionId)) return false;
    if (this.#pendingOriginals.has(context.interactionId)) return true;
    const original = (await this.#rest.get(
      Routes.webhookMessage(context.applicationId, context.interactionToken, "@original"),
      { auth: false },
    )) as RESTGetAPIWebhookWithTokenMessageResult;
    const pending = ((original.flags ?? 0) & MessageFlags.Loading) !== 0;
    if (!pending) this.#editedOriginals.add(context.interactionId);
    return pending;
  }

  async #editOriginal(context: InteractionContext, content: string): Promise<string> {
    await this.#rest.patch(Routes.webhookMessage(context.applicationId, context.interactionToken, "@original"), {
      body: messageBody(content),
      auth: false,
    });
    this.#editedOriginals.add(context.interactionId);
    this.#pendingOriginals.delete(context.interactionId);
    return "w/@original";
  }

  async #followUp(context: InteractionContext, content: string): Promise<string> {
    const posted = (await this.#rest.post(Routes.webhook(context.applicationId, context.interactionToken), {
      body: messageBody(content),
      auth: false,
      query: new URLSearchParams({ wait: "true" }),
    })) as { id?: string };
    return `w/${posted.id ?? ""}`;
  }
}

/** No earlier attempt: every part is still to send. */
const FROM_START: DeliveryProgress = { partsSent: 0, attempt: 1, partSent: async () => {} };

/** Edit errors after which the part is sent anew: the message (or the interaction's webhook) is gone. */
const GONE_CODES = new Set<number>([RESTJSONErrorCodes.UnknownMessage, RESTJSONErrorCodes.UnknownWebhook]);

/** Where a part is: `c/<channel>/<message>` (a channel message) or `w/<message>` (an interaction's response or follow-up). */
function parseRef(ref: string): { kind: "channel"; channelId: string; messageId: string } | { kind: "webhook"; messageId: string } | undefined {
  const channel = /^c\/(\d+)\/(\d+)$/.exec(ref);
  if (channel?.[1] && channel[2]) return { kind: "channel", channelId: channel[1], messageId: channel[2] };
  const webhook = /^w\/(@original|\d+)$/.exec(ref);
  return webhook?.[1] ? { kind: "webhook", messageId: webhook[1] } : undefined;
}

/** An edit's body: the new content, mentioning nobody anew. */
function editBody(content: string): RESTPostAPIChannelMessageJSONBody {
  return { content, flags: MessageFlags.SuppressEmbeds, allowed_mentions: { parse: [] } };
}

/** The parts of one reply Discord accepted so far, this call's included (each reported to the outbox), and their nonces. */
class PartTracker {
  sent: number;
  /** Where the parts of the version this one replaces are (`OutboundReply.revises`), by index. */
  readonly earlier: Array<string | null>;
  /** The reply's context, for editing an interaction's messages. */
  context: DiscordReplyContext | undefined;
  readonly #progress: DeliveryProgress;

  readonly #key: string;

  constructor(progress: DeliveryProgress, idempotencyKey: string, earlier: Array<string | null>) {
    this.#progress = progress;
    this.#key = idempotencyKey;
    this.sent = progress.partsSent;
    this.earlier = earlier;
  }

  /** Part `index`'s nonce: the same on every attempt of this message, at most Discord's 25 characters. */
  nonce(index: number): string {
    return createHash("sha256").update(`${this.#key}#${index}`).digest("base64url").slice(0, 25);
  }

  async mark(index: number, ref: string): Promise<void> {
    this.sent = Math.max(this.sent, index + 1);
    await this.#progress.partSent(index, ref);
  }
}

/**
 * Never ping anyone by accident: an answer quoting "@everyone" or a role stays text. Only the
 * person replied to (and, for an expired `/support`, the asker) is notified. Link previews are
 * suppressed; sources are listed as links instead.
 */
function messageBody(content: string, mentionUser?: string): RESTPostAPIChannelMessageJSONBody {
  return {
    content,
    flags: MessageFlags.SuppressEmbeds,
    allowed_mentions: { parse: [], replied_user: true, ...(mentionUser ? { users: [mentionUser] } : {}) },
  };
}

/**
 * The error the outbox sees: `DeliveryRefused` when Discord will never take the message (see
 * `UNDELIVERABLE_CODES`), so it is given up at once; a plain `AdapterError` otherwise, retried.
 * Only the error's summary is kept: a discord.js error holds the request URL and body.
 */
function wrap(err: unknown, action: string): AdapterError {
  if (err instanceof AdapterError) return err;
  const summary = describeDiscordError(err);
  const refused = undeliverableReason(err);
  return refused
    ? new DeliveryRefused("discord", `Could not ${action}: ${refused} (${summary.error})`, { cause: summary })
    : new AdapterError("discord", `Could not ${action}: ${summary.error}`, { cause: summary });
}
