import { EventEmitter } from "node:events";
import type pg from "pg";
import type { StatementPart } from "../db/prepared.ts";
import { errorMessage, isDatabaseUnavailable } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import type { ChannelAdapter, DeliveryProgress, DeliveryResult } from "../ports.ts";
import type { OutboundKind, OutboundReply, Platform, ReplySection } from "../types.ts";
import { DeliveryRefused } from "./delivery-refused.ts";
import { OutboxStore, type ClaimedRow, type OutboxRow } from "./outbox-store.ts";

/** Who an outbound message is from. `system`: a notice from the service (a refund decision, an SLA note). */
export type OutboundAuthor = { kind: "bot" } | { kind: "agent"; name: string } | { kind: "system" };

/** A message to record and deliver. */
export interface OutboundMessage {
  conversationId: string;
  /**
   * The inbound message this answers (a bot reply), or the user's latest message when it was
   * recorded (a staff reply): the message goes where that one would be answered.
   */
  inReplyTo: string | null;
  author: OutboundAuthor;
  /** Markdown. */
  text: string;
  sections?: ReplySection[];
  footer?: string;
  /** One row, and at most one delivery, per key. */
  idempotencyKey: string;
  /**
   * `question_post`: the post a Slack `/support` question hangs from (see `SubmitOptions`);
   * `partial`: the ready parts of an answer, replaced by a later version (see `revises`).
   */
  kind?: OutboundKind;
  /**
   * The idempotency key of a message of the same conversation that this one replaces: delivered
   * after it (the conversation's order), by editing the platform messages it posted.
   */
  revises?: string;
}

/**
 * Where a message stands:
 * - `sent`: the platform accepted all of it;
 * - `sending`: another caller (or process) is delivering it now: in flight, not "send again";
 * - `queued`: an earlier message of the conversation is not delivered yet; this one follows it;
 * - `retry`: the platform did not take it; tried again after a backoff;
 * - `no_adapter`: this process cannot reach the platform; a process that can delivers it;
 * - `failed`: given up.
 */
export type DeliveryStatus = "sent" | "sending" | "queued" | "retry" | "no_adapter" | "failed";

export interface SendResult {
  messageId: string;
  /** False when the key was recorded before (a retry, a redelivered staff reply). */
  created: boolean;
  status: DeliveryStatus;
  /** Why it is not sent, when it is not. */
  error?: string;
}

export interface OutboxOptions {
  pool: pg.Pool;
  logger: Logger;
  metrics: Metrics;
  /** Delivery attempts of a message before it is given up. Default 8 (about 10 minutes of backoff). */
  maxAttempts?: number;
  /** How often undelivered messages are looked for, in ms. Default 2000; 0: never (tests). */
  sweepMs?: number;
  /**
   * How long a claim on a message lasts before another process may take it over, in ms. A live
   * deliverer renews it while it sends; a dead one's runs out. Default 15000.
   */
  claimMs?: number;
  /** A `pending` message younger than this is its recorder's to deliver; the sweep leaves it alone. Default 5000 ms. */
  graceMs?: number;
  /** Named prepared statements for the sent mark (a Postgres server; not embedded Postgres, see `prepared`). Default false. */
  preparedStatements?: boolean;
}

/** Backoff before attempt n+1: 2, 4, 8 … s, at most 5 minutes. */
export function backoffMs(attempts: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.max(1, attempts));
}

/**
 * The outbox: the single way out for every outbound message — bot replies, staff replies,
 * give-up notices, refund decisions, SLA notes. A message is recorded under its idempotency key
 * (a row of `messages`), delivered through its platform's adapter, and marked `sent` only after
 * the platform accepted every part. Messages of one conversation are delivered in the order
 * they were recorded. A message this process cannot deliver (no adapter for its platform, or the
 * platform failing) stays visible as `no_adapter` / `retry` and is delivered by whichever process
 * can, when it can (`attach`, the sweep).
 */
export class Outbox {
  readonly #store: OutboxStore;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #adapters = new Map<Platform, ChannelAdapter>();
  readonly #maxAttempts: number;
  readonly #claimMs: number;
  readonly #sweepMs: number;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #recorded = new EventEmitter();
  readonly #warnedNoAdapter = new Set<Platform>();
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #closed = false;

