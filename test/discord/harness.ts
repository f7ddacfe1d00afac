/**
 * Wires the real Discord adapter (real discord.js Client) to the local stand-in and the fake
 * core, with every log line captured at trace level.
 */
import { Writable } from "node:stream";
import { createDiscordAdapter, type DiscordAdapter, type MentionMode } from "../../bots/discord/index.ts";
import { createLogger, type Logger } from "../../src/logger.ts";
import { startDiscordStandIn, type DiscordStandIn, type RestCall } from "../stand-ins/discord.ts";
import { createFakeDiscordSink, type FakeDiscordSink, type FakeSinkOptions } from "../helpers/fake-discord-sink.ts";

export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer | string, _encoding, callback) => {
      this.lines.push(chunk.toString());
      callback();
    },
  });

  get text(): string {
    return this.lines.join("");
  }
}

export interface Harness {
  standIn: DiscordStandIn;
  core: FakeDiscordSink;
  adapter: DiscordAdapter;
  logs: LogCapture;
  logger: Logger;
  /** A second adapter on the same core and stand-in, as after a process restart. */
  restart(): Promise<DiscordAdapter>;
  close(): Promise<void>;
}

export interface HarnessOptions extends FakeSinkOptions {
  mentionMode?: MentionMode;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const standIn = await startDiscordStandIn();
  const logs = new LogCapture();
  const logger = createLogger("trace", logs.stream);
  const core = createFakeDiscordSink(options);
  const make = () =>
    createDiscordAdapter({
      token: standIn.token,
      applicationId: standIn.applicationId,
      apiUrl: standIn.apiUrl,
      logger,
      rest: { retries: 0, timeout: 3_000 },
      ...(options.mentionMode ? { mentionMode: options.mentionMode } : {}),
    });
  let adapter = make();
  core.attach(adapter);
  await adapter.start(core.sink);
  return {
    standIn,
    core,
    get adapter() {
      return adapter;
    },
    logs,
    logger,
    async restart() {
      await adapter.stop();
      adapter = make();
      core.attach(adapter);
      await adapter.start(core.sink);
      return adapter;
    },
    async close() {
      // Client first, then the stand-in it talks to.
      await adapter.stop();
      await standIn.close();
    },
  };
}

export const isPost = (path: string) => (call: RestCall) => call.method === "POST" && call.path === path;

/** The `content` of a recorded call's JSON body. */
export function contentOf(call: RestCall): string {
  const body = call.body as { content?: unknown } | null;
  return typeof body?.content === "string" ? body.content : "";
}
