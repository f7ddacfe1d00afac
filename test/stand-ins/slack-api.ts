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

/** A modal the bot opened with `views.open`, as Slack keeps it: its id and the view it was given. */
export interface OpenedView {
  id: string;
  triggerId: string;
  view: Record<string, unknown>;
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
  /** trigger_id → whether it was exchanged for a modal already (Slack: once, within 3 s of the click). */
  readonly #triggers = new Map<string, boolean>();
  /** Modals opened, in order. */
  readonly views: OpenedView[] = [];
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

  /** A `trigger_id` for an interaction payload, which `views.open` can exchange once. */
  issueTrigger(): string {
    const id = `${Date.now()}.${this.#triggers.size + 1}.${Math.random().toString(16).slice(2, 10)}`;
    this.#triggers.set(id, false);
    return id;
  }

  /**
   * The `view_submission` payload Slack sends when `user` submits the opened modal `viewId` with
   * `values` (input block id → value). Like Slack's client it refuses what a person could not
   * submit: a required input left empty, a value over the input's `max_length`, an unknown block.
   */
  viewSubmission(viewId: string, user: { id: string; name: string }, values: Record<string, string>): Record<string, unknown> {
    const opened = this.views.find((v) => v.id === viewId);
    if (!opened) throw new Error(`stand-in: no opened view ${viewId}`);
    const blocks = (opened.view["blocks"] ?? []) as Array<{ type?: string; block_id?: string; optional?: boolean; element?: { type?: string; action_id?: string; max_length?: number; min_length?: number } }>;
    const inputs = blocks.filter((b) => b.type === "input");
    for (const key of Object.keys(values)) if (!inputs.some((b) => b.block_id === key)) throw new Error(`stand-in: the view has no input block ${key}`);
    const state: Record<string, Record<string, { type: string; value: string | null }>> = {};
    for (const b of inputs) {
      const value = values[b.block_id ?? ""] ?? "";
      if (!b.optional && value.trim() === "") throw new Error(`stand-in: the input ${b.block_id} is required`);
      if (b.element?.max_length !== undefined && value.length > b.element.max_length) throw new Error(`stand-in: ${b.block_id} is over its max_length`);
      if (value !== "" && b.element?.min_length !== undefined && value.length < b.element.min_length) throw new Error(`stand-in: ${b.block_id} is under its min_length`);
      state[b.block_id ?? ""] = { [b.element?.action_id ?? ""]: { type: b.element?.type ?? "plain_text_input", value: value === "" ? null : value } };
    }
    return {
      type: "view_submission",
      team: { id: this.teamId, domain: "switchboard-test" },
      user: { id: user.id, username: user.name.toLowerCase(), name: user.name.toLowerCase(), team_id: this.teamId },
      api_app_id: "A0TEST",
      token: "legacy-verification-token",
      trigger_id: this.issueTrigger(),
      view: {
        ...opened.view,
        id: opened.id,
        team_id: this.teamId,
        app_id: "A0TEST",
        bot_id: this.botId,
        state: { values: state },
        hash: `${Date.now()}.hash`,
        private_metadata: opened.view["private_metadata"] ?? "",
        callback_id: opened.view["callback_id"] ?? "",
      },
      response_urls: [],
      is_enterprise_install: false,
    };
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
      case "views.open": {
        const trigger = String(args["trigger_id"] ?? "");
        if (!this.#triggers.has(trigger)) return { ok: false, error: "invalid_trigger_id" };
        if (this.#triggers.get(trigger)) return { ok: false, error: "exchanged_trigger_id" };
        const view = args["view"] as Record<string, unknown> | undefined;
        const problem = invalidModal(view);
        if (problem) return { ok: false, error: "invalid_arguments", response_metadata: { messages: [problem] } };
        this.#triggers.set(trigger, true);
        const id = `V${String(this.views.length + 1).padStart(8, "0")}`;
        this.views.push({ id, triggerId: trigger, view: view! });
        return { ok: true, view: { ...view, id, team_id: this.teamId, state: { values: {} }, hash: `${Date.now()}.hash`, app_id: "A0TEST", bot_id: this.botId } };
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

/** What Slack would refuse in a modal view (the limits a bot is likely to hit), or undefined. */
function invalidModal(view: Record<string, unknown> | undefined): string | undefined {
  if (!view || typeof view !== "object") return "[ERROR] missing required field: view";
  if (view["type"] !== "modal") return "[ERROR] view.type must be modal";
  const text = (field: string) => (view[field] as { type?: string; text?: string } | undefined)?.text;
  const title = text("title");
  if (!title || title.length > 24) return "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]";
  const submit = text("submit");
  if (submit !== undefined && submit.length > 24) return "[ERROR] must be less than 25 characters [json-pointer:/view/submit/text]";
  const blocks = view["blocks"];
  if (!Array.isArray(blocks) || blocks.length > 100) return "[ERROR] view.blocks must be 1-100 blocks";
  if (blocks.some((b: { type?: string }) => b.type === "input") && submit === undefined) return "[ERROR] a view with input blocks needs a submit button [json-pointer:/view/submit]";
  if (typeof view["private_metadata"] === "string" && view["private_metadata"].length > 3000) return "[ERROR] private_metadata is over 3000 characters";
  return undefined;
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
