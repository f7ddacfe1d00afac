import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import { silentLogger } from "../../src/logger.ts";
import { AgentDirectory } from "../../src/staff/agent-directory.ts";
import { commandStorage, type CommandStorage } from "../helpers/databases.ts";

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

/** Where the commands keep their data: a new server database with TEST_DATABASE_URL (15 starts here), else embedded. */
const drops: Array<() => Promise<void>> = [];
async function storage(): Promise<CommandStorage> {
  const where = await commandStorage();
  drops.push(where.drop);
  return where;
}

describe("switchboard agents", { timeout: 180_000 }, () => {
  afterAll(async () => {
    for (const drop of drops) await drop().catch(() => undefined);
  });

  it("adds an agent and prints a token once that signs in as them; lists without tokens; removes", async () => {
    const where = await storage();
    const env = where.env;
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
    const db = await openDatabase({ databaseUrl: where.databaseUrl, dataDir: where.dataDir, logger: silentLogger() });
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

  it("links an agent to their Slack and Discord users at add and with link, unlinks, and says whose a taken id is", async () => {
    const { env } = await storage();
    const added = await switchboard(["agents", "add", "Dana", "--slack-user", "U0DANA"], env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("added Dana (agent) · Slack U0DANA");
    expect((await switchboard(["agents", "add", "Bob"], env)).code).toBe(0);

    const linked = await switchboard(["agents", "link", "bob", "--discord-user", "123456789012345678"], env);
    expect(linked.code, linked.stderr).toBe(0);
    expect(linked.stdout).toBe("Bob: · Discord 123456789012345678\n");
    const taken = await switchboard(["agents", "link", "Bob", "--slack-user", "U0DANA"], env);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain("The Slack user U0DANA is already linked to Dana");
    const bad = await switchboard(["agents", "link", "Bob", "--slack-user", "dana"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("is not a Slack user id");

    const unlinked = await switchboard(["agents", "link", "Dana", "--no-slack-user"], env);
    expect(unlinked.code, unlinked.stderr).toBe(0);
    expect(unlinked.stdout).toBe("Dana: linked to no Slack or Discord user\n");
    const list = JSON.parse((await switchboard(["agents", "list", "--json"], env)).stdout) as Array<{ name: string; slackUser: string | null; discordUser: string | null }>;
    expect(list.map((a) => [a.name, a.slackUser, a.discordUser])).toEqual([["Bob", null, "123456789012345678"], ["Dana", null, null]]);
  });
});
