import { it } from "vitest";

/** `CI=true` (CI sets it): every test must run there, none may skip for want of a tool. */
export const IN_CI = process.env["CI"] === "true" || process.env["CI"] === "1";

/**
 * Whether to skip the tests that need `requirement`. Present: false. Missing outside CI: true,
 * and the run says what was skipped and how to run it. Missing under CI: true as well, but a
 * failing test naming what is missing is added in its place, so CI cannot pass having run less.
 *
 * @param what - the tests, e.g. "test/inbox/crash.test.ts"
 * @param hint - how to provide it, e.g. "set TEST_DATABASE_URL to a Postgres server"
 */
export function skipWithout(requirement: string, present: boolean, what: string, hint: string): boolean {
  if (present) return false;
  if (IN_CI) {
    it(`${what}: needs ${requirement}`, () => {
      throw new Error(`${requirement} is missing and CI=true: under CI these tests must run, not skip. ${hint}`);
    });
  } else {
    console.warn(`${what} skipped: ${requirement} is missing (${hint})`);
  }
  return true;
}

/** Skips (outside CI) or fails (under CI) the tests of `what` that need a Postgres server. */
export function skipWithoutServer(what: string): boolean {
  return skipWithout("TEST_DATABASE_URL", Boolean(process.env["TEST_DATABASE_URL"]), what, "set TEST_DATABASE_URL to a Postgres server, e.g. postgres://postgres@127.0.0.1:5432/postgres (.ci/run does when one is reachable)");
}
