/**
 * The knowledge base the FAQ and tech-support workers answer from: a folder (KNOWLEDGE_DIR) with a
 * `faq/` and a `tech/` sub-folder of markdown files, indexed per `## ` section with MiniSearch.
 *
 * Each hit carries a normalized `score` so a worker can say "I don't know" (and hand off) instead
 * of answering from a weak match: compare it with {@link MIN_RELEVANCE}.
 */
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import MiniSearch from "minisearch";
import type { SearchResult } from "minisearch";
import { stemmer } from "stemmer";
import { ConfigError, errorMessage } from "../../src/errors.ts";

export type Collection = "faq" | "tech";

export const COLLECTIONS: readonly Collection[] = ["faq", "tech"];

export interface KnowledgeSection {
  heading: string;
  text: string;
}

export interface KnowledgeDoc {
  /** `<collection>/<path without .md>`, e.g. `faq/refund-policy`. */
  id: string;
  collection: Collection;
  title: string;
  url?: string;
  /** Relative to the knowledge-base directory, with `/` separators, e.g. `faq/refund-policy.md`. */
  path: string;
  tags: string[];
  sections: KnowledgeSection[];
}

export interface KnowledgeHit {
  doc: KnowledgeDoc;
  section: KnowledgeSection;
  /**
   * Relevance in 0..1: the share of the query's meaningful words found in this section (its text,
   * heading, document title or tags), each word weighted by how rare it is in the collection
   * (inverse document frequency, so "refund" counts more than "account", and a word the knowledge
   * base has never seen, like "penguins", counts most). An exact word match gives full credit, a
   * prefix match 0.8 and a typo (fuzzy) match 0.6. That share is then scaled by the section's
   * BM25 score relative to the best hit of the same search, from 0.75 (weakest) to 1 (best), so
   * the score also orders hits. Stop words and chat filler ("how", "my", "wanna", "please") are
   * ignored. Compare with {@link MIN_RELEVANCE}.
   */
  score: number;
}

export interface KnowledgeBase {
  /**
   * Sections of `collection` matching `query`, best first, at most `limit` (default
   * {@link DEFAULT_SEARCH_LIMIT}). Weak hits are included: filter on `score >= MIN_RELEVANCE`.
   */
  search(collection: Collection, query: string, limit?: number): KnowledgeHit[];
  readonly docs: readonly KnowledgeDoc[];
}

/**
 * Below this {@link KnowledgeHit.score} a hit should be treated as "not in the knowledge base".
 *
 * Tuned on the demo knowledge base. On-topic questions score 0.58–1: "how do I get a refund",
 * "app crashes when I log in", "do you ship to Canada" and "wanna reset my password" score 1, typos
 * such as "pasword reset" 0.72 and "refnd" 0.60 (a lone misspelt word gets the fuzzy credit).
 * Off-topic ones find nothing ("what is the capital of France", "tell me a joke about penguins",
 * "asdfgh") or score 0.2–0.32 from an incidental common word ("write me a poem about the sea").
 * Being lexical, it is fooled when an off-topic question uses the knowledge base's own words:
 * "who is the president of the united states" scores 0.55 against the shipping page.
 */
export const MIN_RELEVANCE = 0.5;

/** Default number of hits returned by {@link KnowledgeBase.search}. */
export const DEFAULT_SEARCH_LIMIT = 5;

const CREDIT_EXACT = 1;
const CREDIT_PREFIX = 0.8;
const CREDIT_FUZZY = 0.6;
/** Score factor of the weakest BM25 hit relative to the best one (which gets 1). */
const RANK_FLOOR = 0.75;
const FIELD_BOOST = { title: 3, tags: 2, heading: 2, text: 1 } as const;

