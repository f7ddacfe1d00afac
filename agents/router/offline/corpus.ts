import { readFileSync } from "node:fs";
import { z } from "zod";
import { ROUTE_NAMES } from "../../../src/types.ts";
import type { LabelledExample } from "../types.ts";

/** Where the default corpus lives (with its licences and README). */
export const DEFAULT_CORPUS_PATH = new URL("../corpus/train.jsonl", import.meta.url);

const Line = z.object({
  text: z.string().min(1),
  route: z.enum(ROUTE_NAMES),
  source: z.string().optional(),
});

/**
 * The default training corpus shipped in `agents/router/corpus/` (1,548 labelled lines from the
 * Bitext and HINT3 datasets; see the README there for attribution and licences).
 */
export function loadDefaultCorpus(): LabelledExample[] {
  return readFileSync(DEFAULT_CORPUS_PATH, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      const parsed = Line.safeParse(JSON.parse(line));
      // A shipped file that fails here is a packaging bug, not user input.
      if (!parsed.success) throw new Error(`default corpus line ${i + 1}: ${parsed.error.message}`);
      const { text, route, source } = parsed.data;
      return source === undefined ? { text, route } : { text, route, source };
    });
}
