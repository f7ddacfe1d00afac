import { randomUUID } from "node:crypto";
import cookie from "@fastify/cookie";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import type { Config } from "../../src/config.ts";
import { checkHealth, type HealthDeps } from "../../src/health/health.ts";
import type { ConversationLog } from "../../src/conversations/conversation-log.ts";
import type { Database } from "../../src/db/database.ts";
import type { AgentDirectory } from "../../src/staff/agent-directory.ts";
import { InputError, SwitchboardError, isDatabaseUnavailable } from "../../src/errors.ts";
import type { HandoffStore } from "../../src/handoffs/handoff-store.ts";
import { ReplyTimeoutError } from "../../src/inbox/outcome-waiter.ts";
import type { Logger } from "../../src/logger.ts";
import type { Metrics } from "../../src/metrics.ts";
import type { MessageSink } from "../../src/ports.ts";
import type { Outbox } from "../../src/outbox/outbox.ts";
import { CONTROL_CHARACTERS, MAX_MESSAGE_CHARS, PLATFORMS, type Outcome } from "../../src/types.ts";
import { consolePlugin, type ConsoleDeps } from "../console/index.ts";
import { registerConversationEvents, type ConversationEventsDeps, type ConversationEventsOptions } from "./conversation-events.ts";
import { registerHandoffRoutes, type HandoffRoutesDeps } from "./handoff-routes.ts";
import { registerRefundRoutes, type RefundRoutesDeps } from "./refund-routes.ts";
import { registerInboxRoutes, type InboxRoutesDeps } from "./inbox-routes.ts";
import { messagesRateLimit, refuseGuessing, registerRateLimits } from "./rate-limits.ts";
import { staffAuth } from "./staff-auth.ts";
import { bearerMatches, requireUserHash } from "./user-identity.ts";

/**
 * What the HTTP server uses of the service: a structural subset of `App`, so a running app can be
 * passed as it is, and a test can pass only these.
 */
export interface HttpServerDeps extends HandoffRoutesDeps, RefundRoutesDeps, InboxRoutesDeps, ConsoleDeps, ConversationEventsDeps {
  agents?: AgentDirectory;
  config: Config;
  /** The events streams read it (conversations) and wake on it (the console's live view). */
  outbox: Pick<Outbox, "onRecorded" | "visibleAfter">;
  logger: Logger;
  db: Pick<Database, "pool" | "mode">;
  log: Pick<ConversationLog, "getConversation" | "transcript" | "searchConversations">;
  handoffs: Pick<HandoffStore, "openFor">;
  /** The way in: `POST /api/messages` submits here. */
  intake: MessageSink;
  metrics: Pick<Metrics, "registry">;
  /** `/healthz`: the queue and the model's state. */
  queue: HealthDeps["queue"];
  modelHealth: HealthDeps["modelHealth"];
}

export interface HttpServerOptions {
  /** Timing of `GET /api/conversations/:id/events` (see `CONVERSATION_EVENTS_DEFAULTS`). */
  events?: Partial<ConversationEventsOptions>;
}

/** Largest JSON body the API accepts, in bytes (a message is at most MAX_MESSAGE_CHARS). */
export const API_BODY_LIMIT = 64 * 1024;

/** A string without control characters; the error names the first one. */
const plain = (field: string) =>
  z.string().superRefine((v, ctx) => {
    const c = CONTROL_CHARACTERS.exec(v)?.[0];
    if (c === undefined) return;
    const code = c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    ctx.addIssue({ code: "custom", message: `${field} contains a control character (U+${code}); send plain text` });
  });

const MessageBody = z.object({
  userId: plain("userId").pipe(z.string().trim().min(1, "userId must not be empty").max(200)),
  text: plain("text").pipe(z.string().max(MAX_MESSAGE_CHARS, `text is longer than ${MAX_MESSAGE_CHARS} characters; shorten it`)),
  conversationId: z.string().uuid("conversationId must be a conversation id returned by an earlier reply").optional(),
  /** Optional client id of the message: resending the same id is answered once. */
  messageId: plain("messageId").pipe(z.string().min(1).max(200)).optional(),
  /** With API_USER_SECRET: the hex HMAC-SHA256 of userId under it (see `userHash`). */
  userHash: z.string().max(200).optional(),
});

