import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { InboxChanges } from "../../src/handoffs/inbox-changes.ts";
import type { Logger } from "../../src/logger.ts";
import type { Outbox } from "../../src/outbox/outbox.ts";
import { CONVERSATION_EVENTS_DEFAULTS, OpenStreams, type EventStreamTiming } from "../http/conversation-events.ts";

/** Timing of the console's live stream. */
export const CONSOLE_LIVE_DEFAULTS = {
  ...CONVERSATION_EVENTS_DEFAULTS,
  /** How often the database is asked whether anything changed, in ms. @defaultValue 1000 */
  pollMs: 1000,
} as const satisfies EventStreamTiming;

const LiveQuery = z.object({
  handoff: z.string().uuid().optional(),
  /** The version the page was rendered at (`data-version`); the first change after it is sent. */
  since: z.string().max(200).optional(),
});

export interface ConsoleLiveDeps {
  inboxChanges?: Pick<InboxChanges, "queueVersion" | "handoffVersion">;
  /** Wakes the streams at once when this process records an outbound message. */
  outbox?: Pick<Outbox, "onRecorded">;
  logger: Logger;
}

/**
 * `GET /console/events[?handoff=ID]`: server-sent events for a console page, one `message`
 * event (`{version}`) each time what the page shows changed; the page then fetches itself
 * again. Changes are read from the database (`InboxChanges`), so writes of every process count,
 * on embedded Postgres and on a server alike; this process's own outbound messages wake the
 * streams at once. The same `EventStream` as the conversations' events stream.
 */
export function registerConsoleLive(
  f: FastifyInstance,
  deps: ConsoleLiveDeps,
  guard: (req: FastifyRequest, reply: FastifyReply) => Promise<boolean>,
  options: Partial<EventStreamTiming> = {},
): void {
  const o: EventStreamTiming = { ...CONSOLE_LIVE_DEFAULTS, ...options };
  const log = deps.logger.child({ component: "console-live" });
  const streams = new OpenStreams(f, o);

  f.get("/console/events", async (req, reply) => {
    if (!(await guard(req, reply))) return reply;
    const changes = deps.inboxChanges;
    if (!changes) return reply.status(503).send({ error: { code: "live_off", message: "Live updates are not available in this process." } });
    const q = LiveQuery.parse(req.query ?? {});
    const version = q.handoff ? () => changes.handoffVersion(q.handoff!) : () => changes.queueVersion();
    const lastSeen = req.headers["last-event-id"];
    const since = (Array.isArray(lastSeen) ? lastSeen[0] : lastSeen) ?? q.since ?? (await version());

    await streams.serve(reply, {
      after: since,
      read: async (cursor) => {
        const now = await version();
        return now === cursor ? [] : [{ seq: now, event: { version: now } }];
      },
      subscribe: (wake) => deps.outbox?.onRecorded(() => wake()) ?? (() => {}),
      log,
    });
    return reply;
  });
}
