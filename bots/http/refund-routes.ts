import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { REFUND_STATUSES, type RefundApprovals, type RefundStatus } from "../../src/handoffs/refund-approvals.ts";
import { InputError } from "../../src/errors.ts";
import { actingStaff } from "./staff-auth.ts";

type PreHandler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const ListQuery = z.object({
  status: z.enum(REFUND_STATUSES as [RefundStatus, ...RefundStatus[]], { error: `status must be one of ${REFUND_STATUSES.join(", ")}` }).optional(),
  handoff: z.string().uuid("handoff must be a handoff id").optional(),
});
const name = z.string().trim().min(1).max(80).optional();
const ApproveBody = z.object({ agent: name });
const RejectBody = z.object({
  agent: name,
  reason: z.string({ error: "reason is required: the user is told why" }).trim().min(1, "reason must not be empty").max(500, "reason is longer than 500 characters"),
});

export interface RefundRoutesDeps {
  /** Refund approvals; absent: the endpoints answer 503. */
  refunds?: Pick<RefundApprovals, "list" | "approve" | "reject">;
}

/**
 * Refund approvals under /api/refunds (staff auth): the refunds waiting for a person, and
 * Approve / Reject. The acting agent is the token's owner (or, with CONSOLE_TOKEN, the body's
 * `agent`, a lead).
 */
export function registerRefundRoutes(f: FastifyInstance, deps: RefundRoutesDeps, auth: PreHandler): void {
  const service = () => {
    if (!deps.refunds) throw new InputError("refunds_off", "Refund approvals are not available in this process.", 503);
    return deps.refunds;
  };
  const body = (req: FastifyRequest) => (req.body === undefined || req.body === null ? {} : req.body);

  f.get("/api/refunds", { preHandler: auth }, async (req) => {
    const q = ListQuery.parse(req.query ?? {});
    return { refunds: await service().list({ ...(q.status ? { status: q.status } : {}), ...(q.handoff ? { handoffId: q.handoff } : {}) }) };
  });

  f.post("/api/refunds/:id/approve", { preHandler: auth }, async (req) => {
    const { id } = req.params as { id: string };
    const b = ApproveBody.parse(body(req));
    return service().approve(id, actingStaff(req, b.agent, true)!);
  });

  f.post("/api/refunds/:id/reject", { preHandler: auth }, async (req) => {
    const { id } = req.params as { id: string };
    const b = RejectBody.parse(body(req));
    return service().reject(id, actingStaff(req, b.agent, true)!, b.reason);
  });
}
