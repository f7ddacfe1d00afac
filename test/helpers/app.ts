import type { FastifyInstance } from "fastify";
import { createHttpServer } from "../../bots/http/server.ts";
import { createApp, type App, type AppOverrides } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger, type Logger } from "../../src/logger.ts";
import { createAppDatabase, tempDataDir } from "./databases.ts";

export interface RunningApp {
  app: App;
  http: FastifyInstance;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /**
   * Embedded Postgres even when TEST_DATABASE_URL is set: for the tests about the embedded
   * default itself (what /healthz says of it, a restart on its data folder).
   */
  embedded?: boolean;
}

/**
 * Server databases of the apps started here, by their DATA_DIR: a restart on the same DATA_DIR
 * (`startTestApp({ DATA_DIR: first.dataDir })`) opens the same database again, as it would the
 * same embedded folder. test/global-setup.ts drops them after the run.
 */
const serverDatabases = new Map<string, string>();

/**
 * A whole Switchboard serving HTTP on a loopback port, with its data in a temp folder: on
 * embedded Postgres (PGlite) — or, when TEST_DATABASE_URL is set, on a new database of the
 * server (a clone of the migrated template), which costs a fraction of the CPU an embedded
 * database does (each start, and every query run in WebAssembly). On the server it keeps what
 * the embedded default has, unless `env` says otherwise: the in-process queue (JOB_QUEUE=memory)
 * and the demo data in a new database. Without TEST_DATABASE_URL every app here is embedded, and
 * `options.embedded` keeps one embedded regardless.
 */
export async function startTestApp(env: Record<string, string> = {}, overrides: AppOverrides = {}, logger: Logger = silentLogger(), options: TestAppOptions = {}): Promise<RunningApp> {
  const dataDir = env["DATA_DIR"] ?? tempDataDir();
  const server = process.env["TEST_DATABASE_URL"];
  let onServer: Record<string, string> = {};
  if (server && !options.embedded && env["DATABASE_URL"] === undefined) {
    const known = serverDatabases.get(dataDir);
    const url = known ?? (await createAppDatabase(server));
    serverDatabases.set(dataDir, url);
    onServer = { DATABASE_URL: url, JOB_QUEUE: "memory", DEMO_DATA: known ? "off" : "on" };
    // The server is shared (other test files, other test runs on this machine): a few
    // connections each, not the default 10.
    overrides = { poolMax: 3, ...overrides };
  }
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent", CONSOLE_TOKEN: "console-secret", ...onServer, ...env });
  const app = await createApp(config, logger, overrides);
  const http = await createHttpServer(app);
  const url = await http.listen({ port: 0, host: "127.0.0.1" });
  return {
    app,
    http,
    url,
    dataDir,
    close: async () => {
      await http.close();
      await app.close();
    },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
