import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { skipWithout } from "../helpers/requirements.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAS_CHROMIUM = fs.existsSync(CHROMIUM);
const TITLE = HAS_CHROMIUM
  ? "an agent approves a refund in a real browser (headless Chromium)"
  : `an agent approves a refund in a real browser — SKIPPED: ${CHROMIUM} is absent (apt-get install chromium)`;

describe.skipIf(skipWithout(`Chromium (${CHROMIUM})`, HAS_CHROMIUM, "test/console/console-approval-browser.test.ts", "apt-get install chromium"))(TITLE, () => {
  let s: RunningApp;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    s = await startTestApp();
    for (const name of ["Dana", "Sam"]) tokens[name] = (await s.app.agents.add(name)).token;
    profile = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await s?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  const signIn = async (name: string) => {
    await context.clearCookies();
    await page.goto(`${s.url}/console/login`);
    await page.getByLabel("Your name").fill(name);
    await page.getByLabel("Your agent token").fill(tokens[name]!);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${s.url}/console`);
    expect(await page.getByTestId("agent").textContent()).toBe(name);
  };

  it("Dana signs in with her own token, claims the $250 refund handoff, approves it, and the user's conversation receives the decision; Sam cannot resolve it", async () => {
    const first = await postJson(`${s.url}/api/messages`, { userId: "u2", text: "I was charged twice for my subscription" });
    const handoffId = first.body.handoff.id as string;

    await signIn("Dana");
    const row = page.locator(`tr[data-handoff="${handoffId}"]`);
    expect(await row.getByTestId("customer").textContent()).toContain("Priya Shah");
    expect(await row.getByTestId("preview").textContent()).toBe("I was charged twice for my subscription");
    await row.getByRole("link", { name: "Open" }).click();
    await page.waitForURL(`${s.url}/console/handoffs/${handoffId}`);
    await page.getByRole("button", { name: "Claim" }).click();
    await expect.poll(() => page.getByTestId("flash").textContent()).toMatch(/You claimed this handoff/);

    await page.getByRole("button", { name: "Approve refund" }).click();
    await expect.poll(() => page.getByTestId("flash").textContent()).toBe("Refund of $250.00 approved. The user was told.");
    expect(await page.getByTestId("refund-status").textContent()).toBe("approved");
    expect(await page.getByRole("button", { name: "Approve refund" }).count()).toBe(0);
    const told = await s.app.db.pool.query("select author_id, status, text from messages where conversation_id = $1 and author_kind = 'agent'", [first.body.conversationId]);
    expect(told.rows).toEqual([{ author_id: "Dana", status: "sent", text: expect.stringContaining("Your refund of $250.00 is approved") }]);

    await signIn("Sam");
    await page.goto(`${s.url}/console/handoffs/${handoffId}`);
    expect(await page.getByText("Dana owns this handoff").count()).toBe(1);
    expect(await page.getByRole("button", { name: "Resolve" }).count()).toBe(0);
    expect((await s.app.handoffs.get(handoffId))?.status).toBe("claimed");
  });
});
