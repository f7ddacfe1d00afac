/**
 * Ack first, work second. A listener stores the inbound event and acknowledges Slack; everything
 * that calls Slack back (posting the `/support` question, hints, `users.info`, staff replies that
 * are delivered to another platform, ephemeral notes) runs only once Slack has its answer.
 *
 * Over HTTP the receiver knows when the response was written and offers the listener an
 * `afterAck` hook in Bolt's `context` (Bolt merges a receiver's `customProperties` into it). Over
 * Socket Mode Bolt acks over the socket, within `ack()`: the work runs right away (listeners
 * register it after their `ack()`), tracked like the rest.
 */

/** Work to run once Slack's request was answered; failures are logged by whoever runs it. */
export type AckWork = () => Promise<unknown>;

/** The name of the hook in Bolt's `context`, as the HTTP receiver provides it. */
export const AFTER_ACK_PROPERTY = "afterAck";

/** Schedules work after the ack of the request `context` belongs to. */
export type AfterAck = (context: Record<string, unknown>, work: AckWork) => void;

/**
 * `afterAck` for listeners: the receiver's hook when the request has one (HTTP), otherwise run
 * the work at its turn (Socket Mode: the ack went out over the socket in `ack()`), through `track`.
 */
export function createAfterAck(track: (work: Promise<unknown>) => void, turns: AfterAckTurns): AfterAck {
  return (context, work) => {
    const hook = context[AFTER_ACK_PROPERTY];
    if (typeof hook === "function") (hook as (work: AckWork) => void)(work);
    else track(turns.turn().then(work));
  };
}

/**
 * Turns for the work after an ack (posting a question, a reply, a hint): one per event-loop
 * iteration, in order of asking, so Slack's requests go first. Between two turns the loop polls
 * its sockets, and every request that arrived meanwhile is read, stored and acknowledged before
 * the next turn. Run in the same microtask drain as the ack instead, the work of a burst's first
 * requests (rendering, the Web API call) ran before the later requests were even read: the 50th
 * ack of a burst waited for 49 requests' worth of posting (p99 ~230 ms for a ~40 ms floor).
 *
 * A turn is the CPU-bound stretch up to the next await on I/O; work that waits on the network
 * takes no turn while it waits. `setImmediate` runs in the loop's check phase, right after the
 * poll phase; one turn per iteration, because immediates queued by a turn run in the next one.
 */
export class AfterAckTurns {
  readonly #waiting: Array<() => void> = [];
  #scheduled = false;

  /** Resolves at this caller's turn. */
  turn(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#waiting.length === 0) return;
    this.#scheduled = true;
    setImmediate(this.#next);
  }

  readonly #next = (): void => {
    this.#scheduled = false;
    this.#waiting.shift()?.();
    this.#schedule();
  };
}

/**
 * The work of one HTTP request, held until its response was written (`open()`), then run in
 * order of registration, each through `run`. Work registered after that runs at once.
 */
export class AfterAckQueue {
  readonly #run: (work: AckWork) => void;
  #pending: AckWork[] | undefined = [];

  constructor(run: (work: AckWork) => void) {
    this.#run = run;
  }

  add(work: AckWork): void {
    if (this.#pending) this.#pending.push(work);
    else this.#run(work);
  }

  /** The response is out (or the connection is gone): run what waited. Idempotent. */
  open(): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    for (const work of pending) this.#run(work);
  }
}

/**
 * Holds `deliver` for a conversation until the inbound event that started it was acknowledged,
 * so nothing is posted in a conversation before Slack got its answer for it (a reply can be
 * ready within milliseconds: the question post of a `/support` always is).
 */
export class AckGate {
  readonly #held = new Map<string, Set<Promise<void>>>();

  /** Holds `key` until the returned function is called. */
  hold(key: string): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let set = this.#held.get(key);
    if (!set) {
      set = new Set();
      this.#held.set(key, set);
    }
    set.add(held);
    return () => {
      release();
      const current = this.#held.get(key);
      current?.delete(held);
      if (current?.size === 0) this.#held.delete(key);
    };
  }

  /** Whether something holds `key` now. */
  held(key: string): boolean {
    return (this.#held.get(key)?.size ?? 0) > 0;
  }

  /** Resolves once every hold on `key` is released, or after `maxMs` at most (a hold nobody released). */
  async wait(key: string, maxMs: number): Promise<void> {
    const held = this.#held.get(key);
    if (!held || held.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, maxMs);
      timer.unref();
    });
    try {
      await Promise.race([Promise.all([...held]), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
