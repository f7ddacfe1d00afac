import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { expect } from "vitest";

/** Debian's Chromium (Playwright's own browser download is not reachable here); `.ci/run` installs it. */
export const CHROMIUM = "/usr/bin/chromium";
export const HAS_CHROMIUM = fs.existsSync(CHROMIUM);

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Headless Chromium in a throwaway profile, one page open (`viewport` default: Playwright's 1280×720). */
export async function openBrowser(viewport?: { width: number; height: number }): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ...(viewport ? { viewport } : {}),
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in to the console at `baseUrl` as agent `name` with their own token (a fresh session). */
export async function signInAgent(browser: Browser, baseUrl: string, name: string, token: string): Promise<void> {
  const { context, page } = browser;
  await context.clearCookies();
  await page.goto(`${baseUrl}/console/login`);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Your agent token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${baseUrl}/console`);
  expect(await page.getByTestId("agent").textContent()).toBe(name);
}
