import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseEnv } from "node:util";
import { isSupportedCountry, type CountryCode } from "libphonenumber-js/max";
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { parseSupportHours, type SupportHours } from "./handoffs/support-hours.ts";
import type { RedactionSettings } from "./inbox/redact.ts";

/**
 * Every setting Switchboard reads, validated in one place. `process.env` is read here and nowhere
 * else; a bad value fails at start with a message naming the variable.
 */
export interface Config {
  /** Postgres server URL. Unset: an embedded Postgres (PGlite) in `dataDir`. */
  databaseUrl: string | undefined;
  /** Folder for the embedded database and caches. Default `./.switchboard`. */
  dataDir: string;
  /** HTTP port. Default 3000. */
  port: number;
  /** Address `serve` and `worker --port` listen on (`HOST`). Default `127.0.0.1` (the image sets `0.0.0.0`). */
  host: string;
  /**
   * `ALLOW_OPEN_API`: `serve` may listen on a non-loopback address with `POST /api/messages` open
   * (no `API_TOKEN`), because something in front authenticates callers. Default `false`: it refuses.
   */
  allowOpenApi: boolean;
  /**
   * `TRUST_PROXY`: honour `X-Forwarded-For/-Proto/-Host` from a proxy in front (`true`, a hop
   * count, or its addresses). Behind a TLS proxy the console cookie is then `Secure`, and rate
   * limits count the real client. Default `false`.
   */
  trustProxy: boolean | number | string[];
  /** `RATE_LIMIT_PER_MINUTE`: `POST /api/messages` per user per client address. Default 60. */
  rateLimitPerMinute: number;
  openaiApiKey: string | undefined;
  /** OpenAI-compatible endpoint (Ollama, vLLM, Azure, a gateway). Default OpenAI's. */
  openaiBaseUrl: string | undefined;
  /** Chat model name. Default `gpt-4o-mini`. */
  llmModel: string;
  /** Whether an LLM is configured at all (a key, or a base URL for a keyless local server). */
  llmEnabled: boolean;
  /** `offline`: classifier only; `llm`: the model routes; `hybrid`: the model only when unsure. */
  routerMode: RouterMode;
  /** Offline confidence below which hybrid mode asks the model. Default 0.6. */
  hybridThreshold: number;
  slackBotToken: string | undefined;
  slackSigningSecret: string | undefined;
  slackAppToken: string | undefined;
  slackApiUrl: string | undefined;
  slackHandoffChannel: string | undefined;
  /**
   * `SLACK_STAFF_USERGROUP`: a Slack user group id (`S…`). When set, only its members may use the
   * staff channel's buttons and answer users from a card's thread. Unset: anyone in the channel.
   */
  slackStaffUsergroup: string | undefined;
  discordToken: string | undefined;
  discordApplicationId: string | undefined;
  discordApiUrl: string | undefined;
  discordHandoffChannel: string | undefined;
  /**
   * `DISCORD_STAFF_ROLE`: a role id in the staff channel's server. When set, only members with it
   * may use the staff channel's buttons and answer users from a card's thread. Unset: anyone there.
   */
  discordStaffRole: string | undefined;
  consoleToken: string | undefined;
  apiToken: string | undefined;
  /**
   * `API_USER_SECRET`: when set, an HTTP caller proves who its user is with `userHash`, the hex
   * HMAC-SHA256 of the userId under this secret (`POST /api/messages`, the events stream).
   */
  apiUserSecret: string | undefined;
  /** `WEBHOOK_URL`: every outbound message of an HTTP conversation is POSTed here, signed. Unset: no webhook. */
  webhookUrl: string | undefined;
  /** `WEBHOOK_SECRET`: the HMAC-SHA256 key of the webhook's `X-Switchboard-Signature`; required with WEBHOOK_URL. */
  webhookSecret: string | undefined;
  /** Knowledge base folder with `faq/` and `tech/` markdown. Default: the bundled demo docs. */
  knowledgeDir: string;
  /**
   * `ROUTER_EXAMPLES`: a JSONL file, or a folder of them, of `{"text", "route"}` lines in the
   * company's own words, trained on with the corpus at start (and by `switchboard eval`). Unset: none.
   */
  routerExamples: string | undefined;
  /**
   * `CACHE_DIR`: where what is slow to make and the same every time is kept between starts — the
   * trained offline router (keyed by a hash of everything it is trained on and of its code) and a
   * freshly initialised embedded cluster that new data folders are copied from. Safe to delete.
   * Default `$XDG_CACHE_HOME/switchboard` or `~/.cache/switchboard`; `off`: none (train and
   * `initdb` at every start).
   */
  cacheDir: string | undefined;
  logLevel: string;
  /** `LOG_FORMAT`: `json` (one JSON object a line) or `pretty` (readable lines). Unset: pretty when stderr is a terminal, JSON otherwise. */
  logFormat: "json" | "pretty" | undefined;
  /**
   * LangChain's tracing to LangSmith is on (`LANGSMITH_TRACING` / `LANGCHAIN_TRACING_V2`, read
   * by LangChain itself): transcripts, prompts and answers leave the machine. Said at start.
   */
  langsmithTracing: boolean;
  /** `auto` (default): seed demo billing data into a new embedded database; `on`; `off`. */
  demoData: "auto" | "on" | "off";
  /** Time budget of one worker run in ms. Default 20000. */
  workerTimeoutMs: number;
  /**
   * Partial answers first (Slack, Discord): how long, in ms, a multi-part answer waits for its
   * slowest part before the parts that are ready are posted (then edited in place as the rest
   * finish). Default 2000; 0: only whole answers are posted.
   */
  partialReplyMs: number;
  /** Refunds above this amount (in the account currency) need a person's approval. Default 100. */
  refundApprovalLimit: number;
  /** Minutes an unclaimed handoff waits before staff are told again. Default 15; 0: never. */
  handoffSlaMinutes: number;
  /** When the support team works (`SUPPORT_HOURS`). Unset: always. */
  supportHours: SupportHours | undefined;
  /**
   * `postgres`: graphile-worker, shared by every process (the default with DATABASE_URL);
   * `memory`: in this process only (the default, and the only choice, on embedded Postgres).
   */
  jobQueue: "postgres" | "memory" | undefined;
  /** Messages a worker process handles at once, each of a different conversation. Default 8. */
  workerConcurrency: number;
  /** Attempts per message before it goes to a person. Default 4. */
  jobMaxAttempts: number;
  /** A worker not heard from for this long is dead; its messages go to another worker. Default 30000. */
  workerLeaseMs: number;
  /**
   * `AGENTS` (or `--agents` on `serve` and `worker`): the workers whose steps run in this process,
   * by registry name (`billing,faq`). Every other worker's steps are delegated through the shared
   * queue to a `switchboard worker --agents …` process that runs it. Checked against the registry
   * at start. Default: unset, every worker runs in this process (and nothing is delegated).
   */
  agents: string[] | undefined;
  /**
   * `BILLING_DATABASE_URL`: the billing worker's tools read and write the billing tables there
   * instead of in DATABASE_URL, so only the process that runs billing needs its credentials.
   * Opened only by a process that runs the billing worker. Default: unset, DATABASE_URL's database.
   */
  billingDatabaseUrl: string | undefined;
  /**
   * What the intake removes from messages besides secrets, card numbers, IBANs and passwords
   * (always removed): `REDACT_CONTACTS` (default `email,phone`) and `REDACT_PHONE_REGION`.
   */
  redaction: RedactionSettings;
}

