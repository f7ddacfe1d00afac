import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachStaffChannels } from "../../bots/staff-channels.ts";
import { createLogger } from "../../src/logger.ts";
import { PLACEHOLDERS } from "../../src/inbox/redact.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { freshServerDatabase } from "../helpers/databases.ts";
import { startCoreHarness, type CoreHarness } from "../slack/core-harness.ts";
import type { SlackApiCall } from "../stand-ins/slack-api.ts";
import { STAFF_CHANNEL as PLATFORM_STAFF_CHANNEL, startPlatformHarness, type PlatformHarness } from "../handoffs/platform-harness.ts";
import { messageText, startOpenAIStandIn, structured, text, type ChatRequest, type OpenAIStandIn } from "../stand-ins/openai.ts";
import { SECRETS, leaks, messageWithEverySecret } from "./secrets.ts";

/**
 * A message with one secret of every kind goes in through HTTP (offline engine and the model),
 * a Slack mention and a Slack `/support`, all signed and through the real Bolt app; afterwards
 * no secret is anywhere: not in any column of any table (checkpoint blobs decoded), not in a log
 * line, not in what Slack was sent (staff card, question post, answers), not in any request the
 * model received. The model stand-in echoes what it is sent into every answer, as a model that
 * repeats the user would, so a secret that reached it would come back into the replies too.
 */

const STAFF_CHANNEL = "C0STAFF";
const LEAD = "I was charged twice and the app crashes when I log in. I want to talk to a person.";
const MESSAGE = messageWithEverySecret(LEAD);

/** Every row of every table outside Postgres's own schemas, as text (bytea decoded: the checkpoint blobs). */
async function dumpDatabase(pool: pg.Pool): Promise<Map<string, string>> {
  const tables = await pool.query<{ schema: string; name: string }>(
    `select table_schema as schema, table_name as name from information_schema.tables
     where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') and table_schema not like 'pg_toast%'
     order by 1, 2`,
  );
  const dump = new Map<string, string>();
  for (const t of tables.rows) {
    const rows = await pool.query(`select * from "${t.schema}"."${t.name}"`);
    const asText = JSON.stringify(rows.rows, (_key, value: unknown) => {
      if (value && typeof value === "object" && (value as { type?: unknown }).type === "Buffer") return Buffer.from((value as { data: number[] }).data).toString("utf8");
      return value;
    });
    dump.set(`${t.schema}.${t.name}`, asText);
  }
  return dump;
}

function origin(h: CoreHarness): string {
  return `http://127.0.0.1:${(h.http.server.address() as AddressInfo).port}`;
}

function leaksIn(dump: Map<string, string>): string[] {
  return [...dump].flatMap(([table, content]) => leaks(content).map((l) => `${table} — ${l}`));
}

/** The text as Slack sends it: entities for & < >, links and addresses in angle brackets. */
function asSlackSends(plain: string): string {
  return plain
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/https:\/\/\S+/g, (url) => `<${url}>`)
    .replace(/[\w.]+@example\.org/g, (address) => `<mailto:${address}|${address}>`);
}

/** A log destination that keeps every line. */
function capturedLog() {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => lines.push(chunk.toString("utf8")));
  return { logger: createLogger("trace", stream), text: () => lines.join("") };
}

const lastUserText = (req: ChatRequest) => messageText(req.messages.filter((m) => m.role === "user").at(-1));

/**
 * Routes every message to billing, tech support (waiting for billing's findings, so the answers
 * overlap and a model merges them) and a person; every other call echoes what it was sent.
 */
function echoingModel(req: ChatRequest) {
  if (req.response_format?.type === "json_schema") {
    const said = lastUserText(req);
    return structured({
      routes: [
        { route: "billing", confidence: 0.95, question: said },
        { route: "tech_support", confidence: 0.9, question: said, after: [0] },
        { route: "human", confidence: 0.9, question: said },
      ],
    });
  }
  return text(`You said: ${lastUserText(req)}`);
}

