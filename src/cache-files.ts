/**
 * Files kept in `CACHE_DIR` between starts (the trained router, the parsed knowledge base): each
 * written under a name of its own and renamed into place, so a process never reads half of one,
 * and only the most recently used `keep` of a kind (`prefix`…`suffix`) are kept, as code and
 * inputs change over time. A read marks a file recently used (`markUsed`).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface CacheKind {
  prefix: string;
  suffix: string;
  /** Files of this kind kept; the least recently used beyond these are removed. */
  keep: number;
}

/** Writes `data` to `file` in `dir` atomically, then prunes the kind. Throws what the file system throws (the temporary file is removed). */
export function writeCacheFile(dir: string, file: string, data: string | Uint8Array, kind: CacheKind): void {
  const temp = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(kind.prefix) && f.endsWith(kind.suffix))
    .map((f) => ({ f, at: fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.at - a.at);
  for (const { f } of files.slice(kind.keep)) fs.rmSync(path.join(dir, f), { force: true });
}

/** Marks a cache file recently used, so pruning keeps it. */
export function markUsed(file: string): void {
  const now = new Date();
  fs.utimesSync(file, now, now);
}
