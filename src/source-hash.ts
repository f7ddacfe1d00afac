/**
 * Hashes of Switchboard's own source files, for caches of what code computes from data (the
 * trained router, the parsed knowledge base): a cache entry made by other code must not be read.
 * The sources (tsx, tests) hash their files; dist/ is a bundle with none of those files, so the
 * build (scripts/build.mjs) hashes every source file the same way and passes the hashes in: the
 * same code gives the same hash either way.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** Set by the build: SHA-256 (hex) of each source file by its path from the project root, e.g. `agents/knowledge/unwrap.ts`. */
declare const SWITCHBOARD_SOURCE_HASHES: Readonly<Record<string, string>> | undefined;

const ROOT = path.resolve(import.meta.dirname, "..");
const CODE_FILE = /\.[cm]?[jt]s$/;

const built = (): Readonly<Record<string, string>> | undefined => (typeof SWITCHBOARD_SOURCE_HASHES === "undefined" ? undefined : SWITCHBOARD_SOURCE_HASHES);

function fileHash(file: string): string {
  const hashes = built();
  if (!hashes) return createHash("sha256").update(fs.readFileSync(path.join(ROOT, file))).digest("hex");
  const hash = hashes[file];
  if (!hash) throw new Error(`${file} is not a source file of this build`);
  return hash;
}

/** The code files of one source folder (`agents/router/offline`; not its sub-folders), sorted. */
export function sourceFilesIn(dir: string): string[] {
  const hashes = built();
  const names = hashes
    ? Object.keys(hashes).filter((f) => path.posix.dirname(f) === dir).map((f) => path.posix.basename(f))
    : fs.readdirSync(path.join(ROOT, dir)).filter((f) => CODE_FILE.test(f));
  return names.sort().map((name) => `${dir}/${name}`);
}

/** SHA-256 (hex) over source files named by their path from the project root: changes when any of them does. */
export function sourcesHash(files: readonly string[]): string {
  const hash = createHash("sha256");
  for (const file of files) hash.update(file).update("\0").update(fileHash(file)).update("\0");
  return hash.digest("hex");
}
