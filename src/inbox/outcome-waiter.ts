import type pg from "pg";
import { CHANNELS, WaitsListener, type PgListener } from "../db/pg-listener.ts";
import { SwitchboardError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { GIVE_UP_KEY_PREFIX, REPLY_KEY_PREFIX, relayedOutcome, replyOutcome } from "../turns/outcome.ts";
import type { HandoffReason, Outcome, ReplySection, RouteScore } from "../types.ts";

/** The message was stored and queued, but no worker finished it in time; it will still be answered. */
export class ReplyTimeoutError extends SwitchboardError {
  readonly messageId: string;
  readonly conversationId: string;

  constructor(messageId: string, conversationId: string, timeoutMs: number) {
    super("reply_timeout", `Message ${messageId} is queued but was not answered within ${timeoutMs} ms; the answer will follow in the conversation.`);
    this.messageId = messageId;
    this.conversationId = conversationId;
  }
}

export interface OutcomeWaiterOptions {
  pool: pg.Pool;
  logger: Logger;
  /** The process's LISTEN connection (a Postgres server). Unset: poll only (embedded Postgres has no NOTIFY across connections). */
  listener?: PgListener | undefined;
  /** How often unanswered waits are checked in the database, in ms. Default 200 without LISTEN, 2000 with it. */
  pollMs?: number;
  /** How long `wait` waits by default, in ms. Default 60000. */
  timeoutMs?: number;
}

/** The statuses of a finished inbound message. */
const FINISHED = new Set(["done", "failed"]);

/** Messages submitted here whose outcome nobody asked for yet, remembered at most (then a late ask polls). */
const UNASKED_MAX = 5000;

/** What became of a message submitted here before anyone asked for its outcome. */
interface Unasked {
  /** Settled by this process's worker. */
  outcome?: Outcome;
}

/**
 * A promise of an outcome that starts waiting when it is first asked for (`then`, `catch`,
 * `finally`, `await`): a message nobody waits for (a chat event, acknowledged at once, whose reply
 * goes out through the outbox) costs no read of its outcome, and a wait never asked for cannot
 * fail unobserved.
 */
class LazyOutcome implements Promise<Outcome> {
  readonly [Symbol.toStringTag] = "Promise";
  readonly #start: () => Promise<Outcome>;
  #started: Promise<Outcome> | undefined;

  constructor(start: () => Promise<Outcome>) {
    this.#start = start;
  }

  #promise(): Promise<Outcome> {
    return (this.#started ??= this.#start());
  }

  then<A = Outcome, B = never>(onFulfilled?: ((value: Outcome) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#promise().then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Outcome | B> {
    return this.#promise().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<Outcome> {
    return this.#promise().finally(onFinally);
  }
}

interface Waiting {
  conversationId: string;
  resolve: (outcome: Outcome) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

/**
 * Waits for the outcome of a queued message, wherever it is processed. A worker in this process
 * hands its outcome over directly (`settle`); one in another process is seen in the database: the
 * message finished (a trigger NOTIFYs `switchboard_message_finished` for a message marked
 * awaited, as `wait` marks it) and its outcome is read back from the log (the recorded reply,
 * routes and handoff).
 */
export class OutcomeWaiter {
  readonly #o: OutcomeWaiterOptions;
  readonly #log: Logger;
  readonly #waiting = new Map<string, Waiting>();
  readonly #unasked = new Map<string, Unasked>();
  /**
   * Finished messages while someone waits (the listener LISTENs only then: every LISTENing
   * backend is woken by every NOTIFY of the database). `undefined`: the LISTEN is (back) in
   * place, and whatever finished before it is read too.
   */
  readonly #notifications: WaitsListener;
  #poller: NodeJS.Timeout | undefined;
  #polling = false;
  #stopped = false;
  #readFailing = false;

  constructor(options: OutcomeWaiterOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "outcomes" });
    this.#notifications = new WaitsListener(options.listener, CHANNELS.messageFinished, this.#waiting, (ids) => void this.#check(ids));
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poller);
    this.#poller = undefined;
    for (const [messageId, w] of this.#waiting) {
      clearTimeout(w.timer);
      w.reject(new SwitchboardError("shutting_down", `Stopped waiting for message ${messageId}: the service is shutting down.`));
    }
    this.#waiting.clear();
    this.#unasked.clear();
    this.#notifications.close();
  }

  /** Resolves with the message's outcome; rejects with `ReplyTimeoutError` after `timeoutMs`. */
  wait(messageId: string, conversationId: string, timeoutMs = this.#o.timeoutMs ?? 60_000): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(messageId);
        this.#notifications.settled();
        reject(new ReplyTimeoutError(messageId, conversationId, timeoutMs));
      }, timeoutMs);
      this.#waiting.set(messageId, { conversationId, resolve, reject, timer });
      this.#notifications.opened();
      if (this.#o.listener) void this.#await(messageId);
      this.#ensurePolling();
    });
  }

  /**
   * Marks the message awaited, so that its finish NOTIFYs (`outcome_awaited`, migrations/016),
   * and reads its outcome at once if it finished already: the one statement returns the status
   * the update left.
   */
  async #await(messageId: string): Promise<void> {
    try {
      const r = await this.#o.pool.query<{ status: string }>("update messages set outcome_awaited = true where id = $1 and direction = 'in' returning status", [messageId]);
      if (FINISHED.has(r.rows[0]?.status ?? "")) await this.#check([messageId]);
    } catch (err) {
      // The poll reads it.
      this.#log.warn({ messageId, err: errorMessage(err) }, "could not mark a message awaited; its outcome is polled");
    }
  }

  /**
   * `wait`, started when the outcome is first asked for (see `LazyOutcome`); the timeout counts
   * from then. An outcome this process settled meanwhile is handed over; one another process
   * recorded is read at once (`wait`).
   */
  later(messageId: string, conversationId: string, timeoutMs?: number): Promise<Outcome> {
    this.#unasked.set(messageId, {});
    if (this.#unasked.size > UNASKED_MAX) this.#unasked.delete(this.#unasked.keys().next().value!);
    return new LazyOutcome(() => {
      const seen = this.#unasked.get(messageId);
      this.#unasked.delete(messageId);
      if (seen?.outcome) return Promise.resolve(seen.outcome);
      return this.wait(messageId, conversationId, timeoutMs);
    });
  }

  /** The recorded outcome of a finished message; undefined while it is unfinished. */
  async read(messageId: string): Promise<Outcome | undefined> {
    return (await readOutcomes(this.#o.pool, [messageId])).get(messageId);
  }

  /** The outcome of a message processed in this process. */
  settle(messageId: string, outcome: Outcome): void {
    const w = this.#waiting.get(messageId);
    if (!w) {
      const u = this.#unasked.get(messageId);
      if (u) u.outcome = outcome;
      return;
    }
    clearTimeout(w.timer);
    this.#waiting.delete(messageId);
    this.#notifications.settled();
    w.resolve(outcome);
  }

  #ensurePolling(): void {
    if (this.#poller || this.#stopped) return;
    const every = this.#o.pollMs ?? (this.#o.listener ? 2000 : 200);
    this.#poller = setInterval(() => {
      if (this.#waiting.size === 0) {
        clearInterval(this.#poller);
        this.#poller = undefined;
        return;
      }
      if (this.#polling) return;
      this.#polling = true;
      void this.#check([...this.#waiting.keys()]).finally(() => {
        this.#polling = false;
      });
    }, every);
    this.#poller.unref();
  }

  async #check(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      const outcomes = await readOutcomes(this.#o.pool, ids);
      for (const [id, outcome] of outcomes) this.settle(id, outcome);
      this.#readFailing = false;
    } catch (err) {
      // The waits stay; the next poll (or the LISTEN connection coming back) reads them.
      if (!this.#readFailing) this.#log.warn({ err: errorMessage(err) }, "could not read message outcomes; retrying");
      this.#readFailing = true;
    }
  }
}

