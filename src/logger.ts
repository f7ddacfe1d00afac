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

export function createLogger(level: string = "info", destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: REDACT, censor: "[redacted]" }, base: { service: "switchboard" } },
    destination ?? pino.destination(2),
  );
}

/** A logger that drops everything; for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
