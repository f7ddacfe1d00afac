import type pg from "pg";
import { StorageError, errorMessage, isDatabaseUnavailable } from "../errors.ts";

/**
 * True when `err`, or an error in its `cause` chain (a failed turn wraps the error that failed it),
 * says the database could not be reached or the connection to it broke (`isDatabaseUnavailable`).
 */
export function isConnectionError(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e; depth++) {
    if (isDatabaseUnavailable(e)) return true;
    // AggregateError: a connect that tried several addresses (IPv4 and IPv6 for `localhost`).
    if (e instanceof AggregateError && e.errors.some((inner) => isConnectionError(inner))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The database could not be reached (a `StorageError`, so the HTTP layer answers 503 for it), the
 * original error as its cause.
 */
export class DatabaseUnavailableError extends StorageError {
  constructor(cause: unknown) {
    super(`The database is unreachable (${errorMessage(cause) || "connection failed"}); try again shortly.`, { cause });
  }
}

/** A connection failure as a `DatabaseUnavailableError`; any other error as it is. */
export function asStorageError(err: unknown): unknown {
  if (err instanceof StorageError || !isConnectionError(err)) return err;
  return new DatabaseUnavailableError(err);
}

type Callback = (err: unknown, ...rest: unknown[]) => void;

/**
 * Makes the pool throw `DatabaseUnavailableError` (a `StorageError`) instead of pg's raw errors
 * when it cannot reach the database — on `connect()` and `query()`, promise or callback style
 * (its clients: `guardClientErrors`) — so callers (the HTTP API answering 503, a job retried
 * later) tell "the database is down" from a failed statement without knowing pg's error codes.
 * Errors of statements that ran are left as they are.
 */
export function guardConnectionErrors(pool: pg.Pool): void {
  const connect = pool.connect.bind(pool) as unknown as (cb?: Callback) => Promise<unknown> | undefined;
  const query = pool.query.bind(pool) as unknown as (...args: unknown[]) => unknown;
  const guardedConnect = (cb?: Callback) => (typeof cb === "function" ? connect(wrapCallback(cb)) : guarded(connect()));
  const guardedQuery = (...args: unknown[]) => {
    const last = args.at(-1);
    if (typeof last === "function") return query(...args.slice(0, -1), wrapCallback(last as Callback));
    return guarded(query(...args));
  };
  pool.connect = guardedConnect as unknown as typeof pool.connect;
  pool.query = guardedQuery as unknown as typeof pool.query;
}

/**
 * The same for a client the pool made: a query on a checked-out client whose connection breaks
 * (a transaction when the server dies) throws `DatabaseUnavailableError` too.
 */
export function guardClientErrors(client: pg.ClientBase): void {
  const query = client.query.bind(client) as unknown as (...args: unknown[]) => unknown;
  const guardedQuery = (...args: unknown[]) => {
    const last = args.at(-1);
    if (typeof last === "function") return query(...args.slice(0, -1), wrapCallback(last as Callback));
    return guarded(query(...args));
  };
  client.query = guardedQuery as unknown as typeof client.query;
}

function wrapCallback(cb: Callback): Callback {
  return (err, ...rest) => cb(err ? asStorageError(err) : err, ...rest);
}

/** A promise whose rejection, if a connection failure, becomes a `DatabaseUnavailableError`; anything else as it is. */
function guarded<T>(result: T): T {
  return result instanceof Promise
    ? (result.catch((err: unknown) => {
        throw asStorageError(err);
      }) as T)
    : result;
}
