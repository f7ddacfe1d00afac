import type { FastifyInstance } from "fastify";
import { createPlatformAdapters, startAdapters, type PlatformConnections } from "../../bots/cli/platform-connections.ts";
import { createHttpServer } from "../../bots/http/server.ts";
import type { SlackAdapter } from "../../bots/slack/index.ts";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig, type Config } from "../../src/config.ts";
import { silentLogger, type Logger } from "../../src/logger.ts";
import type { Supervisor, TurnResult } from "../../src/ports.ts";
import { tempDataDir } from "../helpers/databases.ts";
import { SlackApiStandIn } from "../stand-ins/slack-api.ts";
import { eventCallback, postSigned, slashCommandBody, type SlackEventFields, type SlashCommandFields } from "../stand-ins/slack-requests.ts";

export const SIGNING_SECRET = "5d41402abc4b2a76b9719d911017c592";
export const BOT_TOKEN = "xoxb-1111111111-2222222222-coreTestsOnly";

/** A supervisor that answers every message with `answer(text)`, at once (the graph is tested elsewhere). */
export function scriptedSupervisor(answer: (text: string) => string = (text) => `Answer to: ${text}`): Supervisor {
  return {
    async invoke({ turn }): Promise<TurnResult> {
      return { answered: true, decision: null, results: [], reply: { text: answer(turn.text), sections: [], footer: "" }, handoff: null, unclearStreak: 0 };
    },
  };
}

/** The Slack side of one running gateway: its adapter, its HTTP server, how to reach it. */
export interface SlackGateway {
  slack: SlackAdapter;
  http: FastifyInstance;
  /** POSTs a signed `/support`. */
  slash(fields: SlashCommandFields): Promise<Response>;
  /** POSTs a signed event callback. */
  event(fields: SlackEventFields, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export interface CoreHarness extends SlackGateway {
  app: App;
  api: SlackApiStandIn;
  config: Config;
  /** A second gateway on the same core and Slack, with fresh memory (the first one restarted). */
  restart(): Promise<SlackGateway>;
  close(): Promise<void>;
}

export interface CoreHarnessOptions {
  /** The supervisor; `"graph"`: the real one `createApp` builds (offline, or the model `env` configures). Default: scripted. */
  supervisor?: Supervisor | "graph";
  /** More settings (e.g. `SLACK_HANDOFF_CHANNEL`, `OPENAI_BASE_URL`). */
  env?: Record<string, string>;
  logger?: Logger;
}

/**
 * A whole Switchboard (embedded Postgres, the real intake, turn runner and outbox) with the real
 * Slack adapter wired as `switchboard serve` wires it (createPlatformAdapters in `receive` mode,
 * startAdapters), against the Web API stand-in; unless told otherwise the supervisor is scripted,
 * and the Web API client does not retry.
 */
export async function startCoreHarness(options: CoreHarnessOptions = {}): Promise<CoreHarness> {
  const api = await SlackApiStandIn.start({ botToken: BOT_TOKEN });
  const config = loadConfig({
    DATA_DIR: tempDataDir(),
    LOG_LEVEL: "silent",
    CONSOLE_TOKEN: "console-secret",
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: api.apiUrl,
    ...options.env,
  });
  const logger = options.logger ?? silentLogger();
  const supervisor = options.supervisor === "graph" ? {} : { supervisor: options.supervisor ?? scriptedSupervisor() };
  const app = await createApp(config, logger, { startWorker: false, ...supervisor });

  const gateway = async (): Promise<SlackGateway> => {
    const { adapters, slack } = createPlatformAdapters(app, config, logger, "receive", { slackRetry: { retries: 0 } });
    if (!slack) throw new Error("core harness: the config should have made a Slack adapter");
    for (const adapter of adapters) app.outbox.attach(adapter);
    const http = await createHttpServer(app, [
      async (f) => {
        await f.register(slack.httpPlugin);
      },
    ]);
    const url = `${await http.listen({ port: 0, host: "127.0.0.1" })}/slack/events`;
    const connections: PlatformConnections = await startAdapters(app, adapters, logger);
    let stopped = false;
    return {
      slack,
      http,
      slash: (fields) => postSigned(url, slashCommandBody(fields), "application/x-www-form-urlencoded", { signingSecret: SIGNING_SECRET }),
      event: (fields, headers = {}) =>
        postSigned(url, JSON.stringify(eventCallback(fields, { botUserId: api.botUserId })), "application/json", { signingSecret: SIGNING_SECRET, headers }),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await http.close();
        await connections.stop();
      },
    };
  };

  const first = await gateway();
  await app.startWorker();
  await app.intake.recover();
  const running = [first];
  return {
    ...first,
    app,
    api,
    config,
    restart: async () => {
      await first.stop();
      const next = await gateway();
      running.push(next);
      return next;
    },
    close: async () => {
      for (const g of running) await g.stop();
      await app.close();
      await api.close();
    },
  };
}