export type RouterMode = "offline" | "llm" | "hybrid";

export const DEFAULT_KNOWLEDGE_DIR = path.resolve(import.meta.dirname, "../agents/knowledge/demo");

/** Shortest accepted HMAC secret (API_USER_SECRET, WEBHOOK_SECRET). */
export const MIN_SECRET_CHARS = 16;

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const url = (name: string) =>
  optionalString.refine((v) => v === undefined || URL.canParse(v), {
    message: `${name} must be a URL, e.g. http://127.0.0.1:11434/v1`,
  });

/** A secret used as an HMAC key: short ones can be guessed offline from one signed value. */
const secret = optionalString.refine((v) => v === undefined || v.length >= MIN_SECRET_CHARS, {
  message: `must be at least ${MIN_SECRET_CHARS} characters (a random string, e.g. \`openssl rand -hex 32\`)`,
});

/** `true`/`false` (also 1/0, yes/no, on/off). */
const flag = optionalString.transform((v, ctx) => {
  if (v === undefined) return false;
  const lower = v.toLowerCase();
  if (["true", "1", "yes", "on"].includes(lower)) return true;
  if (["false", "0", "no", "off"].includes(lower)) return false;
  ctx.addIssue({ code: "custom", message: `must be true or false, got "${v}"` });
  return z.NEVER;
});

