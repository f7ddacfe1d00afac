import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { skipWithout } from "../helpers/requirements.ts";
import { CHROMIUM, HAS_CHROMIUM, openBrowser, signInAgent, type Browser } from "../helpers/browser.ts";

const TITLE = HAS_CHROMIUM
  ? "an agent approves a refund in a real browser (headless Chromium)"
  : `an agent approves a refund in a real browser — SKIPPED: ${CHROMIUM} is absent (apt-get install chromium)`;

describe.skipIf(skipWithout(`Chromium (${CHROMIUM})`, HAS_CHROMIUM, "test/console/console-approval-browser.test.ts", "apt-get install chromium"))(TITLE, () => {
  let s: RunningApp;
  let page: Page;
  let browser: Browser;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    s = await startTestApp();
    for (const name of ["Dana", "Sam"]) tokens[name] = (await s.app.agents.add(name)).token;
    browser = await openBrowser();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  const signIn = (name: string) => signInAgent(browser, s.url, name, tokens[name]!);

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
