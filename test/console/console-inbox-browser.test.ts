import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { skipWithout } from "../helpers/requirements.ts";
import { CHROMIUM, HAS_CHROMIUM, openBrowser, signInAgent, type Browser } from "../helpers/browser.ts";
import { openEventStream, type SseEvent } from "../http/sse-client.ts";

const TITLE = HAS_CHROMIUM
  ? "the console inbox in a real browser (headless Chromium)"
  : `the console inbox in a real browser — SKIPPED: ${CHROMIUM} is absent (apt-get install chromium)`;

/** Where the run's screenshots go (CI keeps this folder as an artifact; git ignores it). */
export const SCREENSHOTS = path.resolve(import.meta.dirname, "..", "..", "test-artifacts", "screenshots");

const NOTE = "Checked the processor: the second charge is a genuine duplicate.";
const SAVED_TITLE = "Refund timeline";
const SAVED_BODY = "Refunds reach your card in **5 to 10 business days**.";

/** Hang guard for conditions that wait on the live stream (the machine is shared and loaded). */
const LIVE = { timeout: 90_000, interval: 200 };

describe.skipIf(skipWithout(`Chromium (${CHROMIUM})`, HAS_CHROMIUM, "test/console/console-inbox-browser.test.ts", "apt-get install chromium"))(TITLE, () => {
  let s: RunningApp;
  let page: Page;
  let browser: Browser;
  const tokens: Record<string, string> = {};
  let handoffId: string;
  let conversationId: string;

  beforeAll(async () => {
    s = await startTestApp();
    tokens["Dana"] = (await s.app.agents.add("Dana")).token;
    tokens["Sam"] = (await s.app.agents.add("Sam")).token;
    await s.app.savedReplies.create({ title: SAVED_TITLE, body: SAVED_BODY }, { name: "Lee", role: "lead", agentId: null });
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await openBrowser({ width: 1280, height: 900 });
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  const signIn = (name: string) => signInAgent(browser, s.url, name, tokens[name]!);

  /** Marks the loaded document; still marked later means the page was never reloaded. */
  const markDocument = () => page.evaluate(() => ((globalThis as unknown as { __sameDocument?: boolean }).__sameDocument = true));
  const sameDocument = () => page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument === true);
  const focusedField = () => page.evaluate(() => {
    const el = (globalThis as unknown as { document: { activeElement: { tagName: string; getAttribute(n: string): string | null } | null } }).document.activeElement;
    return el ? `${el.tagName.toLowerCase()}[name=${el.getAttribute("name")}]` : "";
  });
  const shoot = async (name: string) => {
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
    // What fits on the first screen, where an agent decides what to do.
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-first-screen.png`) });
  };

  it("Dana sees a new handoff arrive without reloading, claims it (c), notes it internally, answers with a saved reply, approves the refund; the user gets the reply and the decision, never the note", async () => {
    await signIn("Dana");
    expect(await page.getByTestId("keys").textContent()).toContain("j next");
    await markDocument();

    // A customer asks; the queue shows it without a reload.
    const first = await postJson(`${s.url}/api/messages`, { userId: "u2", text: "I was charged twice for my subscription\nPlease fix it" });
    expect(first.status).toBe(200);
    handoffId = first.body.handoff.id;
    conversationId = first.body.conversationId;
    const row = page.locator(`tr[data-handoff="${handoffId}"]`);
    await expect.poll(() => row.count(), LIVE).toBe(1);
    expect(await sameDocument()).toBe(true);
    expect(await row.getByTestId("customer").textContent()).toContain("Priya Shah");
    expect(await row.getByTestId("preview").textContent()).toBe("I was charged twice for my subscription");
    expect(await row.getByTestId("platform").textContent()).toBe("http");
    expect(await row.getByTestId("owner").textContent()).toBe("unassigned");
    expect(await row.getByTestId("sla").getAttribute("data-sla")).toBe("ok");
    await shoot("queue-desktop");

    // The filters live in the URL: "mine" hides what nobody owns yet.
    await page.getByLabel("Owner").selectOption("mine");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/owner=mine/);
    expect(await row.count()).toBe(0);
    await page.goto(`${s.url}/console?owner=unassigned&platform=http`);
    expect(await page.getByLabel("Owner").inputValue()).toBe("unassigned");
    expect(await row.count()).toBe(1);

    // j selects the row, o opens it, c claims it.
    await page.keyboard.press("j");
    expect(await row.getAttribute("class")).toContain("selected");
    await page.keyboard.press("o");
    await page.waitForURL(`${s.url}/console/handoffs/${handoffId}`);
    expect(await page.getByTestId("keys").textContent()).toMatch(/c claim · r reply · e resolve/);
    await page.keyboard.press("c");
    await expect.poll(() => page.getByTestId("flash").textContent()).toMatch(/You claimed this handoff/);
    expect(await page.getByTestId("owner").textContent()).toMatch(/^Dana/);

    // The customer panel: who, plan, invoices and payments, earlier handoffs.
    const panel = page.getByTestId("customer-panel");
    expect(await panel.getByTestId("customer-name").textContent()).toBe("Priya Shah");
    expect(await panel.getByTestId("plan").textContent()).toMatch(/\w+ · \d+ seats?/);
    expect(await panel.getByTestId("invoices").locator("li").count()).toBeGreaterThan(0);
    expect(await panel.getByTestId("payments").locator("li").count()).toBeGreaterThan(0);

    // An internal note: in the timeline, for staff only.
    await page.getByLabel("Internal note").fill(NOTE);
    await page.getByRole("button", { name: "Add note" }).click();
    await expect.poll(() => page.getByTestId("flash").textContent()).toMatch(/Internal note added/);
    expect(await page.getByTestId("note").textContent()).toContain(NOTE);
    expect(await page.getByTestId("note").textContent()).toContain("Internal note · Dana");

    // Typing "c" in a field types it, it does not claim or resolve; r focuses the reply box.
    await page.getByLabel("Internal note").press("e");
    expect(await page.getByLabel("Internal note").inputValue()).toBe("e");
    expect((await s.app.handoffs.get(handoffId))?.status).toBe("claimed");
    await page.getByLabel("Internal note").fill("");
    await page.locator("h1").click();
    await page.keyboard.press("r");
    expect(await focusedField()).toBe("textarea[name=text]");

    // A saved reply, picked into the reply box and sent.
    await page.getByTestId("saved-reply-picker").selectOption({ label: SAVED_TITLE });
    expect(await page.getByLabel("Reply to the user").inputValue()).toBe(SAVED_BODY);
    await page.getByRole("button", { name: "Send reply" }).click();
    await expect.poll(() => page.getByTestId("flash").textContent()).toBe("Reply sent to the user.");

    await page.getByRole("button", { name: "Approve refund" }).click();
    await expect.poll(() => page.getByTestId("flash").textContent()).toBe("Refund of $250.00 approved. The user was told.");
    expect(await page.getByTestId("refund-status").textContent()).toBe("approved");

    // The user's conversation, as the user's own events stream gives it: the reply and the
    // decision, and not the note.
    const stream = await openEventStream(`${s.url}/api/conversations/${conversationId}/events?userId=u2`);
    const seen: SseEvent[] = [];
    while (!seen.some((e) => /refund of \$250\.00 is approved/i.test(e.data))) seen.push(await stream.next());
    stream.close();
    const texts = seen.map((e) => JSON.parse(e.data).text as string);
    expect(texts).toContain(SAVED_BODY);
    expect(texts.join("\n")).not.toContain(NOTE);
    const stored = await s.app.db.pool.query("select count(*)::int as n from messages where position($1 in text) > 0", [NOTE]);
    expect(stored.rows[0].n).toBe(0);

    // The open transcript updates by itself when the user writes again.
    await markDocument();
    const more = await postJson(`${s.url}/api/messages`, { userId: "u2", conversationId, text: "Thanks! Will it show on this month's invoice?" });
    expect(more.status).toBe(200);
    await expect.poll(() => page.getByTestId("message-text").allTextContents(), LIVE).toContain("Thanks! Will it show on this month's invoice?");
    expect(await sameDocument()).toBe(true);
    await shoot("handoff-desktop");
  });

  it("Sam cannot resolve Dana's handoff: no Resolve button, and the API refuses his token", async () => {
    await signIn("Sam");
    await page.goto(`${s.url}/console/handoffs/${handoffId}`);
    expect(await page.getByText("Dana owns this handoff").count()).toBe(1);
    expect(await page.getByRole("button", { name: "Resolve" }).count()).toBe(0);
    await page.locator("h1").click();
    await page.keyboard.press("e");
    const refused = await postJson(`${s.url}/api/handoffs/${handoffId}/resolve`, {}, { authorization: `Bearer ${tokens["Sam"]}` });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("not_owner");
    expect((await s.app.handoffs.get(handoffId))?.status).toBe("claimed");
  });

  it("at 390 px wide the queue, a handoff and the saved replies fit without horizontal scrolling", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = () => page.evaluate(() => {
      const g = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
      return { scrollWidth: g.document.documentElement.scrollWidth, innerWidth: g.innerWidth };
    });
    for (const [url, name] of [
      [`${s.url}/console`, "queue-390"],
      [`${s.url}/console/handoffs/${handoffId}`, "handoff-390"],
      [`${s.url}/console/saved-replies`, "saved-replies-390"],
    ] as const) {
      await page.goto(url);
      const { scrollWidth, innerWidth } = await overflow();
      expect(innerWidth, name).toBe(390);
      expect(scrollWidth, name).toBeLessThanOrEqual(innerWidth);
      await shoot(name);
    }
  });
});
