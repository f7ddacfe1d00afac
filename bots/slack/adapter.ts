import { App, SocketModeReceiver, webApi, type Receiver } from "@slack/bolt";
import type { FastifyPluginAsync } from "fastify";
import type { ChannelAdapter, DeliveryProgress, DeliveryResult, MessageSink } from "../../src/ports.ts";
import type { Config } from "../../src/config.ts";
import { AdapterError, ConfigError, errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { DeliveryRefused } from "../../src/outbox/delivery-refused.ts";
import type { OutboundReply } from "../../src/types.ts";
import { AckGate, AfterAckTurns, createAfterAck } from "./after-ack.ts";
import { createBoltLogger } from "./bolt-logger.ts";
import { parseConversationKey } from "./conversation-key.ts";
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_EVENTS_PATH, FastifyReceiver } from "./http-receiver.ts";
import { registerListeners } from "./listeners.ts";
import { BoundedSet } from "./memory.ts";
import { renderReply, type SlackMessage } from "./render.ts";
import { registerStaffHandlers, type SlackStaffOptions } from "./staff.ts";
import { readReplyContext } from "./reply-context.ts";
import { CANNOT_POST, deliverPrivately, deliverQuestion, platformError, registerSupportCommand } from "./support-command.ts";
import { findPostedParts, partMetadata, POST_RETRY } from "./posted-parts.ts";
import { webApiFetch } from "./web-api-fetch.ts";

export type SlackConfig = Pick<Config, "slackBotToken" | "slackSigningSecret" | "slackAppToken" | "slackApiUrl">;
export type SlackTransport = "http" | "socket";

export interface SlackAdapterOptions {
  /** SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (HTTP), SLACK_APP_TOKEN (Socket Mode), SLACK_API_URL. */
  config: SlackConfig;
  logger: Logger;
  /**
   * Web API retry policy. Default: 3 retries over about 4 s, so a reply is not held for half an
   * hour behind a broken connection (the WebClient's own default). Rate limits are waited out
   * separately, as Slack's `Retry-After` says.
   */
  retryConfig?: webApi.RetryOptions;
  /**
   * `true`: answer Slack's HTTP request only after the listeners ran (they only store the event:
   * what nothing stored is never acknowledged). Default `false`: as soon as a listener acks.
   * Either way, Web API calls a listener makes run after the response was written.
   */
  processBeforeResponse?: boolean;
  /** Largest accepted request body. Default 1 MiB (`DEFAULT_BODY_LIMIT_BYTES`). */
  bodyLimitBytes?: number;
  /** Path of the events endpoint. Default `/slack/events`. */
  path?: string;
  /**
   * How long `deliver` waits, at most, for the ack of the event that started a conversation before
   * it posts there anyway. Default 3000 (Slack's own limit for an ack).
   */
  ackWaitMs?: number;
  /** Answer 404 when a request was not acknowledged within this many ms. Default 3001 (Bolt's). */
  unhandledRequestTimeoutMs?: number;
  /**
   * Whether the core knows a conversation under this key; lets thread replies continue a
   * conversation after a restart (wire it to `ConversationLog.findConversationByKey`). Optional.
   */
  isKnownConversation?: (conversationKey: string) => Promise<boolean>;
  /**
   * The user of the conversation under a key, if any (wire it to
   * `ConversationLog.findConversationByKey`): someone writing in another person's thread gets a
   * conversation of their own there (`slack:T:C:TS:user.U`). Optional; without it a thread is one
   * conversation whoever writes in it.
   */
  conversationOwner?: (conversationKey: string) => Promise<string | undefined>;
  /** Threads and message ids remembered in memory. Default 10,000 each. */
  memorySize?: number;
  /** Socket Mode client timings (ms), for tests. Defaults are the client's (5000 / 30000). */
  socketMode?: { clientPingTimeoutMs?: number; serverPingTimeoutMs?: number; autoReconnect?: boolean };
  /**
   * The staff channel for handoffs (SLACK_HANDOFF_CHANNEL): card button clicks and replies in
   * card threads go to `staff.actions`; nothing said there is treated as a customer message.
   */
  staff?: SlackStaffOptions;
}

export interface SlackAdapter extends ChannelAdapter {
  readonly platform: "slack";
  /** `http` when SLACK_SIGNING_SECRET is set, `socket` when SLACK_APP_TOKEN is set. */
  readonly transports: readonly SlackTransport[];
  /**
   * Fastify plugin registering `POST /slack/events` (raw body, size limit, Bolt signature check).
   * Register it on the service's server when `transports` includes `http`; without a signing
   * secret it registers nothing.
   */
  readonly httpPlugin: FastifyPluginAsync;
}

