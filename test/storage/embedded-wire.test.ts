import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../src/db/embedded.ts";
import { silentLogger } from "../../src/logger.ts";
import { tempDataDir } from "../helpers/databases.ts";

/** What a failed query or connect threw, as `{code, message}`. */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (err: { code?: string; message?: string }) => ({ code: err.code, message: err.message }),
  );

describe("the embedded database's wire port: a password, no COPY FROM STDIN, no connection holding the others", () => {
  let dataDir: string;
  let embedded: EmbeddedPostgres;
  let url: URL;
  const clients: pg.Client[] = [];

  const connect = async (password: string | undefined = decodeURIComponent(url.password)) => {
    const c = new pg.Client({ host: url.hostname, port: Number(url.port), user: "postgres", database: "postgres", ...(password === undefined ? {} : { password }) });
    c.on("error", () => {});
    clients.push(c);
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    dataDir = tempDataDir("switchboard-wire-");
    embedded = await startEmbeddedPostgres(dataDir, silentLogger());
    url = new URL(embedded.url);
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await embedded?.stop();
  });

  it("takes a connection only with the data folder's password; the lock file and the password are the owner's alone", async () => {
    expect(url.password.length).toBeGreaterThanOrEqual(24);
    expect(await failure(connect(""))).toMatchObject({ code: "28P01" });
    expect(await failure(connect("postgres"))).toMatchObject({ code: "28P01" });
    const ok = await connect();
    expect((await ok.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    for (const file of ["switchboard.lock", "wire-password"]) {
      expect((fs.statSync(path.join(dataDir, file)).mode & 0o777).toString(8), file).toBe("600");
    }
    // A second opener of the folder (another process would read the same files) gets the same password.
    const again = await startEmbeddedPostgres(dataDir, silentLogger());
    expect(again.owner).toBe(false);
    expect(new URL(again.url).password).toBe(url.password);
  });

  it("refuses COPY FROM STDIN (psql's \\copy broke the session every connection shares) and goes on serving", async () => {
    const c = await connect();
    await c.query("create table copy_target (a int)");
    expect(await failure(c.query("COPY copy_target FROM STDIN"))).toMatchObject({ code: "0A000", message: expect.stringMatching(/COPY FROM STDIN is not supported/) });
    expect(await failure(c.query({ text: "copy copy_target (a) from stdin with (format csv)", values: [] }))).toMatchObject({ code: "0A000" });
    expect((await c.query("select count(*)::int as n from copy_target")).rows).toEqual([{ n: 0 }]);
    const other = await connect();
    expect((await other.query("select 2 as two")).rows).toEqual([{ two: 2 }]);
  });

  it("a connection left idle inside a transaction is rolled back and cut off, so the others go on", async () => {
    const idle = await connect();
    await idle.query("create table held (a int)");
    await idle.query("begin");
    await idle.query("insert into held values (1)");
    // It now holds the session and sends nothing more; another connection's query waits, then runs.
    const other = await connect();
    expect((await other.query("select count(*)::int as n from held")).rows).toEqual([{ n: 0 }]);
    expect(await failure(idle.query("commit"))).toMatchObject({ code: "57P01" });
  }, 60_000);
});
