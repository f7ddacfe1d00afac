/**
 * Hard-wrapped markdown into paragraphs. Articles are written wrapped at ~100 columns; in markdown
 * a single line break inside a paragraph is only a space, but Slack, Discord and a terminal show
 * it as a break, so a sentence would be cut mid-line. This joins the lines of every paragraph
 * (also inside list items and block quotes) and leaves everything else byte for byte: list
 * structure, code blocks, tables, headings and hard breaks (two trailing spaces or a backslash).
 *
 * The markdown is parsed (mdast-util-from-markdown with GFM, so a table is a table and not a
 * paragraph); only the source ranges of paragraph nodes are rewritten.
 */
import type { Nodes, Paragraph } from "mdast";
import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { gfm } from "micromark-extension-gfm";

/** `markdown` with the soft line breaks of its paragraphs replaced by spaces. */
export function unwrapMarkdown(markdown: string): string {
  if (!markdown.includes("\n")) return markdown;
  const tree = fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
  const ranges: Array<{ start: number; end: number; quoted: boolean }> = [];
  collectParagraphs(tree, false, ranges);
  let out = markdown;
  // From the end, so earlier offsets stay valid.
  for (const { start, end, quoted } of ranges.sort((a, b) => b.start - a.start)) {
    out = out.slice(0, start) + joinLines(out.slice(start, end), quoted) + out.slice(end);
  }
  return out;
}

function collectParagraphs(node: Nodes, quoted: boolean, out: Array<{ start: number; end: number; quoted: boolean }>): void {
  if (node.type === "paragraph") {
    const range = rangeOf(node);
    if (range) out.push({ ...range, quoted });
    return;
  }
  if ("children" in node) {
    for (const child of node.children) collectParagraphs(child, quoted || node.type === "blockquote", out);
  }
}

function rangeOf(node: Paragraph): { start: number; end: number } | undefined {
  const start = node.position?.start.offset;
  const end = node.position?.end.offset;
  return start !== undefined && end !== undefined && end > start ? { start, end } : undefined;
}

/**
 * One paragraph's source on one line. A line ending in a hard break keeps its break; a
 * continuation line loses its indentation (and, in a block quote, its `>` markers, which the
 * first line keeps).
 */
function joinLines(source: string, quoted: boolean): string {
  const lines = source.split("\n");
  let out = lines[0] ?? "";
  for (const raw of lines.slice(1)) {
    const line = (quoted ? raw.replace(/^[ \t]*(?:>[ \t]?)+/, "") : raw).replace(/^[ \t]+/, "");
    if (/( {2,}|\\)$/.test(out)) out += `\n${raw}`;
    else out = `${out.replace(/[ \t]+$/, "")} ${line}`;
  }
  return out;
}