/** Whether the configuration asks for Slack at all (a bot token and a way to receive events). */
export function isSlackConfigured(config: SlackConfig): boolean {
  return Boolean(config.slackBotToken && (config.slackSigningSecret || config.slackAppToken));
}

const DEFAULT_RETRY: webApi.RetryOptions = { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 2000 };

export function createSlackAdapter(options: SlackAdapterOptions): SlackAdapter {
  const { config } = options;
  if (!config.slackBotToken) {
    throw new ConfigError("SLACK_BOT_TOKEN is not set: the Slack app needs its bot token (xoxb-…)");
  }
  if (!config.slackSigningSecret && !config.slackAppToken) {
    throw new ConfigError(
      "Slack needs SLACK_SIGNING_SECRET (HTTP events at /slack/events) or SLACK_APP_TOKEN (Socket Mode)",
    );
  }
  return new BoltSlackAdapter(options, config.slackBotToken);
}

class BoltSlackAdapter implements SlackAdapter {
  readonly platform = "slack" as const;
  readonly transports: readonly SlackTransport[];
  readonly httpPlugin: FastifyPluginAsync;

  readonly #log: Logger;
  readonly #app: App;
  /** Posts the outbox's messages: the same token without the Web API's blind retries (posted-parts.ts). */
  readonly #poster: webApi.WebClient;
  readonly #http: FastifyReceiver | undefined;
  readonly #socket: SocketModeReceiver | undefined;
  readonly #threads: BoundedSet;
  readonly #gate = new AckGate();
  /** Posting waits its turn: Slack's requests are read and acknowledged first (after-ack.ts). */
  readonly #turns = new AfterAckTurns();
  readonly #ackWaitMs: number;
  readonly #background = new Set<Promise<unknown>>();
  #sink: MessageSink | undefined;
  #started = false;

