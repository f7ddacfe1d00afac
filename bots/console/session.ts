import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { CookieSerializeOptions } from "@fastify/cookie";

/** The console's session cookie. */
export const SESSION_COOKIE = "sb_console";
/** Sessions last this long. Default 12 hours. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

export interface ConsoleSession {
  /** The name the staff member logged in with; claims and replies carry it. */
  agent: string;
  /** `lead` for the CONSOLE_TOKEN bootstrap, else the agent's role. */
  role: "agent" | "lead";
  /** The signed-in agent's id (checked on every request: a removed agent is signed out); null for CONSOLE_TOKEN. */
  agentId: string | null;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Per-session random value the CSRF token is derived from. */
  nonce: string;
}

/**
 * Stateless sessions signed with HMAC-SHA256 under a key derived from CONSOLE_TOKEN: changing
 * the token logs everyone out. The cookie is `base64url(json).base64url(mac)`; forms carry a
 * per-session CSRF token derived from the session's nonce (on top of SameSite=Strict).
 */
export class SessionSigner {
  readonly #key: Buffer;

  constructor(consoleToken: string) {
    this.#key = createHmac("sha256", "switchboard-console-session-v1").update(consoleToken).digest();
  }

  issue(who: { agent: string; role: "agent" | "lead"; agentId: string | null }, nowMs: number = Date.now()): { cookie: string; session: ConsoleSession } {
    const session: ConsoleSession = { ...who, exp: Math.floor(nowMs / 1000) + SESSION_TTL_SECONDS, nonce: randomBytes(18).toString("base64url") };
    const payload = Buffer.from(JSON.stringify(session)).toString("base64url");
    return { cookie: `${payload}.${this.#mac(payload)}`, session };
  }

  /** The session a cookie value carries, or undefined when it is missing, forged or expired. */
  verify(cookie: string | undefined, nowMs: number = Date.now()): ConsoleSession | undefined {
    if (!cookie) return undefined;
    const [payload, mac, ...rest] = cookie.split(".");
    if (!payload || !mac || rest.length > 0 || !equal(mac, this.#mac(payload))) return undefined;
    try {
      const s = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Partial<ConsoleSession>;
      if (typeof s.agent !== "string" || typeof s.exp !== "number" || typeof s.nonce !== "string") return undefined;
      if ((s.role !== "agent" && s.role !== "lead") || (s.agentId !== null && typeof s.agentId !== "string")) return undefined;
      if (s.exp * 1000 <= nowMs) return undefined;
      return { agent: s.agent, role: s.role, agentId: s.agentId, exp: s.exp, nonce: s.nonce };
    } catch {
      return undefined;
    }
  }

  csrfToken(session: ConsoleSession): string {
    return this.#mac(`csrf.${session.nonce}`);
  }

  checkCsrf(session: ConsoleSession, token: unknown): boolean {
    return typeof token === "string" && equal(token, this.csrfToken(session));
  }

  /** Compares a submitted console token with the configured one in constant time. */
  static tokenMatches(given: string, expected: string): boolean {
    const a = createHmac("sha256", "cmp").update(given).digest();
    const b = createHmac("sha256", "cmp").update(expected).digest();
    return timingSafeEqual(a, b);
  }

  #mac(data: string): string {
    return createHmac("sha256", this.#key).update(data).digest("base64url");
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Cookie options (for @fastify/cookie's `setCookie`/`clearCookie`): HttpOnly, SameSite=Strict,
 * scoped to /console; Secure over HTTPS (behind a TLS proxy, with TRUST_PROXY set).
 */
export function consoleCookie(maxAgeSeconds: number, secure: boolean): CookieSerializeOptions {
  return { path: "/console", httpOnly: true, sameSite: "strict", maxAge: maxAgeSeconds, secure };
}
