import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import { markUsed, writeCacheFile, type CacheKind } from "../../src/cache-files.ts";
import type { Logger } from "../../src/logger.ts";
import { sourceFilesIn, sourcesHash } from "../../src/source-hash.ts";
import { IntentClassifier, type ClassifierState } from "./offline/classifier.ts";
import type { TrainingCache } from "./offline/index.ts";
import type { LabelledExample } from "./types.ts";

/** Raised when what a cache file holds changes shape without the offline router's code changing. */
const FORMAT = 1;

/** Trained models kept in the folder: the 8 most recently used. */
const KIND: CacheKind = { prefix: "router-", suffix: ".v8", keep: 8 };

let codeHash: string | undefined;
/** The offline router's code (agents/router/offline/): a change to any of it trains anew. */
function offlineCodeHash(): string {
  return (codeHash ??= sourcesHash(sourceFilesIn("agents/router/offline")));
}

/**
 * The key of one training: a SHA-256 of everything it reads — every example (the corpus lines,
 * the out-of-scope lines, the registry's examples, `ROUTER_EXAMPLES`, staff corrections, each
 * with its route, source and weight), the routes, the offline router's code, the cache format and
 * the V8 serialisation it is stored in.
 */
export function trainingKey(examples: readonly LabelledExample[], routes: readonly string[] | undefined): string {
  return createHash("sha256")
    .update(JSON.stringify({ FORMAT, v8: process.versions.v8, code: offlineCodeHash(), routes: routes ?? null }))
    .update("\0")
    .update(JSON.stringify(examples))
    .digest("hex");
}

interface Stored {
  format: number;
  key: string;
  state: ClassifierState;
}

/**
 * A {@link TrainingCache} in `dir`: one file per training key holding the trained classifier's
 * plain state (`IntentClassifier.toState`) in `v8.serialize` form, read back in milliseconds
 * where training takes about a second of CPU. Same key, same examples and code: the same
 * classifier training would give (training is deterministic). A file is written under a name of
 * its own and renamed into place, so two processes starting at once never read half of one; a
 * missing, unreadable or foreign file means training, and a folder that cannot be written only
 * means training next time too.
 */
export function diskTrainingCache(dir: string, logger?: Logger): TrainingCache {
  return (examples, routes, train) => {
    const key = trainingKey(examples, routes);
    const file = path.join(dir, `${KIND.prefix}${key.slice(0, 32)}${KIND.suffix}`);
    const stored = read(file, key, logger);
    if (stored) return stored;
    const classifier = train();
    write(dir, file, { format: FORMAT, key, state: classifier.toState() }, logger);
    return classifier;
  };
}

function read(file: string, key: string, logger: Logger | undefined): IntentClassifier | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    const stored = v8.deserialize(bytes) as Partial<Stored> | null;
    if (stored?.format !== FORMAT || stored.key !== key || !stored.state) return undefined;
    const classifier = IntentClassifier.fromState(stored.state);
    markUsed(file);
    return classifier;
  } catch (err) {
    logger?.debug({ err: String(err), file }, "unreadable trained-router cache file; training");
    return undefined;
  }
}

function write(dir: string, file: string, stored: Stored, logger: Logger | undefined): void {
  try {
    writeCacheFile(dir, file, v8.serialize(stored), KIND);
  } catch (err) {
    logger?.debug({ err: String(err), dir }, "could not store the trained router; it is trained again next start");
  }
}
