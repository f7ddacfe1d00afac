import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import {
  AuthorizationError,
  HTTPModuleFunctions,
  ReceiverMultipleAckError,
  type App,
  type BufferedIncomingMessage,
  type Logger as BoltLogger,
  type Receiver,
  type ReceiverEvent,
} from "@slack/bolt";
import type { Logger } from "../../src/logger.ts";
import { errorMessage } from "../../src/errors.ts";
import { AFTER_ACK_PROPERTY, AfterAckQueue, type AfterAckTurns } from "./after-ack.ts";

/**
 * Largest request body `POST /slack/events` accepts: 1 MiB. Slack's own payloads stay far below it
 * (a 40,000-character message with its blocks is a few hundred KiB); anything bigger is refused
 * with 413 before it is read in full, and before any signature work.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_EVENTS_PATH = "/slack/events";

export interface FastifyReceiverOptions {
  signingSecret: string;
  logger: Logger;
  boltLogger: BoltLogger;
  /**
   * `false` (default, production): answer Slack as soon as a listener calls `ack()`.
   * `true`: answer after the listeners finish (deterministic tests; Bolt's option of that name).
   */
  processBeforeResponse: boolean;
  /** Answer 404 when nothing acknowledged the request within this many ms. Default 3001 (Bolt's). */
  unhandledRequestTimeoutMs: number;
  /**
   * Runs work a listener scheduled with `context.afterAck` once the HTTP response is written,
   * keeping it visible to the adapter's `stop()`; failures are the tracker's to log.
   */
  track(work: Promise<unknown>): void;
  /** When that work runs: at its turn, after the requests waiting to be read (after-ack.ts). */
  turns: AfterAckTurns;
}

interface SlackResponse {
  status: number;
  body?: unknown;
}

/**
 * A Bolt `Receiver` for the service's own fastify server. Fastify reads the raw body (with a size
 * limit); Bolt's HTTP helpers verify the signature and parse it; `App.processEvent` runs the
 * listeners with an `ack` that writes the HTTP response. Listeners find `context.afterAck(work)`
 * (see after-ack.ts): the work runs once the response has been written, so nothing calls Slack
 * back before Slack has its answer, whatever `processBeforeResponse` says.
 */
