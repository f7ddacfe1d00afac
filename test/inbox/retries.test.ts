import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChannelAdapter } from "../../src/ports.ts";
import type { SupervisorStateType, Turn } from "../../agents/supervisor/state.ts";
import { HANDOFF_TEXT } from "../../src/handoffs/reasons.ts";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import type { OutboundReply } from "../../src/types.ts";
import { tempDataDir } from "../helpers/databases.ts";
import { slackMessage } from "./harness.ts";

/** Answers `re: <text>`, or throws for texts that ask it to. */
class ScriptedSupervisor {
  readonly calls: string[] = [];
  async invoke(input: { turn: Turn }): Promise<SupervisorStateType> {
    this.calls.push(input.turn.text);
    if (input.turn.text.includes("model down")) throw new Error("model unavailable (503)");
    return { messages: [], turn: input.turn, decision: null, results: [], dispatched: [], deadline: 0, reply: { text: `re: ${input.turn.text}`, sections: [], footer: "" }, handoff: null, unclearStreak: 0, answered: true };
  }
}

/** A Slack adapter whose sends fail as scripted; records every attempt. */
class FlakySlack implements ChannelAdapter {
  readonly platform = "slack" as const;
  readonly attempts: Array<{ thread: string; text: string; ok: boolean }> = [];
  /** Sends to these threads fail this many more times (Infinity: always). */
  readonly failures = new Map<string, number>();
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async deliver(reply: OutboundReply): Promise<void> {
    const thread = reply.conversationKey.split(":").at(-1)!;
    const left = this.failures.get(thread) ?? 0;
    this.attempts.push({ thread, text: reply.text, ok: left <= 0 });
    if (left > 0) {
      this.failures.set(thread, left - 1);
      throw new Error("chat.postMessage failed (fatal_error)");
    }
  }
}

describe("retries with backoff, then a person (embedded Postgres, in-process queue, 2 attempts)", () => {
  let app: App;
  const supervisor = new ScriptedSupervisor();
  const slack = new FlakySlack();

  beforeAll(async () => {
    const config = loadConfig({ DATA_DIR: tempDataDir(), LOG_LEVEL: "silent", DEMO_DATA: "off", JOB_MAX_ATTEMPTS: "2" });
    app = await createApp(config, silentLogger(), { supervisor, startWorker: false });
    app.outbox.attach(slack);
    await app.startWorker();
  });
  afterAll(async () => {
    await app?.close();
  });

  const metric = async (name: string) => {
    const line = (await app.metrics.registry.metrics()).split("\n").find((l) => l.startsWith(`${name} `));
    return Number(line?.split(" ")[1] ?? NaN);
  };

  it("sends a reply that was recorded but not sent on the retry, once, without answering again; gives up to a person with the reason", async () => {
    slack.failures.set("1.1", 1); // the first send fails, the retry's works
    slack.failures.set("2.2", Infinity); // Slack keeps failing
    const [flaky, broken, model] = await Promise.all([
      app.intake.submit(slackMessage("1.1", "r-1", "flaky send")),
      app.intake.submit(slackMessage("2.2", "r-2", "broken send")),
      app.intake.submit(slackMessage("3.3", "r-3", "model down")),
    ]);
    if (flaky.status !== "accepted" || broken.status !== "accepted" || model.status !== "accepted") throw new Error("not accepted");
    const [flakyOutcome, brokenOutcome, modelOutcome] = await Promise.all([flaky.done, broken.done, model.done]);

    // The retry sent the recorded reply; the graph answered once.
    expect(slack.attempts.filter((a) => a.thread === "1.1")).toEqual([
      { thread: "1.1", text: "re: flaky send", ok: false },
      { thread: "1.1", text: "re: flaky send", ok: true },
    ]);
    expect(supervisor.calls.filter((t) => t === "flaky send")).toHaveLength(1);
    expect(flakyOutcome).toMatchObject({ kind: "reply", text: "re: flaky send", handoff: null });

    // Slack never took it: after the last attempt a person has the conversation, with the reason.
    expect(brokenOutcome).toMatchObject({ kind: "reply", handoff: { reason: "processing_failed" } });
    const brokenHandoff = await app.handoffs.openFor(broken.conversationId);
    expect(brokenHandoff).toMatchObject({ reason: "processing_failed", messageId: broken.messageId });
    expect(brokenHandoff?.detail).toMatch(/Gave up after 2 attempts: .*chat\.postMessage failed/);
    expect((await app.log.getMessage(broken.messageId))?.status).toBe("failed");

    // The model failed twice: a person takes over and the user is told so.
    expect(supervisor.calls.filter((t) => t === "model down")).toHaveLength(2);
    expect(modelOutcome).toMatchObject({ kind: "reply", handoff: { reason: "model_failed" } });
    expect(slack.attempts.filter((a) => a.thread === "3.3").map((a) => a.text)).toEqual([expect.stringContaining(HANDOFF_TEXT.model_failed)]);

    const attempts = await app.db.pool.query<{ text: string; attempt: number; result: string }>(
      `select m.text, a.attempt, a.result from processing_attempts a join messages m on m.id = a.message_id order by m.text, a.attempt`,
    );
    expect(attempts.rows).toEqual([
      { text: "broken send", attempt: 1, result: "retry" },
      { text: "broken send", attempt: 2, result: "failed" },
      { text: "flaky send", attempt: 1, result: "retry" },
      { text: "flaky send", attempt: 2, result: "done" },
      { text: "model down", attempt: 1, result: "retry" },
      // The last attempt gave up to a person: it failed, whatever the user was told.
      { text: "model down", attempt: 2, result: "failed" },
    ]);
    expect(await metric("switchboard_job_retries_total")).toBe(3);
    // Both gave up to a person, however they failed.
    expect(await metric("switchboard_job_failures_total")).toBe(2);
  });
});
