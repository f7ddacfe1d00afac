import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Config } from "../../src/config.ts";
import type { ConversationLog } from "../../src/conversations/conversation-log.ts";
import { InputError, errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import type { Outbox } from "../../src/outbox/outbox.ts";
import type { OutboxRow } from "../../src/outbox/outbox-store.ts";
import type { ReplySection } from "../../src/types.ts";
import { requireUserHash } from "./user-identity.ts";

type PreHandler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** What the events stream needs from the service. */
export interface ConversationEventsDeps {
  config: Pick<Config, "apiUserSecret">;
  log: Pick<ConversationLog, "getConversation">;
  outbox: Pick<Outbox, "onRecorded" | "visibleAfter">;
  logger: Logger;
}

export interface ConversationEventsOptions {
  /** How often the database is read for messages other processes wrote, in ms. */
  pollMs: number;
  /** How often a comment line keeps idle proxies from closing the stream, in ms. */
  heartbeatMs: number;
  /** Rows read at a time when catching up. */
  batchSize: number;
  /** The reconnection delay the stream asks EventSource clients to use, in ms. */
  retryMs: number;
}

export const CONVERSATION_EVENTS_DEFAULTS = {
  /** @defaultValue 1000 */
  pollMs: 1000,
  /** @defaultValue 15000 */
  heartbeatMs: 15_000,
  /** @defaultValue 100 */
  batchSize: 100,
  /** @defaultValue 2000 */
  retryMs: 2000,
} as const satisfies ConversationEventsOptions;

/** One event of the stream: an outbound message of the conversation. Its SSE `id` is its position. */
export interface ConversationEvent {
  messageId: string;
  author: OutboxRow["author"];
  /** Markdown. */
  text: string;
  sections: ReplySection[];
  createdAt: string;
}

const EventsQuery = z.object({
  userId: z.string().trim().min(1, "userId must not be empty").max(200).optional(),
  userHash: z.string().max(200).optional(),
  /** For clients that cannot send the `Last-Event-ID` header on their first connection. */
  lastEventId: z.string().optional(),
});

/**
 * `GET /api/conversations/:id/events`: server-sent events of every outbound message of an HTTP
 * conversation (bot replies, staff replies, notices, decisions), for its user. Events come from
 * the outbox's table in `seq` order and carry `seq` as their id, so a client that reconnects with
 * `Last-Event-ID` gets what it missed, once. The stream wakes at once when this process records
 * a message and reads the database every `pollMs` for those other processes wrote.
 */
export function registerConversationEvents(f: FastifyInstance, deps: ConversationEventsDeps, auth: PreHandler, options: Partial<ConversationEventsOptions> = {}): void {
  const o: ConversationEventsOptions = { ...CONVERSATION_EVENTS_DEFAULTS, ...options };
  const log = deps.logger.child({ component: "http-events" });
  const streams = new OpenStreams(f, o);

  f.get("/api/conversations/:id/events", { preHandler: auth }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const q = EventsQuery.parse(req.query ?? {});
    const userId = q.userId ?? headerValue(req, "x-user-id")?.trim();
    if (!userId) throw new InputError("user_required", "Send userId (query parameter or X-User-Id header): the user whose conversation this is.", 400);
    requireUserHash(deps.config.apiUserSecret, userId, q.userHash ?? headerValue(req, "x-user-hash"));
    const conversation = await deps.log.getConversation(id);
    // Someone else's conversation, or another platform's, is answered as one that does not exist.
    if (!conversation || conversation.platform !== "http" || conversation.userId !== userId) {
      throw new InputError("unknown_conversation", `No conversation ${id}.`, 404);
    }
    const after = parseCursor(headerValue(req, "last-event-id") ?? q.lastEventId);

    const slog = log.child({ conversationId: id });
    slog.debug({ after }, "events stream opened");
    await streams.serve(reply, {
      after,
      read: async (cursor) => (await deps.outbox.visibleAfter(id, cursor, o.batchSize)).map(toEvent),
      subscribe: (wake) => deps.outbox.onRecorded((conversationId) => conversationId === id && wake()),
      log: slog,
    });
    slog.debug("events stream closed");
  });
}

/**
 * The open streams of one route. A stream never ends by itself, so they all end when the server
 * closes (or it would wait for them forever).
 */
export class OpenStreams {
  readonly #open = new Set<() => void>();
  readonly #timing: EventStreamTiming;

