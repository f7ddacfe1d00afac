import { HANG_GUARD_MS } from "../helpers/wait-until.ts";
import type { FastifyInstance } from "fastify";
import { skipWithoutServer } from "../helpers/requirements.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChannelAdapter } from "../../src/ports.ts";
import { startAdapters } from "../../bots/cli/platform-connections.ts";
import { createHttpServer } from "../../bots/http/server.ts";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { readOutcomes } from "../../src/inbox/outcome-waiter.ts";
import { silentLogger } from "../../src/logger.ts";
import { postJson } from "../helpers/app.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { queueEnv, SlackRecorder, spawnWorker, stopWorker, waitFor, type WorkerProcess } from "./harness.ts";

const SERVER = process.env["TEST_DATABASE_URL"];

/** A platform adapter that only counts whether it is connected. */
class FakeGatewayAdapter implements ChannelAdapter {
  readonly platform = "discord" as const;
  connected = false;
  async start(): Promise<void> {
    this.connected = true;
  }
  async stop(): Promise<void> {
    this.connected = false;
  }
  async deliver(): Promise<void> {}
}

describe.skipIf(skipWithoutServer("test/inbox/gateway.test.ts"))("gateway processes (serve --role gateway) on one Postgres", () => {
  let fresh: Awaited<ReturnType<typeof freshServerDatabase>>;
  let slack: SlackRecorder;
  let env: Record<string, string>;
  const apps: App[] = [];
  let http: FastifyInstance;
  let worker: WorkerProcess | undefined;

  const gateway = async (replyTimeoutMs?: number) => {
    const app = await createApp(loadConfig({ ...env, LOG_LEVEL: "silent" }), silentLogger(), { startWorker: false, ...(replyTimeoutMs ? { replyTimeoutMs } : {}) });
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    fresh = await freshServerDatabase(SERVER!);
    slack = await SlackRecorder.start();
    env = queueEnv(fresh.url, slack, { CONSOLE_TOKEN: "console-secret" });
  });
  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await http?.close();
    for (const app of apps) await app.close();
    await slack?.close();
    await fresh?.drop();
  });

  it("answers POST /api/messages with the reply a worker process wrote, and says 202 when no worker answers in time", async () => {
    const app = await gateway(1500);
    http = await createHttpServer(app);
    const url = await http.listen({ port: 0, host: "127.0.0.1" });

    // No worker yet: stored and queued, but not answered within the wait.
    const pending = await postJson(`${url}/api/messages`, { userId: "u-1", text: "anyone there?" });
    expect(pending.status).toBe(202);
    expect(pending.body).toMatchObject({ reply: null, pending: true });

    worker = spawnWorker(env, { scripted: true });
    // The queued message is answered once a worker runs...
    const id = pending.body["messageId"] as string;
    const outcome = await waitFor(async () => (await readOutcomes(app.db.pool, [id])).get(id), "the queued message's answer", HANG_GUARD_MS);
    expect(outcome).toMatchObject({ kind: "reply", text: "re: anyone there?" });
    // ...and the next request waits for it synchronously (the worker NOTIFYs).
    const answered = await postJson(`${url}/api/messages`, { userId: "u-1", text: "hello", conversationId: pending.body["conversationId"] });
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ conversationId: pending.body["conversationId"], reply: "re: hello" });
  });

  it("lets one gateway at a time hold the Discord connection; another takes over when it stops", async () => {
    const [a, b] = [await gateway(), await gateway()];
    const [adapterA, adapterB] = [new FakeGatewayAdapter(), new FakeGatewayAdapter()];
    const connectionsA = await startAdapters(a, [adapterA], silentLogger(), 50);
    const connectionsB = await startAdapters(b, [adapterB], silentLogger(), 50);
    expect(adapterA.connected).toBe(true);
    expect(adapterB.connected).toBe(false);

    await connectionsA.stop();
    expect(adapterA.connected).toBe(false);
    await waitFor(async () => adapterB.connected, "the standby gateway to connect");
    await connectionsB.stop();
  });
});
