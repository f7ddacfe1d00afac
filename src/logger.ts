import { createRequire } from "node:module";
import { pino, type Logger as PinoLogger } from "pino";

/** The injected logger. Components take a child: `logger.child({ component: "slack" })`. */
export type Logger = PinoLogger;

/**
 * Paths that must never reach a log line. Tokens are never logged on purpose; this is the net
 * under that rule (headers of platform requests, config objects).
 */
const REDACT = [
  "token",
  "*.token",
  "*.*.token",
  "authorization",
  "*.authorization",
  "*.headers.authorization",
  "*.apiKey",
  "*.signingSecret",
  "*.botToken",
  "*.appToken",
  "config.openaiApiKey",
  "config.slackBotToken",
  "config.slackSigningSecret",
  "config.slackAppToken",
  "config.discordToken",
  "config.consoleToken",
  "config.apiToken",
];

/**
 * The service's logger, on stderr (or `destination`). `format` (`LOG_FORMAT`): `json`, one
 * object a line, for log collectors; `pretty`, readable lines (pino-pretty). Default: pretty when
 * writing to a terminal, JSON otherwise (and always JSON into a given `destination` unless asked).
 */
export function createLogger(level: string = "info", destination?: NodeJS.WritableStream, format?: "json" | "pretty"): Logger {
  const options = { level, redact: { paths: REDACT, censor: "[redacted]" }, base: { service: "switchboard" } };
  const pretty = format === "pretty" || (format === undefined && destination === undefined && process.stderr.isTTY === true);
  if (!pretty) return pino(options, destination ?? pino.destination(2));
  return pino(options, prettyStream(destination));
}

/** pino-pretty, loaded only when wanted (a terminal): synchronous, so a line is out before the process exits. */
function prettyStream(destination: NodeJS.WritableStream | undefined): NodeJS.WritableStream {
  const pretty = createRequire(import.meta.url)("pino-pretty") as (opts: Record<string, unknown>) => NodeJS.WritableStream;
  return pretty({
    destination: destination ?? 2,
    sync: true,
    translateTime: "SYS:HH:MM:ss",
    ignore: "pid,hostname,service",
    // On the terminal, colours as colorette decides (NO_COLOR turns them off); none into a given stream.
    ...(destination ? { colorize: false } : {}),
  });
}

/** A logger that drops everything; for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
