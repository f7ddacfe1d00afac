import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import type { Outcome } from "../../src/types.ts";
import { freshServerDatabase, tempDataDir } from "../helpers/databases.ts";
import { skipWithoutServer } from "../helpers/requirements.ts";
import { HANG_GUARD_MS } from "../helpers/wait-until.ts";
import { waitFor } from "../inbox/harness.ts";

const SERVER = process.env["TEST_DATABASE_URL"];
const ROOT = path.resolve(import.meta.dirname, "../..");

/** A billing service process: `switchboard worker --agents billing` (test/steps/step-main.mjs, on dist/). */
interface Service {
  child: ChildProcess;
  pid: number;
  exited: Promise<unknown>;
  output(): string;
}

function spawnBillingService(env: Record<string, string>): Service {
  const child = spawn(process.execPath, [path.join(ROOT, "test/steps/step-main.mjs")], {
    cwd: ROOT,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", AGENTS: "billing", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (d) => (output += String(d)));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { child, pid: child.pid!, exited, output: () => output };
}

async function stopService(s: Service | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill(signal);
  await s.exited;
}

interface StepRow {
  worker: string;
  status: string;
  claimed_pid: number | null;
  attempts: number;
  error: string | null;
}

describe.skipIf(skipWithoutServer("test/steps/services.test.ts"))("workers as services: a supervisor delegating billing to a billing process", () => {
  let main: Awaited<ReturnType<typeof freshServerDatabase>>;
  let billingDb: Awaited<ReturnType<typeof freshServerDatabase>>;
  let supervisor: App;
  const services: Service[] = [];
  const runLog = path.join(tempDataDir("switchboard-steps-"), "billing-runs.log");
  let serviceEnv: Record<string, string>;

  beforeAll(async () => {
    [main, billingDb] = await Promise.all([freshServerDatabase(SERVER!), freshServerDatabase(SERVER!)]);
    // A short lease: a killed billing process is found dead (and its step released) within a second or two.
    const common = { DATABASE_URL: main.url, DEMO_DATA: "on", WORKER_LEASE_MS: "1000", LOG_LEVEL: "warn" };
    serviceEnv = { ...common, BILLING_DATABASE_URL: billingDb.url, DATA_DIR: tempDataDir("switchboard-steps-"), SCRIPTED_RUN_LOG: runLog };
    // The supervisor: every worker but billing in this process. Its budget is long enough for a
    // second billing process to start and take over a step (a hang guard, not a speed check).
    const config = loadConfig({ ...common, DATA_DIR: tempDataDir("switchboard-steps-"), AGENTS: "tech_support,faq", WORKER_TIMEOUT_MS: "90000", LOG_LEVEL: "silent" });
    supervisor = await createApp(config, silentLogger(), { replyTimeoutMs: 120_000 });
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => stopService(s, "SIGKILL")));
    await supervisor?.close();
    await main?.drop();
    await billingDb?.drop();
  });

  const steps = async (conversationId: string, app: App = supervisor) =>
    (await app.db.pool.query<StepRow>("select worker, status, claimed_pid, attempts, error from agent_steps where conversation_id = $1 order by created_at", [conversationId])).rows;

  const ask = async (key: string, text: string): Promise<{ conversationId: string; done: Promise<Outcome> }> => {
    const s = await supervisor.intake.submit({ platform: "http", conversationKey: `http:${key}`, userId: "u1", text, platformMessageId: key });
    if (s.status !== "accepted") throw new Error(`not accepted: ${s.status}`);
    return { conversationId: s.conversationId, done: s.done };
  };

  it("a supervisor with no billing process hands a billing step off at its deadline, naming the billing service, and the step is never run", async () => {
    // A supervisor of its own with a short budget (the other tests need a long one), on a database
    // of its own (the other supervisor would take its messages from a shared queue).
    const own = await freshServerDatabase(SERVER!);
    const config = loadConfig({ DATABASE_URL: own.url, DATA_DIR: tempDataDir("switchboard-steps-"), AGENTS: "tech_support,faq", WORKER_TIMEOUT_MS: "1500", DEMO_DATA: "off", LOG_LEVEL: "silent" });
    const hurried = await createApp(config, silentLogger());
    try {
      const s = await hurried.intake.submit({ platform: "http", conversationKey: "http:no-service", userId: "u1", text: "Can you send me a copy of my invoice INV-1004?", platformMessageId: "no-service" });
      if (s.status !== "accepted") throw new Error("not accepted");
      const outcome = await s.done;
      expect(outcome).toMatchObject({ kind: "reply", handoff: { reason: "worker_timeout" } });
      expect(outcome.kind === "reply" && outcome.handoff?.detail).toMatch(/billing timed out: the billing service did not answer within the message's 1500 ms budget/);
      // Cancelled before any billing process took it, and its job removed: a billing process
      // starting later does not run it (the user was told a person takes over).
      expect(await steps(s.conversationId, hurried)).toMatchObject([{ worker: "billing", status: "cancelled", claimed_pid: null, attempts: 0 }]);
      const jobs = await hurried.db.pool.query("select count(*)::int as n from graphile_worker.jobs where task_identifier = 'step:billing'");
      expect(jobs.rows[0].n).toBe(0);
    } finally {
      await hurried.close();
      await own.drop();
    }
  });

  it("billing steps run only in the billing process, on its own database, and the result comes back into the reply", async () => {
    const a = spawnBillingService(serviceEnv);
    services.push(a);
    await waitFor(async () => (await supervisor.db.pool.query("select 1 from queue_workers where pid = $1", [a.pid])).rows.length > 0, `the billing process to register (${a.output()})`, HANG_GUARD_MS, 100);
    // An invoice only the billing database has: the answer can only come from the billing process's pool there.
    await billingDb.db.pool.query(
      `insert into invoices (id, customer_id, number, period_start, period_end, amount_cents, status, issued_at, due_at)
       values ('in_only_billing', 'cus_jordan', 'INV-9999', now()::date, now()::date, 4321, 'open', now(), now())`,
    );
    const asked = await ask("delegated", "Can you send me a copy of my invoice INV-9999?");
    const outcome = await asked.done;
    expect(outcome).toMatchObject({ kind: "reply", handoff: null });
    expect(outcome.kind === "reply" && outcome.text).toContain("INV-9999: $43.21");
    expect(await steps(asked.conversationId)).toMatchObject([{ worker: "billing", status: "done", claimed_pid: a.pid, attempts: 1 }]);
    expect(fs.readFileSync(runLog, "utf8").trim().split("\n")).toEqual([`${a.pid} Can you send me a copy of my invoice INV-9999?`]);
    // The supervisor's worker log has the billing run, as for a worker in-process.
    const runs = await supervisor.db.pool.query("select wr.worker, wr.status from worker_runs wr join messages m on m.id = wr.message_id where m.conversation_id = $1", [asked.conversationId]);
    expect(runs.rows).toEqual([{ worker: "billing", status: "ok" }]);
    // Only billing is delegated: a tech-support question runs here and makes no step row.
    const tech = await ask("in-process", "The desktop app crashes when I log in");
    expect(await tech.done).toMatchObject({ kind: "reply" });
    expect(await steps(tech.conversationId)).toEqual([]);
  });

  it("a billing process killed mid-step: a second billing process takes the step over and the answer still comes", async () => {
    await Promise.all(services.splice(0).map((s) => stopService(s)));
    fs.writeFileSync(runLog, "");
    // This one never finishes a question containing "hang": the step is in flight when it is killed.
    const doomed = spawnBillingService({ ...serviceEnv, SCRIPTED_HANG: "1" });
    services.push(doomed);
    await waitFor(async () => (await supervisor.db.pool.query("select 1 from queue_workers where pid = $1", [doomed.pid])).rows.length > 0, `the first billing process to register (${doomed.output()})`, HANG_GUARD_MS, 100);
    const asked = await ask("killed", "Show me my last invoice, I'll hang on");
    // In flight: claimed by the first process, and its billing worker is answering it.
    await waitFor(async () => fs.readFileSync(runLog, "utf8").includes(`${doomed.pid} `), "the first billing process to start the step", HANG_GUARD_MS, 50);
    expect(await steps(asked.conversationId)).toMatchObject([{ status: "running", claimed_pid: doomed.pid, attempts: 1 }]);
    doomed.child.kill("SIGKILL");
    await doomed.exited;

    const second = spawnBillingService(serviceEnv);
    services.push(second);
    const outcome = await asked.done;
    expect(outcome).toMatchObject({ kind: "reply", handoff: null });
    expect(outcome.kind === "reply" && outcome.text).toMatch(/INV-100\d/);
    // Taken over, not started afresh: one step, its second run, in the second process.
    expect(await steps(asked.conversationId)).toMatchObject([{ worker: "billing", status: "done", claimed_pid: second.pid, attempts: 2 }]);
    expect(fs.readFileSync(runLog, "utf8").trim().split("\n")).toEqual([`${doomed.pid} Show me my last invoice, I'll hang on`, `${second.pid} Show me my last invoice, I'll hang on`]);
  });

  it("a billing process killed mid-step with no other to take over: the message is handed off at its deadline, the step abandoned", async () => {
    const own = await freshServerDatabase(SERVER!);
    const config = loadConfig({ DATABASE_URL: own.url, DATA_DIR: tempDataDir("switchboard-steps-"), AGENTS: "tech_support,faq", WORKER_TIMEOUT_MS: "8000", WORKER_LEASE_MS: "1000", DEMO_DATA: "on", LOG_LEVEL: "silent" });
    const hurried = await createApp(config, silentLogger());
    const log = path.join(tempDataDir("switchboard-steps-"), "runs.log");
    const doomed = spawnBillingService({ ...serviceEnv, DATABASE_URL: own.url, SCRIPTED_HANG: "1", SCRIPTED_RUN_LOG: log });
    services.push(doomed);
    try {
      await waitFor(async () => (await hurried.db.pool.query("select 1 from queue_workers where pid = $1", [doomed.pid])).rows.length > 0, "the billing process to register", HANG_GUARD_MS, 100);
      const s = await hurried.intake.submit({ platform: "http", conversationKey: "http:killed-alone", userId: "u1", text: "Show me my last invoice, I'll hang on", platformMessageId: "killed-alone" });
      if (s.status !== "accepted") throw new Error("not accepted");
      await waitFor(async () => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes(`${doomed.pid} `), "the billing process to start the step", HANG_GUARD_MS, 50);
      doomed.child.kill("SIGKILL");
      await doomed.exited;
      const outcome = await s.done;
      expect(outcome).toMatchObject({ kind: "reply", handoff: { reason: "worker_timeout" } });
      expect(outcome.kind === "reply" && outcome.handoff?.detail).toMatch(/the billing service did not answer/);
      expect(await steps(s.conversationId, hurried)).toMatchObject([{ worker: "billing", status: "abandoned", claimed_pid: doomed.pid }]);
    } finally {
      await hurried.close();
      await own.drop();
    }
  });
});
