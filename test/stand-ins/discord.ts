/**
 * A local stand-in for Discord: the REST API (node:http) and the gateway (ws) on 127.0.0.1, port 0,
 * speaking what discord.js 14 needs (facts in /work/shared/TESTING-CHAT-PLATFORMS.md). It keeps a
 * small world (one guild with text channels, a bot, a human, another bot, DM channels, threads),
 * records every REST call and gateway frame, and lets tests await them instead of sleeping.
 *
 * Behaviour copied from Discord on purpose:
 * - messages the bot posts come back to it as MESSAGE_CREATE, as they do on Discord;
 * - a thread started from a message has the message's id; a second one fails with 160004;
 * - THREAD_CREATE is dispatched with the bot as owner;
 * - after a missed heartbeat ACK the client resumes on `resume_gateway_url`, and the events
 *   dispatched since its last sequence number are replayed before RESUMED.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { WebSocketServer, type WebSocket } from "ws";
import { HANG_GUARD_MS } from "../helpers/wait-until.ts";

type Json = Record<string, unknown>;

export interface StandInUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: null;
  bot?: boolean;
}

export interface RestCall {
  method: string;
  /** Path after `/api/v10`, percent-decoded (`/webhooks/1/tok/messages/@original`). */
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
  status: number;
  /** When it arrived and when it was answered (`performance.now()`), to order it against what a test saw. */
  receivedAt?: number;
  answeredAt?: number;
}

export interface GatewayFrame {
  /** Which socket (1, 2, …) sent it. */
  connection: number;
  op: number;
  d: unknown;
}

export interface GatewayConnectionEvent {
  connection: number;
  kind: "open" | "close";
  path: string;
  code?: number;
}

export interface DispatchFrame {
  op: 0;
  s: number;
  t: string;
  d: Json;
}

export interface RouteFailure {
  method: string;
  path: RegExp;
  status: number;
  code: number;
  message: string;
  /** How many calls fail; default every one. */
  times?: number;
}

/** Calls whose answer is held back: a slow Discord. */
export interface SlowRoute {
  method: string;
  path: RegExp;
  /** How many calls are held; default every one. */
  times?: number;
  /** Answer each this many ms after it arrived; without it, held until `release()`. */
  delayMs?: number;
}

/** Calls Discord carries out whose answer never reaches the client (the connection drops). */
export interface LostAnswer {
  method: string;
  path: RegExp;
  /** How many calls lose their answer; default every one. */
  times?: number;
}

export interface SlowRouteHandle {
  /** Answers the calls held so far; later ones are not held. */
  release(): void;
}

export interface DiscordStandInOptions {
  /** The bot token the stand-in accepts. Default: one shaped like Discord's (id.timestamp.hmac). */
  token?: string;
  /** HELLO's heartbeat interval; short so a missed ACK is noticed quickly. Default 200 ms. */
  heartbeatIntervalMs?: number;
}

const DISCORD_EPOCH = 1_420_070_400_000n;
let increment = 0n;

/** A real-looking snowflake: milliseconds since Discord's epoch, shifted, plus a counter. */
export function snowflake(): string {
  increment = (increment + 1n) % 4096n;
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | increment).toString();
}

function user(username: string, bot = false): StandInUser {
  return {
    id: snowflake(),
    username,
    global_name: bot ? null : username[0]?.toUpperCase() + username.slice(1),
    discriminator: "0",
    avatar: null,
    ...(bot ? { bot: true } : {}),
  };
}

/** Collects items and lets a test await one matching a predicate (past or future). */
class Recorder<T> {
  readonly items: T[] = [];
  readonly #waiters: { predicate: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  push(item: T): void {
    this.items.push(item);
    for (const waiter of [...this.#waiters]) {
      if (waiter.predicate(item)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(item);
      }
    }
  }

  waitFor(predicate: (item: T) => boolean, description: string, timeoutMs = HANG_GUARD_MS): Promise<T> {
    const found = this.items.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`Discord stand-in: timed out after ${timeoutMs} ms waiting for ${description}`));
      }, timeoutMs);
      const waiter = {
        predicate,
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      this.#waiters.push(waiter);
    });
  }
}

interface Channel {
  id: string;
  type: number;
  name?: string;
  guild_id?: string;
  parent_id?: string | null;
  owner_id?: string;
  recipients?: StandInUser[];
  thread_metadata?: Json;
}

interface Interaction {
  id: string;
  applicationId: string;
  token: string;
  channelId: string;
  /** Callback type once acknowledged (5: deferred; 9: a modal was shown). */
  acknowledged: number | null;
  expired: boolean;
  original: Json | null;
  /** The interaction's type: 2 a command, 3 a component (button), 5 a modal submitted. */
  kind?: 2 | 3 | 5;
  /** A component's: the message it is on, and who clicked (a modal it opens is theirs to submit). */
  messageId?: string;
  author?: StandInUser;
  /** The modal this interaction was answered with (callback type 9). */
  modal?: ShownModal;
}

