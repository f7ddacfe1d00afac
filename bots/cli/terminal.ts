/**
 * Replies as a terminal shows them: markdown rendered with marked + marked-terminal (bold,
 * lists, tables, code, links as "text (url)"), reflowed to the terminal's width, and the cited
 * sources under the answer. Without colour (not a TTY, NO_COLOR) the same layout in plain text.
 */
import { stripVTControlCharacters } from "node:util";
import { Marked, type MarkedExtension } from "marked";
import { markedTerminal } from "marked-terminal";
import type { ReplySection, SourceRef } from "../../src/types.ts";

export interface TerminalOptions {
  /** ANSI colours and styles. Default: off. */
  color?: boolean;
  /** Columns to reflow paragraphs to. Default 80. */
  width?: number;
}

/**
 * `markdown` for a terminal. A single line break is kept as a break, as Slack and Discord show
 * it (article text is already unwrapped into paragraphs, so what is left is meant).
 */
export function renderMarkdown(markdown: string, options: TerminalOptions = {}): string {
  const marked = new Marked({ gfm: true, breaks: true, async: false });
  marked.use(markedTerminal({ reflowText: true, width: options.width ?? 80, tab: 2, emoji: false }) as unknown as MarkedExtension);
  const out = (marked.parse(markdown) as string).replace(/\s+$/, "");
  return options.color ? out : stripVTControlCharacters(out);
}

/** The sources of every section, once each, as one line: `Sources: Title (url) · Title`. */
export function sourcesLine(sections: readonly ReplySection[]): string | undefined {
  const seen = new Set<string>();
  const sources: SourceRef[] = [];
  for (const s of sections.flatMap((x) => x.sources)) {
    const key = s.url ?? s.path ?? s.title;
    if (!seen.has(key) && seen.add(key)) sources.push(s);
  }
  if (sources.length === 0) return undefined;
  return `Sources: ${sources.map((s) => (s.url ? `${s.title} (${s.url})` : s.title)).join(" · ")}`;
}

/** A bot reply as the terminal shows it: the answer, then its sources. */
export function renderReplyForTerminal(reply: { text: string; sections: readonly ReplySection[] }, options: TerminalOptions = {}): string {
  const sources = sourcesLine(reply.sections);
  return [renderMarkdown(reply.text, options), sources].filter(Boolean).join("\n\n");
}