  constructor(f: FastifyInstance, timing: EventStreamTiming) {
    this.#timing = timing;
    f.addHook("preClose", async () => {
      for (const end of this.#open) end();
    });
  }

  /**
   * Takes the reply over and streams what `read` returns after `after` until the client leaves,
   * woken at once by whatever `subscribe` reports (it returns its unsubscribe). An error ends the
   * stream, logged: the client reconnects (EventSource does by itself) and resumes from its last event.
   */
  async serve(
    reply: FastifyReply,
    s: { after: string; read: (cursor: string) => Promise<Array<{ seq: string; event: unknown }>>; subscribe: (wake: () => void) => () => void; log: Logger },
  ): Promise<void> {
    reply.hijack();
    const stream = new EventStream(reply.raw, this.#timing);
    const end = () => stream.end();
    this.#open.add(end);
    const off = s.subscribe(() => stream.wake());
    try {
      await stream.run(s.after, s.read);
    } catch (err) {
      s.log.warn({ err: errorMessage(err) }, "events stream ended on an error");
    } finally {
      off();
      this.#open.delete(end);
      stream.end();
    }
  }
}

/** The timing an `EventStream` needs (a part of `ConversationEventsOptions`). */
export type EventStreamTiming = Pick<ConversationEventsOptions, "pollMs" | "heartbeatMs" | "batchSize" | "retryMs">;

/**
 * One open server-sent-events stream: writes events in order, waits for a wake-up (or the next
 * poll) between reads, ends once. Also the console's live view (bots/console/live.ts).
 */
export class EventStream {
  readonly #raw: ServerResponse;
  readonly #o: EventStreamTiming;
  #closed = false;
  #woken = false;
  #resume: (() => void) | undefined;

  constructor(raw: ServerResponse, options: EventStreamTiming) {
    this.#raw = raw;
    this.#o = options;
    raw.on("close", () => this.end());
  }

  /** There may be something new: read again now (or right after the read in progress). */
  wake(): void {
    this.#woken = true;
    this.#resume?.();
  }

  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.wake();
    if (!this.#raw.writableEnded) this.#raw.end();
  }

  /** Streams what `read` returns after `after`, each row as an `event: message` with `seq` as its id. */
  async run(after: string, read: (cursor: string) => Promise<Array<{ seq: string; event: unknown }>>): Promise<void> {
    this.#raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // Proxies such as nginx would otherwise hold events back in their buffer.
      "x-accel-buffering": "no",
    });
    this.#raw.write(`retry: ${this.#o.retryMs}\n\n`);
    const poll = setInterval(() => this.wake(), this.#o.pollMs);
    const beat = setInterval(() => {
      if (!this.#closed && !this.#raw.writableNeedDrain) this.#raw.write(": keep-alive\n\n");
    }, this.#o.heartbeatMs);
    let cursor = after;
    try {
      while (!this.#closed) {
        this.#woken = false;
        const rows = await read(cursor);
        for (const row of rows) {
          if (this.#closed) return;
          await this.#write(`id: ${row.seq}\nevent: message\ndata: ${JSON.stringify(row.event)}\n\n`);
          cursor = row.seq;
        }
        if (rows.length === this.#o.batchSize || this.#woken) continue;
        await new Promise<void>((resolve) => {
          this.#resume = resolve;
        });
        this.#resume = undefined;
      }
    } finally {
      clearInterval(poll);
      clearInterval(beat);
    }
  }

  /** Writes a frame, waiting while the client is slower than the stream. */
  async #write(chunk: string): Promise<void> {
    if (this.#raw.write(chunk) || this.#closed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.#raw.off("drain", done);
        this.#raw.off("close", done);
        resolve();
      };
      this.#raw.on("drain", done);
      this.#raw.on("close", done);
    });
  }
}

/** One outbound message as the stream sends it; `seq` is its event id. */
function toEvent(row: OutboxRow): { seq: string; event: ConversationEvent } {
  return {
    seq: row.seq,
    event: {
      messageId: row.id,
      author: row.author,
      text: row.text,
      sections: row.payload?.sections ?? [],
      createdAt: row.createdAt.toISOString(),
    },
  };
}

/** A `Last-Event-ID` is a `seq` this stream sent; none: from the start. */
function parseCursor(value: string | undefined): string {
  if (value === undefined || value.trim() === "") return "0";
  const v = value.trim();
  if (!/^\d{1,18}$/.test(v)) throw new InputError("invalid_last_event_id", `Last-Event-ID must be the id of an event this stream sent, got "${v.slice(0, 40)}".`, 400);
  return String(BigInt(v));
}

function headerValue(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
