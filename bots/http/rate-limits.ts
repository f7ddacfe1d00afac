import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { LRUCache } from "lru-cache";

/**
 * Rate limits, from @fastify/rate-limit (the framework's own plugin: per-client counters, the
 * `Retry-After` and `X-RateLimit-*` headers, IPv6 subnets, the client address behind a proxy
 * when TRUST_PROXY is set):
 *
 * - **Guessing a secret** (the console sign-in, a bearer token, a `userHash`): every wrong one
 *   counts against the client address; past `GUESS_LIMIT` in the window, the address is locked
 *   out until the window ends, and a right secret is refused too while it is — otherwise a
 *   lock that lets the right guess through would not slow guessing at all.
 * - **Volume** of `POST /api/messages`: `RATE_LIMIT_PER_MINUTE` per user per client address
 *   (route option `messagesRateLimit`).
 *
 * A refusal is 429 `rate_limited` with `Retry-After` in seconds.
 */
export const GUESS_LIMIT = { max: 10, windowMs: 5 * 60_000 };

export interface GuessGuard {
  /** Before checking a secret: the seconds left while the client is locked out, else undefined. */
  locked(req: FastifyRequest): number | undefined;
  /** A wrong secret: counted; the seconds of the lock-out when it used up the client's last try. */
  failed(req: FastifyRequest): Promise<number | undefined>;
}

/** The API's 429 for a locked-out client. */
export function refuseGuessing(reply: FastifyReply, retryAfterSeconds: number): FastifyReply {
  return reply
    .status(429)
    .header("retry-after", String(retryAfterSeconds))
    .send({ error: { code: "rate_limited", message: `Too many wrong secrets from this address; try again in ${retryAfterSeconds} s.` } });
}

export async function registerRateLimits(fastify: FastifyInstance): Promise<GuessGuard> {
  await fastify.register(rateLimit, {
    global: false,
    // After the body is parsed, so a route can count per user.
    hook: "preHandler",
    errorResponseBuilder: (_req, context) => ({
      statusCode: 429,
      code: "rate_limited",
      message: `Too many requests; try again in ${context.after}.`,
    }),
  });
  const countGuess = fastify.createRateLimit({
    max: GUESS_LIMIT.max,
    timeWindow: GUESS_LIMIT.windowMs,
    keyGenerator: (req) => `guess:${req.ip}`,
  });
  /** Client address → when its lock-out ends (ms). Bounded: an attacker's many addresses cannot grow it. */
  const lockedUntil = new LRUCache<string, number>({ max: 100_000 });

  return {
    locked(req) {
      const until = lockedUntil.get(req.ip);
      if (until === undefined) return undefined;
      const left = until - Date.now();
      if (left > 0) return Math.ceil(left / 1000);
      lockedUntil.delete(req.ip);
      return undefined;
    },
    async failed(req) {
      const limit = await countGuess(req);
      // The last allowed wrong try locks the address at once (and says so).
      if (limit.isAllowed || (limit.remaining > 0 && !limit.isExceeded)) return undefined;
      lockedUntil.set(req.ip, Date.now() + limit.ttl);
      return Math.max(1, limit.ttlInSeconds);
    },
  };
}

/** Route options for `POST /api/messages`: `perMinute` per user per client address. */
export function messagesRateLimit(perMinute: number) {
  return {
    rateLimit: {
      max: perMinute,
      timeWindow: 60_000,
      keyGenerator: (req: FastifyRequest) => {
        const body = req.body as { userId?: unknown } | undefined;
        return `messages:${req.ip}:${typeof body?.userId === "string" ? body.userId : ""}`;
      },
    },
  };
}
