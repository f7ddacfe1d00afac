import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import { silentLogger } from "../../src/logger.ts";
import { AgentDirectory } from "../../src/staff/agent-directory.ts";
import { tempDataDir } from "../helpers/databases.ts";

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, "../../bin/switchboard.js");
const CWD = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-cli-cwd-"));

async function switchboard(args: string[], env: Record<string, string>) {
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

describe("switchboard agents", { timeout: 180_000 }, () => {
  it("adds an agent and prints a token once that signs in as them; lists without tokens; removes", async () => {
    const env = { DATA_DIR: tempDataDir() };
    const added = await switchboard(["agents", "add", "Dana Reyes", "--role", "lead"], env);
    expect(added.code, added.stderr).toBe(0);
    const token = /token: (\S+)/.exec(added.stdout)?.[1];
    expect(token).toMatch(/^sbk_/);
    expect(added.stdout).toContain("added Dana Reyes (lead)");

    expect((await switchboard(["agents", "add", "Sam"], env)).code).toBe(0);
    const again = await switchboard(["agents", "add", "dana reyes"], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("There is already an agent named dana reyes");
    const badRole = await switchboard(["agents", "add", "Kim", "--role", "boss"], env);
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toContain("agent or lead");

    const list = await switchboard(["agents", "list", "--json"], env);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((a: { name: string; role: string }) => [a.name, a.role])).toEqual([["Dana Reyes", "lead"], ["Sam", "agent"]]);
    expect(list.stdout).not.toContain(token);
    const plain = await switchboard(["agents", "list"], env);
    expect(plain.stdout).toMatch(/Dana Reyes\s+lead/);
    expect(plain.stdout).not.toContain("sbk_");

    // The printed token is Dana's (checked against what the command stored).
    const db = await openDatabase({ databaseUrl: undefined, dataDir: env.DATA_DIR, logger: silentLogger() });
    try {
      expect((await new AgentDirectory(db.pool).verify(token!))?.name).toBe("Dana Reyes");
    } finally {
      await db.close();
    }

    const removed = await switchboard(["agents", "remove", "DANA REYES"], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain("removed Dana Reyes");
    const gone = await switchboard(["agents", "remove", "Dana Reyes"], env);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("No agent named Dana Reyes");
    expect(JSON.parse((await switchboard(["agents", "list", "--json"], env)).stdout).map((a: { name: string }) => a.name)).toEqual(["Sam"]);
  });
});