export class FastifyReceiver implements Receiver {
  readonly #options: FastifyReceiverOptions;
  #app: App | undefined;
  #accepting = false;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: FastifyReceiverOptions) {
    this.#options = options;
  }

  init(app: App): void {
    this.#app = app;
  }

  async start(): Promise<void> {
    this.#accepting = true;
  }

  /** Stops taking requests and waits for the ones being processed. */
  async stop(): Promise<void> {
    this.#accepting = false;
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * A fastify plugin registering `POST <path>`. Encapsulated: its raw-body parser and error
   * handler apply to this route only.
   */
  plugin(options: { path: string; bodyLimitBytes: number }): FastifyPluginAsync {
    return async (instance) => {
      instance.removeAllContentTypeParsers();
      instance.addContentTypeParser(
        "*",
        { parseAs: "buffer", bodyLimit: options.bodyLimitBytes },
        (_request, body, done) => done(null, body),
      );
      instance.setErrorHandler((error: { statusCode?: number; code?: string }, request, reply) => {
        const status = error.statusCode ?? 500;
        if (status === 413) {
          this.#options.logger.warn(
            { contentLength: request.headers["content-length"], limit: options.bodyLimitBytes },
            "slack request refused: body too large",
          );
          return reply.code(413).send({ error: "payload_too_large" });
        }
        if (status >= 400 && status < 500) return reply.code(status).send({ error: error.code ?? "bad_request" });
        this.#options.logger.error({ err: error }, "slack request failed");
        return reply.code(500).send({ error: "internal_error" });
      });
      instance.post(options.path, { bodyLimit: options.bodyLimitBytes }, (request, reply) =>
        this.#handle(request, reply),
      );
    };
  }

  async #handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const log = this.#options.logger;
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const buffered = Object.assign(request.raw, { rawBody }) as BufferedIncomingMessage;
    // Bolt refuses a timestamp more than 5 minutes old, not one from the future: a request signed
    // ahead of time could be replayed for as long as its clock says. Both ways are refused here.
    const skew = timestampSkewSeconds(request.headers["x-slack-request-timestamp"]);
    if (skew === undefined || Math.abs(skew) > MAX_TIMESTAMP_SKEW_SECONDS) {
      log.warn({ skew, ip: request.ip }, "slack request rejected: timestamp missing or more than 5 minutes off");
      return reply.code(401).send({ error: "invalid_timestamp" });
    }
    try {
      await HTTPModuleFunctions.parseAndVerifyHTTPRequest(
        { enabled: true, signingSecret: this.#options.signingSecret, logger: this.#options.boltLogger },
        buffered,
      );
    } catch (err) {
      log.warn({ reason: errorMessage(err), ip: request.ip }, "slack request rejected: bad or stale signature");
      return reply.code(401).send({ error: "invalid_signature" });
    }

    let body: Record<string, unknown>;
    try {
      const parsed: unknown = HTTPModuleFunctions.parseHTTPRequestBody(buffered);
      if (typeof parsed !== "object" || parsed === null) throw new Error("body is not an object");
      body = parsed as Record<string, unknown>;
    } catch (err) {
      log.warn({ reason: errorMessage(err) }, "slack request rejected: unreadable body");
      return reply.code(400).send({ error: "bad_request" });
    }

    const malformed = missingFields(body);
    if (malformed) {
      log.warn({ reason: malformed }, "slack request rejected: signed, but not a request Slack sends");
      return reply.code(400).send({ error: "bad_request" });
    }
    if (body["ssl_check"] !== undefined) return reply.code(200).send();
    if (body["type"] === "url_verification") return reply.send({ challenge: body["challenge"] });
    const app = this.#app;
    if (!this.#accepting || app === undefined) {
      // Slack retries; the retry finds the adapter started (or the service gone, as now).
      return reply.code(503).header("retry-after", "1").send({ error: "not_ready" });
    }

    const { track, turns } = this.#options;
    const afterAck = new AfterAckQueue((work) => track(turns.turn().then(work)));
    // 'finish': the response was handed to the OS; 'close': the connection went first (Slack gave up).
    reply.raw.once("finish", () => afterAck.open());
    reply.raw.once("close", () => afterAck.open());
    const response = this.#process(app, body, request, afterAck);
    const { status, body: content } = await response;
    reply.code(status);
    if (content === undefined || content === "") return reply.send();
    if (typeof content === "string") return reply.type("text/plain; charset=utf-8").send(content);
    return reply.send(content);
  }

  /** Runs the event through Bolt; resolves with what to answer Slack, when Bolt says so. */
  #process(app: App, body: Record<string, unknown>, request: FastifyRequest, afterAck: AfterAckQueue): Promise<SlackResponse> {
    const { processBeforeResponse, unhandledRequestTimeoutMs, logger } = this.#options;
    let settle!: (response: SlackResponse) => void;
    const response = new Promise<SlackResponse>((resolve) => {
      settle = resolve;
    });
    let settled = false;
    const respond = (r: SlackResponse) => {
      if (settled) return;
      settled = true;
      settle(r);
    };

    let acked = false;
    let stored: unknown;
    const timer = setTimeout(() => {
      if (acked) return;
      logger.error("slack request not acknowledged in time; answering 404");
      respond({ status: 404 });
    }, unhandledRequestTimeoutMs);

    const event: ReceiverEvent = {
      body,
      customProperties: { [AFTER_ACK_PROPERTY]: (work: () => Promise<unknown>) => afterAck.add(work) },
      ack: async (ackBody?: unknown) => {
        if (acked) throw new ReceiverMultipleAckError();
        acked = true;
        clearTimeout(timer);
        if (processBeforeResponse) stored = ackBody;
        else respond({ status: 200, body: ackBody });
      },
    };
    const retryNum = HTTPModuleFunctions.extractRetryNumFromHTTPRequest(request.raw);
    const retryReason = HTTPModuleFunctions.extractRetryReasonFromHTTPRequest(request.raw);
    if (retryNum !== undefined) event.retryNum = retryNum;
    if (retryReason !== undefined) event.retryReason = retryReason;

    const work = app
      .processEvent(event)
      .then(
        () => {
          clearTimeout(timer);
          // Nothing acknowledged it: no listener for this kind of request.
          respond(acked ? { status: 200, body: stored } : { status: 404 });
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (settled) {
            logger.error({ err }, "slack event failed after it was acknowledged");
            return;
          }
          const status = err instanceof AuthorizationError ? 401 : 500;
          logger.error({ err, status }, "slack event failed before it was acknowledged");
          respond({ status });
        },
      )
      .finally(() => this.#inFlight.delete(work));
    this.#inFlight.add(work);
    return response;
  }
}

/** Slack's replay window: a signed request's timestamp may be this far off the clock, either way. */
export const MAX_TIMESTAMP_SKEW_SECONDS = 300;

/** Now minus the request's `X-Slack-Request-Timestamp`, in seconds; undefined when missing or not a number. */
function timestampSkewSeconds(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,12}$/.test(value)) return undefined;
  return Math.floor(Date.now() / 1000) - Number(value);
}

/**
 * What Bolt needs to route a request and that every real one has: a signed body without it made
 * Bolt throw before any listener ran (a 500, which Slack would retry for ever). Undefined: fine.
 */
function missingFields(body: Record<string, unknown>): string | undefined {
  const object = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  const type = body["type"];
  if (type === "event_callback") {
    if (!object(body["event"]) || typeof (body["event"] as { type?: unknown }).type !== "string") return "an event_callback without an event";
    return undefined;
  }
  if (typeof type === "string" && INTERACTIVE_TYPES.has(type)) {
    const user = body["user"];
    if (!object(user) || typeof user["id"] !== "string") return `a ${type} payload without its user`;
    const team = body["team"];
    if (!(object(team) && typeof team["id"] === "string") && typeof user["team_id"] !== "string") return `a ${type} payload without its team`;
  }
  return undefined;
}

/** Interactivity payloads (`payload=` form field) Bolt routes by their user and team. */
const INTERACTIVE_TYPES = new Set(["block_actions", "interactive_message", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion", "dialog_submission"]);