describe("nothing keeps a secret the user pasted: every table, checkpoint, log line, Slack post and model request", () => {
  // On a Postgres server too when TEST_DATABASE_URL is set: then the job queue is graphile-worker's tables, dumped with the rest.
  describe(`HTTP, offline engine, ${process.env["TEST_DATABASE_URL"] ? "Postgres server and its job queue" : "embedded Postgres"}`, () => {
    let running: RunningApp;
    let server: Awaited<ReturnType<typeof freshServerDatabase>> | undefined;
    const log = capturedLog();

    beforeAll(async () => {
      const serverUrl = process.env["TEST_DATABASE_URL"];
      server = serverUrl ? await freshServerDatabase(serverUrl) : undefined;
      running = await startTestApp({ LOG_LEVEL: "trace", ...(server ? { DATABASE_URL: server.url } : {}) }, {}, log.logger);
    }, 120_000);
    afterAll(async () => {
      await running?.close();
      await server?.drop();
    });

    it("answers, tells the user once what was removed, and keeps only placeholders", async () => {
      const res = await postJson(`${running.url}/api/messages`, { userId: "u1", text: MESSAGE });
      expect(res.status).toBe(200);
      expect(leaks(JSON.stringify(res.body))).toEqual([]);
      await running.app.handoffService.idle();

      const dump = await dumpDatabase(running.app.db.pool);
      if (server) expect([...dump.keys()].some((t) => t.startsWith("graphile_worker."))).toBe(true);
      expect(leaksIn(dump)).toEqual([]);
      const stored = await running.app.db.pool.query<{ text: string }>("select text from messages where direction = 'in'");
      for (const kind of new Set(SECRETS.map((s) => s.kind))) expect(stored.rows[0]?.text).toContain(PLACEHOLDERS[kind]);
      // The checkpoints were read: they hold the turn, redacted.
      expect([...dump].filter(([t]) => /checkpoint/.test(t)).map(([, c]) => c).join("")).toContain(PLACEHOLDERS.card);
      expect(leaks(log.text())).toEqual([]);
      expect(log.text()).toContain("removed from a message before storing it");

      // The user is told once.
      const reply = res.body["reply"] as string;
      expect(reply.match(/I removed/g)).toHaveLength(1);
      expect(reply).toContain("I removed a key or token, a password, a bank account number (IBAN), a card number, an e-mail address and a phone number from your message");
    });
  });

  describe("HTTP and Slack (mention, /support), with the model and the Slack staff channel", () => {
    let h: CoreHarness;
    let model: OpenAIStandIn;
    const log = capturedLog();

    beforeAll(async () => {
      model = await startOpenAIStandIn(echoingModel);
      h = await startCoreHarness({
        supervisor: "graph",
        logger: log.logger,
        env: { OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: "sk-test-key-of-the-stand-in", ROUTER_MODE: "llm", SLACK_HANDOFF_CHANNEL: STAFF_CHANNEL, LOG_LEVEL: "trace" },
      });
      // The staff channel, as `serve` attaches it.
      attachStaffChannels(h.app, h.config, log.logger, { slackRetry: { retries: 0 } });
    }, 120_000);
    afterAll(async () => {
      await h?.close();
      await model?.close();
    });

    it("keeps secrets out of storage, checkpoints, logs, Slack and every model request (merge included)", async () => {
      // HTTP, answered by the model.
      const res = await postJson(`${origin(h)}/api/messages`, { userId: "u1", text: MESSAGE });
      expect(res.status).toBe(200);

      // A Slack mention.
      const mention = await h.event({ type: "app_mention", channel: "C0GENERAL", channel_type: "channel", ts: "1800000100.000100", text: `<@${h.api.botUserId}> ${asSlackSends(MESSAGE)}` });
      expect(mention.status).toBe(200);
      const answer = await h.api.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === "1800000100.000100", "the answer to the mention");

      // A Slack /support: the question is posted in the channel (redacted) and answered in its thread.
      const slash = await h.slash({ text: asSlackSends(MESSAGE), channelId: "C0SUPPORT", triggerId: "1800.1.redact" });
      expect(slash.status).toBe(200);
      const question = await h.api.waitForCall("chat.postMessage", (c) => c.args["channel"] === "C0SUPPORT" && c.args["thread_ts"] === undefined, "the /support question post");
      expect(JSON.stringify(question.args)).toContain(PLACEHOLDERS.secret);
      await h.api.waitForCall("chat.postMessage", (c) => c.args["thread_ts"] === question.response["ts"], "the /support answer");

      // Three handoffs (the user asked for a person each time): three staff cards.
      const isCard = (c: SlackApiCall) => c.args["channel"] === STAFF_CHANNEL && c.args["thread_ts"] === undefined;
      const seen: SlackApiCall[] = [];
      for (let i = 0; i < 3; i++) seen.push(await h.api.waitForCall("chat.postMessage", (c) => isCard(c) && !seen.includes(c), `staff card ${i + 1}`));
      await h.app.handoffService.idle();
      const cards = h.api.calls.filter((c) => c.args["channel"] === STAFF_CHANNEL);
      expect(JSON.stringify(cards.map((c) => c.args))).toContain(PLACEHOLDERS.secret);

      // Every Web API call Slack got: cards, question post, answers.
      expect(leaks(JSON.stringify(h.api.calls.map((c) => c.args)))).toEqual([]);
      // Every request the model got: routing, each worker, the merge. Slack shows each worker's
      // answer as its own section, so only the HTTP message's overlapping answers are merged by the model.
      expect(model.requests.length).toBeGreaterThanOrEqual(10);
      const merges = model.requests.filter((r) => r.body.messages.some((m) => /merge answers/.test(messageText(m))));
      expect(merges).toHaveLength(1);
      for (const r of model.requests) expect(leaks(JSON.stringify(r.body))).toEqual([]);
      expect(JSON.stringify(merges.map((r) => r.body))).toContain(PLACEHOLDERS.password);

      const dump = await dumpDatabase(h.app.db.pool);
      expect(leaksIn(dump)).toEqual([]);
      for (const table of ["public.messages", "public.routing_decisions", "public.worker_runs", "public.checkpoint_blobs"]) {
        expect(dump.get(table) ?? "", table).toContain(PLACEHOLDERS.iban);
      }
      expect(leaks(log.text())).toEqual([]);

      // Each user was told, in the answer.
      expect(res.body["reply"]).toMatch(/I removed .* from your message; never share secrets or payment details here/);
      expect(String(answer.args["text"])).toContain("I removed");
    });
  });

  describe("Discord (a mention answered in a thread named after it), offline engine, Slack staff channel", () => {
    let h: PlatformHarness;

    beforeAll(async () => {
      h = await startPlatformHarness();
    }, 120_000);
    afterAll(async () => h?.close());

    it("names the thread, answers, and posts the staff card from the redacted text only", async () => {
      const { discord, slackApi } = h;
      const card = SECRETS.find((s) => s.kind === "card")!;
      // The first line names the thread: it holds a card number.
      const content = `<@${discord.bot.id}> My card ${card.written} was charged twice, I want a person\n${MESSAGE}`;
      const asked = discord.postMessage({ channelId: discord.channels.support, content });
      const threadId = asked["id"] as string;
      const thread = await discord.waitForCall((c) => c.method === "POST" && c.path.endsWith(`/messages/${threadId}/threads`), "the thread");
      expect((thread.body as { name: string }).name).toBe(`My card ${PLACEHOLDERS.card} was charged twice, I want a person`);
      const answer = await discord.waitForCall((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages` && c.status === 200, "the answer in the thread");
      expect(JSON.stringify(answer.body)).toContain("I removed");
      await slackApi.waitForCall("chat.postMessage", (c) => c.args["channel"] === PLATFORM_STAFF_CHANNEL && c.args["thread_ts"] === undefined, "the handoff card");
      await h.app.handoffService.idle();

      expect(leaks(JSON.stringify(discord.calls.items.map((c) => c.body)))).toEqual([]);
      expect(leaks(JSON.stringify(slackApi.calls.map((c) => c.args)))).toEqual([]);
      const dump = await dumpDatabase(h.app.db.pool);
      expect(leaksIn(dump)).toEqual([]);
      expect(dump.get("public.messages")).toContain(PLACEHOLDERS.phone);
    });
  });
});