interface OutcomeRow {
  id: string;
  conversation_id: string;
  status: string;
  latency_ms: number | null;
  reply_text: string | null;
  reply_payload: { sections?: ReplySection[] } | null;
  routes: Array<{ route: RouteScore["route"]; confidence: number }> | null;
  engine: string | null;
  handoff_id: string | null;
  handoff_reason: HandoffReason | null;
  handoff_detail: string | null;
  open_handoff_id: string | null;
}

/**
 * The outcomes of finished inbound messages (done or failed) as recorded in the log; messages
 * still waiting or running are left out.
 */
export async function readOutcomes(pool: pg.Pool, messageIds: string[]): Promise<Map<string, Outcome>> {
  const r = await pool.query<OutcomeRow>(
    `select m.id, m.conversation_id, m.status,
            extract(epoch from (m.processed_at - m.created_at)) * 1000 as latency_ms,
            o.text as reply_text, o.payload as reply_payload,
            rd.routes, rd.engine,
            h.id as handoff_id, h.reason as handoff_reason, h.detail as handoff_detail,
            (select id from handoffs oh where oh.conversation_id = m.conversation_id and oh.status <> 'resolved' limit 1) as open_handoff_id
     from messages m
     left join lateral (
       -- the reply, or the notice sent when answering was given up
       select text, payload from messages o
       where o.idempotency_key in ($2::text || m.id::text, $3::text || m.id::text)
       order by starts_with(o.idempotency_key, $3::text) desc limit 1) o on true
     left join lateral (select routes, engine from routing_decisions where message_id = m.id order by created_at desc limit 1) rd on true
     left join lateral (select id, reason, detail from handoffs where message_id = m.id order by created_at desc limit 1) h on true
     where m.id = any($1::uuid[]) and m.direction = 'in' and m.status in ('done', 'failed')`,
    [messageIds, REPLY_KEY_PREFIX, GIVE_UP_KEY_PREFIX],
  );
  const outcomes = new Map<string, Outcome>();
  for (const row of r.rows) {
    if (row.reply_text === null) {
      outcomes.set(row.id, relayedOutcome(row.conversation_id, row.id, row.open_handoff_id));
      continue;
    }
    outcomes.set(
      row.id,
      replyOutcome({
        conversationId: row.conversation_id,
        messageId: row.id,
        text: row.reply_text,
        sections: row.reply_payload?.sections ?? [],
        routes: row.routes ?? [],
        handoff: row.handoff_id && row.handoff_reason ? { id: row.handoff_id, reason: row.handoff_reason, detail: row.handoff_detail ?? "" } : null,
        engine: row.engine,
        latencyMs: Number(row.latency_ms ?? 0),
      }),
    );
  }
  return outcomes;
}
