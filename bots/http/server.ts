import { randomUUID, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import type { App } from "../../src/app.ts";
import { InputError, SwitchboardError } from "../../src/errors.ts";
import { ReplyTimeoutError } from "../../src/inbox/outcome-waiter.ts";
import { MAX_MESSAGE_CHARS, PLATFORMS, type Outcome } from "../../src/types.ts";
import { consolePlugin } from "../console/index.ts";
import { registerHandoffRoutes } from "./handoff-routes.ts";

/** Largest JSON body the API accepts, in bytes (a message is at most MAX_MESSAGE_CHARS). */
export const API_BODY_LIMIT = 64 * 1024;

const MessageBody = z.object({
  userId: z.string().trim().min(1, "userId must not be empty").max(200),
  text: z.string().max(MAX_MESSAGE_CHARS, `text is longer than ${MAX_MESSAGE_CHARS} characters; shorten it`),
  conversationId: z.string().uuid("conversationId must be a conversation id returned by an earlier reply").optional(),
  /** Optional client id of the message: resending the same id is answered once. */
  messageId: z.string().min(1).max(200).optional(),
});

const SearchParams = z.object({
  q: z.string().max(200).optional(),
  platform: z.enum(PLATFORMS as [string, ...string[]]).optional(),
  status: z.enum(["bot", "waiting", "human"]).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

/**
 * The service's HTTP server (fastify): the JSON API, health and metrics. Platform adapters that
 * receive over HTTP (Slack) register their routes on the same instance through `plugins`.
 */
export async function createHttpServer(app: App, plugins: Array<(f: FastifyInstance) => Promise<void> | void> = []): Promise<FastifyInstance> {
  const fastify = Fastify({ bodyLimit: API_BODY_LIMIT, logger: false });
  const log = app.logger.child({ component: "http" });

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
    log.error({ err: e.message, code: err instanceof SwitchboardError ? err.code : e.code }, "request failed");
    return reply.status(500).send({ error: { code: "internal", message: "Something went wrong on our side; it has been logged." } });
  });

  const requireToken = (token: string | undefined, variable: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!token) {
      return reply.status(403).send({ error: { code: "disabled", message: `This endpoint is off: set ${variable} to enable it.` } });
    }
    if (!bearerMatches(req.headers.authorization, token)) {
      return reply.status(401).send({ error: { code: "unauthorized", message: `Send Authorization: Bearer <${variable}>.` } });
    }
  };
  const apiAuth = app.config.apiToken ? requireToken(app.config.apiToken, "API_TOKEN") : async () => {};
  const consoleAuth = requireToken(app.config.consoleToken, "CONSOLE_TOKEN");

  fastify.post("/api/messages", { preHandler: apiAuth }, async (req, reply) => {
    const body = MessageBody.parse(req.body ?? {});
    let conversationKey = `http:${randomUUID()}`;
    if (body.conversationId) {
      const conv = await app.log.getConversation(body.conversationId);
      if (!conv) throw new InputError("unknown_conversation", `No conversation ${body.conversationId}. Omit conversationId to start a new one.`, 404);
      if (conv.platform !== "http") {
        throw new InputError("wrong_platform", `Conversation ${body.conversationId} belongs to ${conv.platform}; continue it there.`, 409);
      }
      conversationKey = conv.conversationKey;
    }
    const submission = await app.intake.submit({
      platform: "http",
      conversationKey,
      userId: body.userId,
      text: body.text,
      platformMessageId: body.messageId ?? randomUUID(),
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
      // still comes, in the conversation (GET /api/conversations/:id).
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
    const conversation = await app.log.getConversation(id);
    if (!conversation) throw new InputError("unknown_conversation", `No conversation ${id}.`, 404);
    const [messages, handoff] = await Promise.all([app.log.transcript(id), app.handoffs.openFor(id)]);
    return { conversation, handoff: handoff ?? null, messages };
  });

  fastify.get("/api/conversations", { preHandler: consoleAuth }, async (req) => {
    const q = SearchParams.parse(req.query ?? {});
    return {
      conversations: await app.log.searchConversations({
        ...(q.q ? { text: q.q } : {}),
        ...(q.platform ? { platform: q.platform as (typeof PLATFORMS)[number] } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.limit ? { limit: q.limit } : {}),
      }),
    };
  });

  registerHandoffRoutes(fastify, app, consoleAuth);
  await fastify.register(consolePlugin(app));

  fastify.get("/healthz", async (_req, reply) => {
    try {
      await app.db.pool.query("select 1");
      return { ok: true, database: app.db.mode };
    } catch {
      return reply.status(503).send({ ok: false, database: "unreachable" });
    }
  });

  fastify.get("/metrics", async (_req, reply) => {
    reply.header("content-type", app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });

  for (const plugin of plugins) await plugin(fastify);
  return fastify;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, "") ?? "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
