import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "../../../src/errors.ts";
import type { LabelledExample } from "../types.ts";
import { OUT_OF_SCOPE } from "./classifier.ts";

/** Where the default corpus lives (with its licences and README). */
export const DEFAULT_CORPUS_PATH = new URL("../corpus/train.jsonl", import.meta.url);

/**
 * Support requests in the words of a SaaS product's customers (SSO, API errors, webhooks, seats,
 * exports…), written for Switchboard: the default corpus (e-commerce, a fantasy-sports app) has
 * none of this vocabulary, and without it the out-of-scope class took such requests for no
 * support request at all.
 */
export const WRITTEN_SUPPORT_PATH = new URL("../corpus/saas-written.jsonl", import.meta.url);

/** Text that is no support request at all (see `../corpus/out-of-scope/README.md`). */
export const OUT_OF_SCOPE_PATHS = {
  written: new URL("../corpus/out-of-scope/written.jsonl", import.meta.url),
  sotu: new URL("../corpus/out-of-scope/sotu.jsonl", import.meta.url),
} as const;

const Line = z.object({
  text: z.string().min(1),
  route: z.string().min(1),
  source: z.string().optional(),
});

/**
 * The default training corpus shipped in `agents/router/corpus/` (1,548 labelled lines from the
 * Bitext and HINT3 datasets; see the README there for attribution and licences).
 */
export function loadDefaultCorpus(): LabelledExample[] {
  return jsonLines(readFileSync(DEFAULT_CORPUS_PATH, "utf8")).map((json, i) => {
    const parsed = Line.safeParse(json);
    // A shipped file that fails here is a packaging bug, not user input.
    if (!parsed.success) throw new Error(`default corpus line ${i + 1}: ${parsed.error.message}`);
    const { text, route, source } = parsed.data;
    return source === undefined ? { text, route } : { text, route, source };
  });
}

/** The written SaaS support lines (`../corpus/saas-written.jsonl`, see its README). */
export function loadWrittenSupportCorpus(): LabelledExample[] {
  return jsonLines(readFileSync(WRITTEN_SUPPORT_PATH, "utf8")).map((json, i) => {
    const parsed = Line.safeParse(json);
    if (!parsed.success) throw new Error(`written support corpus line ${i + 1}: ${parsed.error.message}`);
    const { text, route, source } = parsed.data;
    return source === undefined ? { text, route } : { text, route, source };
  });
}

/**
 * The "none of these" lines, labelled {@link OUT_OF_SCOPE}: 300 everyday requests to an
 * assistant written for Switchboard (`written.jsonl`, sources `oos_written:<topic>`) and 400
 * sentences of State of the Union addresses (`sotu.jsonl`, public domain).
 */
export function loadOutOfScopeCorpus(which: ReadonlyArray<keyof typeof OUT_OF_SCOPE_PATHS> = ["written", "sotu"]): LabelledExample[] {
  return which.flatMap((name) =>
    jsonLines(readFileSync(OUT_OF_SCOPE_PATHS[name], "utf8")).map((json) => {
      const { text, topic, source } = json as { text: string; topic?: string; source?: string };
      return { text, route: OUT_OF_SCOPE, source: topic ? `oos_written:${topic}` : (source ?? `oos_${name}`) };
    }),
  );
}

/**
 * A team's own labelled lines (`ROUTER_EXAMPLES`, DESIGN.md §4.1): a JSONL file of
 * `{"text", "route"}` lines, or a folder of `.jsonl` files (read in name order). Each route must
 * be one of `routes`; a bad line is a {@link ConfigError} naming the file and line.
 */
export function loadExamples(path: string, routes: readonly string[]): LabelledExample[] {
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path).filter((f) => f.endsWith(".jsonl")).sort().map((f) => join(path, f))
      : [path];
  } catch (err) {
    throw new ConfigError(`ROUTER_EXAMPLES: ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return files.flatMap((file) =>
    readFileSync(file, "utf8")
      .replace(/^\uFEFF/, "")
      .split(/\r?\n/)
      .flatMap((row, i): LabelledExample[] => {
        if (row.trim() === "") return [];
        const where = `ROUTER_EXAMPLES: ${file}:${i + 1}`;
        let json: unknown;
        try {
          json = JSON.parse(row);
        } catch {
          throw new ConfigError(`${where}: not valid JSON`);
        }
        const parsed = Line.safeParse(json);
        if (!parsed.success || parsed.data.text.trim() === "") throw new ConfigError(`${where}: expected {"text": "...", "route": "..."}`);
        if (!routes.includes(parsed.data.route)) {
          throw new ConfigError(`${where}: unknown route "${parsed.data.route}"; valid routes: ${routes.join(", ")}`);
        }
        return [{ text: parsed.data.text, route: parsed.data.route, source: "router_examples" }];
      }),
  );
}

function jsonLines(content: string): unknown[] {
  return content
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as unknown);
}
