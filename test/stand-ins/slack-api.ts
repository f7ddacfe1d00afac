import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { Changes } from "../helpers/wait-until.ts";

/**
 * A local stand-in for the Slack Web API (and for `response_url`s), for the real WebClient:
 * `new WebClient(token, { slackApiUrl: standIn.apiUrl })`. Calls arrive as form-encoded POSTs to
 * `/api/<method>` with `Authorization: Bearer <token>`; object fields (blocks) as JSON strings.
 * Every call is recorded, in the order the requests arrived, with its arguments parsed and the
 * moment it arrived (`at`, on `performance.now()`'s clock, so a test can order it against what it
 * saw itself); `waitForCall` resolves when a matching one arrives.
 */
export interface SlackApiCall {
  method: string;
  args: Record<string, unknown>;
  /** The bearer token the call carried. */
  token: string | undefined;
  /** What the stand-in answered. */
  response: Record<string, unknown>;
  /** When the request arrived (`performance.now()`), before its body was read. */
  at: number;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
  /** When the request arrived (`performance.now()`). */
  at: number;
}

export interface SlackApiStandInOptions {
  teamId?: string;
  /** The bot's user id and bot id that `auth.test` reports; different from any test user. */
  botUserId?: string;
  botId?: string;
  /** Tokens the stand-in accepts; others get `invalid_auth`. Unset: any token. */
  botToken?: string;
  appToken?: string;
  /** The WebSocket URL `apps.connections.open` hands out (the Socket Mode stand-in). */
  socketUrl?: () => string;
}

/** Answers a call; `undefined` falls through to the default answer. */
type Handler = (args: Record<string, unknown>) => Record<string, unknown> | undefined;

export class SlackApiStandIn {
  readonly calls: SlackApiCall[] = [];
  readonly responses: ResponseUrlPost[] = [];
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;

  readonly #server: Server;
  readonly #options: SlackApiStandInOptions;
  readonly #overrides = new Map<string, Handler>();
  /** Calls carried out whose answer is then lost (the connection drops): method → how many more. */
  readonly #lost: Array<{ method: string; match: (args: Record<string, unknown>) => boolean; times: number }> = [];
  /** What the bot posted, per channel, oldest first: `conversations.replies` / `.history` read it. */
  readonly #posted = new Map<string, Array<Record<string, unknown>>>();
  readonly #changes = new Changes();
  #ts = 0;
  #responseIds = 0;
  #recording: Promise<void> = Promise.resolve();

  private constructor(server: Server, options: SlackApiStandInOptions) {
    this.#server = server;
    this.#options = options;
    this.teamId = options.teamId ?? "T0TEST";
    this.botUserId = options.botUserId ?? "U0BOT";
    this.botId = options.botId ?? "B0BOT";
  }

