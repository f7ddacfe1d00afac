import { createHash, randomBytes } from "node:crypto";
import { hash as argon2Hash, verify as argon2Verify } from "@node-rs/argon2";
import type pg from "pg";
import { InputError } from "../errors.ts";

export type AgentRole = "agent" | "lead";
export const AGENT_ROLES: readonly AgentRole[] = ["agent", "lead"];

/** A support agent as the directory lists it (never with its token or hash). */
export interface Agent {
  id: string;
  name: string;
  role: AgentRole;
  createdAt: Date;
  /** Their Slack user id (`U…`): their clicks and thread replies in the Slack staff channel are theirs. */
  slackUser: string | null;
  /** Their Discord user id (a snowflake), likewise for the Discord staff channel. */
  discordUser: string | null;
}

/** The chat platforms staff work in. */
export type StaffPlatform = "slack" | "discord";

/**
 * Which platform users an agent is. In `link`: a string links, `null` unlinks, a missing key
 * leaves it as it is.
 */
export interface PlatformUsers {
  slackUser?: string | null | undefined;
  discordUser?: string | null | undefined;
}

const COLUMNS = `id, name, role, created_at as "createdAt", slack_user as "slackUser", discord_user as "discordUser"`;
const PLATFORM_COLUMN: Record<StaffPlatform, "slack_user" | "discord_user"> = { slack: "slack_user", discord: "discord_user" };

/** Slack user ids: `U…` or `W…` (Enterprise Grid), upper-case letters and digits. */
const SLACK_USER = /^[UW][A-Z0-9]{2,20}$/;
/** Discord user ids: snowflakes, decimal digits. */
const DISCORD_USER = /^\d{1,20}$/;

/**
 * Who acts on a handoff or a refund: an agent signed in with their own token, or the lead
 * bootstrap (`CONSOLE_TOKEN`: a lead named as typed, `agentId` null).
 */
export interface Staff {
  name: string;
  role: AgentRole;
  agentId: string | null;
}

/** Longest agent name (shown on replies and cards). */
export const AGENT_NAME_MAX = 80;

/** Tokens look like `sbk_<id>_<secret>`: the id names the one hash to check, the secret is 256 random bits. */
const TOKEN = /^sbk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface AgentDirectoryOptions {
  /**
   * How long a token that verified is trusted without running argon2 again, in ms. The row is
   * still read on every call, so a removed agent's token stops working at once. Default 60000.
   */
  verifiedTtlMs?: number;
  /** Most verified tokens remembered. Default 1000. */
  cacheSize?: number;
  now?: () => number;
  /** Checks a token against a stored hash. Default: argon2id's verify (tests count the calls). */
  verifyHash?: (tokenHash: string, token: string) => Promise<boolean>;
}

/**
 * The support team: agents with a role and a token each, stored as an argon2id hash
 * (@node-rs/argon2). The tokens are random and long (256 bits), so a slow hash is not what keeps
 * them from being guessed; it is what keeps a leaked `agents` table from being a set of working
 * credentials, at the library's default cost. Verifying costs ~50–100 ms of CPU, so a token that
 * verified is remembered (by its SHA-256, beside the hash it matched) for `verifiedTtlMs`: the
 * next API calls with it cost one primary-key read, no argon2.
 */
export class AgentDirectory {
  readonly #pool: pg.Pool;
  readonly #ttl: number;
  readonly #size: number;
  readonly #now: () => number;
  readonly #verifyHash: (tokenHash: string, token: string) => Promise<boolean>;
  /** sha256(token) → the stored hash it verified against, and until when that is trusted. */
  readonly #verified = new Map<string, { tokenHash: string; until: number }>();

  constructor(pool: pg.Pool, options: AgentDirectoryOptions = {}) {
    this.#pool = pool;
    this.#ttl = options.verifiedTtlMs ?? 60_000;
    this.#size = options.cacheSize ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#verifyHash = options.verifyHash ?? ((h, t) => argon2Verify(h, t));
  }