// English stop words plus the filler of chat messages: none of them says what the question is
// about, and counting them would let "hi can you please help" look like a match.
const STOP_WORDS = new Set(
  (
    "a about above after again against all also am an and any anyone anything are aren as at be " +
    "because been before being below between both but by can cannot could couldn did didn do does " +
    "doesn doing don down during each else etc ever every few for from further get gets getting " +
    "got had hadn has hasn have haven having he her here hers herself him himself his how i if in " +
    "into is isn it its itself just let ll me might mine more most must mustn my myself need needs " +
    "no nor not now of off on once only or other ought our ours ourselves out over own please pls " +
    "plz re really same shall she should shouldn so some someone something still such than that " +
    "the their theirs them themselves then there these they this those through to too under until " +
    "up us ve very want wants was wasn way we were weren what when whenever where which while who " +
    "whom why will with won would wouldn you your yours yourself yourselves " +
    "hi hey hello thanks thank thx ok okay hmm um uh wanna gonna gotta kinda lol yes yeah " +
    "help know tell like anybody somebody guys question " +
    // Question phrasing ("how long does it take", "how much", "keeps crashing since yesterday").
    "long much many take takes taking took keep keeps kept try tries trying tried since even " +
    "ever anymore always time times today yesterday tomorrow day days week going gone work works " +
    "working worked " +
    // What is asked of the company, not what it is about ("what plans do you offer", "can I
    // cancel anytime", "is it possible to…").
    "offer offers offered provide provides anytime possible able allowed"
  ).split(" "),
);

interface SectionRecord {
  id: string;
  title: string;
  tags: string;
  heading: string;
  text: string;
}

interface CollectionIndex {
  search: MiniSearch<SectionRecord>;
  sections: Map<string, { doc: KnowledgeDoc; section: KnowledgeSection }>;
  /** Processed term → number of sections containing it, for the IDF weights. */
  documentFrequency: Map<string, number>;
}

/**
 * Loads every `*.md` file under `<dir>/faq` and `<dir>/tech` (recursively; files elsewhere in
 * `dir`, such as a README, are ignored) and indexes their sections.
 *
 * @throws ConfigError naming KNOWLEDGE_DIR when `dir` is missing, or naming the file whose front
 *   matter is malformed.
 */
export async function loadKnowledgeBase(dir: string): Promise<KnowledgeBase> {
  const root = path.resolve(dir);
  const rootStat = await stat(root).catch((err: unknown) => {
    throw new ConfigError(
      `KNOWLEDGE_DIR: knowledge base directory ${root} cannot be read (${errorMessage(err)})`,
      { cause: err },
    );
  });
  if (!rootStat.isDirectory()) {
    throw new ConfigError(`KNOWLEDGE_DIR: ${root} is not a directory`);
  }

  const docs: KnowledgeDoc[] = [];
  const indexes = new Map<Collection, CollectionIndex>();
  for (const collection of COLLECTIONS) {
    const files = await listMarkdownFiles(root, collection);
    const collectionDocs: KnowledgeDoc[] = [];
    for (const relPath of files) {
      const source = await readFile(path.join(root, relPath), "utf8");
      collectionDocs.push(parseKnowledgeFile(source, relPath, collection, root));
    }
    docs.push(...collectionDocs);
    indexes.set(collection, buildIndex(collectionDocs));
  }

  return {
    docs,
    search(collection, query, limit = DEFAULT_SEARCH_LIMIT) {
      const index = indexes.get(collection);
      return index === undefined ? [] : searchIndex(index, query, limit);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Loading and parsing

async function listMarkdownFiles(root: string, collection: Collection): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relDir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(root, relDir), { withFileTypes: true });
    } catch (err) {
      // A collection the operator did not write is simply empty.
      if (relDir === collection && (err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw new ConfigError(
        `KNOWLEDGE_DIR: cannot read ${path.join(root, relDir)} (${errorMessage(err)})`,
        { cause: err },
      );
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const rel = `${relDir}/${entry.name}`;
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile() && entry.name.toLowerCase().endsWith(".md")) found.push(rel);
    }
  };
  await walk(collection);
  // Directory order differs between file systems; sort so ids and tie-breaks are stable.
  return found.sort();
}

interface FrontMatter {
  title?: string;
  url?: string;
  tags?: string[];
}

