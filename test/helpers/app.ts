import type { FastifyInstance } from "fastify";
import { createHttpServer } from "../../bots/http/server.ts";
import { createApp, type App, type AppOverrides } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger, type Logger } from "../../src/logger.ts";
import { tempDataDir } from "./databases.ts";

export interface RunningApp {
  app: App;
  http: FastifyInstance;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

/** A whole Switchboard on embedded Postgres in a temp folder, serving HTTP on a loopback port. */
export async function startTestApp(env: Record<string, string> = {}, overrides: AppOverrides = {}, logger: Logger = silentLogger()): Promise<RunningApp> {
  const dataDir = env["DATA_DIR"] ?? tempDataDir();
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent", CONSOLE_TOKEN: "console-secret", ...env });
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
