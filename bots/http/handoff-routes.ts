import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { DeliveryError, type HandoffService } from "../../src/handoffs/handoff-service.ts";
import type { HandoffFilter } from "../../src/handoffs/handoff-store.ts";
import type { RouterCorrections } from "../../agents/router/corrections.ts";
import { ROUTE_NAMES } from "../../agents/workers/registry.ts";
import { InputError } from "../../src/errors.ts";
import type { AgentDirectory } from "../../src/staff/agent-directory.ts";
import { actingStaff } from "./staff-auth.ts";
import { MAX_MESSAGE_CHARS, PLATFORMS, type Platform, type RouteName } from "../../src/types.ts";

type PreHandler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const agent = z.string({ error: "agent is required: the name of the person acting" }).trim().min(1, "agent must not be empty").max(80, "agent is longer than 80 characters");

const ListQuery = z.object({
  status: z.enum(["open", "claimed", "resolved", "active"], { error: "status must be open, claimed, resolved or active" }).optional(),
  route: z.enum(ROUTE_NAMES as [RouteName, ...RouteName[]], { error: `route must be one of ${ROUTE_NAMES.join(", ")}` }).optional(),
  platform: z.enum(PLATFORMS as [Platform, ...Platform[]], { error: `platform must be one of ${PLATFORMS.join(", ")}` }).optional(),
  minAge: z.coerce.number({ error: "minAge must be a number of minutes" }).min(0).optional(),
  maxAge: z.coerce.number({ error: "maxAge must be a number of minutes" }).min(0).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  /** Owned by this agent; `unassigned=true`: owned by nobody yet. */
  assignee: agent.optional(),
  unassigned: z.enum(["true", "false"], { error: "unassigned must be true or false" }).optional(),
});

const ClaimBody = z.object({ agent: agent.optional() });
const AssignBody = z.object({ agent: agent.optional(), to: agent });
const ReplyBody = z.object({
  agent: agent.optional(),
  text: z.string({ error: "text is required: what to send the user" }).trim().min(1, "text must not be empty").max(MAX_MESSAGE_CHARS, `text is longer than ${MAX_MESSAGE_CHARS} characters`),
  /** Optional client id of the reply: sending the same id again delivers it once. */
  messageId: z.string().min(1).max(200).optional(),
});
const ResolveBody = z.object({ agent: agent.optional(), note: z.string().max(2000, "note is longer than 2000 characters").optional() });
const BackToBotBody = z.object({ agent: agent.optional() });

/** What staff can do to a handoff: the part of `HandoffService` the API and the console use. */
export type HandoffActions = Pick<HandoffService, "list" | "detail" | "claim" | "reply" | "resolve" | "backToBot" | "assign">;

/** What the handoff API uses of the service (a structural subset of `App`). */
export interface HandoffRoutesDeps {
  handoffService: HandoffActions;
  /** Staff corrections of the router; absent: the correction endpoint answers 503. */
  corrections?: Pick<RouterCorrections, "set">;
  /** The support team (agent tokens); absent: only CONSOLE_TOKEN signs in, and any name can be assigned. */
  agents?: Pick<AgentDirectory, "byName">;
}

const RouteBody = z.object({ agent: agent.optional(), route: z.string({ error: "route is required: the route this message should have taken" }) });

/**
 * The handoff API under /api/handoffs (Bearer CONSOLE_TOKEN): the queue with filters, one
 * handoff with its transcript and routing traces, and Claim / Reply / Resolve / Back to bot.
 * Everything the console does.
 */
