import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import type { App } from "../../src/app.ts";
import { loadConfig, loadEnvFile, parseAgentNames, type Config } from "../../src/config.ts";
import { SwitchboardError, errorMessage } from "../../src/errors.ts";
import { createLogger, type Logger } from "../../src/logger.ts";
import type { Outcome } from "../../src/types.ts";
import type { TerminalOptions } from "./terminal.ts";
import type { ServeRole } from "./serve.ts";

// Each command loads what it uses when it runs, so none pays for the rest: `route` and `eval`
// open no database and build no graph, and Slack, Discord and the model load only when configured.
const createApp: typeof import("../../src/app.ts").createApp = async (...a) => (await import("../../src/app.ts")).createApp(...a);
const serve: typeof import("./serve.ts").serve = async (...a) => (await import("./serve.ts")).serve(...a);
const work: typeof import("./worker.ts").work = async (...a) => (await import("./worker.ts")).work(...a);
const runEval: typeof import("./eval-command.ts").runEval = async (...a) => (await import("./eval-command.ts")).runEval(...a);
const openDatabase: typeof import("../../src/db/database.ts").openDatabase = async (...a) => (await import("../../src/db/database.ts")).openDatabase(...a);
const migrate: typeof import("../../src/db/migrate.ts").migrate = async (...a) => (await import("../../src/db/migrate.ts")).migrate(...a);
const registerCommands: typeof import("../discord/index.ts").registerCommands = async (...a) => (await import("../discord/index.ts")).registerCommands(...a);
// The terminal's rendering (marked, marked-terminal) and the answer checks load for chat, ask and eval-answers only.
const send: typeof import("./chat.ts").send = async (...a) => (await import("./chat.ts")).send(...a);
const describe: typeof import("./chat.ts").describe = async (...a) => (await import("./chat.ts")).describe(...a);
const runChat: typeof import("./chat.ts").runChat = async (...a) => (await import("./chat.ts")).runChat(...a);

/**
 * The offline router trained on the corpus, the registry's examples and ROUTER_EXAMPLES (once
 * per process), judging scope with KNOWLEDGE_DIR, as `serve` has it (without the database's
 * staff corrections).
 */
async function createOfflineRouter(): Promise<import("../../agents/router/offline/index.ts").OfflineRouter> {
  const [{ offlineRouterFor }, { WorkerRegistry }, { loadKnowledgeBase }] = await Promise.all([
    import("../../agents/trained-router.ts"),
    import("../../agents/workers/registry.ts"),
    import("../../agents/knowledge/knowledge-base.ts"),
  ]);
  const config = loadConfig();
  return offlineRouterFor(new WorkerRegistry(), {
    routerExamples: config.routerExamples,
    knowledge: await loadKnowledgeBase(config.knowledgeDir, { cacheDir: config.cacheDir }),
    cacheDir: config.cacheDir,
  });
}

/**
 * `switchboard` — the command line (DESIGN.md §4). Logs go to stderr; stdout carries only the
 * command's output, so `--json` can be piped.
 */