function parseKnowledgeFile(
  source: string,
  relPath: string,
  collection: Collection,
  root: string,
): KnowledgeDoc {
  const lines = source.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n").split("\n");
  const { frontMatter, bodyStart } = parseFrontMatter(lines, path.join(root, relPath));
  const { h1, sections } = splitSections(lines.slice(bodyStart));

  const title =
    frontMatter.title ?? h1 ?? path.basename(relPath).replace(/\.md$/i, "").replace(/[-_]+/g, " ");
  // The intro (text before the first `## `) is headed by the document title.
  for (const section of sections) if (section.heading === "") section.heading = title;

  return {
    id: relPath.replace(/\.md$/i, ""),
    collection,
    title,
    ...(frontMatter.url !== undefined ? { url: frontMatter.url } : {}),
    path: relPath,
    tags: frontMatter.tags ?? [],
    sections,
  };
}

/** `---` / `key: value` lines / `---`, with `title`, `url` and `tags: [a, b]` understood. */
function parseFrontMatter(
  lines: string[],
  file: string,
): { frontMatter: FrontMatter; bodyStart: number } {
  if (lines[0]?.trim() !== "---") return { frontMatter: {}, bodyStart: 0 };
  const fail = (line: number, why: string): never => {
    throw new ConfigError(`Malformed front matter in ${file} (line ${line}): ${why}`);
  };

  const frontMatter: FrontMatter = {};
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "---") return { frontMatter, bodyStart: i + 1 };
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (match === null) return fail(i + 1, `expected "key: value", got "${line}"`);
    const key = (match[1] ?? "").toLowerCase();
    const value = match[2] ?? "";
    if (seen.has(key)) return fail(i + 1, `duplicate key "${key}"`);
    seen.add(key);

    if (key === "title" || key === "url") {
      const text = unquote(value);
      if (text !== "") frontMatter[key] = text;
    } else if (key === "tags") {
      let list = value;
      if (list.startsWith("[") || list.endsWith("]")) {
        if (!(list.startsWith("[") && list.endsWith("]"))) {
          return fail(i + 1, `tags must be a list like [billing, refunds], got "${value}"`);
        }
        list = list.slice(1, -1);
      }
      frontMatter.tags = list
        .split(",")
        .map(unquote)
        .filter((tag) => tag !== "");
    }
    // Other keys (author, updated…) are allowed and ignored.
  }
  return fail(1, `no closing "---"`);
}