export function registerHandoffRoutes(f: FastifyInstance, deps: HandoffRoutesDeps, auth: PreHandler): void {
  const service = deps.handoffService;
  const body = (req: FastifyRequest) => (req.body === undefined || req.body === null ? {} : req.body);

  f.get("/api/handoffs", { preHandler: auth }, async (req) => {
    const q = ListQuery.parse(req.query ?? {});
    const filter: HandoffFilter = {};
    if (q.status) filter.status = q.status;
    if (q.route) filter.route = q.route;
    if (q.platform) filter.platform = q.platform;
    if (q.minAge !== undefined) filter.minAgeMinutes = q.minAge;
    if (q.maxAge !== undefined) filter.maxAgeMinutes = q.maxAge;
    if (q.limit !== undefined) filter.limit = q.limit;
    if (q.assignee !== undefined && q.unassigned === "true") throw new InputError("conflicting_filters", "Send assignee or unassigned=true, not both.");
    if (q.assignee !== undefined) filter.assignee = q.assignee;
    if (q.unassigned === "true") filter.assignee = null;
    return { handoffs: await service.list(filter) };
  });

  f.get("/api/handoffs/:id", { preHandler: auth }, async (req) => {
    const { id } = req.params as { id: string };
    return service.detail(id);
  });

  f.post("/api/handoffs/:id/claim", { preHandler: auth }, async (req) => {
    const { id } = req.params as { id: string };
    const b = ClaimBody.parse(body(req));
    return { handoff: await service.claim(id, actingStaff(req, b.agent, true)!.name) };
  });

  // A lead gives the handoff to another agent (claimed by them from now on).
  f.post("/api/handoffs/:id/assign", { preHandler: auth }, async (req) => {
    const { id } = req.params as { id: string };
    const b = AssignBody.parse(body(req));
    const by = actingStaff(req, b.agent, false) ?? { name: "lead", role: "lead" as const, agentId: null };
    const to = await deps.agents?.byName(b.to);
    if (deps.agents && !to) throw new InputError("unknown_agent", `No agent named ${b.to}; add them with switchboard agents add.`, 404);
    return { handoff: await service.assign(id, to?.name ?? b.to, by) };
  });

  f.post("/api/handoffs/:id/reply", { preHandler: auth }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const b = ReplyBody.parse(body(req));
    const by = actingStaff(req, b.agent, true)!;
    try {
      const sent = await service.reply(id, by.name, b.text, { via: "api", ...(b.messageId ? { idempotencyKey: `api:${b.messageId}` } : {}) });
      const answer = { handoff: sent.handoff, messageId: sent.messageId, delivery: sent.delivery, ...(sent.error ? { error: sent.error } : {}) };
      // 202: recorded, and delivered by the outbox when it can (retrying, waiting for an adapter
      // or for an earlier message); the reply is not lost, and sending it again would not help.
      return reply.status(sent.delivery === "sent" ? 200 : 202).send(answer);
    } catch (err) {
      if (err instanceof DeliveryError) return reply.status(502).send({ error: { code: err.code, message: err.message } });
      throw err;
    }
  });

  f.post("/api/handoffs/:id/resolve", { preHandler: auth }, async (req) => {
    const { id } = req.params as { id: string };
    const b = ResolveBody.parse(body(req));
    const by = actingStaff(req, b.agent, false);
    return { handoff: await service.resolve(id, { agent: by?.name, note: b.note, by }) };
  });

  // Teaching the router: the right route of a user message, kept as a training line.
  f.post("/api/conversations/:id/messages/:messageId/route", { preHandler: auth }, async (req) => {
    const { id, messageId } = req.params as { id: string; messageId: string };
    const b = RouteBody.parse(body(req));
    if (!deps.corrections) throw new InputError("corrections_off", "Router corrections are not available in this process.", 503);
    return { correction: await deps.corrections.set({ messageId, conversationId: id, route: b.route, agent: actingStaff(req, b.agent, true)!.name }) };
  });

  f.post("/api/handoffs/:id/back-to-bot", { preHandler: auth }, async (req) => {
    const { id } = req.params as { id: string };
    const b = BackToBotBody.parse(body(req));
    const by = actingStaff(req, b.agent, false);
    return { handoff: await service.backToBot(id, by?.name, by) };
  });
}
