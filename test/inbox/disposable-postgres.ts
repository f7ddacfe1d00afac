import { execFile } from "node:child_process";
import fs from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { isAlive } from "../../src/db/embedded.ts";

const run = promisify(execFile);

/**
 * A Postgres server of a test's own (initdb + pg_ctl on a free loopback port, data in a temporary
 * folder), so the test can kill it — `kill -9` of its postmaster — and start it again on the same
 * port and data folder, without touching any other server on the machine. As root, the server
 * runs as the `postgres` user (Postgres refuses to run as root).
 */
export class DisposablePostgres {
  readonly port: number;
  readonly dataDir: string;
  readonly #bin: string;
  readonly #asPostgres: boolean;
  readonly #socketDir: string;
  readonly #log: string;

  private constructor(bin: string, port: number, dataDir: string, socketDir: string, asPostgres: boolean) {
    this.#bin = bin;
    this.port = port;
    this.dataDir = dataDir;
    this.#socketDir = socketDir;
    this.#asPostgres = asPostgres;
    this.#log = path.join(socketDir, "postgres.log");
  }

  /**
   * Where initdb and pg_ctl are (`PG_BIN`, else the newest `/usr/lib/postgresql/N/bin`, else
   * `PATH`); undefined when there are none.
   */
  static findBinaries(): string | undefined {
    const candidates: string[] = [];
    if (process.env["PG_BIN"]) candidates.push(process.env["PG_BIN"]);
    const debian = "/usr/lib/postgresql";
    if (fs.existsSync(debian)) {
      const versions = fs.readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
      candidates.push(...versions.map((v) => path.join(debian, v, "bin")));
    }
    candidates.push(...(process.env["PATH"] ?? "").split(path.delimiter).filter(Boolean));
    return candidates.find((dir) => fs.existsSync(path.join(dir, "initdb")) && fs.existsSync(path.join(dir, "pg_ctl")));
  }

  /** Why a disposable server cannot be started here; undefined when it can. */
  static unavailable(): string | undefined {
    if (!DisposablePostgres.findBinaries()) return "initdb/pg_ctl not found (set PG_BIN, or install the Postgres server binaries)";
    if (process.getuid?.() === 0 && !hasUser("postgres")) return "running as root and there is no `postgres` user to run the server as";
    return undefined;
  }

  /** initdb in a new temporary folder, then start on a free port. */
  static async start(): Promise<DisposablePostgres> {
    const bin = DisposablePostgres.findBinaries();
    if (!bin) throw new Error(DisposablePostgres.unavailable());
    const asPostgres = process.getuid?.() === 0;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-pg-"));
    const dataDir = path.join(root, "data");
    fs.mkdirSync(dataDir, { mode: 0o700 });
    if (asPostgres) {
      const { uid, gid } = userIds("postgres");
      fs.chmodSync(root, 0o755);
      fs.chownSync(root, uid, gid);
      fs.chownSync(dataDir, uid, gid);
    }
    const server = new DisposablePostgres(bin, await freePort(), dataDir, root, asPostgres);
    await server.#exec("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
    await server.restart();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** The postmaster's pid (first line of postmaster.pid); undefined when it is not running. */
  pid(): number | undefined {
    try {
      const pid = Number(fs.readFileSync(path.join(this.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
      return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** `kill -9` of the postmaster: no shutdown, clients see their connections break. */
  kill(): number {
    const pid = this.pid();
    if (!pid) throw new Error("the disposable Postgres is not running");
    process.kill(pid, "SIGKILL");
    return pid;
  }

  /**
   * Starts the server on the same port and data folder (crash recovery runs first after a
   * kill). Retries while the killed postmaster's backends still hold its shared memory.
   */
  async restart(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await this.#exec("pg_ctl", [
          "start", "-w", "-t", "60", "-D", this.dataDir, "-l", this.#log,
          "-o", `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.#socketDir} -c fsync=off -c max_connections=200`,
        ]);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the disposable Postgres did not start: ${(err as Error).message}\n${this.logTail()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    await waitForConnections(this.url, deadline);
  }

  /** Stops the server (immediate mode) and removes its folder. */
  async destroy(): Promise<void> {
    const pid = this.pid();
    if (pid) {
      await this.#exec("pg_ctl", ["stop", "-m", "immediate", "-w", "-D", this.dataDir]).catch(() => process.kill(pid, "SIGKILL"));
    }
    fs.rmSync(this.#socketDir, { recursive: true, force: true });
  }

  logTail(lines = 20): string {
    try {
      return fs.readFileSync(this.#log, "utf8").trim().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  async #exec(tool: string, args: string[]): Promise<void> {
    const file = path.join(this.#bin, tool);
    if (this.#asPostgres) await run("runuser", ["-u", "postgres", "--", file, ...args], { cwd: this.#socketDir });
    else await run(file, args, { cwd: this.#socketDir });
  }
}

async function waitForConnections(url: string, deadline: number): Promise<void> {
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("select 1");
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function hasUser(name: string): boolean {
  try {
    userIds(name);
    return true;
  } catch {
    return false;
  }
}

function userIds(name: string): { uid: number; gid: number } {
  const line = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no user ${name}`);
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** A TCP port free on the loopback interface now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
