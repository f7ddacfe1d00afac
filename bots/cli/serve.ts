import type { FastifyInstance } from "fastify";
import { createApp, type App, type AppOverrides } from "../../src/app.ts";
import { describeConfig, type Config } from "../../src/config.ts";
import { appDatabaseOptions, openDatabase } from "../../src/db/database.ts";
import { ConfigError, SwitchboardError, errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { createHttpServer } from "../http/server.ts";
import type { DiscordAdapter } from "../discord/index.ts";
import type { SlackAdapter } from "../slack/index.ts";
import type { PlatformClientOptions } from "../staff-channels.ts";
import type { PlatformConnections } from "./platform-connections.ts";

/** `all`: everything in one process (the default); `gateway`: adapters and HTTP only, processing is left to `switchboard worker`. */
export type ServeRole = "all" | "gateway";

/** Whether `host` accepts connections from this machine only. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::ffff:127.0.0.1";
}

function isAnyAddress(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

/**
 * `POST /api/messages` with no `API_TOKEN` trusts whatever user id the body names: on loopback
 * that is the local developer; on a network address it is anyone who reaches the port, reading
 * any customer's invoices. `serve` refuses that unless told a proxy in front authenticates callers.
 */
export function refuseOpenApiOnNetwork(config: Pick<Config, "host" | "apiToken" | "allowOpenApi">): void {
  if (isLoopback(config.host) || config.apiToken || config.allowOpenApi) return;
  throw new ConfigError(
    `HOST=${config.host} would open POST /api/messages to the network without API_TOKEN: anyone who reaches the port could ask as any user and read their account. ` +
      "Set API_TOKEN (and API_USER_SECRET to verify end users), or HOST=127.0.0.1 for this machine only, " +
      "or ALLOW_OPEN_API=true if a proxy in front authenticates every caller.",
  );
}

/** `host:port` as the listening socket reports it. */
function boundAddress(http: FastifyInstance): string {
  const a = http.server.address();
  if (a === null || typeof a === "string") return String(a);
  return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** "Port in use" (or any listen failure) as a message that names the address and what to change. */
export function listenError(err: unknown, host: string, port: number): SwitchboardError {
  const code = (err as { code?: unknown }).code;
  if (code === "EADDRINUSE") return new SwitchboardError("port_in_use", `Cannot listen on ${host}:${port}: the port is in use by another process. Stop it, or set PORT (or --port) to a free port.`);
  if (code === "EACCES") return new SwitchboardError("port_denied", `Cannot listen on ${host}:${port}: permission denied. Use a port above 1023, or set PORT (or --port).`);
  if (code === "EADDRNOTAVAIL") return new SwitchboardError("address_unavailable", `Cannot listen on ${host}:${port}: this machine has no such address. Set HOST to one of its addresses (127.0.0.1, 0.0.0.0).`);
  return new SwitchboardError("listen_failed", `Cannot listen on ${host}:${port}: ${errorMessage(err)}. Check HOST and PORT (or --port).`);
}

/**
 * A long-running process logs a promise rejection nobody handled and carries on, instead of dying
 * of it: graphile-worker records a job's end without waiting, so a database going away at that
 * moment surfaces only here (the queue releases such a job itself once the database is back).
 */
export function logUnhandledRejections(logger: Logger): void {
  if (process.listenerCount("unhandledRejection") > 0) return;
  process.on("unhandledRejection", (reason) => logger.error({ err: errorMessage(reason) }, "unhandled promise rejection; carrying on"));
}

/** Whether a chat platform has a token: only then are Bolt and discord.js loaded (they cost most of a start). */
export function usesChatPlatforms(config: Pick<Config, "slackBotToken" | "discordToken">): boolean {
  return Boolean(config.slackBotToken || config.discordToken);
}

/** The platform adapters and staff channels, loaded on demand (see `usesChatPlatforms`). */
export async function loadPlatforms() {
  const [connections, staff] = await Promise.all([import("./platform-connections.ts"), import("../staff-channels.ts")]);
  return { createPlatformAdapters: connections.createPlatformAdapters, startAdapters: connections.startAdapters, attachStaffChannels: staff.attachStaffChannels };
}

/** A started service (`startService`): what runs, and how to stop it in order. */
export interface RunningService {
  app: App;
  http: FastifyInstance;
  /** Where to reach the HTTP server from this machine, e.g. `http://127.0.0.1:3000`. */
  address: string;
  /** The address and port it is bound to, as the socket says (`0.0.0.0:3000`: every interface). */
  bound: string;
  slack: SlackAdapter | undefined;
  discord: DiscordAdapter | undefined;
  /** No new work, platform connections closed, in-flight work finished, database closed. */
  stop(): Promise<void>;
}

/**
 * Starts what `switchboard serve` runs, in its order: the app; the platform adapters and staff
 * channels; the HTTP server, listening before any work is taken (a process that cannot listen
 * must not answer queued messages); with `role: "all"` the worker and the recovery of unfinished
 * messages; the SLA timer; the platform connections. Tests start the service with it too.
 */
export async function startService(
  config: Config,
  logger: Logger,
  options: { role?: ServeRole; clients?: PlatformClientOptions; overrides?: AppOverrides } = {},
): Promise<RunningService> {
  const role = options.role ?? "all";
  refuseOpenApiOnNetwork(config);
  // An embedded database runs on a thread of its own here: Postgres gets the second core, and this
  // thread keeps HTTP and the turns (see `EmbeddedOptions.thread`).
  const database = options.overrides?.database ?? openDatabase({ ...appDatabaseOptions(config, logger, options.overrides?.poolMax), embeddedThread: true });
  const app = await createApp(config, logger, { ...options.overrides, database, startWorker: false });
  if (app.db.mode === "embedded-shared") {
    await app.close();
    throw new ConfigError(
      `The embedded database in ${config.dataDir} is already served by another switchboard process: one process answers an embedded database's messages. Stop that one, set another DATA_DIR, or use DATABASE_URL to run several.`,
    );
  }
  if (role === "gateway" && app.queue.kind === "memory") {
    await app.close();
    throw new ConfigError("serve --role gateway leaves processing to `switchboard worker` processes: it needs the shared queue (DATABASE_URL, and JOB_QUEUE unset or postgres)");
  }
  const platforms = usesChatPlatforms(config) ? await loadPlatforms() : undefined;
  const { adapters, slack, discord } = platforms?.createPlatformAdapters(app, config, logger, "receive", options.clients) ?? { adapters: [], slack: undefined, discord: undefined };
  const plugins: Array<(f: FastifyInstance) => Promise<void> | void> = [];
  if (slack) {
    plugins.push(async (f) => {
      await f.register(slack.httpPlugin);
    });
  }
  for (const adapter of adapters) app.outbox.attach(adapter);
  platforms?.attachStaffChannels(app, config, logger, options.clients);

  const http = await createHttpServer(app, plugins);
  let address: string;
  try {
    address = await http.listen({ port: config.port, host: config.host });
  } catch (err) {
    await http.close().catch(() => {});
    await app.close();
    throw listenError(err, config.host, config.port);
  }
  if (role === "all") {
    // Replies need the adapters attached above: start taking jobs only now.
    await app.startWorker();
    await app.intake.recover();
  }
  app.handoffService.start();
  const connections: PlatformConnections = platforms ? await platforms.startAdapters(app, adapters, logger) : { stop: async () => {} };
  return {
    app,
    http,
    address,
    bound: boundAddress(http),
    slack,
    discord,
    stop: async () => {
      await http.close();
      await connections.stop();
      await app.close();
    },
  };
}

/**
 * `switchboard serve`: everything in one process — the HTTP server, the platform adapters that
 * are configured, and processing. With `role: "gateway"`, the HTTP server and the adapters only:
 * messages are stored and queued here and answered by `switchboard worker` processes. Stops
 * cleanly on SIGTERM/SIGINT: no new work, in-flight jobs finish (or go back to the queue).
 */
export async function serve(config: Config, logger: Logger, role: ServeRole = "all"): Promise<void> {
  logUnhandledRejections(logger);
  for (const line of describeConfig(config)) logger.info(line);
  const service = await startService(config, logger, { role });
  // Before the line that says it listens: whoever reads that line may signal at once (a
  // supervisor, a test), and a signal with no handler ends the process without stopping cleanly.
  stopOnSignals(logger, "no new work, finishing what is in flight", () => service.stop());
  const everywhere = isAnyAddress(config.host) ? ` (every interface; on this machine ${service.address})` : "";
  logger.info({ address: service.bound, role }, `Switchboard is listening on ${service.bound}${everywhere} (try POST /api/messages)`);
}

/**
 * Stops the process's work on SIGTERM/SIGINT, once; `stopping()` tells whether a signal came
 * (a start that is still under way then does not go on taking work).
 */
export function stopOnSignals(logger: Logger, what: string, close: () => Promise<void>): () => boolean {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `shutting down: ${what}`);
    await close();
    logger.info("stopped");
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  return () => stopping;
}