export function buildProgram(): Command {
  const program = new Command()
    .name("switchboard")
    .description("Customer-support routing for Slack and Discord: a LangGraph supervisor, specialist workers, human handoff.")
    .showHelpAfterError();

  program
    .command("serve")
    .description("run the HTTP server (API, console, Slack endpoint), Slack and Discord when configured, and processing")
    .option("--port <n>", "HTTP port (default: PORT or 3000)", parsePort)
    .option("--role <role>", "all: everything in one process; gateway: adapters and HTTP only, answered by `switchboard worker` processes", parseRole, "all")
    .option("--agents <list>", "the workers run in this process (e.g. faq,tech_support); the others' steps go to their `switchboard worker --agents` services (default: AGENTS, else every worker here)", parseAgents)
    .action(async (opts: { port?: number; role: ServeRole; agents?: string[] }) => {
      const config = opts.agents ? { ...loadConfig(), agents: opts.agents } : loadConfig();
      await serve(opts.port !== undefined ? { ...config, port: opts.port } : config, createLogger(config.logLevel, undefined, config.logFormat), opts.role);
    });

  program
    .command("worker")
    .description("answer queued messages (needs DATABASE_URL); run any number beside `serve --role gateway`")
    .option("--port <n>", "serve /healthz and /metrics on this port (default: none)", parsePort)
    .option("--agents <list>", "be the service of these workers (e.g. billing): take only their delegated steps, no messages (default: AGENTS)", parseAgents)
    .option("--turns", "with --agents: also answer messages, running the listed workers here and delegating the others")
    .action(async (opts: { port?: number; agents?: string[]; turns?: boolean }) => {
      const config = loadConfig();
      await work(config, createLogger(config.logLevel, undefined, config.logFormat), { port: opts.port, agents: opts.agents, turns: opts.turns });
    });

  program
    .command("ask")
    .description("send one message through the pipeline and print the reply")
    .argument("<text>", "the message")
    .option("--user <id>", "who is asking (a platform user id)", "local")
    .option("--conversation <id>", "continue a conversation (an id printed by an earlier --json reply)")
    .option("--json", "print routes, confidence, handoff and latency as JSON")
    .action(async (text: string, opts: { user: string; conversation?: string; json?: boolean }) => {
      await withApp(async (app) => {
        const key = await conversationKey(app, opts.conversation, opts.user);
        const outcome = await send(app, key, opts.user, text);
        process.stdout.write(opts.json ? `${JSON.stringify(outcomeJson(outcome), null, 2)}\n` : `${await describe(app, outcome, terminalRendering())}\n`);
      });
    });

  program
    .command("chat")
    .description("talk to the bot in the terminal, through the same pipeline")
    .option("--user <id>", "who is talking (a platform user id)", "local")
    .option("--conversation <id>", "continue an earlier conversation")
    .action(async (opts: { user: string; conversation?: string }) => {
      await withApp(async (app) => {
        const key = await conversationKey(app, opts.conversation, opts.user);
        await runChat(app, {
          user: opts.user,
          conversationKey: key,
          input: process.stdin,
          output: process.stdout,
          terminal: process.stdin.isTTY === true,
          render: terminalRendering(),
        });
      });
    });

  program
    .command("route")
    .description("print the routing decision only (offline router; no database needed)")
    .argument("<text>", "the message")
    .option("--json", "print the decision as JSON")
    .action(async (text: string, opts: { json?: boolean }) => {
      if (!text.trim()) throw new SwitchboardError("empty_text", "The text is empty: give a message to route.");
      const router = await createOfflineRouter();
      const d = await router.route(text);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
        return;
      }
      if (d.routes.length === 0) process.stdout.write(`unsure — no route is confident (engine ${d.engine})\n`);
      for (const r of d.routes) process.stdout.write(`${r.route.padEnd(13)} ${r.confidence.toFixed(2)}  “${r.question}”\n`);
    });

  program
    .command("eval")
    .description("routing quality on a labelled JSONL file ({text, route} or {text, routes}, optional source)")
    .argument("<file>", "a .jsonl file")
    .option("--json", "print the metrics as one JSON object")
    .option("--threshold <p>", "hybrid threshold for the share sent to the LLM (default HYBRID_THRESHOLD or 0.6)", parseProbability)
    .action(async (file: string, opts: { json?: boolean; threshold?: number }) => {
      const config = loadConfig();
      const router = await createOfflineRouter();
      await runEval(file, { json: opts.json ?? false, threshold: opts.threshold ?? config.hybridThreshold }, router, (s) => process.stdout.write(s));
    });

  program
    .command("eval-answers")
    .description("answer quality: send each line's question through the whole pipeline and check the answer contains what it should ({text, expect: [substring or /pattern/], route?, user?})")
    .argument("<file>", "a .jsonl file")
    .option("--json", "print the report as one JSON object")
    .action(async (file: string, opts: { json?: boolean }) => {
      const { evaluateAnswers, formatAnswerReport, readAnswerEvalFile } = await import("./eval-answers.ts");
      const lines = await readAnswerEvalFile(file);
      const loaded = loadConfig();
      // Without DATABASE_URL, a database of its own: fresh demo data, and the user's data folder untouched.
      const scratch = loaded.databaseUrl ? undefined : await mkdtemp(path.join(os.tmpdir(), "switchboard-eval-"));
      const config: Config = scratch ? { ...loaded, dataDir: scratch } : loaded;
      try {
        const app = await createApp(config, createLogger(process.env["LOG_LEVEL"] ? config.logLevel : "warn", undefined, config.logFormat));
        try {
          const report = await evaluateAnswers(app, lines);
          process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatAnswerReport(file, report));
        } finally {
          await app.close();
        }
      } finally {
        if (scratch) await rm(scratch, { recursive: true, force: true });
      }
    });

  program
    .command("migrate")
    .description("apply database migrations and exit")
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger(config.logLevel, undefined, config.logFormat);
      const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, cacheDir: config.cacheDir, logger });
      try {
        const applied = [...db.seededMigrations, ...(await migrate(db.pool))];
        // The job queue's own schema (graphile-worker), where the shared queue runs.
        if ((config.jobQueue ?? (db.mode === "server" ? "postgres" : "memory")) === "postgres") {
          const { GraphileJobQueue } = await import("../../src/inbox/graphile-queue.ts");
          await GraphileJobQueue.installSchema(db.pool, logger, db.mode !== "server");
        }
        process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n");
      } finally {
        await db.close();
      }
    });

  const agents = program.command("agents").description("the support team: agents who sign in to the console and the handoff API with their own token");
  agents
    .command("add")
    .description("create an agent and print their token (shown once; only its hash is stored)")
    .argument("<name>", "the agent's name, shown on their replies")
    .option("--role <role>", "agent: works their own handoffs; lead: also closes anyone's and assigns", parseAgentRole, "agent")
    .option("--slack-user <id>", "their Slack user id (U…): their clicks and replies in the Slack staff channel act as this agent")
    .option("--discord-user <id>", "their Discord user id: likewise in the Discord staff channel")
    .action(async (name: string, opts: { role: "agent" | "lead"; slackUser?: string; discordUser?: string }) => {
      await withAgents(async (dir) => {
        const { agent, token } = await dir.add(name, opts.role, { slackUser: opts.slackUser, discordUser: opts.discordUser });
        process.stdout.write(`added ${agent.name} (${agent.role})${linkedText(agent)}\ntoken: ${token}\nKeep it now: it is not shown again. Sign in to /console with the name and this token, or send it as Authorization: Bearer.\n`);
      });
    });
  agents
    .command("link")
    .description("link an existing agent to their Slack and/or Discord user (or unlink with --no-slack-user / --no-discord-user)")
    .argument("<name>", "the agent's name")
    .option("--slack-user <id>", "their Slack user id (U…)")
    .option("--no-slack-user", "unlink their Slack user")
    .option("--discord-user <id>", "their Discord user id")
    .option("--no-discord-user", "unlink their Discord user")
    .action(async (name: string, opts: { slackUser?: string | false; discordUser?: string | false }) => {
      await withAgents(async (dir) => {
        const users = {
          ...(opts.slackUser === undefined ? {} : { slackUser: opts.slackUser === false ? null : opts.slackUser }),
          ...(opts.discordUser === undefined ? {} : { discordUser: opts.discordUser === false ? null : opts.discordUser }),
        };
        const agent = await dir.link(name, users);
        process.stdout.write(`${agent.name}:${linkedText(agent) || " linked to no Slack or Discord user"}\n`);
      });
    });
  agents
    .command("list")
    .description("list the agents (names, roles, linked Slack and Discord users; never tokens)")
    .option("--json", "print the list as JSON")
    .action(async (opts: { json?: boolean }) => {
      await withAgents(async (dir) => {
        const list = await dir.list();
        if (opts.json) {
          const rows = list.map((a) => ({ name: a.name, role: a.role, createdAt: a.createdAt, slackUser: a.slackUser, discordUser: a.discordUser }));
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        } else if (list.length === 0) process.stdout.write("no agents yet: switchboard agents add NAME [--role lead]\n");
        else for (const a of list) process.stdout.write(`${a.name.padEnd(24)} ${a.role.padEnd(6)} added ${a.createdAt.toISOString().slice(0, 10)}${linkedText(a)}\n`);
      });
    });
  agents
    .command("remove")
    .description("remove an agent; their token stops working at once")
    .argument("<name>", "the agent's name")
    .action(async (name: string) => {
      await withAgents(async (dir) => {
        const agent = await dir.remove(name);
        process.stdout.write(`removed ${agent.name}\n`);
      });
    });

  program
    .command("discord")
    .description("Discord helpers")
    .command("register")
    .description("register the /support slash command for DISCORD_APPLICATION_ID (globally, or in one guild)")
    .option("--guild <id>", "register in this guild only (shows at once; global commands can take up to an hour)")
    .action(async (opts: { guild?: string }) => {
      const config = loadConfig();
      if (!config.discordToken || !config.discordApplicationId) {
        throw new SwitchboardError("config_invalid", "Set DISCORD_TOKEN and DISCORD_APPLICATION_ID to register /support.");
      }
      const result = await registerCommands({ token: config.discordToken, applicationId: config.discordApplicationId, guildId: opts.guild, apiUrl: config.discordApiUrl });
      process.stdout.write(`registered ${result.commands.map((c) => `/${c.name}`).join(", ")} (${result.scope}${opts.guild ? ` ${opts.guild}` : ""})\n`);
    });

  return program;
}

