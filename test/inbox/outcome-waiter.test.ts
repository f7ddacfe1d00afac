import { describe, expect, it } from "vitest";
import type pg from "pg";
import type { PgListener } from "../../src/db/pg-listener.ts";
import { OutcomeWaiter } from "../../src/inbox/outcome-waiter.ts";
import { silentLogger } from "../../src/logger.ts";
import { replyOutcome } from "../../src/turns/outcome.ts";

const MESSAGE = "00000000-0000-4000-8000-000000000001";
const CONVERSATION = "00000000-0000-4000-8000-000000000002";

/** A pool that counts outcome reads and answers them with a finished message. */
function countingPool() {
  const reads: unknown[] = [];
  const pool = {
    query: async (_text: string, values: unknown[]) => {
      reads.push(values);
      return { rows: [{ id: MESSAGE, conversation_id: CONVERSATION, status: "done", latency_ms: 5, reply_text: "hello", reply_payload: null, routes: [], engine: "offline", handoff_id: null, handoff_reason: null, handoff_detail: null, open_handoff_id: null }] };
    },
  };
  return { pool: pool as unknown as pg.Pool, reads };
}

/** A LISTEN connection the test notifies by hand; `handlers` are the subscribed ones. */
function fakeListener() {
  const handlers = new Set<(payload: string | undefined) => void>();
  const listener = {
    on: (_channel: string, handler: (payload: string | undefined) => void) => {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
  return { listener: listener as unknown as PgListener, handlers, notify: (id: string) => handlers.forEach((h) => h(id)) };
}

describe("outcomes nobody asked for", () => {
  it("a message another process finished costs no read until someone asks; then it is read at once", async () => {
    const { pool, reads } = countingPool();
    const { listener, notify } = fakeListener();
    const waiter = new OutcomeWaiter({ pool, logger: silentLogger(), listener, pollMs: 60_000 });
    await waiter.start();
    const done = waiter.later(MESSAGE, CONVERSATION);
    notify(MESSAGE);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toHaveLength(0);
    // Asked after it finished: marked awaited, which says it finished, and read at once, without waiting for a poll.
    await expect(done).resolves.toMatchObject({ kind: "reply", text: "hello", messageId: MESSAGE });
    expect(reads).toHaveLength(2);
    await waiter.stop();
  });

  it("listens only while someone waits: a message nobody asks about subscribes to nothing", async () => {
    const { pool } = countingPool();
    const { listener, handlers, notify } = fakeListener();
    const waiter = new OutcomeWaiter({ pool, logger: silentLogger(), listener, pollMs: 60_000 });
    await waiter.start();
    const unasked = waiter.later(MESSAGE, CONVERSATION);
    notify(MESSAGE);
    expect(handlers.size).toBe(0);
    // Asked: subscribed while it waits, and read at once (the notification above reached no one).
    const asked = unasked.then((outcome) => outcome);
    expect(handlers.size).toBe(1);
    await expect(asked).resolves.toMatchObject({ kind: "reply", messageId: MESSAGE });
    expect(handlers.size).toBe(0);
    await waiter.stop();
  });

  it("an outcome this process settled before anyone asked is handed over when asked, without a read", async () => {
    const { pool, reads } = countingPool();
    const waiter = new OutcomeWaiter({ pool, logger: silentLogger(), pollMs: 60_000 });
    await waiter.start();
    const done = waiter.later(MESSAGE, CONVERSATION);
    const outcome = replyOutcome({ conversationId: CONVERSATION, messageId: MESSAGE, text: "hi", sections: [], routes: [], handoff: null, engine: "offline", latencyMs: 1 });
    waiter.settle(MESSAGE, outcome);
    await expect(done).resolves.toEqual(outcome);
    expect(reads).toHaveLength(0);
    await waiter.stop();
  });
});
