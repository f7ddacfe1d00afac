/**
 * The parsed knowledge base kept in `CACHE_DIR` between starts: parsing the articles' markdown
 * (micromark, in `unwrap.ts`) was about a third of a second of CPU at every start, for files that
 * rarely change. One JSON file per key, the key a SHA-256 of every file's path, collection and
 * contents and of the parsing code: an edited article or a changed parser parses anew. Written
 * under a name of its own and renamed into place, so a process never reads half of one; a
 * missing or unreadable file, or a folder that cannot be written, only means parsing.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { sourcesHash } from "../../src/source-hash.ts";
import type { Collection, KnowledgeDoc } from "./knowledge-docs.ts";

/** One markdown file of the knowledge base, as read. */
export interface KnowledgeFile {
  relPath: string;
  collection: Collection;
  source: string;
}

/** Raised when what a cache file holds changes shape without the parsing code changing. */
const FORMAT = 1;
/** Parsed knowledge bases kept; the least recently used beyond these are removed. */
const KEEP = 8;
const PREFIX = "knowledge-";
const SUFFIX = ".json";
const CODE = ["agents/knowledge/knowledge-docs.ts", "agents/knowledge/unwrap.ts", "agents/knowledge/docs-cache.ts"];

interface Stored {
  format: number;
  key: string;
  docs: KnowledgeDoc[];
}

export async function cachedKnowledgeDocs(cacheDir: string, files: readonly KnowledgeFile[], parse: () => Promise<KnowledgeDoc[]>): Promise<KnowledgeDoc[]> {
  const hash = createHash("sha256").update(JSON.stringify({ FORMAT, code: sourcesHash(CODE) }));
  for (const f of files) hash.update("\0").update(f.relPath).update("\0").update(f.collection).update("\0").update(f.source);
  const key = hash.digest("hex");
  const file = path.join(cacheDir, `${PREFIX}${key.slice(0, 32)}${SUFFIX}`);
  const stored = read(file, key);
  if (stored) return stored;
  const docs = await parse();
  write(cacheDir, file, { format: FORMAT, key, docs });
  return docs;
}

function read(file: string, key: string): KnowledgeDoc[] | undefined {
  try {
    const stored = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Stored> | null;
    if (stored?.format !== FORMAT || stored.key !== key || !Array.isArray(stored.docs)) return undefined;
    // Recently used: kept when the folder is pruned.
    const now = new Date();
    fs.utimesSync(file, now, now);
    return stored.docs;
  } catch {
    return undefined;
  }
}

function write(dir: string, file: string, stored: Stored): void {
  const temp = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(temp, JSON.stringify(stored));
    fs.renameSync(temp, file);
    const kept = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(PREFIX) && f.endsWith(SUFFIX))
      .map((f) => ({ f, at: fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
      .sort((a, b) => b.at - a.at);
    for (const { f } of kept.slice(KEEP)) fs.rmSync(path.join(dir, f), { force: true });
  } catch {
    fs.rmSync(temp, { force: true });
  }
}
