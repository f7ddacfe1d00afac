import type { FastifyInstance } from "fastify";
import type { ChannelAdapter } from "../adapter.ts";
import { createApp } from "../../src/app.ts";
import { describeConfig, type Config } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import { createDiscordAdapter } from "../discord/index.ts";
import { createHttpServer } from "../http/server.ts";
import { createSlackAdapter, isSlackConfigured } from "../slack/index.ts";

/**
 * `switchboard serve`: everything in one process — the HTTP server, the platform adapters that
 * are configured, and processing. Stops cleanly on SIGTERM/SIGINT.
 */
export async function serve(config: Config, logger: Logger): Promise<void> {
  for (const line of describeConfig(config)) logger.info(line);
  const app = await createApp(config, logger);
  const adapters: ChannelAdapter[] = [];
  const plugins: Array<(f: FastifyInstance) => Promise<void> | void> = [];
  if (isSlackConfigured(config)) {
    const slack = createSlackAdapter({
      config,
      logger: logger.child({ component: "slack" }),
      // Listeners only store the message (the answer comes later through deliver), so waiting
      // for them before answering Slack costs ~1 ms and means nothing acknowledged is unstored.
      processBeforeResponse: true,
      isKnownConversation: async (key) => (await app.log.findConversationByKey("slack", key)) !== undefined,
    });
    adapters.push(slack);
    plugins.push(async (f) => {
      await f.register(slack.httpPlugin);
    });
  }
  if (config.discordToken) {
    adapters.push(
      createDiscordAdapter({
        token: config.discordToken,
        applicationId: config.discordApplicationId,
        apiUrl: config.discordApiUrl,
        logger: logger.child({ component: "discord" }),
      }),
    );
  }
  for (const adapter of adapters) app.pipeline.attach(adapter);

  const http = await createHttpServer(app, plugins);
  await app.pipeline.recover();
  const address = await http.listen({ port: config.port, host: process.env["HOST"] ?? "0.0.0.0" });
  for (const adapter of adapters) await adapter.start(app.pipeline);
  logger.info({ address }, `Switchboard is listening on ${address} (try POST /api/messages)`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: no new work, finishing what is in flight");
    await http.close();
    for (const adapter of adapters) await adapter.stop().catch(() => {});
    await app.close();
    logger.info("stopped");
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}
