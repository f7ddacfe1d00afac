import type pg from "pg";

/**
 * What a checked-out client's `query` does instead: answer the statement itself, or `send()` it
 * (the client's own `query` with the same arguments).
 */
export type QueryInterceptor = (query: unknown, send: () => unknown) => unknown;

/**
 * `pool` whose checked-out clients (`connect()`, awaited or with a callback, as graphile-worker
 * takes them) run each `query` through `intercept`. `pool.query` and everything else are the
 * pool's own.
 */
export function interceptClientQueries(pool: pg.Pool, intercept: QueryInterceptor): pg.Pool {
  const wrap = (client: pg.PoolClient): pg.PoolClient =>
    new Proxy(client, {
      get(target, prop) {
        if (prop === "query") {
          return (query: unknown, ...rest: unknown[]) => intercept(query, () => (target.query as (...args: unknown[]) => unknown)(query, ...rest));
        }
        return own(target, prop);
      },
    });
  type Done = (release?: unknown) => void;
  const connect = (callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: Done) => void) => {
    if (!callback) return pool.connect().then(wrap);
    pool.connect((err, client, done) => callback(err, client ? wrap(client) : undefined, done));
    return undefined;
  };
  return new Proxy(pool, { get: (target, prop) => (prop === "connect" ? connect : own(target, prop)) });
}

/** `target[prop]`, a method bound to `target` (a proxy's `this` would miss its private fields). */
function own(target: object, prop: string | symbol): unknown {
  const value: unknown = Reflect.get(target, prop, target);
  return typeof value === "function" ? value.bind(target) : value;
}

/** The text of a statement as `query` takes it (a string or a config). */
export function statementText(query: unknown): string | undefined {
  if (typeof query === "string") return query;
  const text = (query as { text?: unknown } | null | undefined)?.text;
  return typeof text === "string" ? text : undefined;
}
