/**
 * Throughput of the durable inbox: conversations × messages sent at once through a gateway in
 * this process (`pipeline.submit`: stored with its job, then acknowledged), answered by N
 * `switchboard worker` child processes (offline engine) that post to a local Slack Web API
 * stand-in. Reports messages per second and p50/p99 from receipt (the message's row) to reply
 * (its reply marked sent), both on the database clock.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/throughput.ts [workers=1,2] [conversations=200] [messages=5] [scripted]
 *
 * `scripted` runs the workers with the scripted supervisor of the tests (test/inbox/worker-main.mjs:
 * an echo after 5 ms) instead of the offline engine: the queue's own cost.
 *
 * Each run gets a fresh database. Messages of one conversation are sent one after another (each
 * once the previous one is acknowledged, as a user types them); conversations all at once.
 */
import { freshServerDatabase } from "../test/helpers/databases.ts";
import { queueEnv, slackMessage, SlackRecorder, spawnWorker, startGateway, stopWorker, waitFor, liveWorkers } from "../test/inbox/harness.ts";
import { QUESTIONS } from "./questions.ts";


async function run(server: string, workers: number, conversations: number, perConversation: number, scripted: boolean) {
  const fresh = await freshServerDatabase(server);
  const slack = await SlackRecorder.start();
  const env = queueEnv(fresh.url, slack, { LOG_LEVEL: "error" });
  const gateway = await startGateway(env);
  const procs = Array.from({ length: workers }, () => spawnWorker(env, { scripted }));
  try {
    await waitFor(async () => (await liveWorkers(gateway)) === workers, `${workers} workers`, 60_000, 100);
    const total = conversations * perConversation;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: conversations }, async (_, c) => {
        const thread = `1700000000.${String(c).padStart(6, "0")}`;
        for (let i = 0; i < perConversation; i++) {
          await gateway.intake.submit(slackMessage(thread, `bench-${c}-${i}`, QUESTIONS[i % QUESTIONS.length]!));
        }
      }),
    );
    const submitted = Date.now() - started;
    await waitFor(async () => slack.posted.length >= total && (await sentReplies(gateway)) >= total, `${total} replies`, 600_000, 100);
    const r = await gateway.db.pool.query<{ ms: number }>(
      `select extract(epoch from (o.processed_at - m.created_at)) * 1000 as ms
       from messages m join messages o on o.idempotency_key = 'reply:' || m.id::text
       where m.direction = 'in' order by 1`,
    );
    const span = await gateway.db.pool.query<{ s: number }>(
      `select extract(epoch from (max(o.processed_at) - min(m.created_at))) as s
       from messages m join messages o on o.idempotency_key = 'reply:' || m.id::text where m.direction = 'in'`,
    );
    const ms = r.rows.map((x) => Number(x.ms));
    const seconds = Number(span.rows[0]?.s ?? 0);
    return {
      engine: scripted ? "scripted" : "offline",
      workers,
      messages: total,
      perSecond: Math.round(total / seconds),
      p50Ms: Math.round(quantile(ms, 0.5)),
      p99Ms: Math.round(quantile(ms, 0.99)),
      submitMs: submitted,
      posts: slack.posted.length,
    };
  } finally {
    await Promise.all(procs.map(stopWorker));
    await gateway.close();
    await slack.close();
    await fresh.drop();
  }
}

async function sentReplies(app: Awaited<ReturnType<typeof startGateway>>): Promise<number> {
  return Number((await app.db.pool.query("select count(*) from messages where direction = 'out' and status = 'sent'")).rows[0].count);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const server = process.env["TEST_DATABASE_URL"];
if (!server) {
  process.stderr.write("Set TEST_DATABASE_URL (a Postgres server) to run this benchmark.\n");
  process.exit(1);
}
const [workersArg = "1,2", conversationsArg = "200", messagesArg = "5", mode = ""] = process.argv.slice(2);
for (const n of workersArg.split(",").map(Number)) {
  const result = await run(server, n, Number(conversationsArg), Number(messagesArg), mode === "scripted");
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