const positiveNumber = (fallback: number) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) {
      ctx.addIssue({ code: "custom", message: `must be a non-negative number, got "${v}"` });
      return z.NEVER;
    }
    return n;
  });

const wholeNumber = (fallback: number, min: number) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      ctx.addIssue({ code: "custom", message: `must be a whole number of at least ${min}, got "${v}"` });
      return z.NEVER;
    }
    return n;
  });

const EnvSchema = z.object({
  DATABASE_URL: optionalString.refine(
    (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
    { message: "must start with postgres:// or postgresql://" },
  ),
  DATA_DIR: optionalString,
  PORT: optionalString.transform((v, ctx) => {
    if (v === undefined) return 3000;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      ctx.addIssue({ code: "custom", message: `must be a port number 0-65535, got "${v}"` });
      return z.NEVER;
    }
    return n;
  }),
  HOST: optionalString,
  ALLOW_OPEN_API: flag,
  RATE_LIMIT_PER_MINUTE: wholeNumber(60, 1),
  TRUST_PROXY: optionalString.transform((v, ctx): boolean | number | string[] => {
    if (v === undefined || ["false", "0", "no", "off"].includes(v.toLowerCase())) return false;
    if (["true", "yes", "on"].includes(v.toLowerCase())) return true;
    if (/^\d+$/.test(v)) return Number(v);
    const addresses = v.split(",").map((a) => a.trim()).filter(Boolean);
    if (addresses.every((a) => /^[0-9a-fA-F.:/]+$/.test(a))) return addresses;
    ctx.addIssue({ code: "custom", message: `must be true, false, a number of proxy hops, or the proxies' addresses (comma-separated), got "${v}"` });
    return z.NEVER;
  }),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: url("OPENAI_BASE_URL"),
  LLM_MODEL: optionalString,
  ROUTER_MODE: optionalString.pipe(z.enum(["offline", "llm", "hybrid"]).optional()),
  HYBRID_THRESHOLD: positiveNumber(0.6),
  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: url("SLACK_API_URL"),
  SLACK_HANDOFF_CHANNEL: optionalString,
  SLACK_STAFF_USERGROUP: optionalString.refine((v) => v === undefined || /^S[A-Z0-9]{2,20}$/.test(v), {
    message: "must be a Slack user group id such as S0123ABCD (the group's profile → ⋯ → Copy group ID)",
  }),
  DISCORD_TOKEN: optionalString,
  DISCORD_APPLICATION_ID: optionalString,
  DISCORD_API_URL: url("DISCORD_API_URL"),
  DISCORD_HANDOFF_CHANNEL: optionalString,
  DISCORD_STAFF_ROLE: optionalString.refine((v) => v === undefined || /^\d{15,20}$/.test(v), {
    message: "must be a Discord role id such as 1234567890123456789 (Developer Mode on → Server Settings → Roles → ⋯ → Copy Role ID)",
  }),
  CONSOLE_TOKEN: optionalString,
  API_TOKEN: optionalString,
  API_USER_SECRET: secret,
  WEBHOOK_URL: optionalString.refine((v) => v === undefined || (URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)), {
    message: "must be an http:// or https:// URL, e.g. https://example.com/switchboard/webhook",
  }),
  WEBHOOK_SECRET: secret,
  KNOWLEDGE_DIR: optionalString,
  ROUTER_EXAMPLES: optionalString,
  CACHE_DIR: optionalString,
  XDG_CACHE_HOME: optionalString,
  LOG_LEVEL: optionalString.pipe(
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  ),
  LOG_FORMAT: optionalString.pipe(z.enum(["json", "pretty"]).optional()),
  LANGSMITH_TRACING: optionalString,
  LANGSMITH_TRACING_V2: optionalString,
  LANGCHAIN_TRACING_V2: optionalString,
  LANGCHAIN_TRACING: optionalString,
  DEMO_DATA: optionalString.pipe(z.enum(["auto", "on", "off"]).optional()),
  WORKER_TIMEOUT_MS: positiveNumber(20_000),
  PARTIAL_REPLY_MS: wholeNumber(2000, 0),
  REFUND_APPROVAL_LIMIT: positiveNumber(100),
  HANDOFF_SLA_MINUTES: positiveNumber(15),
  JOB_QUEUE: optionalString.pipe(z.enum(["postgres", "memory"]).optional()),
  WORKER_CONCURRENCY: wholeNumber(8, 1),
  JOB_MAX_ATTEMPTS: wholeNumber(4, 1),
  WORKER_LEASE_MS: wholeNumber(30_000, 500),
  AGENTS: optionalString.transform((v, ctx) => {
    if (v === undefined) return undefined;
    const names = parseAgentNames(v);
    if (!names) {
      ctx.addIssue({ code: "custom", message: `must be worker names separated by commas, e.g. billing,faq; got "${v}"` });
      return z.NEVER;
    }
    return names;
  }),
  BILLING_DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: "must start with postgres:// or postgresql://",
  }),
  REDACT_CONTACTS: optionalString.transform((v, ctx) => {
    if (v === undefined) return { emails: true, phones: true };
    const words = v.toLowerCase().split(/[\s,]+/).filter(Boolean);
    if (words.length === 1 && words[0] === "none") return { emails: false, phones: false };
    const unknown = words.filter((w) => w !== "email" && w !== "phone");
    if (unknown.length > 0) {
      ctx.addIssue({ code: "custom", message: `must be "email,phone", "email", "phone" or "none", got "${v}"` });
      return z.NEVER;
    }
    return { emails: words.includes("email"), phones: words.includes("phone") };
  }),
  REDACT_PHONE_REGION: optionalString.refine((v) => v === undefined || isSupportedCountry(v.toUpperCase()), {
    message: "must be a two-letter country code with a numbering plan, e.g. US, GB, DE",
  }),
  SUPPORT_HOURS: optionalString.transform((v, ctx) => {
    if (v === undefined) return undefined;
    try {
      return parseSupportHours(v);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
      return z.NEVER;
    }
  }),
});