  constructor(options: OutboxOptions) {
    this.#claimMs = options.claimMs ?? 15_000;
    this.#store = new OutboxStore(options.pool, { claimMs: this.#claimMs, graceMs: options.graceMs ?? 5000, named: options.preparedStatements ?? false });
    this.#log = options.logger.child({ component: "outbox" });
    this.#metrics = options.metrics;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#sweepMs = options.sweepMs ?? 2000;
    this.#recorded.setMaxListeners(0);
    options.metrics.observeOutbox(() => this.#store.undelivered());
  }

  /** Messages to this adapter's platform go out through it; those waiting for one are delivered now. */
  attach(adapter: ChannelAdapter): void {
    this.#adapters.set(adapter.platform, adapter);
    this.#warnedNoAdapter.delete(adapter.platform);
    // A sweep in flight looked only at the platforms attached before this one: sweep again after it.
    this.#track(this.#sweeping ? this.#sweeping.then(() => this.sweep()) : this.sweep());
  }

  /** Platforms this process can deliver to. */
  platforms(): Platform[] {
    return [...this.#adapters.keys()];
  }

  /** Starts the sweep: undelivered messages whose platform this process reaches, retried when due. */
  start(): void {
    if (this.#timer || this.#sweepMs <= 0) return;
    this.#timer = setInterval(() => this.#track(this.sweep()), this.#sweepMs);
    this.#timer.unref();
  }

  /** Stops the sweep and waits for deliveries in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Records the message (once per key) and delivers it now if it is its turn. */
  async send(message: OutboundMessage): Promise<SendResult> {
    const { id, created } = await this.record(message);
    const result = await this.deliver(id);
    return { ...result, created };
  }

  /** Records the message without delivering it, on `tx` when given (to commit with other writes). */
  async record(message: OutboundMessage, tx?: Pick<pg.ClientBase, "query">): Promise<{ id: string; created: boolean }> {
    const recorded = await this.#store.record(message, tx);
    if (recorded.created) this.#recorded.emit("recorded", message.conversationId);
    return recorded;
  }

  /**
   * Records the message on `tx`, a transaction of the caller's, without delivering it; the
   * caller calls `committed` once `tx` committed (then it is announced, and may be delivered).
   */
  async recordIn(tx: Pick<pg.ClientBase, "query">, message: OutboundMessage): Promise<RecordedIn> {
    // Claimed for delivery in the same transaction (one commit less per message): once `tx`
    // commits, the message is this caller's to deliver (`deliver`). If the caller dies first, the
    // claim runs out and the sweep (or the job's retry) delivers it, as after any claim. The
    // claim finds the message by its key, so both statements are issued at once (they may share
    // a pipelined transaction's round trip; `tx` runs them in this order).
    const [recorded, claimed] = await Promise.all([this.#store.record(message, tx), this.#store.claim({ key: message.idempotencyKey }, tx)]);
    return {
      ...recorded,
      committed: () => recorded.created && void this.#recorded.emit("recorded", message.conversationId),
      deliver: (withSent) => (claimed ? this.#deliverNow(claimed, withSent) : this.deliver(recorded.id)),
    };
  }

  /**
   * `recordIn` without a transaction: the message, claimed when it is its turn, and `alongside`
   * (the caller's other writes, as statement parts) in one statement, so they commit together
   * in one round trip; then `committed` and `deliver` as after `recordIn`.
   */
  async recordWith(message: OutboundMessage, alongside: readonly StatementPart[]): Promise<RecordedIn> {
    const recorded = await this.#store.recordClaimed(message, alongside);
    const claimed = recorded.claimed;
    return {
      id: recorded.id,
      created: recorded.created,
      committed: () => recorded.created && void this.#recorded.emit("recorded", message.conversationId),
      deliver: (withSent) => (claimed ? this.#deliverNow(claimed, withSent) : this.deliver(recorded.id)),
    };
  }

  /** The message recorded under a key, if any. */
  find(idempotencyKey: string): Promise<OutboxRow | undefined> {
    return this.#store.findByKey(idempotencyKey);
  }

  /** A conversation's messages after position `seq` as its user sees them (see `OutboxStore.visibleAfter`). */
  visibleAfter(conversationId: string, seq: string, limit: number): Promise<OutboxRow[]> {
    return this.#store.visibleAfter(conversationId, seq, limit);
  }

  /** Gives a message up (its job handed the conversation to a person instead): it will not be sent. */
  async abandon(id: string, reason: string): Promise<void> {
    await this.#store.abandon(id, reason);
  }

  /** Calls `listener` with the conversation id whenever this process records a message (server-sent events wake on it). */
  onRecorded(listener: (conversationId: string) => void): () => void {
    this.#recorded.on("recorded", listener);
    return () => this.#recorded.off("recorded", listener);
  }

  /**
   * Delivers a recorded message if nobody else is and no earlier message of its conversation is
   * still undelivered; otherwise says where it stands.
   */
  async deliver(id: string): Promise<Omit<SendResult, "created">> {
    const row = await this.#store.claim(id);
    if (!row) {
      const current = await this.#store.get(id);
      if (!current) throw new Error(`no outbound message ${id}`);
      // Behind an earlier message, on a platform this process cannot reach: "queued" would promise
      // a delivery from here. Marked no_adapter, it waits (in order) for a process that can.
      if (current.status === "pending" && !this.#adapters.has(current.platform)) {
        const error = noAdapterError(current.platform);
        if (await this.#store.markWaitingNoAdapter(id, error)) {
          this.#metrics.outboxDeliveries.inc({ platform: current.platform, result: "no_adapter" });
          return { messageId: id, status: "no_adapter", error };
        }
        return this.deliver(id);
      }
      return { messageId: id, status: standing(current), ...(current.error ? { error: current.error } : {}) };
    }
    return this.#deliverNow(row);
  }

  #deliverNow(row: ClaimedRow, withSent?: StatementPart): Promise<Delivered> {
    const work = this.#deliverClaimed(row, withSent);
    this.#track(work);
    return work;
  }

  /**
   * Delivers the message, waiting while someone else holds it (a delivery in flight elsewhere, or
   * one a crashed process left claimed, until its claim runs out) — at most `maxWaitMs`. For the
   * job that must know its reply went out.
   */
  async deliverOrWait(id: string, maxWaitMs = 2 * this.#claimMs): Promise<Omit<SendResult, "created">> {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const result = await this.deliver(id);
      if (result.status !== "sending" || Date.now() > deadline || this.#closed) return result;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Delivers what is due in this process: undelivered messages of the platforms it has adapters for. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(): Promise<void> {
    const platforms = this.platforms();
    if (platforms.length === 0 || this.#closed) return;
    let due: string[];
    try {
      due = await this.#store.due(platforms, 100);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, "outbox: could not look for undelivered messages");
      return;
    }
    for (const id of due) {
      if (this.#closed) return;
      await this.deliver(id).catch((err: unknown) => this.#log.error({ id, err: errorMessage(err) }, "outbox: delivery failed"));
    }
  }

  async #deliverClaimed(row: ClaimedRow, withSent?: StatementPart): Promise<Delivered> {
    const log = this.#log.child({ messageId: row.id, conversationId: row.conversationId, platform: row.platform });
    const adapter = this.#adapters.get(row.platform);
    if (!adapter) {
      const error = noAdapterError(row.platform);
      await this.#store.markNoAdapter(row.id, error);
      this.#metrics.outboxDeliveries.inc({ platform: row.platform, result: "no_adapter" });
      if (!this.#warnedNoAdapter.has(row.platform)) {
        this.#warnedNoAdapter.add(row.platform);
        log.warn(`outbox: cannot deliver to ${row.platform} from this process (no ${row.platform} adapter); the message waits for one`);
      }
      return { messageId: row.id, status: "no_adapter", error };
    }
    const { target } = row;
    const reply: OutboundReply = {
      platform: row.platform,
      conversationKey: target.conversationKey,
      conversationId: row.conversationId,
      text: row.text,
      sections: row.payload?.sections ?? [],
      ...(row.payload?.footer ? { footer: row.payload.footer } : {}),
      author: row.author,
      messageId: row.id,
      userId: target.userId,
      ...(target.replyContext ? { replyContext: target.replyContext } : {}),
      idempotencyKey: row.idempotencyKey,
      kind: row.kind,
      ...(row.revisesRefs ? { revises: { refs: row.revisesRefs } } : {}),
    };
    let partsSent = row.partsSent;
    // The last part's record, written with the sent mark (see `DeliveryProgress.partSent`).
    let last: PartsSent | undefined;
    const storeParts = (parts: PartsSent) => this.#untilStored(() => this.#store.setPartsSent(row.id, parts.parts, parts.placed), log);
    const progress: DeliveryProgress = {
      partsSent,
      attempt: row.attempts,
      partSent: async (index, ref, of) => {
        partsSent = Math.max(partsSent, index + 1);
        const parts: PartsSent = { parts: partsSent, ...(ref === undefined ? {} : { placed: { index, ref } }) };
        if (of !== undefined && index + 1 >= of) last = parts;
        else await storeParts(parts);
      },
    };
    let result: DeliveryResult | void;
    // Renew the claim while the platform is slow, so nobody takes over a live delivery.
    const renew = setInterval(() => void this.#store.renewClaim(row.id).catch(() => undefined), Math.max(1000, this.#claimMs / 3));
    try {
      result = await adapter.deliver(reply, progress);
    } catch (err) {
      // What the platform took is recorded before the attempt is: a retry must not post it again.
      if (last) await storeParts(last).catch((e: unknown) => log.error({ err: errorMessage(e) }, "outbox: could not record the parts the platform took"));
      clearInterval(renew);
      const error = errorMessage(err);
      const final = err instanceof DeliveryRefused || row.attempts >= this.#maxAttempts;
      this.#metrics.errors.inc({ stage: `deliver:${row.platform}` });
      this.#metrics.outboxDeliveries.inc({ platform: row.platform, result: final ? "failed" : "retry" });
      if (final) {
        await this.#store.markFailed(row.id, error);
        log.error({ err: error, attempts: row.attempts }, "outbox: gave up delivering a message");
        this.#track(this.#flush(row.conversationId));
        return { messageId: row.id, status: "failed", error };
      }
      const wait = backoffMs(row.attempts);
      await this.#store.markRetry(row.id, error, wait);
      log.warn({ err: error, attempt: row.attempts, retryInMs: wait, partsSent }, "outbox: delivery failed; will retry");
      return { messageId: row.id, status: "retry", error };
    }
    // The platform has it: record that even if the database is away right now, or a retry would
    // post it again. (Its claim is renewed meanwhile, so nobody else takes it over.)
    let marked: { next: string[]; withSent?: { result: unknown } } = { next: [] };
    try {
      await this.#untilStored(async () => {
        marked = await this.#store.markSent(row, result?.moveTo, this.platforms(), last, withSent);
      }, log);
    } finally {
      clearInterval(renew);
    }
    this.#metrics.outboxDeliveries.inc({ platform: row.platform, result: "sent" });
    // The next message of the conversation may have been waiting for this one (read with the
    // sent mark).
    if (marked.next.length) this.#track(this.#flush(row.conversationId, marked.next));
    return { messageId: row.id, status: "sent", ...(marked.withSent ? { withSent: marked.withSent } : {}) };
  }

  /**
   * Runs a write about what the platform already accepted until the database takes it: losing it
   * would mean posting the message again. Other errors propagate at once.
   */
  async #untilStored(write: () => Promise<void>, log: Logger): Promise<void> {
    for (let wait = 250; ; wait = Math.min(wait * 2, 2000)) {
      try {
        await write();
        return;
      } catch (err) {
        if (!isDatabaseUnavailable(err) || this.#closed) throw err;
        log.warn({ err: errorMessage(err), retryInMs: wait }, "outbox: the platform took a message; waiting for the database to record it");
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Delivers the conversation's next waiting messages, in order, while they go through. */
  async #flush(conversationId: string, waiting?: string[]): Promise<void> {
    if (this.#closed) return;
    for (const id of waiting ?? (await this.#store.nextWaiting(conversationId, this.platforms()))) {
      const r = await this.deliver(id);
      if (r.status !== "sent" && r.status !== "failed") return;
    }
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, "outbox: background delivery failed"));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }
}

/** A message recorded (and, when its turn, claimed) on a transaction of the caller's (`Outbox.recordIn`). */
export interface RecordedIn {
  id: string;
  created: boolean;
  /** Call once the transaction committed: the message is announced (server-sent events wake). */
  committed: () => void;
  /**
   * Call once the transaction committed: delivers the message with the claim taken in it, or,
   * when it was not its turn (an earlier message of the conversation is undelivered), as `deliver`.
   * `withSent` (the caller's next statement, e.g. the turn's end) is run in the statement that
   * marks it sent, when this call marks it sent: then the result says so (`withSent`), and
   * otherwise the caller runs it itself.
   */
  deliver: (withSent?: StatementPart) => Promise<Delivered>;
}

/** Where a delivery stands; `withSent`: the part given to `RecordedIn.deliver` committed with the sent mark, and its result. */
export type Delivered = Omit<SendResult, "created"> & { withSent?: { result: unknown } };

/** Parts of a message the platform took, and where the last of them is. */
interface PartsSent {
  parts: number;
  placed?: { index: number; ref: string };
}

function noAdapterError(platform: Platform): string {
  return `no ${platform} adapter in this process; a process configured for ${platform} will deliver it`;
}

function standing(row: OutboxRow): DeliveryStatus {
  if (row.status === "pending") return "queued";
  return row.status;
}
