/**
 * Loading the knowledge base: the markdown files under `<dir>/faq` and `<dir>/tech`, their front
 * matter (`title`, `url`, `tags`) and their `## ` sections, each section's text unwrapped into
 * paragraphs (articles are hard-wrapped; a reply must not carry those breaks to Slack, Discord or
 * a terminal). Searching them is `knowledge-search.ts`.
 */
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ConfigError, errorMessage } from "../../src/errors.ts";
import { cachedKnowledgeDocs, type KnowledgeFile } from "./docs-cache.ts";

export type Collection = "faq" | "tech";

export const COLLECTIONS: readonly Collection[] = ["faq", "tech"];

export interface KnowledgeSection {
  heading: string;
  /** Markdown, one line per paragraph (lists, code blocks and tables as written). */
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

export interface ReadOptions {
  /**
   * `CACHE_DIR`: the parsed documents are kept there, keyed by the files' contents and this
   * code, so an unchanged knowledge base is not parsed again at the next start. Default: none.
   */
  cacheDir?: string | undefined;
}

/**
 * Reads every `*.md` file under `<dir>/faq` and `<dir>/tech` (recursively; files elsewhere in
 * `dir`, such as a README, are ignored), collection by collection, each in path order.
 *
 * @throws ConfigError naming KNOWLEDGE_DIR when `dir` is missing, or naming the file whose front
 *   matter is malformed.
 */
export async function readKnowledgeDocs(dir: string, options: ReadOptions = {}): Promise<KnowledgeDoc[]> {
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

  const files: KnowledgeFile[] = [];
  for (const collection of COLLECTIONS) {
    for (const relPath of await listMarkdownFiles(root, collection)) {
      files.push({ relPath, collection, source: await readFile(path.join(root, relPath), "utf8") });
    }
  }
  // The markdown parser (micromark, behind unwrap.ts) loads only when something is parsed.
  const parse = async (): Promise<KnowledgeDoc[]> => {
    const { unwrapMarkdown } = await import("./unwrap.ts");
    return files.map((f) => parseKnowledgeFile(f.source, f.relPath, f.collection, root, unwrapMarkdown));
  };
  return options.cacheDir ? cachedKnowledgeDocs(options.cacheDir, files, parse) : parse();
}

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
  unwrap: (markdown: string) => string,
): KnowledgeDoc {
  const lines = source.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n").split("\n");
  const { frontMatter, bodyStart } = parseFrontMatter(lines, path.join(root, relPath));
  const { h1, sections } = splitSections(lines.slice(bodyStart), unwrap);

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
function splitSections(lines: string[], unwrap: (markdown: string) => string): { h1?: string; sections: KnowledgeSection[] } {
  let h1: string | undefined;
  const sections: KnowledgeSection[] = [];
  let heading = "";
  let buffer: string[] = [];
  let inFence = false;
  const flush = (): void => {
    const text = unwrap(buffer.join("\n").trim());
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