/**
 * A list of worker names as `AGENTS` and `--agents` take it (`billing,faq`), without duplicates;
 * undefined when it is not one. Whether each is a registry worker is checked at start.
 */
export function parseAgentNames(v: string): string[] | undefined {
  const names = [...new Set(v.split(/[\s,]+/).filter(Boolean))];
  return names.length > 0 && names.every((n) => /^[a-z][a-z0-9_]*$/.test(n)) ? names : undefined;
}

/** {@link Config.cacheDir}: `CACHE_DIR`, else the user's cache folder; `off` or `none`: no cache. */
function cacheDir(setting: string | undefined, xdgCacheHome: string | undefined): string | undefined {
  if (setting !== undefined) return ["off", "none"].includes(setting.toLowerCase()) ? undefined : path.resolve(setting);
  return path.join(xdgCacheHome ?? path.join(os.homedir(), ".cache"), "switchboard");
}

/** Reads and validates the environment. Throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const llmEnabled = e.OPENAI_API_KEY !== undefined || e.OPENAI_BASE_URL !== undefined;
  const routerMode: RouterMode = e.ROUTER_MODE ?? (llmEnabled ? "hybrid" : "offline");
  if (routerMode !== "offline" && !llmEnabled) {
    throw new ConfigError(
      `ROUTER_MODE=${routerMode} needs a model: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server), or use ROUTER_MODE=offline`,
    );
  }
  if (e.HYBRID_THRESHOLD > 1) throw new ConfigError("HYBRID_THRESHOLD must be between 0 and 1");
  if (e.SLACK_STAFF_USERGROUP !== undefined && e.SLACK_HANDOFF_CHANNEL === undefined) {
    throw new ConfigError("SLACK_STAFF_USERGROUP is set but SLACK_HANDOFF_CHANNEL is not: the user group limits who may act in the staff channel");
  }
  if (e.DISCORD_STAFF_ROLE !== undefined && e.DISCORD_HANDOFF_CHANNEL === undefined) {
    throw new ConfigError("DISCORD_STAFF_ROLE is set but DISCORD_HANDOFF_CHANNEL is not: the role limits who may act in the staff channel");
  }
  if (e.WEBHOOK_URL !== undefined && e.WEBHOOK_SECRET === undefined) {
    throw new ConfigError("WEBHOOK_SECRET is required when WEBHOOK_URL is set: the receiver checks X-Switchboard-Signature with it");
  }
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR ?? ".switchboard"),
    port: e.PORT,
    host: e.HOST ?? "127.0.0.1",
    allowOpenApi: e.ALLOW_OPEN_API,
    trustProxy: e.TRUST_PROXY,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    openaiApiKey: e.OPENAI_API_KEY,
    openaiBaseUrl: e.OPENAI_BASE_URL,
    llmModel: e.LLM_MODEL ?? "gpt-4o-mini",
    llmEnabled,
    routerMode,
    hybridThreshold: e.HYBRID_THRESHOLD,
    slackBotToken: e.SLACK_BOT_TOKEN,
    slackSigningSecret: e.SLACK_SIGNING_SECRET,
    slackAppToken: e.SLACK_APP_TOKEN,
    slackApiUrl: e.SLACK_API_URL,
    slackHandoffChannel: e.SLACK_HANDOFF_CHANNEL,
    slackStaffUsergroup: e.SLACK_STAFF_USERGROUP,
    discordToken: e.DISCORD_TOKEN,
    discordApplicationId: e.DISCORD_APPLICATION_ID,
    discordApiUrl: e.DISCORD_API_URL,
    discordHandoffChannel: e.DISCORD_HANDOFF_CHANNEL,
    discordStaffRole: e.DISCORD_STAFF_ROLE,
    consoleToken: e.CONSOLE_TOKEN,
    apiToken: e.API_TOKEN,
    apiUserSecret: e.API_USER_SECRET,
    webhookUrl: e.WEBHOOK_URL,
    webhookSecret: e.WEBHOOK_SECRET,
    knowledgeDir: e.KNOWLEDGE_DIR ? path.resolve(e.KNOWLEDGE_DIR) : DEFAULT_KNOWLEDGE_DIR,
    routerExamples: e.ROUTER_EXAMPLES ? path.resolve(e.ROUTER_EXAMPLES) : undefined,
    cacheDir: cacheDir(e.CACHE_DIR, e.XDG_CACHE_HOME),
    logLevel: e.LOG_LEVEL ?? "info",
    logFormat: e.LOG_FORMAT,
    // LangChain's own rule: the first of these that is set decides, and only "true" turns it on.
    langsmithTracing: (e.LANGSMITH_TRACING_V2 ?? e.LANGCHAIN_TRACING_V2 ?? e.LANGSMITH_TRACING ?? e.LANGCHAIN_TRACING)?.toLowerCase() === "true",
    demoData: e.DEMO_DATA ?? "auto",
    workerTimeoutMs: e.WORKER_TIMEOUT_MS,
    partialReplyMs: e.PARTIAL_REPLY_MS,
    refundApprovalLimit: e.REFUND_APPROVAL_LIMIT,
    handoffSlaMinutes: e.HANDOFF_SLA_MINUTES,
    supportHours: e.SUPPORT_HOURS,
    jobQueue: e.JOB_QUEUE,
    workerConcurrency: e.WORKER_CONCURRENCY,
    jobMaxAttempts: e.JOB_MAX_ATTEMPTS,
    workerLeaseMs: e.WORKER_LEASE_MS,
    agents: e.AGENTS,
    billingDatabaseUrl: e.BILLING_DATABASE_URL,
    redaction: { ...e.REDACT_CONTACTS, phoneRegion: e.REDACT_PHONE_REGION?.toUpperCase() as CountryCode | undefined },
  };
}

/** Plain-words summary of what is on and off, logged at start. */
export function describeConfig(c: Config): string[] {
  const slackHttp = c.slackBotToken && c.slackSigningSecret;
  const slackSocket = c.slackBotToken && c.slackAppToken;
  return [
    c.databaseUrl
      ? `Database: Postgres server (DATABASE_URL)`
      : `Database: embedded Postgres in ${c.dataDir} — set DATABASE_URL to use a server`,
    c.llmEnabled
      ? `LLM: on — ${c.llmModel}${c.openaiBaseUrl ? ` at ${c.openaiBaseUrl}` : ""}, router ${c.routerMode}`
      : "LLM: off — offline engine (set OPENAI_API_KEY or OPENAI_BASE_URL to use a model)",
    slackHttp || slackSocket
      ? `Slack: on — ${[slackHttp ? "HTTP events at /slack/events" : "", slackSocket ? "Socket Mode" : ""].filter(Boolean).join(" and ")}`
      : "Slack: off — set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)",
    c.discordToken ? "Discord: on" : "Discord: off — set DISCORD_TOKEN (and DISCORD_APPLICATION_ID for /support)",
    c.consoleToken ? "Console: on at /console" : "Console: off — set CONSOLE_TOKEN",
    c.slackHandoffChannel || c.discordHandoffChannel
      ? `Handoffs: staff cards in ${[c.slackHandoffChannel ? "Slack" : "", c.discordHandoffChannel ? "Discord" : ""].filter(Boolean).join(" and ")}; re-announced after ${c.handoffSlaMinutes} min unclaimed; support hours ${c.supportHours?.spec ?? "always"}`
      : "Handoffs: console and API only — set SLACK_HANDOFF_CHANNEL or DISCORD_HANDOFF_CHANNEL for a staff channel",
    ...(c.slackHandoffChannel
      ? [`Staff actions (Slack): only from ${c.slackHandoffChannel}${c.slackStaffUsergroup ? `, by members of ${c.slackStaffUsergroup}` : ", by anyone in it — set SLACK_STAFF_USERGROUP to require a user group"}`]
      : []),
    ...(c.discordHandoffChannel
      ? [`Staff actions (Discord): only from ${c.discordHandoffChannel}${c.discordStaffRole ? `, by members with role ${c.discordStaffRole}` : ", by anyone in it — set DISCORD_STAFF_ROLE to require a role"}`]
      : []),
    ...(c.agents ? [`Workers: ${c.agents.join(", ")} in this process (AGENTS / --agents); the others' steps go through the shared queue to their services`] : []),
    ...(c.billingDatabaseUrl ? ["Billing: the billing tables are in BILLING_DATABASE_URL (for the billing worker where it runs, and for the console's refund approvals and customer panel)"] : []),
    c.apiToken ? "API: /api/messages requires API_TOKEN" : "API: /api/messages is open (set API_TOKEN to require a token)",
    ...(c.apiUserSecret ? ["API: callers prove their user with userHash (API_USER_SECRET)"] : []),
    ...(c.webhookUrl ? [`Webhook: outbound HTTP messages are POSTed to ${new URL(c.webhookUrl).origin}, signed with WEBHOOK_SECRET`] : []),
    ...(c.langsmithTracing
      ? ["LangSmith: tracing ON (LANGSMITH_TRACING / LANGCHAIN_TRACING_V2) — conversation transcripts, prompts and answers are sent out of this machine to LangSmith; unset it to keep them here"]
      : []),
  ];
}

/**
 * Reads a `.env` file into `env` before the settings are: `ENV_FILE` names it (it must exist),
 * otherwise `.env` in the working directory is read when there is one. A variable already set in
 * the environment wins over the file. Returns the file read, if any.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  const named = env["ENV_FILE"]?.trim();
  const file = path.resolve(cwd, named || ".env");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if (!named && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`ENV_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined) env[name] = value;
  }
  return file;
}