  /** Creates an agent and returns its token: shown once, never stored in the clear. */
  async add(nameInput: string, role: AgentRole = "agent", users: PlatformUsers = {}): Promise<{ agent: Agent; token: string }> {
    const name = validAgentName(nameInput);
    const slackUser = users.slackUser == null ? null : validPlatformUser("slack", users.slackUser);
    const discordUser = users.discordUser == null ? null : validPlatformUser("discord", users.discordUser);
    if (!AGENT_ROLES.includes(role)) throw new InputError("invalid_role", `role must be agent or lead, not ${role}.`);
    const id = randomBytes(8).toString("hex");
    const token = `sbk_${id}_${randomBytes(32).toString("base64url")}`;
    const tokenHash = await argon2Hash(token);
    try {
      const r = await this.#pool.query(
        `insert into agents (id, name, role, token_hash, slack_user, discord_user) values ($1, $2, $3, $4, $5, $6)
         returning ${COLUMNS}`,
        [id, name, role, tokenHash, slackUser, discordUser],
      );
      return { agent: r.rows[0] as Agent, token };
    } catch (err) {
      throw await this.#conflict(err, name, { slackUser, discordUser });
    }
  }

  /**
   * Links (or, with `null`, unlinks) the agent's Slack and Discord users. A platform user is one
   * agent's at most: linking one that is another agent's is refused (409 `platform_user_taken`).
   */
  async link(nameInput: string, users: PlatformUsers): Promise<Agent> {
    const name = nameInput.trim();
    const sets: string[] = [];
    const values: unknown[] = [name];
    const wanted: PlatformUsers = {};
    for (const platform of ["slack", "discord"] as const) {
      const key = platform === "slack" ? "slackUser" : "discordUser";
      const given = users[key];
      if (given === undefined) continue;
      const value = given === null ? null : validPlatformUser(platform, given);
      wanted[key] = value;
      values.push(value);
      sets.push(`${PLATFORM_COLUMN[platform]} = $${values.length}`);
    }
    if (sets.length === 0) throw new InputError("nothing_to_link", "Say what to link: a Slack user id, a Discord user id, or both (or unlink one).");
    try {
      const r = await this.#pool.query(`update agents set ${sets.join(", ")} where lower(name) = lower($1) returning ${COLUMNS}`, values);
      const agent = r.rows[0] as Agent | undefined;
      if (!agent) throw new InputError("unknown_agent", `No agent named ${name}.`, 404);
      return agent;
    } catch (err) {
      throw await this.#conflict(err, name, wanted);
    }
  }

  /** The agent linked to this Slack or Discord user, if any. */
  async byPlatformUser(platform: StaffPlatform, userId: string): Promise<Agent | undefined> {
    const r = await this.#pool.query(`select ${COLUMNS} from agents where ${PLATFORM_COLUMN[platform]} = $1`, [userId]);
    return r.rows[0] as Agent | undefined;
  }

  /** Whether the support team has any agent at all (before the first, staff channels act as before agents existed). */
  async any(): Promise<boolean> {
    const r = await this.#pool.query(`select exists (select 1 from agents) as "any"`);
    return (r.rows[0] as { any: boolean }).any;
  }

  /** A unique violation as the error a person can act on: the name, or a platform user, is taken. */
  async #conflict(err: unknown, name: string, users: PlatformUsers): Promise<unknown> {
    if ((err as { code?: string }).code !== "23505") return err;
    const constraint = (err as { constraint?: string }).constraint;
    for (const platform of ["slack", "discord"] as const) {
      const id = platform === "slack" ? users.slackUser : users.discordUser;
      if (!id || (constraint !== undefined && constraint !== `agents_${platform}_user`)) continue;
      const owner = await this.byPlatformUser(platform, id);
      if (owner && owner.name.toLowerCase() !== name.toLowerCase()) {
        return new InputError("platform_user_taken", `The ${platform === "slack" ? "Slack" : "Discord"} user ${id} is already linked to ${owner.name}. Unlink it there first.`, 409);
      }
    }
    return new InputError("agent_exists", `There is already an agent named ${name}.`, 409);
  }

  async list(): Promise<Agent[]> {
    const r = await this.#pool.query(`select ${COLUMNS} from agents order by lower(name)`);
    return r.rows as Agent[];
  }

  /** The agent with this name (any case). */
  async byName(name: string): Promise<Agent | undefined> {
    const r = await this.#pool.query(`select ${COLUMNS} from agents where lower(name) = lower($1)`, [name.trim()]);
    return r.rows[0] as Agent | undefined;
  }

  async byId(id: string): Promise<Agent | undefined> {
    const r = await this.#pool.query(`select ${COLUMNS} from agents where id = $1`, [id]);
    return r.rows[0] as Agent | undefined;
  }

  /** Removes the agent; their token stops working at once (in every process). */
  async remove(name: string): Promise<Agent> {
    const r = await this.#pool.query(`delete from agents where lower(name) = lower($1) returning ${COLUMNS}`, [name.trim()]);
    const agent = r.rows[0] as Agent | undefined;
    if (!agent) throw new InputError("unknown_agent", `No agent named ${name.trim()}.`, 404);
    return agent;
  }

  /** Whether the string has the shape of an agent token (so a caller can tell it from CONSOLE_TOKEN cheaply). */
  static looksLikeToken(token: string): boolean {
    return TOKEN.test(token);
  }

  /** The agent this token belongs to, or undefined (wrong, malformed, or the agent was removed). */
  async verify(token: string): Promise<Agent | undefined> {
    const m = TOKEN.exec(token);
    if (!m) return undefined;
    const r = await this.#pool.query(`select ${COLUMNS}, token_hash as "tokenHash" from agents where id = $1`, [m[1]]);
    const row = r.rows[0] as (Agent & { tokenHash: string }) | undefined;
    if (!row) return undefined;
    const { tokenHash, ...agent } = row;
    const key = createHash("sha256").update(token).digest("base64url");
    const known = this.#verified.get(key);
    const now = this.#now();
    if (known && known.tokenHash === tokenHash && known.until > now) return agent;
    let ok = false;
    try {
      ok = await this.#verifyHash(tokenHash, token);
    } catch {
      ok = false;
    }
    if (!ok) return undefined;
    this.#verified.delete(key);
    if (this.#verified.size >= this.#size) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    this.#verified.set(key, { tokenHash, until: now + this.#ttl });
    return agent;
  }
}

/** An agent's name as typed, or an `InputError` saying what is wrong with it. */
export function validAgentName(input: string): string {
  // Control characters would garble cards and logs.
  // eslint-disable-next-line no-control-regex
  const name = input.replace(/[\u0000-\u001f\u007f]/g, " ").trim();
  if (!name) throw new InputError("agent_required", "Say who you are: agent must be a non-empty name.");
  if (name.length > AGENT_NAME_MAX) throw new InputError("agent_too_long", `agent is longer than ${AGENT_NAME_MAX} characters.`);
  return name;
}

/** A Slack or Discord user id as given (`U0123ABC`, `123456789012345678`), or an `InputError`. */
export function validPlatformUser(platform: StaffPlatform, input: string): string {
  const id = input.trim();
  if (platform === "slack" && !SLACK_USER.test(id)) {
    throw new InputError("invalid_slack_user", `${id || "(empty)"} is not a Slack user id: it looks like U0123ABCD (the member ID in the person's Slack profile, under ⋮).`);
  }
  if (platform === "discord" && !DISCORD_USER.test(id)) {
    throw new InputError("invalid_discord_user", `${id || "(empty)"} is not a Discord user id: it is a number (Copy User ID, with Developer Mode on).`);
  }
  return id;
}
