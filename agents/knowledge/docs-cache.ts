/**
 * The parsed knowledge base kept in `CACHE_DIR` between starts: parsing the articles' markdown
 * (micromark, in `unwrap.ts`) was about a third of a second of CPU at every start, for files that
 * rarely change. One JSON file per key, the key a SHA-256 of every file's path, collection and
 * contents and of the parsing code: an edited article or a changed parser parses anew. Written
 * under a name of its own and renamed into place, so a process never reads half of one; a
 * missing or unreadable file, or a folder that cannot be written, only means parsing.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { markUsed, writeCacheFile, type CacheKind } from "../../src/cache-files.ts";
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
/** Parsed knowledge bases kept: the 8 most recently used. */
const KIND: CacheKind = { prefix: "knowledge-", suffix: ".json", keep: 8 };
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
  const file = path.join(cacheDir, `${KIND.prefix}${key.slice(0, 32)}${KIND.suffix}`);
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
    markUsed(file);
    return stored.docs;
  } catch {
    return undefined;
  }
}

function write(dir: string, file: string, stored: Stored): void {
  try {
    writeCacheFile(dir, file, JSON.stringify(stored), KIND);
  } catch {
    // A folder that cannot be written only means parsing again next start.
  }
}