  constructor(options: SlackAdapterOptions, botToken: string) {
    const { config } = options;
    this.#log = options.logger.child({ component: "slack" });
    const secrets = [botToken, config.slackSigningSecret, config.slackAppToken].filter(
      (s): s is string => typeof s === "string",
    );
    const boltLogger = createBoltLogger(this.#log.child({ lib: "bolt" }), secrets);
    const clientOptions: webApi.WebClientOptions = {
      retryConfig: options.retryConfig ?? DEFAULT_RETRY,
      fetch: webApiFetch,
      ...(config.slackApiUrl ? { slackApiUrl: config.slackApiUrl } : {}),
    };

    if (config.slackSigningSecret) {
      this.#http = new FastifyReceiver({
        signingSecret: config.slackSigningSecret,
        logger: this.#log.child({ transport: "http" }),
        boltLogger,
        processBeforeResponse: options.processBeforeResponse ?? false,
        unhandledRequestTimeoutMs: options.unhandledRequestTimeoutMs ?? 3001,
        track: (work) => this.#track(work),
        turns: this.#turns,
      });
    }
    if (config.slackAppToken) {
      const socket = options.socketMode ?? {};
      this.#socket = new SocketModeReceiver({
        appToken: config.slackAppToken,
        logger: boltLogger,
        // A copy: the Socket Mode client writes its own defaults into the object it is given.
        installerOptions: { clientOptions: { ...clientOptions } },
        ...(socket.clientPingTimeoutMs === undefined ? {} : { clientPingTimeout: socket.clientPingTimeoutMs }),
        ...(socket.serverPingTimeoutMs === undefined ? {} : { serverPingTimeout: socket.serverPingTimeoutMs }),
        ...(socket.autoReconnect === undefined ? {} : { autoReconnectEnabled: socket.autoReconnect }),
      });
    }
    this.transports = [...(this.#http ? ["http" as const] : []), ...(this.#socket ? ["socket" as const] : [])];

    this.#app = new App({
      token: botToken,
      receiver: new CombinedReceiver(this.#http, this.#socket),
      logger: boltLogger,
      clientOptions,
      // auth.test runs in start(), so a bad token fails there with a clear error.
      deferInitialization: true,
      convoStore: false,
      ignoreSelf: true,
    });

    this.#poster = new webApi.WebClient(botToken, { ...clientOptions, retryConfig: POST_RETRY, logger: boltLogger });
    this.#threads = new BoundedSet(options.memorySize ?? 10_000);
    this.#ackWaitMs = options.ackWaitMs ?? 3000;
    const afterAck = createAfterAck((work) => this.#track(work), this.#turns);
    const submit: MessageSink["submit"] = async (message, submitOptions) => {
      if (!this.#sink) throw new AdapterError("slack", "the Slack adapter is not started");
      return this.#sink.submit(message, submitOptions);
    };
    registerSupportCommand(this.#app, { log: this.#log, submit, gate: this.#gate, afterAck });
    registerListeners(this.#app, {
      log: this.#log,
      submit: (message) => submit(message),
      threads: this.#threads,
      isKnownConversation: options.isKnownConversation,
      conversationOwner: options.conversationOwner,
      gate: this.#gate,
      afterAck,
      memorySize: options.memorySize ?? 10_000,
    });
    if (options.staff) registerStaffHandlers(this.#app, options.staff, this.#log, afterAck);

    const http = this.#http;
    const path = options.path ?? DEFAULT_EVENTS_PATH;
    const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
    this.httpPlugin = http
      ? http.plugin({ path, bodyLimitBytes })
      : async () => {
          this.#log.info("Slack HTTP events off (SLACK_SIGNING_SECRET not set); not registering " + path);
        };
  }

  async start(sink: MessageSink): Promise<void> {
    if (this.#started) throw new AdapterError("slack", "the Slack adapter is already started");
    this.#sink = sink;
    try {
      await this.#app.init(); // auth.test: learns the bot's user id, checks the token
    } catch (err) {
      const code = slackErrorCode(err);
      throw new AdapterError("slack", `Slack did not accept SLACK_BOT_TOKEN (${code})`, { cause: err });
    }
    try {
      await this.#app.start();
    } catch (err) {
      await this.#app.stop().catch(() => undefined);
      const code = slackErrorCode(err);
      throw new AdapterError("slack", `Slack Socket Mode did not connect (${code}); check SLACK_APP_TOKEN`, {
        cause: err,
      });
    }
    this.#started = true;
    this.#log.info({ transports: this.transports }, "slack adapter started");
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.#app.stop();
    // Work after an ack can schedule more (a reply delivered, then its staff thread note).
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
    this.#log.info("slack adapter stopped");
  }

  async deliver(reply: OutboundReply, progress?: DeliveryProgress): Promise<DeliveryResult | void> {
    const where = parseConversationKey(reply.conversationKey);
    if (!where) throw new DeliveryRefused("slack", `not a Slack conversation key: ${reply.conversationKey}`);
    const ctx = readReplyContext(reply.replyContext);
    const channel = ctx.channel ?? where.channelId;
    const log = this.#log.child({ conversationId: reply.conversationId, channel });
    // Nothing is posted in a conversation before Slack has the ack of the event that started it.
    if (this.#gate.held(reply.conversationKey)) {
      log.debug({ kind: reply.kind ?? "message" }, "slack: holding the delivery until Slack has its ack");
      await this.#gate.wait(reply.conversationKey, this.#ackWaitMs);
    }
    // Rendering and posting are CPU the requests of a burst must not queue behind.
    await this.#turns.turn();
    if (reply.kind === "question_post") {
      const result = await deliverQuestion(this.#poster, reply, where, ctx, log, progress);
      if (result.moveTo) this.#threads.add(result.moveTo.conversationKey);
      return result;
    }
    // A `/support` question that was never posted has no thread: its asker is answered privately,
    // through a response_url that takes five posts: no partial versions there, the whole answer only.
    if (where.commandId !== undefined) {
      if (reply.kind === "partial") {
        log.debug("slack: a partial answer is not sent privately; the whole answer follows");
        return;
      }
      await deliverPrivately(reply, ctx, progress);
      log.debug({ author: reply.author.kind }, "slack: reply delivered through response_url");
      return;
    }
    const threadTs = ctx.threadTs ?? where.threadTs;
    const messages = renderReply(reply, ctx.askerId === undefined ? {} : { mentionUserId: ctx.askerId });
    const partsSent = progress?.partsSent ?? 0;
    // A later attempt may follow a post Slack took whose answer never came: look before posting.
    const already =
      (progress?.attempt ?? 1) > 1 && partsSent < messages.length
        ? await findPostedParts(this.#poster, { channel, threadTs }, reply.idempotencyKey, log)
        : new Map<number, string>();
    // A later version of a partial answer edits the messages that one posted.
    const earlier = reply.revises?.refs ?? [];
    // Nothing follows the last part but the return (unless an earlier version's extra parts are
    // removed): its record may go with the sent mark.
    const of = earlier.length > messages.length ? undefined : messages.length;
    let turnTaken = true;
    for (const [index, message] of messages.entries()) {
      if (index < partsSent) continue;
      if (!turnTaken) await this.#turns.turn();
      turnTaken = false;
      const found = already.get(index);
      if (found !== undefined) {
        log.info({ part: index + 1, of: messages.length }, "slack: part already posted by an earlier attempt; not posting it again");
        await progress?.partSent(index, partRef(channel, found), of);
        continue;
      }
      const edit = parsePartRef(earlier[index]);
      if (edit && (await this.#update(edit, message, log))) {
        await progress?.partSent(index, partRef(edit.channel, edit.ts), of);
        continue;
      }
      let ts: string | undefined;
      try {
        const posted = await this.#poster.chat.postMessage({
          channel,
          ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
          text: message.text,
          blocks: message.blocks,
          metadata: partMetadata(reply.idempotencyKey, index),
          unfurl_links: false,
          unfurl_media: false,
        });
        ts = posted.ts;
      } catch (err) {
        const code = slackErrorCode(err);
        const what = `chat.postMessage failed (${code}) on part ${index + 1} of ${messages.length}`;
        // The bot cannot post there (removed, archived): retrying will not change that.
        if (CANNOT_POST.has(platformError(err) ?? "")) throw new DeliveryRefused("slack", what, { cause: err });
        throw new AdapterError("slack", what, { cause: err });
      }
      await progress?.partSent(index, ts === undefined ? undefined : partRef(channel, ts), of);
    }
    // Parts of the earlier version beyond this one's: removed, so the thread reads as one answer.
    for (const extra of earlier.slice(messages.length)) {
      const ref = parsePartRef(extra);
      if (ref) await this.#poster.chat.delete({ channel: ref.channel, ts: ref.ts }).catch((err: unknown) => log.warn({ err: slackErrorCode(err) }, "slack: could not remove a part of the earlier version"));
    }
    if (threadTs !== undefined) this.#threads.add(reply.conversationKey);
    log.debug({ parts: messages.length, author: reply.author.kind, revised: earlier.length > 0 }, "slack: reply delivered");
  }

  /**
   * Replaces a posted part with its new version (`chat.update`). False when Slack no longer has
   * the message (deleted, or not the bot's): the caller posts the part instead.
   */
  async #update(ref: { channel: string; ts: string }, message: SlackMessage, log: Logger): Promise<boolean> {
    try {
      await this.#poster.chat.update({ channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks });
      return true;
    } catch (err) {
      const code = platformError(err) ?? "";
      if (GONE.has(code)) {
        log.info({ err: code }, "slack: the earlier version is gone; posting this part instead");
        return false;
      }
      if (CANNOT_POST.has(code)) throw new DeliveryRefused("slack", `chat.update failed (${code})`, { cause: err });
      throw new AdapterError("slack", `chat.update failed (${slackErrorCode(err)})`, { cause: err });
    }
  }

  #track(work: Promise<unknown>): void {
    const tracked = work
      .catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, "slack: background work failed"))
      .finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }
}