  static async start(options: SlackApiStandInOptions = {}): Promise<SlackApiStandIn> {
    let standIn: SlackApiStandIn | undefined;
    const server = createServer((req, res) => {
      standIn?.handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    standIn = new SlackApiStandIn(server, options);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return standIn;
  }

  get origin(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** The `slackApiUrl` to give the WebClient. */
  get apiUrl(): string {
    return `${this.origin}/api/`;
  }

  /** A fresh `response_url` that records what is posted to it. */
  responseUrl(): string {
    this.#responseIds += 1;
    return `${this.origin}/response/${this.#responseIds}`;
  }

  /** Answers `method` with `handler` from now on (e.g. an error like `not_in_channel`). */
  respondWith(method: string, handler: Handler | undefined): void {
    if (handler) this.#overrides.set(method, handler);
    else this.#overrides.delete(method);
  }

  /** The next `times` matching calls are carried out (a post is made), then their connection drops unanswered. */
  loseAnswers(method: string, match: (args: Record<string, unknown>) => boolean, times = 1): void {
    this.#lost.push({ method, match, times });
  }

  /** The messages the bot posted in a channel (thread replies included), oldest first. */
  postedIn(channel: string): Array<Record<string, unknown>> {
    return this.#posted.get(channel) ?? [];
  }

  callsTo(method: string, predicate: (call: SlackApiCall) => boolean = () => true): SlackApiCall[] {
    return this.calls.filter((c) => c.method === method && predicate(c));
  }

  waitForCall(
    method: string,
    predicate: (call: SlackApiCall) => boolean = () => true,
    what = `a ${method} call`,
  ): Promise<SlackApiCall> {
    return this.#changes.until(() => this.calls.find((c) => c.method === method && predicate(c)), what);
  }

  waitForResponse(predicate: (post: ResponseUrlPost) => boolean = () => true): Promise<ResponseUrlPost> {
    return this.#changes.until(() => this.responses.find(predicate), "a response_url post");
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now();
    // Recorded in arrival order, whatever order the bodies finish in.
    const previous = this.#recording;
    let recorded!: () => void;
    this.#recording = new Promise<void>((resolve) => {
      recorded = resolve;
    });
    try {
      const raw = await readBody(req);
      await previous;
      this.record(req, res, raw, at);
    } finally {
      recorded();
    }
  }

  private record(req: IncomingMessage, res: ServerResponse, raw: string, at: number): void {
    const url = new URL(req.url ?? "/", this.origin);
    if (url.pathname.startsWith("/response/")) {
      this.responses.push({ id: url.pathname.slice("/response/".length), body: JSON.parse(raw || "{}"), at });
      this.#changes.notify();
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    if (!url.pathname.startsWith("/api/")) {
      res.writeHead(404).end();
      return;
    }
    const method = url.pathname.slice("/api/".length);
    const args = parseArgs(raw, req.headers["content-type"]);
    const auth = req.headers.authorization;
    const token = auth?.startsWith("Bearer ") ? auth.slice("Bearer ".length) : (args["token"] as string | undefined);
    const response = this.answer(method, args, token);
    this.calls.push({ method, args, token, response, at });
    const lost = this.#lost.find((l) => l.method === method && l.times > 0 && l.match(args));
    if (lost) {
      lost.times -= 1;
      res.socket?.destroy();
    } else {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(response));
    }
    this.#changes.notify();
  }

  private answer(method: string, args: Record<string, unknown>, token: string | undefined): Record<string, unknown> {
    const expected = method === "apps.connections.open" ? this.#options.appToken : this.#options.botToken;
    if (expected !== undefined && token !== expected) return { ok: false, error: "invalid_auth" };
    const override = this.#overrides.get(method)?.(args);
    if (override) return override;
    switch (method) {
      case "auth.test":
        return {
          ok: true,
          url: "https://switchboard-test.slack.com/",
          team: "Switchboard Test",
          user: "switchboard",
          team_id: this.teamId,
          user_id: this.botUserId,
          bot_id: this.botId,
          is_enterprise_install: false,
        };
      case "chat.postMessage": {
        const ts = this.nextTs();
        const channel = String(args["channel"]);
        const message = {
          type: "message",
          text: args["text"],
          user: this.botUserId,
          bot_id: this.botId,
          ts,
          ...(args["thread_ts"] === undefined ? {} : { thread_ts: args["thread_ts"] }),
          ...(args["metadata"] === undefined ? {} : { metadata: args["metadata"] }),
        };
        this.#posted.set(channel, [...this.postedIn(channel), message]);
        return { ok: true, channel, ts, message };
      }
      case "conversations.replies":
      case "conversations.history": {
        const withMetadata = args["include_all_metadata"] === "true" || args["include_all_metadata"] === true;
        const messages = this.postedIn(String(args["channel"]))
          .filter((m) => (method === "conversations.replies" ? m["thread_ts"] === args["ts"] : m["thread_ts"] === undefined))
          .map(({ metadata, ...m }) => (withMetadata && metadata !== undefined ? { ...m, metadata } : m));
        // history: newest first; replies: oldest first (Slack's orders).
        return { ok: true, messages: method === "conversations.history" ? messages.reverse() : messages, has_more: false };
      }
      case "chat.update": {
        // Slack: the bot's own message in the channel is replaced in place (same ts); others are not found.
        const channel = String(args["channel"]);
        const ts = String(args["ts"]);
        const posted = this.postedIn(channel);
        const at = posted.findIndex((m) => m["ts"] === ts);
        if (at < 0) return { ok: false, error: "message_not_found" };
        const updated = { ...posted[at], text: args["text"], ...(args["blocks"] === undefined ? {} : { blocks: args["blocks"] }), edited: { user: this.botUserId, ts: this.nextTs() } };
        this.#posted.set(channel, posted.map((m, i) => (i === at ? updated : m)));
        return { ok: true, channel, ts, text: args["text"], message: updated };
      }
      case "chat.postEphemeral":
        return { ok: true, message_ts: this.nextTs() };
      case "chat.delete": {
        const channel = String(args["channel"]);
        const posted = this.postedIn(channel);
        if (!posted.some((m) => m["ts"] === args["ts"])) return { ok: false, error: "message_not_found" };
        this.#posted.set(channel, posted.filter((m) => m["ts"] !== args["ts"]));
        return { ok: true, channel, ts: args["ts"] };
      }
      case "apps.connections.open":
        if (!this.#options.socketUrl) return { ok: false, error: "socket_mode_not_enabled" };
        return { ok: true, url: this.#options.socketUrl() };
      default:
        return { ok: true };
    }
  }

  private nextTs(): string {
    this.#ts += 1;
    return `${1_700_000_000 + this.#ts}.${String(this.#ts).padStart(6, "0")}`;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseArgs(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (raw === "") return {};
  if (contentType?.startsWith("application/json")) return JSON.parse(raw) as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    args[key] = /^[[{]/.test(value) ? safeJson(value) : value;
  }
  return args;
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
