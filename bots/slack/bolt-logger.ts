import { format } from "node:util";
import { LogLevel, type Logger as BoltLogger } from "@slack/bolt";
import type { Logger } from "../../src/logger.ts";

/**
 * Bolt, its WebClient and the Socket Mode client log through this: our pino logger underneath, and
 * a scrubber in between. Those libraries print request bodies and WebSocket frames at debug level
 * (a slash command carries a `token` field); the scrubber removes the configured secrets and
 * anything shaped like a Slack token before a line is written, whatever the level.
 */
export function createBoltLogger(logger: Logger, secrets: readonly string[]): BoltLogger {
  const scrub = createScrubber(secrets);
  const write = (level: "debug" | "info" | "warn" | "error", args: unknown[]) => {
    if (!logger.isLevelEnabled(level)) return;
    logger[level](scrub(format(...args)));
  };
  return {
    debug: (...msg: unknown[]) => write("debug", msg),
    info: (...msg: unknown[]) => write("info", msg),
    warn: (...msg: unknown[]) => write("warn", msg),
    error: (...msg: unknown[]) => write("error", msg),
    // The level is pino's (LOG_LEVEL); Bolt's attempts to set its own are ignored.
    setLevel: () => {},
    getLevel: () => {
      if (logger.isLevelEnabled("debug")) return LogLevel.DEBUG;
      if (logger.isLevelEnabled("info")) return LogLevel.INFO;
      if (logger.isLevelEnabled("warn")) return LogLevel.WARN;
      return LogLevel.ERROR;
    },
    setName: () => {},
  };
}

/** Slack token shapes: bot/user tokens (`xoxb-`, `xoxp-`, …) and app-level tokens (`xapp-`). */
const TOKEN = /\bxox[a-z]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+/g;
/** Where a token's value follows a name: `"token":"…"`, `token=…`, `Bearer …`. */
const TOKEN_VALUE = /("token"\s*:\s*"|\btoken=|\bBearer\s+)[^"&\s,]+/gi;

/** Returns a function that replaces every secret (and token-shaped string) with `[redacted]`. */
export function createScrubber(secrets: readonly string[]): (text: string) => string {
  const literal = secrets.filter((s) => s.length >= 6);
  return (text) => {
    let out = text;
    for (const secret of literal) out = out.split(secret).join("[redacted]");
    return out
      .replace(TOKEN, "[redacted]")
      .replace(TOKEN_VALUE, (_match, name: string) => `${name}[redacted]`);
  };
}
