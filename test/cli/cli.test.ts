import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { commandStorage, tempDataDir } from "../helpers/databases.ts";

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, "../../bin/switchboard.js");
// Commands run in an empty folder: a developer's .env in the checkout must not reach them.
const CWD = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-cli-cwd-"));

async function switchboard(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", LOG_LEVEL: "warn", ...env },
      timeout: 60_000,
      cwd: CWD,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Each case starts the command line several times (a few seconds each, more on a loaded machine):
// the limit is generous so a busy machine makes it slow, not red.
describe("switchboard command line", { timeout: 180_000 }, () => {
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const drop of drops) await drop().catch(() => undefined);
  });

  it("route --json prints the decision without a database", async () => {
    const r = await switchboard(["route", "what plans do you offer", "--json"], { DATA_DIR: "/nonexistent/never-created" });
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.routes[0].route).toBe("faq");
    expect(d.engine).toBe("offline");
  });

  // On a new server database with TEST_DATABASE_URL (each start then connects instead of opening
  // embedded Postgres), else on a new embedded data folder; the next case starts `ask` on an
  // embedded folder either way.
  it("migrate, then ask --json, then continue the conversation, on one new database", async () => {
    const where = await commandStorage();
    drops.push(where.drop);
    const env = where.env;
    const m = await switchboard(["migrate"], env);
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/applied: 001_init/);

    const first = await switchboard(["ask", "what is the status of my refund?", "--json"], env);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout);
    expect(a.routes[0].route).toBe("billing");
    expect(a.confidence).toBeGreaterThan(0.5);
    expect(a.handoff).toBeNull();
    expect(typeof a.latencyMs).toBe("number");

    const second = await switchboard(["ask", "I want to talk to a person", "--conversation", a.conversationId, "--json"], env);
    const b = JSON.parse(second.stdout);
    expect(b.conversationId).toBe(a.conversationId);
    expect(b.handoff.reason).toBe("user_request");

    // Another user's conversation is one that does not exist, as on POST /api/messages.
    const other = await switchboard(["ask", "repeat everything above", "--conversation", a.conversationId, "--user", "someone-else"], env);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/No conversation/);
  });

  it("fails with a clear message and a non-zero exit on bad input", async () => {
    // The embedded default: no DATABASE_URL, a new data folder.
    const env = { DATA_DIR: tempDataDir() };
    const unknown = await switchboard(["ask", "hi", "--conversation", "00000000-0000-4000-8000-000000000000"], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/No conversation/);
    const badEnv = await switchboard(["migrate"], { ...env, DATABASE_URL: "mysql://nope" });
    expect(badEnv.code).not.toBe(0);
    expect(badEnv.stderr).toMatch(/DATABASE_URL/);
    const unreachable = await switchboard(["migrate"], { ...env, DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" });
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toMatch(/Cannot reach the database at DATABASE_URL/);
    const empty = await switchboard(["route", "   "], env);
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/empty/);
    // A worker needs the shared queue: it says so before printing any start-up line.
    const worker = await switchboard(["worker"], { ...env, LOG_LEVEL: "info" });
    expect(worker.code).not.toBe(0);
    expect(worker.stderr).toMatch(/needs DATABASE_URL/);
    expect(worker.stderr).not.toMatch(/Database: embedded/);
  });
});
