import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import type { InboundMessage } from "../../src/types.ts";
import { tempDataDir } from "../helpers/databases.ts";
import { HANG_GUARD_MS } from "../helpers/wait-until.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const BOT_TOKEN = "xoxb-inbox-test";
export const SIGNING_SECRET = "inbox-test-signing-secret";
export const TEAM = "T0INBOX";
export const CHANNEL = "C0INBOX";

/** Polls `check` until it returns something (not undefined/false) or the deadline passes. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = HANG_GUARD_MS, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A `chat.postMessage` the recorder took: the message is in Slack. */
export interface Posted {
  channel: string;
  threadTs: string | undefined;
  text: string;
  ts: string;
  /** The message metadata it was posted with (`{event_type, event_payload}`), if any. */
  metadata: unknown;
  at: number;
}

/** A `chat.postMessage` held unanswered (the sender may die with it in flight). */
export interface Held {
  threadTs: string | undefined;
  text: string;
  /** Resolves when the sender's connection closed without an answer. */
  aborted: Promise<void>;
  /** Answers it now (posting it first, unless it was posted when it arrived). */
  release(): void;
}

/**
 * How a held post is held: `unanswered`, nothing is posted until `release()` (the sender dies with
 * the post in flight); `accepted`, it is posted at once but never answered (Slack took it and the
 * sender died before hearing so).
 */
export type HoldMode = "unanswered" | "accepted";

/**
 * The Slack Web API as worker processes see it (SLACK_API_URL): records each `chat.postMessage`
 * it takes, answers `conversations.replies` / `.history` from them (with their metadata), and can
 * hold matching posts, to kill a worker in the middle of a send.
 */
export class SlackRecorder {
  readonly posted: Posted[] = [];
  readonly #server: Server;
  #hold: { match: (threadTs: string | undefined) => boolean; mode: HoldMode } | undefined;
  readonly #held: Held[] = [];
  #ts = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<SlackRecorder> {
    let recorder: SlackRecorder | undefined;
    const server = createServer((req, res) => void recorder?.handle(req, res).catch((err: unknown) => res.writeHead(500).end(String(err))));
    recorder = new SlackRecorder(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return recorder;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/api/`;
  }

  /** Holds every following post to a thread matching `match` (once each). */
  holdPosts(match: (threadTs: string | undefined) => boolean, mode: HoldMode = "unanswered"): void {
    this.#hold = { match, mode };
  }

  get held(): readonly Held[] {
    return this.#held;
  }

  postsIn(threadTs: string): Posted[] {
    return this.posted.filter((p) => p.threadTs === threadTs);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = "";
    for await (const chunk of req) raw += String(chunk);
    const method = new URL(req.url ?? "/", "http://x").pathname.replace(/^\/api\//, "");
    const args = Object.fromEntries(new URLSearchParams(raw));
    const answer = (body: Record<string, unknown>) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (method === "conversations.replies" || method === "conversations.history") {
      const inThread = method === "conversations.replies";
      const messages = this.posted
        .filter((p) => p.channel === args["channel"] && (inThread ? p.threadTs === args["ts"] : p.threadTs === undefined))
        .map((p) => ({ type: "message", text: p.text, ts: p.ts, ...(args["include_all_metadata"] === "true" && p.metadata ? { metadata: p.metadata } : {}) }));
      return void answer({ ok: true, messages: inThread ? messages : messages.reverse(), has_more: false });
    }
    if (method !== "chat.postMessage") return void answer({ ok: true });
    const ts = `1800000000.${String(++this.#ts).padStart(6, "0")}`;
    const post: Posted = {
      channel: args["channel"] ?? "",
      threadTs: args["thread_ts"],
      text: args["text"] ?? "",
      ts,
      metadata: args["metadata"] ? JSON.parse(args["metadata"]) : undefined,
      at: Date.now(),
    };
    let posted = false;
    const take = () => {
      if (posted) return;
      posted = true;
      this.posted.push({ ...post, at: Date.now() });
    };
    const ok = () => {
      take();
      answer({ ok: true, channel: post.channel, ts });
    };
    const hold = this.#hold;
    if (hold?.match(post.threadTs)) {
      if (hold.mode === "accepted") take();
      let aborted!: () => void;
      const held: Held = { threadTs: post.threadTs, text: post.text, aborted: new Promise<void>((resolve) => (aborted = resolve)), release: ok };
      res.on("close", () => {
        if (!res.writableEnded) aborted();
      });
      this.#held.push(held);
      return;
    }
    ok();
  }
}

/** A `switchboard worker` child process. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** What it wrote to stderr (its logs). */
  readonly output: () => string;
}

/** Environment of worker processes and the in-test gateway: the server database, Slack via the recorder. */
export function queueEnv(databaseUrl: string, slack: SlackRecorder, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    DATA_DIR: tempDataDir("switchboard-inbox-"),
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    DEMO_DATA: "off",
    LOG_LEVEL: "warn",
    ...extra,
  };
}

/**
 * Starts `node bin/switchboard.js worker` (the real command, through tsx like `npx switchboard`),
 * or with `scripted`, the same worker with a scripted supervisor (worker-main.mjs, on dist/).
 */
export function spawnWorker(env: Record<string, string>, options: { scripted?: boolean } = {}): WorkerProcess {
  const args = options.scripted ? [path.join(ROOT, "test/inbox/worker-main.mjs")] : [path.join(ROOT, "bin/switchboard.js"), "worker"];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (d) => {
    output += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** Stops a worker with SIGTERM and waits for it to exit. */
export async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill("SIGTERM");
  await w.exited;
}

/** A gateway in this process: stores and queues messages (`pipeline.submit`), answers none. */
export async function startGateway(env: Record<string, string>): Promise<App> {
  return createApp(loadConfig({ ...env, LOG_LEVEL: "silent" }), silentLogger(), { startWorker: false });
}

/** A Slack thread message as the Slack adapter would hand it over. */
export function slackMessage(thread: string, platformMessageId: string, text: string): InboundMessage {
  return {
    platform: "slack",
    conversationKey: `slack:${TEAM}:${CHANNEL}:${thread}`,
    userId: "U0ASKER",
    text,
    platformMessageId,
    replyContext: { channel: CHANNEL, threadTs: thread },
  };
}

/** Worker processes registered in `queue_workers`. */
export async function liveWorkers(app: App): Promise<number> {
  return Number((await app.db.pool.query("select count(*) from queue_workers")).rows[0].count);
}