/** Both transports feed the same Bolt app: HTTP when a signing secret is set, Socket Mode when an app token is. */
class CombinedReceiver implements Receiver {
  readonly #http: FastifyReceiver | undefined;
  readonly #socket: SocketModeReceiver | undefined;

  constructor(http: FastifyReceiver | undefined, socket: SocketModeReceiver | undefined) {
    this.#http = http;
    this.#socket = socket;
  }

  init(app: App): void {
    this.#http?.init(app);
    this.#socket?.init(app);
  }

  async start(): Promise<void> {
    await this.#http?.start();
    await this.#socket?.start();
  }

  async stop(): Promise<void> {
    await this.#http?.stop();
    // SocketModeReceiver.stop() does not wait for the socket to close; the client's disconnect does.
    await this.#socket?.client.disconnect();
  }
}

/** `chat.update` errors after which the part is posted anew: the message to edit is not there (or not the bot's). */
const GONE = new Set(["message_not_found", "cant_update_message", "edit_window_closed"]);

/** Where a posted part is, as the outbox keeps it (`DeliveryProgress.partSent`): channel and ts. */
function partRef(channel: string, ts: string): string {
  return `${channel}/${ts}`;
}

function parsePartRef(ref: string | null | undefined): { channel: string; ts: string } | undefined {
  const m = ref ? /^([^/]+)\/(\d+\.\d+)$/.exec(ref) : null;
  return m?.[1] && m[2] ? { channel: m[1], ts: m[2] } : undefined;
}

function slackErrorCode(err: unknown): string {
  const data = (err as { data?: { error?: unknown } } | undefined)?.data;
  if (typeof data?.error === "string") return data.error;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : errorMessage(err);
}