/** A modal as the bot sent it (callback type 9): its id, title and text inputs. */
export interface ShownModal {
  customId: string;
  title: string;
  /** Label-wrapped (type 18) or action-row (type 1) text inputs, in order. */
  inputs: Array<{ customId: string; label: string; style: number; required: boolean; minLength?: number; maxLength?: number; layout: 1 | 18 }>;
}

interface Session {
  id: string;
  seq: number;
  history: DispatchFrame[];
  socket: Connection | null;
}

interface Connection {
  id: number;
  ws: WebSocket;
  ackHeartbeats: boolean;
}

export class DiscordStandIn {
  readonly token: string;
  readonly bot = user("switchboard", true);
  readonly applicationId = snowflake();
  readonly guildId = snowflake();
  readonly users = { alice: user("alice"), bob: user("bob"), otherBot: user("otherbot", true) };
  readonly channels = { support: snowflake(), general: snowflake(), voice: snowflake() };
  /** The guild's roles besides @everyone: `staff`, for the staff channel's role check. */
  readonly roles = { staff: snowflake() };
  /** Role ids per user id, sent as the member's `roles` on their messages and interactions. */
  readonly memberRoles = new Map<string, string[]>();
  /** Every REST call, in order, once answered. */
  readonly calls = new Recorder<RestCall>();
  /** Every REST call as it arrives, before it is answered (`status` is 0 until then). */
  readonly requests = new Recorder<RestCall>();
  /** Every frame clients sent on the gateway. */
  readonly frames = new Recorder<GatewayFrame>();
  /** Gateway sockets opening and closing. */
  readonly connections = new Recorder<GatewayConnectionEvent>();
  /** Dispatches sent again on RESUME. */
  readonly replayed: DispatchFrame[] = [];

  readonly #heartbeatIntervalMs: number;
  readonly #server: http.Server;
  readonly #wss: WebSocketServer;
  readonly #channels = new Map<string, Channel>();
  /** Message id → channel id, for threads started from messages. */
  readonly #messages = new Map<string, string>();
  readonly #interactions = new Map<string, Interaction>();
  readonly #failures: RouteFailure[] = [];
  readonly #slow: Array<{ route: SlowRoute; released: Promise<void>; release: () => void }> = [];
  readonly #lostAnswers: LostAnswer[] = [];
  /** `channel:nonce` → the bot message created with it (Discord's `enforce_nonce`). */
  readonly #nonces = new Map<string, Json>();
  /** Messages the bot's REST posts created, per channel: a deduplicated post creates none. */
  readonly #created = new Map<string, Json[]>();
  #session: Session | null = null;
  #connectionCount = 0;
  #port = 0;

