/**
 * One error base class with a stable string `code` (for logs, API bodies and tests), the `cause`
 * kept, and a few subclasses by boundary.
 */
export class SwitchboardError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad environment or flags: names the variable or flag to fix. */
export class ConfigError extends SwitchboardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("config_invalid", message, options);
  }
}

/** Bad input from a user or client: maps to a 4xx. */
export class InputError extends SwitchboardError {
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(code, message);
    this.status = status;
  }
}

/** The database could not be reached or a query failed. */
export class StorageError extends SwitchboardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("storage_failed", message, options);
  }
}

/** A platform adapter could not send or receive. */
export class AdapterError extends SwitchboardError {
  readonly platform: string;

  constructor(platform: string, message: string, options?: { cause?: unknown }) {
    super("adapter_failed", message, options);
    this.platform = platform;
  }
}

/** A model call failed (after retries). */
export class ModelError extends SwitchboardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("model_failed", message, options);
  }
}

/** A worker did not finish within its time budget. */
export class TimeoutError extends SwitchboardError {
  constructor(message: string) {
    super("timeout", message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether an error means "the database cannot be reached right now" (refused or dropped
 * connections, a server shutting down or starting up, a pool that could not connect), as opposed
 * to a query that is wrong. Such a request is worth retrying in a few seconds.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof StorageError) return true;
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === "string" ? e.code : "";
  // Node's socket errors; Postgres' connection exceptions (08…) and shutdown / starting up (57P0…).
  if (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"].includes(code)) return true;
  if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03") return true;
  const message = typeof e?.message === "string" ? e.message : "";
  return /Connection terminated|connection timeout|timeout expired|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(message);
}
