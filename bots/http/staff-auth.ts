import type { FastifyReply, FastifyRequest } from "fastify";
import { InputError } from "../../src/errors.ts";
import { AgentDirectory, validAgentName, type Staff } from "../../src/staff/agent-directory.ts";
import { refuseGuessing, type GuessGuard } from "./rate-limits.ts";
import { bearerMatches } from "./user-identity.ts";

/**
 * Who called a staff endpoint: an agent by their own token (the acting agent is always them), or
 * the lead bootstrap `CONSOLE_TOKEN` (a lead named by the body's `agent`, as before agents existed).
 */
export type StaffCaller = { kind: "agent"; staff: Staff } | { kind: "bootstrap" };

const callers = new WeakMap<FastifyRequest, StaffCaller>();

/** The caller `staffAuth` let through (undefined on a route without it). */
export function staffCaller(req: FastifyRequest): StaffCaller | undefined {
  return callers.get(req);
}

/**
 * The acting person of a staff request. An agent token acts as its owner: a body `agent` naming
 * someone else is refused (403 `not_you`). With `CONSOLE_TOKEN` the body names a lead; `required`
 * makes that name mandatory (claim, reply). Undefined only for the bootstrap with no name given.
 */
export function actingStaff(req: FastifyRequest, named: string | undefined, required: boolean): Staff | undefined {
  const caller = callers.get(req);
  if (caller?.kind === "agent") {
    const mine = caller.staff.name;
    if (named !== undefined && named.trim() !== "" && named.trim().toLowerCase() !== mine.toLowerCase()) {
      throw new InputError("not_you", `This token is ${mine}'s: it acts as ${mine} only, not as ${named.trim()}. Leave out agent, or sign in as them.`, 403);
    }
    return caller.staff;
  }
  if (named === undefined || named.trim() === "") {
    if (required) throw new InputError("agent_required", "agent is required with CONSOLE_TOKEN: the name of the person acting (or use your own agent token).");
    return undefined;
  }
  return { name: validAgentName(named), role: "lead", agentId: null };
}

/**
 * `Authorization: Bearer …` for the staff API (handoffs, conversations, refunds): CONSOLE_TOKEN,
 * or an agent's token from `switchboard agents add`. Wrong tokens count toward the guessing limit.
 */
export function staffAuth(consoleToken: string | undefined, agents: AgentDirectory | undefined, guesses: GuessGuard) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!consoleToken) {
      return reply.status(403).send({ error: { code: "disabled", message: "This endpoint is off: set CONSOLE_TOKEN to enable it." } });
    }
    const locked = guesses.locked(req);
    if (locked !== undefined) return refuseGuessing(reply, locked);
    const header = req.headers.authorization;
    if (bearerMatches(header, consoleToken)) {
      callers.set(req, { kind: "bootstrap" });
      return;
    }
    const given = header?.replace(/^Bearer\s+/i, "") ?? "";
    const agent = agents && AgentDirectory.looksLikeToken(given) ? await agents.verify(given) : undefined;
    if (agent) {
      callers.set(req, { kind: "agent", staff: { name: agent.name, role: agent.role, agentId: agent.id } });
      return;
    }
    const lockout = await guesses.failed(req);
    if (lockout !== undefined) return refuseGuessing(reply, lockout);
    return reply.status(401).send({ error: { code: "unauthorized", message: "Send Authorization: Bearer <CONSOLE_TOKEN> or your agent token (switchboard agents add)." } });
  };
}