function unquote(value: string): string {
  const text = value.trim();
  const quoted = /^(["'])(.*)\1$/.exec(text);
  return (quoted?.[2] ?? text).trim();
}

/** Splits a markdown body at `## ` headings, ignoring headings inside fenced code blocks. */
function splitSections(lines: string[]): { h1?: string; sections: KnowledgeSection[] } {
  let h1: string | undefined;
  const sections: KnowledgeSection[] = [];
  let heading = "";
  let buffer: string[] = [];
  let inFence = false;
  const flush = (): void => {
    const text = buffer.join("\n").trim();
    if (text !== "") sections.push({ heading, text });
    buffer = [];
  };

  for (const line of lines) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const h2 = inFence ? null : /^##\s+(.+?)\s*#*\s*$/.exec(line);
    // Only a `# ` heading before the first section is the document's title.
    const beforeSections = !inFence && h1 === undefined && heading === "" && sections.length === 0;
    const h1Match = beforeSections ? /^#\s+(.+?)\s*#*\s*$/.exec(line) : null;
    if (h2 !== null) {
      flush();
      heading = h2[1] ?? "";
    } else if (h1Match !== null) {
      h1 = h1Match[1];
    } else {
      buffer.push(line);
    }
  }
  flush();
  return h1 === undefined ? { sections } : { h1, sections };
}

// ---------------------------------------------------------------------------------------------
// Indexing and search

function tokenize(text: string): string[] {
  return text.split(/[^\p{L}\p{N}]+/u);
}

/** Lower-case, strip accents, drop stop words and single characters, Porter-stem. */
function processTerm(term: string): string | null {
  const word = term.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  if (word.length < 2 || STOP_WORDS.has(word)) return null;
  return stemmer(word);
}

function analyze(text: string): string[] {
  const terms: string[] = [];
  for (const token of tokenize(text)) {
    const term = processTerm(token);
    if (term !== null) terms.push(term);
  }
  return terms;
}

/** Prefix matching on very short stems ("re", "ap") would match half the vocabulary. */
const allowPrefix = (term: string): boolean => term.length >= 3;
/** Edit distance tolerated for a typo: none for short words, where one edit is another word. */
const maxTypoDistance = (term: string): number =>
  term.length < 5 ? 0 : term.length < 9 ? 1 : 2;

function buildIndex(docs: KnowledgeDoc[]): CollectionIndex {
  const search = new MiniSearch<SectionRecord>({
    fields: ["title", "tags", "heading", "text"],
    tokenize,
    processTerm,
    searchOptions: {
      boost: { ...FIELD_BOOST },
      prefix: allowPrefix,
      fuzzy: maxTypoDistance,
      combineWith: "OR",
    },
  });
  const sections = new Map<string, { doc: KnowledgeDoc; section: KnowledgeSection }>();
  const documentFrequency = new Map<string, number>();
  const records: SectionRecord[] = [];

  for (const doc of docs) {
    doc.sections.forEach((section, i) => {
      const record: SectionRecord = {
        id: `${doc.id}#${i}`,
        title: doc.title,
        tags: doc.tags.join(" "),
        heading: section.heading,
        text: section.text,
      };
      records.push(record);
      sections.set(record.id, { doc, section });
      const terms = new Set(analyze(`${record.title} ${record.tags} ${record.heading} ${record.text}`));
      for (const term of terms) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
    });
  }
  search.addAll(records);
  return { search, sections, documentFrequency };
}

function searchIndex(index: CollectionIndex, query: string, limit: number): KnowledgeHit[] {
  if (limit <= 0) return [];
  const queryTerms = [...new Set(analyze(query))];
  if (queryTerms.length === 0) return [];
  const results = index.search.search(query);
  if (results.length === 0) return [];

  const total = index.sections.size;
  // BM25's inverse document frequency; a term absent from the collection gets the highest weight.
  const weights = queryTerms.map((term) => {
    const df = index.documentFrequency.get(term) ?? 0;
    return Math.log(1 + (total - df + 0.5) / (df + 0.5));
  });
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  const bestRaw = Math.max(...results.map((r) => r.score));

  const hits: { hit: KnowledgeHit; raw: number }[] = [];
  for (const result of results) {
    const entry = index.sections.get(String(result.id));
    if (entry === undefined) continue;
    const covered = queryTerms.reduce(
      (sum, term, i) => sum + (weights[i] ?? 0) * termCredit(term, result),
      0,
    );
    const coverage = weightSum > 0 ? covered / weightSum : 0;
    const rank = RANK_FLOOR + (1 - RANK_FLOOR) * (result.score / bestRaw);
    hits.push({ hit: { ...entry, score: coverage * rank }, raw: result.score });
  }
  return hits
    .sort((a, b) => b.hit.score - a.hit.score || b.raw - a.raw)
    .slice(0, limit)
    .map(({ hit }) => hit);
}

/** How well `term` (a processed query term) was matched by the section terms of `result`. */
function termCredit(term: string, result: SearchResult): number {
  let best = 0;
  const typoDistance = maxTypoDistance(term);
  for (const matched of result.terms) {
    if (matched === term) return CREDIT_EXACT;
    if (allowPrefix(term) && matched.startsWith(term)) best = Math.max(best, CREDIT_PREFIX);
    else if (typoDistance > 0 && editDistance(term, matched, typoDistance) <= typoDistance) {
      best = Math.max(best, CREDIT_FUZZY);
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning `max + 1`) once it must exceed `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  return previous[b.length] ?? max + 1;
}
