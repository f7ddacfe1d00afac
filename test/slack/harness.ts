import { Writable } from "node:stream";
import Fastify, { type FastifyInstance } from "fastify";
import { createSlackAdapter, type SlackAdapter, type SlackAdapterOptions } from "../../bots/slack/index.ts";
import { createLogger } from "../../src/logger.ts";
import { FakeSink } from "../helpers/fake-sink.ts";
import { SlackApiStandIn } from "../stand-ins/slack-api.ts";
import { SlackSocketStandIn } from "../stand-ins/slack-socket.ts";

export const SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543";
export const BOT_TOKEN = "xoxb-1111111111-2222222222-botTokenForTestsOnly";
export const APP_TOKEN = "xapp-1-A0TEST-3333333333-appTokenForTestsOnly";
export const VERIFICATION_TOKEN = "legacyVerificationTokenSecret";

/** Every log line the adapter (and Bolt, the WebClient, the Socket Mode client) wrote. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.lines.push(chunk.toString("utf8"));
      done();
    },
  });

  get text(): string {
    return this.lines.join("");
  }
}

export interface Harness {
  api: SlackApiStandIn;
  socket: SlackSocketStandIn | undefined;
  server: FastifyInstance | undefined;
  adapter: SlackAdapter;
  sink: FakeSink;
  logs: LogCapture;
  /** `http://127.0.0.1:PORT/slack/events` (HTTP transport only). */
  eventsUrl: string;
  /** Closes clients first, then the stand-ins. */
  close(): Promise<void>;
}

export interface HarnessOptions {
  transport: "http" | "socket";
  sink?: FakeSink;
  /** Reuse a running Web API stand-in (it is then not closed by this harness). */
  api?: SlackApiStandIn;
  adapter?: Partial<Omit<SlackAdapterOptions, "config" | "logger">>;
  logLevel?: string;
}

/**
 * The real Bolt app behind the Slack adapter, wired to loopback stand-ins: the Web API stand-in,
 * and either a fastify server with the adapter's plugin (HTTP) or the Socket Mode stand-in.
 */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const socket = options.transport === "socket" ? await SlackSocketStandIn.start() : undefined;
  const api =
    options.api ??
    (await SlackApiStandIn.start({
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
      ...(socket ? { socketUrl: () => socket.url } : {}),
    }));
  const logs = new LogCapture();
  const logger = createLogger(options.logLevel ?? "trace", logs.stream);
  const adapter = createSlackAdapter({
    config: {
      slackBotToken: BOT_TOKEN,
      slackSigningSecret: options.transport === "http" ? SIGNING_SECRET : undefined,
      slackAppToken: options.transport === "socket" ? APP_TOKEN : undefined,
      slackApiUrl: api.apiUrl,
    },
    logger,
    retryConfig: { retries: 0 },
    processBeforeResponse: true,
    ...options.adapter,
  });
  const sink = (options.sink ?? new FakeSink()).connect(adapter);

  let server: FastifyInstance | undefined;
  let eventsUrl = "";
  if (options.transport === "http") {
    server = Fastify();
    await server.register(adapter.httpPlugin);
    const address = await server.listen({ port: 0, host: "127.0.0.1" });
    eventsUrl = `${address}/slack/events`;
  }
  await adapter.start(sink);

  return {
    api,
    socket,
    server,
    adapter,
    sink,
    logs,
    eventsUrl,
    close: async () => {
      await adapter.stop();
      await server?.close();
      await socket?.close();
      if (!options.api) await api.close();
    },
  };
}
