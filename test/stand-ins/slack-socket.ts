import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { Changes } from "../helpers/wait-until.ts";

export type EnvelopeType = "events_api" | "slash_commands" | "interactive";

export interface SentEnvelope {
  envelopeId: string;
  /** Resolves with the `payload` the client acknowledged the envelope with. */
  ack: Promise<Record<string, unknown>>;
}

/**
 * A local stand-in for Slack's Socket Mode WebSocket. The Web API stand-in hands out its URL from
 * `apps.connections.open`; on connection it says `hello`, then the test pushes envelopes and
 * awaits the client's ack (`{envelope_id, payload}`).
 */
export class SlackSocketStandIn {
  readonly #server: WebSocketServer;
  readonly #clients = new Set<WebSocket>();
  readonly #acks = new Map<string, (payload: Record<string, unknown>) => void>();
  readonly #changes = new Changes();
  connections = 0;

  private constructor(server: WebSocketServer) {
    this.#server = server;
    server.on("connection", (socket) => {
      this.#clients.add(socket);
      this.connections += 1;
      socket.on("close", () => this.#clients.delete(socket));
      socket.on("message", (data) => this.#onMessage(data.toString()));
      socket.send(
        JSON.stringify({
          type: "hello",
          num_connections: 1,
          debug_info: { host: "stand-in", approximate_connection_time: 3600 },
          connection_info: { app_id: "A0TEST" },
        }),
      );
      this.#changes.notify();
    });
  }

  static async start(): Promise<SlackSocketStandIn> {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    return new SlackSocketStandIn(server);
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `ws://127.0.0.1:${port}/`;
  }

  waitForConnection(): Promise<true> {
    return this.#changes.until(() => this.#clients.size > 0, "a Socket Mode connection");
  }

  /** Sends an envelope to the connected client. */
  send(
    type: EnvelopeType,
    payload: Record<string, unknown>,
    options: { retryAttempt?: number; retryReason?: string } = {},
  ): SentEnvelope {
    const [client] = this.#clients;
    if (!client) throw new Error("SlackSocketStandIn: no client connected");
    const envelopeId = randomUUID();
    const ack = new Promise<Record<string, unknown>>((resolve) => this.#acks.set(envelopeId, resolve));
    client.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: type !== "events_api",
        ...(type === "events_api"
          ? { retry_attempt: options.retryAttempt ?? 0, retry_reason: options.retryReason ?? "" }
          : {}),
      }),
    );
    return { envelopeId, ack };
  }

  async close(): Promise<void> {
    for (const client of this.#clients) client.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onMessage(text: string): void {
    let message: { envelope_id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (typeof message.envelope_id !== "string") return;
    const resolve = this.#acks.get(message.envelope_id);
    if (!resolve) return;
    this.#acks.delete(message.envelope_id);
    resolve((message.payload ?? {}) as Record<string, unknown>);
  }
}
