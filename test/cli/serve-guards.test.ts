import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commandStorage, tempDataDir } from "../helpers/databases.ts";

const BIN = path.resolve(import.meta.dirname, "../../bin/switchboard.js");
// Commands run in an empty folder: a developer's .env in the checkout must not reach them.
const CWD = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-serve-cwd-"));

interface Running {
  child: ChildProcess;
  output: () => string;
  /** The exit code, or the signal's name when a signal ended it (a crash, the kernel's OOM killer). */
  exited: Promise<number | string>;
}

function start(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", LOG_LEVEL: "info", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    cwd: CWD,
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  return { child, output: () => out, exited };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function waitForOutput(p: Running, pattern: RegExp, what: string): Promise<void> {
  // Generous: a loaded machine takes its time to create an embedded database; this is no speed test.
  const deadline = Date.now() + 240_000;
  while (!pattern.test(p.output())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${p.output()}`);
    if (p.child.exitCode !== null) throw new Error(`exited (${p.child.exitCode}) before ${what}; output:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `serve` on a free port and waits for it to listen. A port free when picked can be taken
 * before a slow start (a new embedded folder on a loaded machine) listens, e.g. by another
 * process's outgoing connection in the ephemeral range: that start is retried on a new port.
 */
async function serveListening(env: Record<string, string>, what: string): Promise<{ p: Running; port: number }> {
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    const p = start(["serve"], { ...env, PORT: String(port) });
    try {
      await waitForOutput(p, /is listening on/, what);
      return { p, port };
    } catch (err) {
      if (tries < 3 && /the port is in use/.test(p.output())) continue;
      throw err;
    }
  }
}

describe("serve refuses to run where it cannot do its job", { timeout: 480_000 }, () => {
  const running: Running[] = [];
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await Promise.all(running.map((p) => p.exited));
    for (const drop of drops) await drop().catch(() => undefined);
  });
  /** A new server database with TEST_DATABASE_URL (a start then opens no embedded Postgres), else a new embedded folder. */
  const storage = async () => {
    const where = await commandStorage();
    drops.push(where.drop);
    return where.env;
  };

  it("exits non-zero, naming the port, when the port is in use; nothing was answered", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const p = start(["serve"], { ...(await storage()), PORT: String(port) });
      running.push(p);
      const code = await p.exited;
      expect(code).not.toBe(0);
      expect(p.output()).toContain(`Cannot listen on 127.0.0.1:${port}: the port is in use`);
      expect(p.output()).not.toMatch(/is listening on/);
    } finally {
      blocker.close();
    }
  });

  it("refuses a network address with /api/messages open, saying what to set; with API_TOKEN it says the address it really bound", async () => {
    const open = start(["serve"], { DATA_DIR: tempDataDir(), PORT: String(await freePort()), HOST: "0.0.0.0" });
    running.push(open);
    expect(await open.exited).not.toBe(0);
    expect(open.output()).toMatch(/HOST=0\.0\.0\.0 would open POST \/api\/messages to the network without API_TOKEN/);
    expect(open.output()).toMatch(/ALLOW_OPEN_API=true/);
    expect(open.output()).not.toMatch(/is listening on/);

    const { p: guarded, port } = await serveListening({ ...(await storage()), HOST: "0.0.0.0", API_TOKEN: "guard-api-token" }, "serve to listen on every interface");
    running.push(guarded);
    expect(guarded.output()).toContain(`listening on 0.0.0.0:${port} (every interface; on this machine http://127.0.0.1:${port})`);
    guarded.child.kill("SIGTERM");
    expect(await guarded.exited, guarded.output()).toBe(0);
  });

  it("a second serve on the same embedded data folder refuses; the first answers every message once", async () => {
    const dataDir = tempDataDir();
    const { p: first, port: port1 } = await serveListening({ DATA_DIR: dataDir, CONSOLE_TOKEN: "guard-console" }, "the first serve to listen");
    running.push(first);

    const second = start(["serve"], { DATA_DIR: dataDir, PORT: String(await freePort()) });
    running.push(second);
    expect(await second.exited).not.toBe(0);
    expect(second.output()).toMatch(/already served by another switchboard process/);

    const replies = await Promise.all(
      ["what plans do you offer?", "how do I reset my password?", "show my invoices"].map(async (text, i) => {
        const res = await fetch(`http://127.0.0.1:${port1}/api/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId: `guard-${i}`, text }) });
        return (await res.json()) as { conversationId: string; reply: string };
      }),
    );
    for (const r of replies) {
      expect(r.reply).toBeTruthy();
      const t = await fetch(`http://127.0.0.1:${port1}/api/conversations/${r.conversationId}`, { headers: { authorization: "Bearer guard-console" } });
      const { messages } = (await t.json()) as { messages: Array<{ direction: string }> };
      expect(messages.map((m) => m.direction)).toEqual(["in", "out"]);
    }
    first.child.kill("SIGTERM");
    expect(await first.exited, first.output()).toBe(0);
  });
});
