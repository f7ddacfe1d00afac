import { Writable } from "node:stream";
import { expect, test } from "vitest";
import { observe } from "../../bots/slack/listeners.ts";
import { createLogger } from "../../src/logger.ts";
import type { Outcome } from "../../src/types.ts";

/** A `done` like the core's: lazy, it starts waiting (a database read in server mode) only when asked. */
function lazyDone(outcome: Outcome): { done: Promise<Outcome>; asked: () => number } {
  let asked = 0;
  const done = {
    then(onFulfilled?: (o: Outcome) => unknown, onRejected?: (e: unknown) => unknown) {
      asked++;
      return Promise.resolve(outcome).then(onFulfilled, onRejected);
    },
  } as unknown as Promise<Outcome>;
  return { done, asked: () => asked };
}

function capture(level: string): { log: ReturnType<typeof createLogger>; text: () => string } {
  let text = "";
  const sink = new Writable({ write(chunk, _enc, cb) { text += String(chunk); cb(); } });
  return { log: createLogger(level, sink, "json"), text: () => text };
}

const outcome = { kind: "ignored" } as unknown as Outcome;

test("at info level a Slack message's outcome is not waited for (it would cost a read per message in server mode)", async () => {
  const { log } = capture("info");
  const { done, asked } = lazyDone(outcome);
  observe(log, { status: "accepted", messageId: "m1", conversationId: "c1", done });
  await new Promise((r) => setImmediate(r));
  expect(asked()).toBe(0);
});

test("at debug level the outcome is waited for and logged", async () => {
  const { log, text } = capture("debug");
  const { done, asked } = lazyDone(outcome);
  observe(log, { status: "accepted", messageId: "m1", conversationId: "c1", done });
  await new Promise((r) => setImmediate(r));
  expect(asked()).toBe(1);
  expect(text()).toContain("slack: message processed");
  expect(text()).toContain('"outcome":"ignored"');
});
