/**
 * Billing on a database of its own (BILLING_DATABASE_URL), its steps run by a billing service:
 * a refund above the approval limit is created there, and the console's refund approvals and
 * customer panel, in a supervisor given the same setting, read and decide it there while the
 * handoff that waits on it stays in the main database.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import { startStepService, type RunningStepService } from "../../src/steps/start-step-service.ts";
import type { Staff } from "../../src/staff/agent-directory.ts";
import { freshServerDatabase, tempDataDir } from "../helpers/databases.ts";
import { skipWithoutServer } from "../helpers/requirements.ts";

const SERVER = process.env["TEST_DATABASE_URL"];

describe.skipIf(skipWithoutServer("test/steps/billing-database.test.ts"))("refund approvals with billing on its own database", () => {
  let main: Awaited<ReturnType<typeof freshServerDatabase>>;
  let billingDb: Awaited<ReturnType<typeof freshServerDatabase>>;
  let supervisor: App;
  let billing: RunningStepService;

  beforeAll(async () => {
    [main, billingDb] = await Promise.all([freshServerDatabase(SERVER!), freshServerDatabase(SERVER!)]);
    const env = { DATABASE_URL: main.url, BILLING_DATABASE_URL: billingDb.url, DEMO_DATA: "on", LOG_LEVEL: "silent" };
    billing = await startStepService(loadConfig({ ...env, DATA_DIR: tempDataDir("switchboard-billing-db-") }), silentLogger(), ["billing"]);
    supervisor = await createApp(loadConfig({ ...env, DATA_DIR: tempDataDir("switchboard-billing-db-"), AGENTS: "tech_support,faq" }), silentLogger());
    // Tell the two databases' copies of the demo customer apart: the panel must show the billing one.
    await billingDb.db.pool.query("update customers set name = 'Priya Shah (billing database)' where id = 'cus_priya'");
  });

  afterAll(async () => {
    await supervisor?.close();
    await billing?.close();
    await main?.drop();
    await billingDb?.drop();
  });

  it("lists the refund the billing service created, with its handoff; approving it changes the billing database only and tells the user", async () => {
    const key = randomUUID();
    const s = await supervisor.intake.submit({ platform: "http", conversationKey: `http:${key}`, userId: "u2", text: "I was charged twice for my subscription", platformMessageId: key });
    if (s.status !== "accepted") throw new Error(`not accepted: ${s.status}`);
    const outcome = await s.done;
    expect(outcome.kind === "reply" && outcome.handoff?.reason).toBe("needs_approval");
    const handoffId = outcome.kind === "reply" ? outcome.handoff!.id : "";

    // Created by the billing service, in its own database; the main one has no refund.
    expect((await billingDb.db.pool.query("select status from refunds")).rows).toEqual([{ status: "awaiting_approval" }]);
    expect((await main.db.pool.query("select count(*)::int as n from refunds")).rows[0].n).toBe(0);

    const waiting = await supervisor.refunds.list({ status: "awaiting_approval" });
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ customerName: "Priya Shah (billing database)", amountCents: 25000, handoffId, conversationId: s.conversationId });
    expect(await supervisor.refunds.list({ handoffId })).toHaveLength(1);

    const panel = await supervisor.customerContext.forHandoff(handoffId);
    expect(panel?.customer?.name).toBe("Priya Shah (billing database)");
    expect(panel?.payments.length).toBeGreaterThan(0);

    const dana: Staff = { name: "Dana", role: "lead", agentId: null };
    const decided = await supervisor.refunds.approve(waiting[0]!.id, dana);
    expect(decided).toMatchObject({ refund: { status: "approved", decidedBy: "Dana" }, delivery: "sent" });
    expect((await billingDb.db.pool.query("select status, decided_by from refunds")).rows).toEqual([{ status: "approved", decided_by: "Dana" }]);
    const events = (await supervisor.handoffs.events(handoffId)).map((e) => e.kind);
    expect(events).toContain("refund_approved");
  });
});
