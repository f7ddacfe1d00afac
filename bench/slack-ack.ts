/**
 * Ack latency of `/support` under load: rounds of 50 concurrent, correctly signed slash commands
 * against a fastify server with the Slack plugin in its production setting (store, then ack:
 * `processBeforeResponse`), the real Bolt app, and an in-memory fake core that answers every
 * message (so question posts and replies are rendered and posted while later requests arrive,
 * as in production). Slack's limit is 3 s.
 *
 *   npx tsx bench/slack-ack.ts [rounds=5] [concurrency=50] [ack-before-store | floor]
 *
 * `ack-before-store` answers Slack before the listeners ran (Bolt's default), to compare.
 * `floor`: the same signed requests answered at once by a bare fastify route (no Bolt, nothing
 * stored or posted): what the load generator and the machine add by themselves, to read the
 * figures against.
 *
 * The service runs in this process; "Slack" runs in two child processes: the load generator, and
 * the Web API stand-in the service posts to (on the load generator's event loop, serving those
 * posts delayed its reading of the acks). Besides the latencies it prints the service's CPU per
 * request over the measured rounds (its ack and the posts after it, from `process.cpuUsage`; the
 * posts wait their turn behind the acks, so it counts until the last post is out) and
 * each side's event-loop delay: on a shared machine, a burst's last ack waits for the CPU the
 * burst needs, and the CPU per request is the stable figure.
 *
 * One `/support` ack includes: signature check, Bolt dispatch and storing the message with its
 * question post; posting the question (`chat.postMessage`) and the answer happen after the ack.
 * Mentions are measured too.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fork } from "node:child_process";
import fs from "node:fs";
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

/** Event-loop delay of a process over the run, in ms: what a request waits before its process reads it. */
interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

type FromSlack = { kind: "api"; apiUrl: string } | { kind: "warmed" } | { kind: "done"; slash: number[][]; mention: number[][]; loop: LoopDelay };

function loopDelay(h: ReturnType<typeof monitorEventLoopDelay>): LoopDelay {
  const ms = (ns: number) => Number((ns / 1e6).toFixed(1));
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
}

const role = process.env["SLACK_BENCH_ROLE"];
if (role === "slack") await slack();
else if (role === "slack-api") await slackApi();
else await service();

/** A child process of this script in `role`; its messages one at a time. */
function child(role: string, settings: Settings) {
  const proc = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, SLACK_BENCH_ROLE: role, SLACK_BENCH_SETTINGS: JSON.stringify(settings) },
  });
  const next = () => new Promise<FromSlack>((resolve) => proc.once("message", (m) => resolve(m as FromSlack)));
  const exited = () => new Promise((resolve) => (proc.exitCode === null ? proc.once("exit", resolve) : resolve(null)));
  return { proc, next, exited };
}

/** The Switchboard side: fastify + the Slack adapter + a fake core (or, `floor`, a bare route). */
async function service(): Promise<void> {
  const mode = process.argv[4];
  const settings: Settings = {
    rounds: Number(process.argv[2] ?? 5),
    concurrency: Number(process.argv[3] ?? 50),
    processBeforeResponse: mode !== "ack-before-store",
  };
  // Slack's Web API in a process of its own: serving the service's posts must not delay the load
  // generator reading its acks (on one event loop, it did: a busy stand-in added to every ack).
  const api = child("slack-api", settings);
  const first = await api.next();
  if (first.kind !== "api") throw new Error("bench: the Web API stand-in did not start");
  const load = child("slack", settings);

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
  if (mode === "floor") {
    // The harness's own floor: the same requests answered at once, nothing verified or stored.
    server.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => done(null, body));
    server.post("/slack/events", async () => "");
  } else {
    await server.register(adapter.httpPlugin);
  }
  const base = await server.listen({ port: 0, host: "127.0.0.1" });
  if (mode !== "floor") await adapter.start(sink);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  load.proc.send({ url: `${base}/slack/events` });

  // The load generator says when its warm-up is over; the measured rounds start once the warm-up's
  // posts are all out, and the CPU is counted until the measured rounds' posts are: posting runs
  // after the acks (at its turn, after-ack.ts), and its CPU is part of each request's cost.
  // Per request: `/support` posts its question and the answer, a mention the answer.
  const postsPerRound = settings.concurrency * 3;
  if ((await load.next()).kind !== "warmed") throw new Error("bench: the load generator did not finish its warm-up");
  if (mode !== "floor") await sink.waitForDeliveries(settings.rounds * postsPerRound);
  loop.enable();
  const cpuBefore = process.cpuUsage();
  load.proc.send({ go: true });
  const result = await load.next();
  loop.disable();
  if (mode !== "floor") await sink.waitForDeliveries(2 * settings.rounds * postsPerRound);
  const cpu = process.cpuUsage(cpuBefore);
  if (mode !== "floor") await adapter.stop();
  await server.close();
  api.proc.send({ stop: true });
  await Promise.all([load.exited(), api.exited()]);
  if (result.kind !== "done") throw new Error("bench: no result");

  const measured = (xs: number[]) => xs.slice(-settings.rounds * settings.concurrency); // after warm-up
  console.log(
    `Slack's side (request sent → ack received), ${settings.concurrency} concurrent, ` +
      (mode === "floor" ? "floor (a bare route):" : `processBeforeResponse ${settings.processBeforeResponse}:`),
  );
  result.slash.forEach((round, i) => report(`  /support round ${i + 1}`, round));
  report("  /support, all rounds", result.slash.flat());
  report("  app_mention, all rounds", result.mention.flat());
  console.log("Service's side (request received → ack sent):");
  report("  /support, all rounds", measured(serverSide.slash));
  report("  app_mention, all rounds", measured(serverSide.mention));
  const requests = settings.rounds * settings.concurrency * 2;
  console.log(`Service CPU per request over the measured rounds (its ack and the posts after it, until the last is out): ${((cpu.user + cpu.system) / 1000 / requests).toFixed(2)} ms`);
  console.log(`Event-loop delay (ms), service: ${JSON.stringify(loopDelay(loop))}; load generator: ${JSON.stringify(result.loop)}`);
  console.log(`stored ${sink.stored.length} messages, delivered ${sink.deliveries.length} replies; node ${process.version}; load average ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
}

/** Slack's Web API (and `response_url`s), until the service says stop. */
async function slackApi(): Promise<void> {
  const api = await SlackApiStandIn.start();
  process.send?.({ kind: "api", apiUrl: api.apiUrl } satisfies FromSlack);
  await new Promise((resolve) => process.once("message", resolve));
  await api.close();
  process.disconnect();
}

/** The Slack side: the load generator. */
async function slack(): Promise<void> {
  const settings = JSON.parse(process.env["SLACK_BENCH_SETTINGS"] ?? "{}") as Settings;
  const send = (m: FromSlack) => process.send?.(m);
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
  const go = new Promise((resolve) => process.once("message", resolve));
  send({ kind: "warmed" });
  await go;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const result = { kind: "done" as const, slash: [] as number[][], mention: [] as number[][] };
  for (let r = 0; r < settings.rounds; r += 1) result.slash.push(await burst(slash));
  for (let r = 0; r < settings.rounds; r += 1) result.mention.push(await burst(mention));
  loop.disable();
  send({ ...result, loop: loopDelay(loop) });
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
