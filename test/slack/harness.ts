import { Writable } from "node:stream";
import Fastify, { type FastifyInstance } from "fastify";
import { createSlackAdapter, type SlackAdapter, type SlackAdapterOptions } from "../../bots/slack/index.ts";
import { createLogger } from "../../src/logger.ts";
import { SlackApiStandIn } from "../stand-ins/slack-api.ts";
import { Changes } from "../helpers/wait-until.ts";
import { SlackSocketStandIn } from "../stand-ins/slack-socket.ts";
import { FakeCore } from "./fake-core.ts";

export const SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543";
export const BOT_TOKEN = "xoxb-1111111111-2222222222-botTokenForTestsOnly";
export const APP_TOKEN = "xapp-1-A0TEST-3333333333-appTokenForTestsOnly";
export const VERIFICATION_TOKEN = "legacyVerificationTokenSecret";

/** Every log line the adapter (and Bolt, the WebClient, the Socket Mode client) wrote. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly #changes = new Changes();
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.lines.push(chunk.toString("utf8"));
      this.#changes.notify();
      done();
    },
  });

  get text(): string {
    return this.lines.join("");
  }

  /** Resolves with the first line (written so far or later) matching `pattern`. */
  waitFor(pattern: RegExp): Promise<string> {
    return this.#changes.until(() => this.lines.find((line) => pattern.test(line)), `a log line matching ${pattern}`);
  }
}

export interface Harness {
  api: SlackApiStandIn;
  socket: SlackSocketStandIn | undefined;
  server: FastifyInstance | undefined;
  adapter: SlackAdapter;
  sink: FakeCore;
  logs: LogCapture;
  /** `http://127.0.0.1:PORT/slack/events` (HTTP transport only). */
  eventsUrl: string;
  /** Closes clients first, then the stand-ins. */
  close(): Promise<void>;
}

export interface HarnessOptions {
  transport: "http" | "socket";
  sink?: FakeCore;
  /** Reuse a running Web API stand-in (it is then not closed by this harness). */
  api?: SlackApiStandIn;
  adapter?: Partial<Omit<SlackAdapterOptions, "config" | "logger">>;
  logLevel?: string;
  /** Called with the HTTP server before the adapter's plugin is registered (to add hooks). */
  configureServer?: (server: FastifyInstance) => void;
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
  const sink = (options.sink ?? new FakeCore()).connect(adapter);

  let server: FastifyInstance | undefined;
  let eventsUrl = "";
  if (options.transport === "http") {
    server = Fastify();
    options.configureServer?.(server);
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