  constructor(options: DiscordStandInOptions = {}) {
    this.token = options.token ?? `${Buffer.from(this.bot.id).toString("base64url")}.GsTand.${"in-secret-".repeat(4)}0123`;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 200;
    const guild_id = this.guildId;
    this.#channels.set(this.channels.support, { id: this.channels.support, type: 0, name: "support", guild_id, parent_id: null });
    this.#channels.set(this.channels.general, { id: this.channels.general, type: 0, name: "general", guild_id, parent_id: null });
    this.#channels.set(this.channels.voice, { id: this.channels.voice, type: 2, name: "voice", guild_id, parent_id: null });
    this.#server = http.createServer((req, res) => {
      void this.#handleRest(req, res);
    });
    this.#wss = new WebSocketServer({ noServer: true });
    this.#server.on("upgrade", (req, socket, head) => {
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, req.url ?? "/"));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** REST base for discord.js (`rest.api`): without `/v10`. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}/gateway`;
  }

  get resumeGatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}/resume`;
  }

  async close(): Promise<void> {
    for (const slow of this.#slow.splice(0)) slow.release();
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- test controls

  /** Awaits a REST call matching the predicate (one already made counts). */
  waitForCall(predicate: (call: RestCall) => boolean, description = "a REST call", timeoutMs = HANG_GUARD_MS): Promise<RestCall> {
    return this.calls.waitFor(predicate, description, timeoutMs);
  }

  waitForFrame(predicate: (frame: GatewayFrame) => boolean, description = "a gateway frame", timeoutMs = HANG_GUARD_MS): Promise<GatewayFrame> {
    return this.frames.waitFor(predicate, description, timeoutMs);
  }

  waitForConnection(
    predicate: (event: GatewayConnectionEvent) => boolean,
    description = "a gateway connection event",
    timeoutMs = HANG_GUARD_MS,
  ): Promise<GatewayConnectionEvent> {
    return this.connections.waitFor(predicate, description, timeoutMs);
  }

  /** Messages the bot posted in a channel (REST), in order. */
  botMessagesIn(channelId: string): RestCall[] {
    return this.calls.items.filter((c) => c.method === "POST" && c.path === `/channels/${channelId}/messages` && c.status === 200);
  }

  /** The current gateway connection stops answering heartbeats, so the client gives up on it. */
  dropHeartbeatAcks(): void {
    if (this.#session?.socket) this.#session.socket.ackHeartbeats = false;
  }

  /** Makes calls to a route fail with a Discord error body. */
  failRoute(failure: RouteFailure): void {
    this.#failures.push(failure);
  }

  /** Matching calls are carried out, then their connection is dropped without an answer. */
  loseAnswers(lost: LostAnswer): void {
    this.#lostAnswers.push({ ...lost });
  }

  #isNew(message: Json): boolean {
    const channelId = String((message as { channel_id?: unknown }).channel_id);
    const created = this.createdIn(channelId);
    return created[created.length - 1] === message;
  }

  /** The messages the bot created in a channel (REST posts that Discord deduplicated by nonce not counted). */
  createdIn(channelId: string): Json[] {
    return this.#created.get(channelId) ?? [];
  }

  /** Holds back the answers to matching calls (a slow Discord), until `release()` or for `delayMs`. */
  slowRoute(route: SlowRoute): SlowRouteHandle {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const entry = { route: { ...route }, released, release };
    this.#slow.push(entry);
    return {
      release: () => {
        const index = this.#slow.indexOf(entry);
        if (index >= 0) this.#slow.splice(index, 1);
        entry.release();
      },
    };
  }

  async #holdIfSlow(call: RestCall): Promise<void> {
    const entry = this.#slow.find((e) => e.route.method === call.method && e.route.path.test(call.path) && (e.route.times ?? 1) > 0);
    if (!entry) return;
    if (entry.route.times !== undefined) entry.route.times--;
    const { delayMs } = entry.route;
    if (delayMs === undefined) await entry.released;
    else await new Promise((resolve) => setTimeout(resolve, delayMs));
  }

  /** The interaction's token stops working (Discord: 15 minutes after the interaction). */
  expireInteraction(token: string): void {
    const interaction = this.#interactions.get(token);
    if (interaction) interaction.expired = true;
  }

  #rolesOf(user: StandInUser): string[] {
    return this.memberRoles.get(user.id) ?? [];
  }

  /** A person (or another bot) posts in a guild channel or thread. Mentions are read from `<@id>`. */
  postMessage(input: { channelId: string; content: string; author?: StandInUser; id?: string }): Json {
    const channel = this.#channels.get(input.channelId);
    if (!channel?.guild_id) throw new Error(`stand-in: no guild channel ${input.channelId}`);
    const author = input.author ?? this.users.alice;
    const message = this.#message({ id: input.id ?? snowflake(), channel, author, content: input.content });
    this.dispatch("MESSAGE_CREATE", message);
    return message;
  }

  /** A person writes to the bot in a DM. The first one opens the DM channel. */
  postDirectMessage(input: { content: string; author?: StandInUser }): Json {
    const author = input.author ?? this.users.alice;
    const channel = this.dmChannelOf(author);
    const message = this.#message({ id: snowflake(), channel, author, content: input.content });
    this.dispatch("MESSAGE_CREATE", message);
    return message;
  }

  dmChannelOf(author: StandInUser): Channel {
    const existing = [...this.#channels.values()].find((c) => c.type === 1 && c.recipients?.[0]?.id === author.id);
    if (existing) return existing;
    const channel: Channel = { id: snowflake(), type: 1, recipients: [author] };
    this.#channels.set(channel.id, channel);
    return channel;
  }

  /** A person runs `/support question:<text>`. */
  invokeSupport(input: { question: string; channelId?: string; author?: StandInUser }): { id: string; token: string; payload: Json } {
    const author = input.author ?? this.users.alice;
    const channelId = input.channelId ?? this.channels.support;
    const channel = this.#channels.get(channelId);
    if (!channel) throw new Error(`stand-in: no channel ${channelId}`);
    const id = snowflake();
    const token = `interaction-token-${id}-${Math.random().toString(36).slice(2)}`;
    this.#interactions.set(token, {
      id,
      applicationId: this.applicationId,
      token,
      channelId,
      acknowledged: null,
      expired: false,
      original: null,
    });
    const inGuild = channel.guild_id !== undefined;
    const payload: Json = {
      id,
      application_id: this.applicationId,
      type: 2,
      token,
      version: 1,
      data: { id: snowflake(), name: "support", type: 1, options: [{ name: "question", type: 3, value: input.question }] },
      channel_id: channelId,
      channel: { id: channelId, type: channel.type, ...(channel.name ? { name: channel.name } : {}), ...(inGuild ? { guild_id: channel.guild_id } : {}) },
      locale: "en-US",
      app_permissions: "309237713920",
      entitlements: [],
      authorizing_integration_owners: { "0": inGuild ? this.guildId : author.id },
      context: inGuild ? 0 : 1,
      attachment_size_limit: 10_485_760,
      ...(inGuild
        ? {
            guild_id: this.guildId,
            guild_locale: "en-US",
            member: { user: author, roles: this.#rolesOf(author), permissions: "2248473465835073", joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0, nick: null },
          }
        : { user: author }),
    };
    this.dispatch("INTERACTION_CREATE", payload);
    return { id, token, payload };
  }

  /** A person clicks a message component (a button) on a message in a guild channel. */
  clickButton(input: { channelId: string; messageId: string; customId: string; author?: StandInUser }): { id: string; token: string } {
    const author = input.author ?? this.users.bob;
    const channel = this.#channels.get(input.channelId);
    if (!channel?.guild_id) throw new Error(`stand-in: no guild channel ${input.channelId}`);
    const id = snowflake();
    const token = `interaction-token-${id}-${Math.random().toString(36).slice(2)}`;
    this.#interactions.set(token, {
      id,
      applicationId: this.applicationId,
      token,
      channelId: channel.id,
      acknowledged: null,
      expired: false,
      original: null,
      kind: 3,
      messageId: input.messageId,
      author,
    });
    this.dispatch("INTERACTION_CREATE", {
      id,
      application_id: this.applicationId,
      type: 3,
      token,
      version: 1,
      data: { custom_id: input.customId, component_type: 2 },
      message: { ...this.#message({ id: input.messageId, channel, author: this.bot, content: "" }), components: [] },
      ...this.#inGuildChannel(channel, author),
    });
    return { id, token };
  }

  /** The modal shown in answer to the interaction with this token (callback type 9), if one was. */
  modalShown(token: string): ShownModal | undefined {
    return this.#interactions.get(token)?.modal;
  }

  /**
   * The person who got the modal (shown in answer to the interaction `token`) fills it in and
   * submits it: a MODAL_SUBMIT interaction (type 5) with the values, shaped as Discord sends it
   * (Label-wrapped or action-row text inputs, as the modal had them; `message` when the modal came
   * from a button on a message). Like Discord's client, it refuses what a person could not send:
   * no modal shown, a value for an input the modal lacks, a required input left empty, a value
   * outside the input's length limits.
   */
  submitModal(input: { token: string; values: Record<string, string>; author?: StandInUser }): { id: string; token: string } {
    const opener = this.#interactions.get(input.token);
    const modal = opener?.modal;
    if (!opener || !modal) throw new Error("stand-in: no modal was shown in answer to that interaction");
    const channel = this.#channels.get(opener.channelId);
    if (!channel?.guild_id) throw new Error(`stand-in: no guild channel ${opener.channelId}`);
    const author = input.author ?? opener.author ?? this.users.bob;
    for (const key of Object.keys(input.values)) {
      if (!modal.inputs.some((i) => i.customId === key)) throw new Error(`stand-in: the modal has no input ${key}`);
    }
    let componentId = 0;
    const components = modal.inputs.map((field) => {
      const value = input.values[field.customId] ?? "";
      if (field.required && value.trim() === "") throw new Error(`stand-in: the modal's input ${field.customId} is required`);
      if (value !== "" && field.minLength !== undefined && value.length < field.minLength) throw new Error(`stand-in: ${field.customId} is shorter than ${field.minLength}`);
      if (field.maxLength !== undefined && value.length > field.maxLength) throw new Error(`stand-in: ${field.customId} is longer than ${field.maxLength}`);
      const text = { type: 4, id: ++componentId, custom_id: field.customId, value };
      return field.layout === 18 ? { type: 18, id: ++componentId, component: text } : { type: 1, id: ++componentId, components: [text] };
    });
    const id = snowflake();
    const token = `interaction-token-${id}-${Math.random().toString(36).slice(2)}`;
    this.#interactions.set(token, { id, applicationId: this.applicationId, token, channelId: channel.id, acknowledged: null, expired: false, original: null, kind: 5, author });
    this.dispatch("INTERACTION_CREATE", {
      id,
      application_id: this.applicationId,
      type: 5,
      token,
      version: 1,
      data: { custom_id: modal.customId, components },
      ...(opener.messageId ? { message: { ...this.#message({ id: opener.messageId, channel, author: this.bot, content: "" }), components: [] } } : {}),
      ...this.#inGuildChannel(channel, author),
    });
    return { id, token };
  }

  /** The fields of a guild interaction that say where it happened and who acted (a member of the guild). */
  #inGuildChannel(channel: Channel, author: StandInUser): Json {
    return {
      channel_id: channel.id,
      channel: { id: channel.id, type: channel.type, ...(channel.name ? { name: channel.name } : {}), guild_id: channel.guild_id },
      guild_id: this.guildId,
      guild_locale: "en-US",
      locale: "en-US",
      app_permissions: "309237713920",
      entitlements: [],
      authorizing_integration_owners: { "0": this.guildId },
      context: 0,
      attachment_size_limit: 10_485_760,
      member: { user: author, roles: this.#rolesOf(author), permissions: "2248473465835073", joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0, nick: null },
    };
  }

  /** Sends a dispatch to the connected client (or keeps it for the replay on RESUME). */
  dispatch(t: string, d: Json): DispatchFrame {
    const session = this.#session;
    if (!session) throw new Error("stand-in: no gateway session (has the client logged in?)");
    const frame: DispatchFrame = { op: 0, s: ++session.seq, t, d };
    session.history.push(frame);
    if (session.socket) session.socket.ws.send(JSON.stringify(frame));
    return frame;
  }

  // ---------------------------------------------------------------- gateway

  #onConnection(ws: WebSocket, url: string): void {
    const connection: Connection = { id: ++this.#connectionCount, ws, ackHeartbeats: true };
    const path = new URL(url, "ws://127.0.0.1").pathname;
    this.connections.push({ connection: connection.id, kind: "open", path });
    ws.on("close", (code) => {
      if (this.#session?.socket === connection) this.#session.socket = null;
      this.connections.push({ connection: connection.id, kind: "close", path, code });
    });
    ws.on("message", (raw) => {
      // The client sends JSON text frames (no zlib-sync installed, no compression).
      const text = Array.isArray(raw) ? Buffer.concat(raw).toString() : Buffer.from(raw as ArrayBuffer).toString();
      const frame = JSON.parse(text) as { op: number; d: unknown };
      this.frames.push({ connection: connection.id, op: frame.op, d: frame.d });
      this.#onFrame(connection, frame);
    });
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.#heartbeatIntervalMs }, s: null, t: null }));
  }

  #onFrame(connection: Connection, frame: { op: number; d: unknown }): void {
    switch (frame.op) {
      case 1: // heartbeat
        if (connection.ackHeartbeats) connection.ws.send(JSON.stringify({ op: 11 }));
        return;
      case 2: {
        const d = frame.d as { token?: string };
        if (d.token !== this.token) {
          connection.ws.close(4004, "Authentication failed.");
          return;
        }
        this.#identify(connection);
        return;
      }
      case 6: {
        const d = frame.d as { token?: string; session_id?: string; seq?: number };
        const session = this.#session;
        if (d.token !== this.token || !session || d.session_id !== session.id) {
          connection.ws.send(JSON.stringify({ op: 9, d: false }));
          return;
        }
        if (session.socket && session.socket !== connection) session.socket.ws.terminate();
        session.socket = connection;
        for (const missed of session.history.filter((f) => f.s > (d.seq ?? 0))) {
          this.replayed.push(missed);
          connection.ws.send(JSON.stringify(missed));
        }
        this.dispatch("RESUMED", {});
        return;
      }
      default:
        return;
    }
  }

  #identify(connection: Connection): void {
    const session: Session = { id: snowflake(), seq: 0, history: [], socket: connection };
    this.#session = session;
    this.dispatch("READY", {
      v: 10,
      user: { ...this.bot, verified: true, mfa_enabled: false, flags: 0 },
      guilds: [{ id: this.guildId, unavailable: true }],
      session_id: session.id,
      resume_gateway_url: this.resumeGatewayUrl,
      application: { id: this.applicationId, flags: 0 },
      shard: [0, 1],
      private_channels: [],
      relationships: [],
      presences: [],
      user_settings: {},
      session_type: "normal",
      auth: {},
      geo_ordered_rtc_regions: [],
      guild_join_requests: [],
    });
    this.dispatch("GUILD_CREATE", this.#guild());
  }

  #guild(): Json {
    const joined_at = new Date().toISOString();
    const guildChannels = [...this.#channels.values()].filter((c) => c.guild_id && c.type !== 11);
    const threads = [...this.#channels.values()].filter((c) => c.type === 11);
    return {
      id: this.guildId,
      name: "Acme Support",
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: this.users.alice.id,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: "en-US",
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      vanity_url_code: null,
      application_id: null,
      max_members: 500_000,
      features: [],
      roles: [
        { id: this.guildId, name: "@everyone", color: 0, hoist: false, position: 0, permissions: "2248473465835073", managed: false, mentionable: false, flags: 0 },
        { id: this.roles.staff, name: "Support staff", color: 0, hoist: false, position: 1, permissions: "2248473465835073", managed: false, mentionable: false, flags: 0 },
      ],
      emojis: [],
      stickers: [],
      joined_at,
      large: false,
      unavailable: false,
      member_count: 4,
      voice_states: [],
      members: [{ user: this.bot, roles: [], joined_at, deaf: false, mute: false, flags: 0, nick: null }],
      channels: guildChannels.map((c) => ({
        id: c.id,
        type: c.type,
        name: c.name,
        position: 0,
        permission_overwrites: [],
        parent_id: null,
        nsfw: false,
        ...(c.type === 0 ? { topic: null, last_message_id: null, rate_limit_per_user: 0 } : { bitrate: 64_000, user_limit: 0 }),
      })),
      threads: threads.map((t) => this.#threadPayload(t)),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
    };
  }

  #message(input: { id: string; channel: Channel; author: StandInUser; content: string; reference?: Json }): Json {
    const { id, channel, author, content } = input;
    this.#messages.set(id, channel.id);
    const mentionIds = [...content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]);
    const everyone = [this.bot, ...Object.values(this.users)];
    const inGuild = channel.guild_id !== undefined;
    return {
      id,
      channel_id: channel.id,
      author,
      content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: everyone.filter((u) => mentionIds.includes(u.id)),
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: input.reference ? 19 : 0,
      flags: 0,
      components: [],
      ...(input.reference ? { message_reference: { type: 0, ...input.reference } } : {}),
      ...(inGuild
        ? {
            guild_id: channel.guild_id,
            member: { roles: this.#rolesOf(author), joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0, nick: null },
          }
        : { channel_type: 1 }),
    };
  }

  #threadPayload(thread: Channel): Json {
    return {
      id: thread.id,
      type: 11,
      guild_id: thread.guild_id,
      parent_id: thread.parent_id,
      owner_id: thread.owner_id,
      name: thread.name,
      last_message_id: null,
      rate_limit_per_user: 0,
      message_count: 0,
      member_count: 1,
      total_message_sent: 0,
      flags: 0,
      thread_metadata: thread.thread_metadata,
    };
  }

  // ---------------------------------------------------------------- REST

  async #handleRest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString();
    let body: unknown = null;
    if (raw !== "" && (req.headers["content-type"] ?? "").includes("application/json")) body = JSON.parse(raw);
    const method = req.method ?? "GET";
    const prefix = "/api/v10";
    const path = url.pathname.startsWith(prefix)
      ? url.pathname.slice(prefix.length).split("/").map(decodeURIComponent).join("/")
      : url.pathname;
    const call: RestCall = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      body,
      authorization: req.headers.authorization,
      status: 0,
      receivedAt: performance.now(),
    };
    this.requests.push(call);
    await this.#holdIfSlow(call);
    const [status, payload] = this.#route(call);
    call.status = status;
    call.answeredAt = performance.now();
    const lost = this.#lostAnswers.find((l) => l.method === call.method && l.path.test(call.path) && (l.times ?? 1) > 0);
    if (lost) {
      if (lost.times !== undefined) lost.times--;
      res.socket?.destroy();
    } else if (payload === undefined) {
      res.writeHead(status).end();
    } else {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
    }
    this.calls.push(call);
    const created = status === 200 && method === "POST" && /^\/channels\/\d+\/messages$/.test(path);
    if (created && payload && !Array.isArray(payload) && this.#session && this.#isNew(payload)) {
      // On Discord the bot's own message comes back over the gateway too (a deduplicated post creates none).
      this.dispatch("MESSAGE_CREATE", payload);
    }
  }

  #route(call: RestCall): [number, Json | Json[] | undefined] {
    const failure = this.#failures.find((f) => f.method === call.method && f.path.test(call.path) && (f.times ?? 1) > 0);
    if (failure) {
      if (failure.times !== undefined) failure.times--;
      return [failure.status, { code: failure.code, message: failure.message }];
    }
    const { method, path } = call;
    const bot = call.authorization === `Bot ${this.token}`;
    const unauthorized: [number, Json] = [401, { code: 0, message: "401: Unauthorized" }];
    let m: RegExpExecArray | null;

    if (method === "GET" && path === "/gateway/bot") {
      if (!bot) return unauthorized;
      return [200, {
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      }];
    }
    if ((m = /^\/channels\/(\d+)\/messages$/.exec(path)) && method === "POST") {
      if (!bot) return unauthorized;
      const channel = this.#channels.get(m[1] ?? "");
      if (!channel) return [404, { code: 10003, message: "Unknown Channel" }];
      const body = (call.body ?? {}) as { content?: string; message_reference?: Json; flags?: number; nonce?: string | number; enforce_nonce?: boolean };
      // Discord: with enforce_nonce, a nonce the bot used recently in the channel returns that message, creating none.
      const nonceKey = body.nonce !== undefined && body.enforce_nonce ? `${channel.id}:${body.nonce}` : undefined;
      const earlier = nonceKey === undefined ? undefined : this.#nonces.get(nonceKey);
      if (earlier) return [200, earlier];
      const message = this.#message({
        id: snowflake(),
        channel,
        author: this.bot,
        content: body.content ?? "",
        ...(body.message_reference ? { reference: { ...body.message_reference, channel_id: channel.id } } : {}),
      });
      const created = { ...message, flags: body.flags ?? 0, ...(body.nonce === undefined ? {} : { nonce: body.nonce }) };
      if (nonceKey !== undefined) this.#nonces.set(nonceKey, created);
      this.#created.set(channel.id, [...this.createdIn(channel.id), created]);
      return [200, created];
    }
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path)) && method === "PATCH") {
      if (!bot) return unauthorized;
      const channel = this.#channels.get(m[1] ?? "");
      if (!channel) return [404, { code: 10003, message: "Unknown Channel" }];
      if (this.#messages.get(m[2] ?? "") !== channel.id) return [404, { code: 10008, message: "Unknown Message" }];
      const body = (call.body ?? {}) as { content?: string; components?: unknown[] };
      const message = this.#message({ id: m[2] ?? "", channel, author: this.bot, content: body.content ?? "" });
      const edited = { ...message, components: body.components ?? [], edited_timestamp: new Date().toISOString() };
      // The bot's own message is replaced in place: what the channel shows now.
      this.#created.set(channel.id, this.createdIn(channel.id).map((c) => ((c as { id?: string }).id === m?.[2] ? { ...(c as object), content: body.content ?? "", edited_timestamp: edited.edited_timestamp } : c)));
      return [200, edited];
    }
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path)) && method === "DELETE") {
      if (!bot) return unauthorized;
      if (this.#messages.get(m[2] ?? "") !== m[1]) return [404, { code: 10008, message: "Unknown Message" }];
      this.#messages.delete(m[2] ?? "");
      this.#created.set(m[1] ?? "", this.createdIn(m[1] ?? "").filter((c) => (c as { id?: string }).id !== m?.[2]));
      return [204, undefined];
    }
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/.exec(path)) && method === "POST") {
      if (!bot) return unauthorized;
      const [parentId, messageId] = [m[1] ?? "", m[2] ?? ""];
      const parent = this.#channels.get(parentId);
      if (!parent) return [404, { code: 10003, message: "Unknown Channel" }];
      if (this.#messages.get(messageId) !== parentId) return [404, { code: 10008, message: "Unknown Message" }];
      if (this.#channels.has(messageId)) {
        return [400, { code: 160004, message: "A thread has already been created for this message" }];
      }
      const body = (call.body ?? {}) as { name?: string; auto_archive_duration?: number };
      const thread: Channel = {
        id: messageId,
        type: 11,
        name: body.name ?? "thread",
        parent_id: parentId,
        owner_id: this.bot.id,
        thread_metadata: {
          archived: false,
          auto_archive_duration: body.auto_archive_duration ?? 1440,
          archive_timestamp: new Date().toISOString(),
          locked: false,
          create_timestamp: new Date().toISOString(),
        },
        ...(parent.guild_id ? { guild_id: parent.guild_id } : {}),
      };
      this.#channels.set(thread.id, thread);
      this.dispatch("THREAD_CREATE", { ...this.#threadPayload(thread), newly_created: true });
      return [201, this.#threadPayload(thread)];
    }
    if ((m = /^\/channels\/(\d+)\/typing$/.exec(path)) && method === "POST") {
      if (!bot) return unauthorized;
      return this.#channels.has(m[1] ?? "") ? [204, undefined] : [404, { code: 10003, message: "Unknown Channel" }];
    }
    if ((m = /^\/channels\/(\d+)$/.exec(path)) && method === "GET") {
      if (!bot) return unauthorized;
      const channel = this.#channels.get(m[1] ?? "");
      return channel ? [200, channel.type === 11 ? this.#threadPayload(channel) : { ...channel }] : [404, { code: 10003, message: "Unknown Channel" }];
    }
    if ((m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path)) && method === "POST") {
      const interaction = this.#interactions.get(m[2] ?? "");
      if (!interaction || interaction.id !== m[1]) return [404, { code: 10062, message: "Unknown interaction" }];
      if (interaction.acknowledged !== null) {
        return [400, { code: 40060, message: "Interaction has already been acknowledged." }];
      }
      const callback = (call.body ?? {}) as { type?: number; data?: { content?: string } };
      if (callback.type === 9) {
        // A modal answers a command or a component, never a submitted modal; its shape is checked as Discord does.
        if (interaction.kind === 5) return [400, { code: 50035, message: "Invalid Form Body", errors: { type: { _errors: [{ code: "INTERACTION_RESPONSE_TYPE_INVALID", message: "Cannot respond to a modal submit with a modal" }] } } }];
        const modal = parseModal(callback.data);
        if (typeof modal === "string") return [400, { code: 50035, message: "Invalid Form Body", errors: { data: { _errors: [{ code: "BASE_TYPE_INVALID", message: modal }] } } }];
        interaction.acknowledged = 9;
        interaction.modal = modal;
        return call.query.with_response === "true" ? [200, { interaction: { id: interaction.id, type: interaction.kind ?? 3 }, resource: { type: 9 } }] : [204, undefined];
      }
      interaction.acknowledged = callback.type ?? 0;
      // A deferred response is a message with the Loading flag ("thinking…") until edited.
      interaction.original = {
        ...this.#webhookMessage(interaction, callback.data?.content ?? ""),
        flags: interaction.acknowledged === 5 ? 128 : 0,
      };
      if (call.query.with_response === "true") {
        return [200, { interaction: { id: interaction.id, type: 2 }, resource: { type: interaction.acknowledged } }];
      }
      return [204, undefined];
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/.exec(path)) && method === "GET") {
      const interaction = this.#interaction(m[1] ?? "", m[2] ?? "");
      if (!interaction) return [404, { code: 10015, message: "Unknown Webhook" }];
      return interaction.original ? [200, interaction.original] : [404, { code: 10008, message: "Unknown Message" }];
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/.exec(path)) && method === "PATCH") {
      const interaction = this.#interaction(m[1] ?? "", m[2] ?? "");
      if (!interaction) return [404, { code: 10015, message: "Unknown Webhook" }];
      if (interaction.acknowledged === null) return [404, { code: 10008, message: "Unknown Message" }];
      const body = (call.body ?? {}) as { content?: string; flags?: number };
      interaction.original = { ...this.#webhookMessage(interaction, body.content ?? ""), flags: body.flags ?? 0 };
      return [200, interaction.original];
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(path)) && method === "POST") {
      const interaction = this.#interaction(m[1] ?? "", m[2] ?? "");
      if (!interaction) return [404, { code: 10015, message: "Unknown Webhook" }];
      if (interaction.acknowledged === null) return [400, { code: 40060, message: "Interaction has not been acknowledged" }];
      const body = (call.body ?? {}) as { content?: string };
      return [200, this.#webhookMessage(interaction, body.content ?? "")];
    }
    if ((m = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path)) && method === "PUT") {
      if (!bot) return unauthorized;
      if (m[1] !== this.applicationId) return [403, { code: 50001, message: "Missing Access" }];
      const guildId = m[2];
      const commands = (Array.isArray(call.body) ? call.body : []) as Json[];
      return [200, commands.map((c) => ({
        ...c,
        id: snowflake(),
        application_id: this.applicationId,
        version: snowflake(),
        type: c["type"] ?? 1,
        default_member_permissions: null,
        ...(guildId ? { guild_id: guildId } : {}),
      }))];
    }
    return [404, { code: 0, message: "404: Not Found" }];
  }

  #interaction(applicationId: string, token: string): Interaction | null {
    const interaction = this.#interactions.get(token);
    if (!interaction || interaction.applicationId !== applicationId || interaction.expired) return null;
    return interaction;
  }

  #webhookMessage(interaction: Interaction, content: string): Json {
    const channel = this.#channels.get(interaction.channelId);
    return {
      ...this.#message({ id: snowflake(), channel: channel ?? { id: interaction.channelId, type: 0 }, author: this.bot, content }),
      webhook_id: interaction.applicationId,
      application_id: interaction.applicationId,
    };
  }
}