/** The agent directory on the configured database (migrated first), without the rest of the app. */
async function withAgents(fn: (dir: import("../../src/staff/agent-directory.ts").AgentDirectory) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(process.env["LOG_LEVEL"] ? config.logLevel : "warn", undefined, config.logFormat);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, cacheDir: config.cacheDir, logger });
  try {
    await migrate(db.pool);
    const { AgentDirectory } = await import("../../src/staff/agent-directory.ts");
    await fn(new AgentDirectory(db.pool));
  } finally {
    await db.close();
  }
}

async function withApp(fn: (app: App) => Promise<void>): Promise<void> {
  const config: Config = loadConfig();
  // One-shot commands log only warnings unless LOG_LEVEL asks for more.
  const logger: Logger = createLogger(process.env["LOG_LEVEL"] ? config.logLevel : "warn", undefined, config.logFormat);
  // The database starts opening (PGlite: compiling Postgres, starting it on the folder) while
  // the app's modules load; createApp takes it over (and closes it, also when it fails).
  const database = import("../../src/db/database.ts").then((m) => m.openDatabase(m.appDatabaseOptions(config, logger)));
  database.catch(() => {});
  let appModule: typeof import("../../src/app.ts");
  try {
    appModule = await import("../../src/app.ts");
  } catch (err) {
    await database.then((d) => d.close()).catch(() => {});
    throw err;
  }
  const app = await appModule.createApp(config, logger, { database });
  try {
    await app.intake.recover();
    await fn(app);
  } finally {
    await app.close();
  }
}