const SearchParams = z.object({
  q: z.string().max(200).optional(),
  platform: z.enum(PLATFORMS as [string, ...string[]]).optional(),
  status: z.enum(["bot", "waiting", "human"]).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

/**
 * The service's HTTP server (fastify): the JSON API (messages in, each conversation's events out,
 * the handoff API), the console, health and metrics. Platform adapters that receive over HTTP
 * (Slack) register their routes on the same instance through `plugins`.
 */
export async function createHttpServer(
  deps: HttpServerDeps,
  plugins: Array<(f: FastifyInstance) => Promise<void> | void> = [],
  options: HttpServerOptions = {},
): Promise<FastifyInstance> {
  // TRUST_PROXY: the client address and protocol from X-Forwarded-* (rate limits, Secure cookies).
  const proxies = deps.config.trustProxy;
  const fastify = Fastify({
    bodyLimit: API_BODY_LIMIT,
    logger: false,
    // A hop count trusts that many proxies nearest to the server.
    trustProxy: typeof proxies === "number" ? (_address: string, hop: number) => hop < proxies : proxies,
  });
  const log = deps.logger.child({ component: "http" });
  await fastify.register(cookie);
  const guesses = await registerRateLimits(fastify);

  fastify.setErrorHandler((err: unknown, _req, reply) => {
    if (err instanceof InputError) return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    if (err instanceof z.ZodError) {
      const message = err.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
      return reply.status(400).send({ error: { code: "invalid_body", message } });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.statusCode && e.statusCode < 500) {
      const message =
        e.code === "FST_ERR_CTP_INVALID_JSON_BODY" || e.code === "FST_ERR_CTP_EMPTY_JSON_BODY"
          ? `The body is not valid JSON: ${e.message}. Send {"userId": "...", "text": "..."}.`
          : e.code === "FST_ERR_CTP_BODY_TOO_LARGE"
            ? `The body is larger than ${API_BODY_LIMIT} bytes.`
            : (e.message ?? "Bad request");
      return reply.status(e.statusCode).send({ error: { code: e.code ?? "bad_request", message } });
    }
    if (isDatabaseUnavailable(err)) {
      // Nothing was stored: the client can send it again (the same messageId is answered once).
      log.warn({ err: e.message }, "request refused: the database is unreachable");
      return reply.status(503).header("retry-after", "5").send({ error: { code: "database_unavailable", message: "The service cannot reach its database right now; nothing was stored. Try again in a few seconds." } });
    }
    log.error({ err: e.message, code: err instanceof SwitchboardError ? err.code : e.code }, "request failed");
    return reply.status(500).send({ error: { code: "internal", message: "Something went wrong on our side; it has been logged." } });
  });

  const requireToken = (token: string | undefined, variable: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!token) {
      return reply.status(403).send({ error: { code: "disabled", message: `This endpoint is off: set ${variable} to enable it.` } });
    }
    const locked = guesses.locked(req);
    if (locked !== undefined) return refuseGuessing(reply, locked);
    if (!bearerMatches(req.headers.authorization, token)) {
      const lockout = await guesses.failed(req);
      if (lockout !== undefined) return refuseGuessing(reply, lockout);
      return reply.status(401).send({ error: { code: "unauthorized", message: `Send Authorization: Bearer <${variable}>.` } });
    }
  };
  const apiAuth = deps.config.apiToken ? requireToken(deps.config.apiToken, "API_TOKEN") : async () => {};
  // CONSOLE_TOKEN (the lead's bootstrap) or an agent's own token; the acting agent follows from it.
  const consoleAuth = staffAuth(deps.config.consoleToken, deps.agents, guesses);

  fastify.post("/api/messages", { preHandler: apiAuth, config: messagesRateLimit(deps.config.rateLimitPerMinute) }, async (req, reply) => {
    const body = MessageBody.parse(req.body ?? {});
    if (deps.config.apiUserSecret !== undefined) {
      const locked = guesses.locked(req);
      if (locked !== undefined) return refuseGuessing(reply, locked);
    }
    try {
      requireUserHash(deps.config.apiUserSecret, body.userId, body.userHash ?? headerValue(req, "x-user-hash"));
    } catch (err) {
      const lockout = await guesses.failed(req);
      if (lockout !== undefined) return refuseGuessing(reply, lockout);
      throw err;
    }
    let conversationKey = `http:${randomUUID()}`;
    if (body.conversationId) {
      const conv = await deps.log.getConversation(body.conversationId);
      // Another user's conversation (or another platform's) is answered as one that does not exist.
      if (!conv || conv.platform !== "http" || conv.userId !== body.userId) {
        throw new InputError("unknown_conversation", `No conversation ${body.conversationId}. Omit conversationId to start a new one.`, 404);
      }
      conversationKey = conv.conversationKey;
    }
    const submission = await deps.intake.submit({
      platform: "http",
      conversationKey,
      userId: body.userId,
      text: body.text,
      // Client ids are the user's own: another user's id is a different message, and never
      // answers with (or reveals) that user's conversation.
      platformMessageId: body.messageId ? clientMessageId(body.userId, body.messageId) : randomUUID(),
    });
    if (submission.status === "duplicate") {
      return reply.status(409).send({
        error: { code: "duplicate_message", message: `Message ${body.messageId} was already received.` },
        conversationId: submission.conversationId,
        messageId: submission.messageId,
      });
    }
    let outcome: Outcome;
    try {
      outcome = await submission.done;
    } catch (err) {
      // Stored and queued, but no worker answered in time (all busy, or retrying): the answer
      // still comes, on the conversation's events stream (GET /api/conversations/:id/events).
      if (!(err instanceof ReplyTimeoutError)) throw err;
      return reply.status(202).send({ conversationId: submission.conversationId, messageId: submission.messageId, reply: null, pending: true, routes: [], handoff: null });
    }
    if (outcome.kind === "relayed") {
      return { conversationId: outcome.conversationId, messageId: outcome.messageId, reply: null, relayed: true, routes: [], handoff: null };
    }
    if (outcome.kind === "ignored") return reply.status(500).send({ error: { code: "ignored", message: outcome.reason } });
    return {
      conversationId: outcome.conversationId,
      messageId: outcome.messageId,
      reply: outcome.text,
      sections: outcome.sections,
      routes: outcome.routes,
      handoff: outcome.handoff,
      engine: outcome.engine,
      latencyMs: outcome.latencyMs,
    };
  });

  fastify.get("/api/conversations/:id", { preHandler: consoleAuth }, async (req) => {
    const { id } = req.params as { id: string };
    const conversation = await deps.log.getConversation(id);
    if (!conversation) throw new InputError("unknown_conversation", `No conversation ${id}.`, 404);
    const [messages, handoff] = await Promise.all([deps.log.transcript(id), deps.handoffs.openFor(id)]);
    return { conversation, handoff: handoff ?? null, messages };
  });

  fastify.get("/api/conversations", { preHandler: consoleAuth }, async (req) => {
    const q = SearchParams.parse(req.query ?? {});
    return {
      conversations: await deps.log.searchConversations({
        ...(q.q ? { text: q.q } : {}),
        ...(q.platform ? { platform: q.platform as (typeof PLATFORMS)[number] } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.limit ? { limit: q.limit } : {}),
      }),
    };
  });

  registerConversationEvents(fastify, deps, apiAuth, options.events);
  registerHandoffRoutes(fastify, deps, consoleAuth);
  registerRefundRoutes(fastify, deps, consoleAuth);
  registerInboxRoutes(fastify, deps, consoleAuth);
  await fastify.register(consolePlugin(deps, guesses));

  fastify.get("/healthz", async (_req, reply) => {
    const health = await checkHealth(deps);
    return reply.status(health.ok ? 200 : 503).send(health);
  });

  fastify.get("/metrics", async (_req, reply) => {
    reply.header("content-type", deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  for (const plugin of plugins) await plugin(fastify);
  return fastify;
}

/** A client's message id, scoped to its user (the platform message id the duplicate check uses). */
function clientMessageId(userId: string, messageId: string): string {
  return `${encodeURIComponent(userId)}:${messageId}`;
}

function headerValue(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
