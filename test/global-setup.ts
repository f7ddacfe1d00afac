import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { dropAppDatabases, ensureTemplateDatabase } from "./helpers/databases.ts";

/**
 * Tests that start `bin/switchboard.js` run the compiled JavaScript in dist/, so before any test
 * runs dist/ is rebuilt from the current sources whenever a source is newer than the last build
 * (`npm run build`): a test never runs a stale dist/. Tests that import modules run the
 * TypeScript sources directly.
 *
 * With TEST_DATABASE_URL, it also makes the migrated template database that the tests' server
 * databases are cloned from (`ensureTemplateDatabase`), and after the run drops the databases
 * `startTestApp` made there (`dropAppDatabases`).
 */
const ROOT = path.resolve(import.meta.dirname, "..");
const INPUTS = ["src", "bots", "agents", "migrations", "scripts/build.mjs", "package.json"];
const STAMP = path.join(ROOT, "dist", ".built");
const LOCK = path.join(ROOT, "dist.lock");

function newestInput(): number {
  let newest = 0;
  const visit = (p: string) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  for (const input of INPUTS) visit(path.join(ROOT, input));
  return newest;
}

function isCurrent(): boolean {
  const built = fs.statSync(STAMP, { throwIfNoEntry: false });
  return built !== undefined && built.mtimeMs >= newestInput();
}

/** One build at a time in this checkout (two test runs at once share dist/). */
async function withBuildLock(fn: () => void): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const st = fs.statSync(LOCK, { throwIfNoEntry: false });
      // A lock older than any build takes is left by a killed run.
      if (st && Date.now() - st.mtimeMs > 180_000) fs.rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${LOCK} is held by another build; remove it if no build runs`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  // With a Postgres server, the migrated database each test database is cloned from.
  const server = process.env["TEST_DATABASE_URL"];
  if (server) await ensureTemplateDatabase(server);
  const teardown = async () => {
    // startTestApp's server databases stay while the run lasts (a restart opens one again).
    if (server) await dropAppDatabases(server, process.pid);
  };
  if (isCurrent()) return teardown;
  await withBuildLock(() => {
    if (isCurrent()) return;
    const r = spawnSync(process.execPath, [path.join(ROOT, "scripts/build.mjs")], { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
  });
  return teardown;
}