/** A modal callback's `data` as Discord checks it (custom id, title, 1–5 text inputs), or what is wrong with it. */
function parseModal(data: unknown): ShownModal | string {
  const d = (data ?? {}) as { custom_id?: unknown; title?: unknown; components?: unknown };
  if (typeof d.custom_id !== "string" || d.custom_id.length < 1 || d.custom_id.length > 100) return "custom_id must be 1-100 characters";
  if (typeof d.title !== "string" || d.title.length < 1 || d.title.length > 45) return "title must be 1-45 characters";
  if (!Array.isArray(d.components) || d.components.length < 1 || d.components.length > 5) return "components must have 1-5 items";
  const inputs: ShownModal["inputs"] = [];
  for (const c of d.components as Array<Record<string, unknown>>) {
    let input: Record<string, unknown> | undefined;
    let label: unknown;
    let layout: 1 | 18;
    if (c["type"] === 18) {
      input = c["component"] as Record<string, unknown> | undefined;
      label = c["label"];
      layout = 18;
      if (input && "label" in input) return "a text input inside a label has no label of its own";
    } else if (c["type"] === 1) {
      const row = c["components"] as Array<Record<string, unknown>> | undefined;
      if (!Array.isArray(row) || row.length !== 1) return "an action row in a modal holds one text input";
      input = row[0];
      label = input?.["label"];
      layout = 1;
    } else {
      return `component type ${String(c["type"])} is not allowed in a modal here`;
    }
    if (!input || input["type"] !== 4) return "a modal's inputs must be text inputs (type 4)";
    if (typeof input["custom_id"] !== "string" || input["custom_id"].length < 1) return "a text input needs a custom_id";
    if (typeof label !== "string" || label.length < 1 || label.length > 45) return "a text input's label must be 1-45 characters";
    if (input["style"] !== 1 && input["style"] !== 2) return "a text input's style must be 1 or 2";
    inputs.push({
      customId: input["custom_id"],
      label,
      style: input["style"],
      required: input["required"] !== false,
      ...(typeof input["min_length"] === "number" ? { minLength: input["min_length"] } : {}),
      ...(typeof input["max_length"] === "number" ? { maxLength: input["max_length"] } : {}),
      layout,
    });
  }
  return { customId: d.custom_id, title: d.title, inputs };
}

/** Starts a stand-in on a free loopback port. */
export function startDiscordStandIn(options: DiscordStandInOptions = {}): Promise<DiscordStandIn> {
  return new DiscordStandIn(options).listen();
}
