import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { skipWithout } from "../helpers/requirements.ts";
import { CHROMIUM, HAS_CHROMIUM, openBrowser, type Browser } from "../helpers/browser.ts";

/** Debian's `chromium` package (CI installs it); playwright's own download is not reachable here. */
const TITLE = HAS_CHROMIUM
  ? "the support console in a real browser (headless Chromium)"
  : `the support console in a real browser — SKIPPED: ${CHROMIUM} is absent (apt-get install chromium)`;

const EVIL = "I want to talk to a human <script>window.__pwned = 1</script>";

describe.skipIf(skipWithout(`Chromium (${CHROMIUM})`, HAS_CHROMIUM, "test/console/console.test.ts", "apt-get install chromium"))(TITLE, () => {
  let s: RunningApp;
  let context: BrowserContext;
  let page: Page;
  let browser: Browser;
  let handoffId: string;
  let conversationId: string;

  beforeAll(async () => {
    s = await startTestApp();
    const first = await postJson(`${s.url}/api/messages`, { userId: "u-browser", text: EVIL });
    expect(first.body.handoff).toMatchObject({ reason: "user_request" });
    handoffId = first.body.handoff.id;
    conversationId = first.body.conversationId;
    browser = await openBrowser();
    ({ context, page } = browser);
  });

  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it("a wrong token shows no data", async () => {
    await page.goto(`${s.url}/console`);
    expect(new URL(page.url()).pathname).toBe("/console/login");
    await page.getByLabel("Your name").fill("Dana");
    await page.getByLabel("Console token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByTestId("login-error").textContent()).toBe("That token is not right.");
    expect(await page.content()).not.toContain("u-browser");
    expect(await context.cookies()).toEqual([]);
  });

  it("signs in, shows the queue, opens a handoff with its transcript and trace; user text stays text", async () => {
    await page.getByLabel("Your name").fill("Dana");
    await page.getByLabel("Console token").fill("console-secret");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${s.url}/console`);
    expect(await page.getByTestId("agent").textContent()).toBe("Dana");
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "sb_console", httpOnly: true, sameSite: "Strict", path: "/console" });

    // The queue: the open handoff, with how long it has waited.
    const row = page.locator(`tr[data-handoff="${handoffId}"]`);
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator(".wait").textContent()).toMatch(/^\d+ s$/);
    expect(await row.locator(".wait").getAttribute("data-sla")).toBe("ok");
    expect(await row.textContent()).toContain("Asked for a person");

    await row.getByRole("link", { name: "Open" }).click();
    await page.waitForURL(`${s.url}/console/handoffs/${handoffId}`);
    // The user's <script> is shown as text and never ran.
    const texts = await page.getByTestId("message-text").allTextContents();
    expect(texts).toContain(EVIL);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    // The only script is the console's own file (CSP script-src 'self'; nothing inline).
    expect(await page.locator("script").evaluateAll((els) => els.map((e) => e.getAttribute("src")))).toEqual(["/console/assets/console.js"]);
    // The bot's answer carries the routing trace of the message it answered.
    const trace = page.getByTestId("trace").first();
    expect(await trace.locator("summary").textContent()).toMatch(/Routing trace: human \d+% · offline/);
  });

  it("claims, replies (the user gets it) and resolves", async () => {
    await page.getByRole("button", { name: "Claim" }).click();
    await expect.poll(() => page.getByTestId("flash").textContent()).toMatch(/You claimed this handoff/);
    expect(await page.getByTestId("owner").textContent()).toMatch(/^Dana/);

    await page.getByLabel("Reply to the user").fill("Hi, Dana here. <b>Not bold</b>, just text.");
    await page.getByRole("button", { name: "Send reply" }).click();
    await expect.poll(() => page.getByTestId("flash").textContent()).toBe("Reply sent to the user.");
    expect(await page.getByTestId("message-text").allTextContents()).toContain("Hi, Dana here. <b>Not bold</b>, just text.");
    const sent = await s.app.db.pool.query("select author_kind, author_id, status, text from messages where conversation_id = $1 and author_kind = 'agent'", [conversationId]);
    expect(sent.rows).toEqual([{ author_kind: "agent", author_id: "Dana", status: "sent", text: "Hi, Dana here. <b>Not bold</b>, just text." }]);

    await page.getByLabel("Resolution note for the bot").fill("Explained the refund timeline.");
    await page.getByRole("button", { name: "Resolve" }).click();
    await expect.poll(() => page.getByTestId("flash").textContent()).toMatch(/^Resolved/);
    expect(await page.getByTestId("status").first().textContent()).toBe("resolved");
    expect((await s.app.handoffs.get(handoffId))?.resolutionNote).toBe("Explained the refund timeline.");
    expect(await page.getByTestId("events").textContent()).toMatch(/Dana resolved: Explained the refund timeline\./);
  });

  it("filters the queue by state and finds conversations by text", async () => {
    await page.goto(`${s.url}/console`);
    expect(await page.locator(`tr[data-handoff="${handoffId}"]`).count()).toBe(0);
    await page.getByLabel("State").selectOption("resolved");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/status=resolved/);
    expect(await page.locator(`tr[data-handoff="${handoffId}"]`).count()).toBe(1);

    await page.getByRole("link", { name: "Conversations" }).click();
    await page.getByLabel("User or text").fill("__pwned");
    await page.getByRole("button", { name: "Search" }).click();
    const results = page.getByTestId("conversations");
    await expect.poll(() => results.locator("tbody tr").count()).toBe(1);
    expect(await results.textContent()).toContain("u-browser");
    await results.getByRole("link", { name: "Open" }).click();
    await page.waitForURL(`${s.url}/console/conversations/${conversationId}`);
    expect(await page.getByTestId("message-text").allTextContents()).toContain(EVIL);
  });
});
