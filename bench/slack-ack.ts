/**
 * Ack latency of `/support` under load: rounds of 50 concurrent, correctly signed slash commands
 * against a fastify server with the Slack plugin in its production setting (store, then ack:
 * `processBeforeResponse`), the real Bolt app, and an in-memory fake core that answers every
 * message (so question posts and replies are rendered and posted while later requests arrive,
 * as in production). Slack's limit is 3 s.
 *
 *   npx tsx bench/slack-ack.ts [rounds=5] [concurrency=50] [ack-before-store]
 *
 * `ack-before-store` answers Slack before the listeners ran (Bolt's default), to compare.
 *
 * The service runs in this process; "Slack" (the load generator and the Web API stand-in) runs in a
 * child process, so the measured latency is the service's, not the load generator's.
 *
 * One `/support` ack includes: signature check, Bolt dispatch and storing the message with its
 * question post; posting the question (`chat.postMessage`) and the answer happen after the ack.
 * Mentions are measured too.
 */
import { performance } from "node:perf_hooks";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import { createSlackAdapter } from "../bots/slack/index.ts";
import { silentLogger } from "../src/logger.ts";
import { FakeCore } from "../test/slack/fake-core.ts";
import { SlackApiStandIn } from "../test/stand-ins/slack-api.ts";
import { eventCallback, postSigned, slashCommandBody } from "../test/stand-ins/slack-requests.ts";

const SECRET = "bench-signing-secret-0123456789abcdef";

interface Settings {
  rounds: number;
  concurrency: number;
  processBeforeResponse: boolean;
}

type FromSlack = { kind: "api"; apiUrl: string } | { kind: "done"; slash: number[][]; mention: number[][] };

if (process.env["SLACK_BENCH_ROLE"] === "slack") await slack();
else await service();

/** The Switchboard side: fastify + the Slack adapter + a fake core. */
async function service(): Promise<void> {
  const settings: Settings = {
    rounds: Number(process.argv[2] ?? 5),
    concurrency: Number(process.argv[3] ?? 50),
    processBeforeResponse: process.argv[4] !== "ack-before-store",
  };
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, SLACK_BENCH_ROLE: "slack", SLACK_BENCH_SETTINGS: JSON.stringify(settings) },
  });
  const messages = (async function* () {
    while (true) yield await new Promise<FromSlack>((resolve) => child.once("message", (m) => resolve(m as FromSlack)));
  })();

  const first = (await messages.next()).value;
  if (!first || first.kind !== "api") throw new Error("bench: the Slack worker did not start");
  const adapter = createSlackAdapter({
    config: { slackBotToken: "xoxb-bench", slackSigningSecret: SECRET, slackAppToken: undefined, slackApiUrl: first.apiUrl },
    logger: silentLogger(),
    retryConfig: { retries: 0 },
    processBeforeResponse: settings.processBeforeResponse,
  });
  const sink = new FakeCore().connect(adapter);
  const server = Fastify();
  // The service's own view: request received → response sent (fastify's reply.elapsedTime).
  const serverSide = { slash: [] as number[], mention: [] as number[] };
  server.addHook("onResponse", async (request, reply) => {
    const kind = String(request.headers["content-type"]).startsWith("application/json") ? "mention" : "slash";
    serverSide[kind].push(reply.elapsedTime);
  });
  await server.register(adapter.httpPlugin);
  const base = await server.listen({ port: 0, host: "127.0.0.1" });
  await adapter.start(sink);
  child.send({ url: `${base}/slack/events` });

  const result = (await messages.next()).value;
  await adapter.stop();
  await server.close();
  await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(null)));
  if (!result || result.kind !== "done") throw new Error("bench: no result");

  const measured = (xs: number[]) => xs.slice(-settings.rounds * settings.concurrency); // after warm-up
  console.log(
    `Slack's side (request sent → ack received), ${settings.concurrency} concurrent, ` +
      `processBeforeResponse ${settings.processBeforeResponse}:`,
  );
  result.slash.forEach((round, i) => report(`  /support round ${i + 1}`, round));
  report("  /support, all rounds", result.slash.flat());
  report("  app_mention, all rounds", result.mention.flat());
  console.log("Service's side (request received → ack sent):");
  report("  /support, all rounds", measured(serverSide.slash));
  report("  app_mention, all rounds", measured(serverSide.mention));
  console.log(`stored ${sink.stored.length} messages, delivered ${sink.deliveries.length} replies; node ${process.version}`);
}

/** The Slack side: the Web API stand-in and the load generator. */
async function slack(): Promise<void> {
  const settings = JSON.parse(process.env["SLACK_BENCH_SETTINGS"] ?? "{}") as Settings;
  const send = (m: FromSlack) => process.send?.(m);
  const api = await SlackApiStandIn.start();
  send({ kind: "api", apiUrl: api.apiUrl });
  const { url } = await new Promise<{ url: string }>((resolve) =>
    process.once("message", (m) => resolve(m as { url: string })),
  );

  let n = 0;
  const timed = async (send: () => Promise<Response>): Promise<number> => {
    const started = performance.now();
    const res = await send();
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`unexpected status ${res.status}`);
    return performance.now() - started;
  };
  const slash = () => {
    n += 1;
    const body = slashCommandBody({ text: `bench question ${n}`, channelId: "C0BENCH", triggerId: `bench-${n}` });
    return timed(() => postSigned(url, body, "application/x-www-form-urlencoded", { signingSecret: SECRET }));
  };
  const mention = () => {
    n += 1;
    const ts = `${1_800_000_000 + n}.000100`;
    const body = JSON.stringify(eventCallback({ type: "app_mention", channel: "C0BENCH", ts, text: `<@U0BOT> q ${n}` }));
    return timed(() => postSigned(url, body, "application/json", { signingSecret: SECRET }));
  };
  const burst = (send: () => Promise<number>) => Promise.all(Array.from({ length: settings.concurrency }, send));

  // Warm up the JIT, the connection pools and Bolt's first-request paths.
  for (let r = 0; r < settings.rounds; r += 1) {
    await burst(slash);
    await burst(mention);
  }
  const result: FromSlack = { kind: "done", slash: [], mention: [] };
  for (let r = 0; r < settings.rounds; r += 1) result.slash.push(await burst(slash));
  for (let r = 0; r < settings.rounds; r += 1) result.mention.push(await burst(mention));
  send(result);
  await api.close();
  process.disconnect();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function report(label: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(1).padStart(6);
  console.log(
    `${label.padEnd(34)} n=${String(sorted.length).padStart(4)}  p50 ${f(percentile(sorted, 50))} ms  p99 ${f(percentile(sorted, 99))} ms  max ${f(sorted.at(-1) ?? NaN)} ms`,
  );
}
