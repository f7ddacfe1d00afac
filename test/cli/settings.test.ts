import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { describeConfig, loadConfig, loadEnvFile } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";

function folderWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-env-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function capture(): { stream: Writable; text: () => string } {
  let out = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  return { stream, text: () => out };
}

describe(".env files", () => {
  it("reads .env from the working directory; a variable already set wins over the file", () => {
    const dir = folderWith({ ".env": "# the service's settings\nPORT=4100\nLOG_LEVEL=debug\nCONSOLE_TOKEN=\"from the file\"\n" });
    const env: NodeJS.ProcessEnv = { LOG_LEVEL: "warn" };
    expect(loadEnvFile(env, dir)).toBe(path.join(dir, ".env"));
    const config = loadConfig(env);
    expect(config.port).toBe(4100);
    expect(config.logLevel).toBe("warn");
    expect(config.consoleToken).toBe("from the file");
  });

  it("reads the file ENV_FILE names, and says so when it is missing; no .env is no error", () => {
    const dir = folderWith({ "prod.env": "PORT=4200\n" });
    const env: NodeJS.ProcessEnv = { ENV_FILE: "prod.env" };
    loadEnvFile(env, dir);
    expect(loadConfig(env).port).toBe(4200);
    expect(() => loadEnvFile({ ENV_FILE: "missing.env" }, dir)).toThrow(/ENV_FILE: cannot read .*missing\.env/);
    const empty = folderWith({});
    const untouched: NodeJS.ProcessEnv = {};
    expect(loadEnvFile(untouched, empty)).toBeUndefined();
    expect(untouched).toEqual({});
  });

  it("documents every setting the code reads in .env.example", () => {
    const example = fs.readFileSync(path.resolve(import.meta.dirname, "../../.env.example"), "utf8");
    const config = fs.readFileSync(path.resolve(import.meta.dirname, "../../src/config.ts"), "utf8");
    const schema = config.slice(config.indexOf("const EnvSchema"), config.indexOf("export function loadConfig"));
    const names = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(30);
    for (const name of [...names, "ENV_FILE"]) expect(example, `${name} in .env.example`).toMatch(new RegExp(`^#? ?${name}=`, "m"));
  });
});

describe("start-up summary and logs", () => {
  it("says that transcripts leave the machine when LangSmith tracing is on", () => {
    const on = describeConfig(loadConfig({ LANGSMITH_TRACING: "true" }));
    expect(on.join("\n")).toMatch(/LangSmith: tracing ON .*sent out of this machine/);
    expect(describeConfig(loadConfig({ LANGCHAIN_TRACING_V2: "true" })).join("\n")).toMatch(/LangSmith: tracing ON/);
    expect(describeConfig(loadConfig({ LANGCHAIN_TRACING_V2: "false" })).join("\n")).not.toMatch(/LangSmith/);
    expect(describeConfig(loadConfig({})).join("\n")).not.toMatch(/LangSmith/);
  });

  it("writes JSON lines by default into a stream, and readable lines when LOG_FORMAT=pretty", () => {
    const json = capture();
    createLogger("info", json.stream).info({ conversationId: "c1" }, "hello");
    expect(JSON.parse(json.text())).toMatchObject({ level: 30, msg: "hello", conversationId: "c1" });

    const pretty = capture();
    createLogger("info", pretty.stream, loadConfig({ LOG_FORMAT: "pretty" }).logFormat).info({ conversationId: "c1" }, "hello");
    expect(pretty.text()).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: hello\n\s+conversationId: "c1"\n/);
    expect(() => loadConfig({ LOG_FORMAT: "xml" })).toThrow(/LOG_FORMAT/);
  });
});