/** The rule of `POST /api/messages`: another user's conversation is answered as one that does not exist. */
async function conversationKey(app: App, id: string | undefined, user: string): Promise<string> {
  if (!id) return `cli:${randomUUID()}`;
  const conv = await app.log.getConversation(id);
  if (!conv || (conv.platform === "cli" && conv.userId !== user)) throw new SwitchboardError("unknown_conversation", `No conversation ${id}. Omit --conversation to start a new one.`);
  if (conv.platform !== "cli") throw new SwitchboardError("wrong_platform", `Conversation ${id} belongs to ${conv.platform}; continue it there.`);
  return conv.conversationKey;
}

/** Colours on a terminal that wants them (NO_COLOR, https://no-color.org, turns them off), reflowed to its width. */
function terminalRendering(): TerminalOptions {
  const tty = process.stdout.isTTY === true;
  return { color: tty && !process.env["NO_COLOR"], width: tty ? Math.min(process.stdout.columns || 80, 100) : 80 };
}

function outcomeJson(o: Outcome) {
  if (o.kind !== "reply") return o;
  return {
    conversationId: o.conversationId,
    messageId: o.messageId,
    reply: o.text,
    routes: o.routes,
    confidence: Math.max(0, ...o.routes.map((r) => r.confidence)),
    handoff: o.handoff,
    engine: o.engine,
    latencyMs: o.latencyMs,
    sections: o.sections,
  };
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("a port number 0-65535");
  return n;
}

function parseAgents(v: string): string[] {
  const names = parseAgentNames(v);
  if (!names) throw new InvalidArgumentError("worker names separated by commas, e.g. billing,faq");
  return names;
}

function parseRole(v: string): ServeRole {
  if (v !== "all" && v !== "gateway") throw new InvalidArgumentError("all or gateway");
  return v;
}

/** ` · Slack U… · Discord …` for an agent's linked platform users (empty when none). */
function linkedText(agent: { slackUser: string | null; discordUser: string | null }): string {
  return [agent.slackUser ? ` · Slack ${agent.slackUser}` : "", agent.discordUser ? ` · Discord ${agent.discordUser}` : ""].join("");
}

function parseAgentRole(v: string): "agent" | "lead" {
  if (v !== "agent" && v !== "lead") throw new InvalidArgumentError("agent or lead");
  return v;
}

function parseProbability(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError("a number between 0 and 1");
  return n;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    // Settings from .env (or ENV_FILE) first; the environment wins over the file.
    loadEnvFile();
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`switchboard: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  }
}

