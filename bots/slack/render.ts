import type { types } from "@slack/bolt";
import type { OutboundReply, ReplySection, SourceRef } from "../../src/types.ts";
import { escapeMrkdwn, markdownToMrkdwn, mrkdwnLink } from "./mrkdwn.ts";

/**
 * Slack's limits for one `chat.postMessage` (docs.slack.dev, Block Kit reference): a section's
 * text is at most 3,000 characters, a message at most 50 blocks, and a message's text at most
 * 40,000 characters; longer replies become several messages in the same thread.
 */
export const SLACK_LIMITS = {
  sectionText: 3000,
  blocksPerMessage: 50,
  messageChars: 40_000,
  /** The `text` of a message with blocks is only the notification / screen-reader fallback. */
  fallbackText: 3000,
} as const;

export type ReplyBlock = types.SectionBlock | types.ContextBlock | types.DividerBlock;

/** One `chat.postMessage` worth of reply. */
export interface SlackMessage {
  text: string;
  blocks: ReplyBlock[];
}

export interface RenderOptions {
  /** A user to mention at the top (the asker of a `/support` question, who is not in the thread yet). */
  mentionUserId?: string;
}

/**
 * Renders a reply as Block Kit messages: one answer, its text, laid out by its sections. When
 * several workers answered, the text is cut at each section's bold title line (the offline
 * answer, and a model's merged answer, are headed so) and each part is shown under its title with
 * its sources as links under it, parts divided; a text not headed that way is shown whole, with
 * every section's sources under it. It is never replaced by the sections: the text is the answer
 * (a merged one included). A relayed agent reply is introduced with the agent's name.
 */
export function renderReply(reply: OutboundReply, options: RenderOptions = {}): SlackMessage[] {
  let prefix = "";
  if (options.mentionUserId !== undefined) prefix += `<@${options.mentionUserId}> `;
  if (reply.author.kind === "agent") prefix += `*${escapeMrkdwn(reply.author.name)} (support):* `;

  const blocks: ReplyBlock[] = [];
  const footer = reply.footer?.trim() ?? "";
  const body = bodyOf(reply.text, footer);
  const parts = reply.sections.length >= 2 ? (body === "" ? reply.sections.map((section) => ({ section, text: section.text })) : partsByTitle(body, reply.sections)) : undefined;
  if (parts) {
    parts.forEach(({ section, text }, index) => {
      if (index > 0) blocks.push({ type: "divider" });
      const head = `${index === 0 ? prefix : ""}*${escapeMrkdwn(section.title)}*`;
      const mrkdwn = markdownToMrkdwn(text);
      blocks.push(...sectionBlocks(mrkdwn === "" ? head : `${head}\n${mrkdwn}`));
      const sources = sourcesBlock(section.sources);
      if (sources) blocks.push(sources);
    });
    if (footer) {
      blocks.push({ type: "divider" });
      blocks.push(...sectionBlocks(markdownToMrkdwn(footer)));
    }
  } else {
    const only: ReplySection | undefined = reply.sections.length === 1 ? reply.sections[0] : undefined;
    const text = reply.text.trim() !== "" ? reply.text : (only?.text ?? "");
    const withPrefix = (prefix + markdownToMrkdwn(text)).trim();
    if (withPrefix !== "") blocks.push(...sectionBlocks(withPrefix));
    const sources = sourcesBlock(uniqueSources(reply.sections));
    if (sources) blocks.push(sources);
  }
  return packMessages(blocks);
}

/** The reply's text without its footer (the notes at its end, shown after the sections). */
function bodyOf(text: string, footer: string): string {
  const trimmed = text.trim();
  return footer !== "" && trimmed.endsWith(footer) ? trimmed.slice(0, trimmed.length - footer.length).trim() : trimmed;
}

/**
 * The text cut at the sections' title lines (`**Title**` alone on a line), in the sections'
 * order; undefined unless every title heads a part and nothing comes before the first.
 */
function partsByTitle(body: string, sections: readonly ReplySection[]): Array<{ section: ReplySection; text: string }> | undefined {
  const lines = body.split("\n");
  const starts: number[] = [];
  let from = 0;
  for (const section of sections) {
    const at = lines.findIndex((line, i) => i >= from && isTitleLine(line, section.title));
    if (at < 0) return undefined;
    starts.push(at);
    from = at + 1;
  }
  if (lines.slice(0, starts[0]).some((l) => l.trim() !== "")) return undefined;
  return sections.map((section, i) => ({
    section,
    text: lines.slice((starts[i] ?? 0) + 1, starts[i + 1] ?? lines.length).join("\n").trim(),
  }));
}

function isTitleLine(line: string, title: string): boolean {
  const t = line.trim();
  return t === `**${title}**` || t === `## ${title}` || t === `### ${title}`;
}

function uniqueSources(sections: readonly ReplySection[]): SourceRef[] {
  const seen = new Set<string>();
  return sections.flatMap((s) => s.sources).filter((s) => {
    const key = s.url ?? s.path ?? s.title;
    return !seen.has(key) && Boolean(seen.add(key));
  });
}

function sectionBlocks(mrkdwn: string): types.SectionBlock[] {
  return splitMrkdwn(mrkdwn, SLACK_LIMITS.sectionText).map((text) => ({
    type: "section",
    text: { type: "mrkdwn", text },
  }));
}

function sourcesBlock(sources: SourceRef[]): types.ContextBlock | undefined {
  if (sources.length === 0) return undefined;
  const links = sources.map((s) => mrkdwnLink(s.url, s.title || s.path || "source"));
  let text = "Sources: ";
  for (const [i, link] of links.entries()) {
    const more = ` · +${links.length - i} more`;
    const next = (i === 0 ? "" : " · ") + link;
    if (text.length + next.length + more.length > SLACK_LIMITS.sectionText) {
      text += more;
      break;
    }
    text += next;
  }
  return { type: "context", elements: [{ type: "mrkdwn", text }] };
}

function blockText(block: ReplyBlock): string {
  if (block.type === "section") return block.text?.text ?? "";
  if (block.type === "context") {
    return block.elements.map((e) => ("text" in e && typeof e.text === "string" ? e.text : "")).join(" ");
  }
  return "";
}

/** Fills messages up to 50 blocks and 40,000 characters each; a divider never starts a message. */
function packMessages(blocks: ReplyBlock[]): SlackMessage[] {
  const messages: ReplyBlock[][] = [];
  let current: ReplyBlock[] = [];
  let chars = 0;
  for (const block of blocks) {
    const size = blockText(block).length;
    if (
      current.length > 0 &&
      (current.length >= SLACK_LIMITS.blocksPerMessage || chars + size > SLACK_LIMITS.messageChars)
    ) {
      messages.push(current);
      current = [];
      chars = 0;
    }
    if (current.length === 0 && block.type === "divider") continue;
    current.push(block);
    chars += size;
  }
  if (current.length > 0) messages.push(current);
  return messages.map((list) => ({
    blocks: list,
    text: truncateMrkdwn(
      list.map(blockText).filter(Boolean).join("\n\n"),
      SLACK_LIMITS.fallbackText,
    ),
  }));
}

/**
 * Splits mrkdwn into pieces of at most `limit` characters: between paragraphs when it can, then
 * between lines, then between words, and only as a last resort inside a word. A code block that
 * has to be cut is closed and reopened so every piece renders on its own; a link is never cut.
 */
export function splitMrkdwn(text: string, limit: number = SLACK_LIMITS.sectionText): string[] {
  const pieces = paragraphs(text).flatMap((p) => (p.length <= limit ? [p] : splitParagraph(p, limit)));
  return pack(pieces, "\n\n", limit);
}

/** Paragraphs separated by blank lines; a code block stays one paragraph even with blank lines. */
function paragraphs(text: string): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let inFence = false;
  for (const line of text.split("\n")) {
    if (line.trimStart().startsWith("```")) {
      // A line that opens and closes a fence (```x```) leaves the state as it was.
      const fences = line.split("```").length - 1;
      if (fences % 2 === 1) inFence = !inFence;
    }
    if (!inFence && line.trim() === "") {
      if (current.length > 0) out.push(current.join("\n"));
      current = [];
      continue;
    }
    current.push(line);
  }
  if (current.length > 0) out.push(current.join("\n"));
  return out;
}

function splitParagraph(paragraph: string, limit: number): string[] {
  const isCode = paragraph.startsWith("```") && paragraph.endsWith("```") && paragraph.length > 6;
  if (isCode) {
    const inner = paragraph.slice(3, -3).replace(/^\n/, "").replace(/\n$/, "");
    const room = limit - "```\n\n```".length;
    const lines = inner.split("\n").flatMap((l) => (l.length <= room ? [l] : hardCut(l, room)));
    return pack(lines, "\n", room).map((chunk) => "```\n" + chunk + "\n```");
  }
  const lines = paragraph.split("\n").flatMap((l) => (l.length <= limit ? [l] : splitWords(l, limit)));
  return pack(lines, "\n", limit);
}

function splitWords(line: string, limit: number): string[] {
  const tokens = line.match(/<[^<>]*>|[^\s<]+|<|\s+/g) ?? [line];
  const words = tokens.flatMap((t) => (t.length <= limit ? [t] : hardCut(t, limit)));
  const out: string[] = [];
  let current = "";
  for (const word of words) {
    if (current.length + word.length <= limit) {
      current += word;
    } else {
      if (current.trim() !== "") out.push(current.trimEnd());
      current = word.trimStart();
    }
  }
  if (current.trim() !== "") out.push(current.trimEnd());
  return out;
}

/** Cuts at `limit`, backing off so an entity (`&amp;`) or a surrogate pair is not split. */
function hardCut(text: string, limit: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let at = limit;
    const amp = rest.lastIndexOf("&", at - 1);
    if (amp > 0 && at - amp < 5 && rest.indexOf(";", amp) >= at) at = amp;
    const code = rest.charCodeAt(at);
    if (code >= 0xdc00 && code <= 0xdfff) at -= 1;
    out.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest) out.push(rest);
  return out;
}

function pack(pieces: string[], separator: string, limit: number): string[] {
  const out: string[] = [];
  let current: string | undefined;
  for (const piece of pieces) {
    if (current === undefined) current = piece;
    else if (current.length + separator.length + piece.length <= limit) current += separator + piece;
    else {
      out.push(current);
      current = piece;
    }
  }
  if (current !== undefined) out.push(current);
  return out;
}

/** Shortens mrkdwn for a notification without leaving half a link or entity behind. */
export function truncateMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  const open = cut.lastIndexOf("<");
  if (open > cut.lastIndexOf(">")) cut = cut.slice(0, open);
  const amp = cut.lastIndexOf("&");
  if (amp > cut.lastIndexOf(";")) cut = cut.slice(0, amp);
  return `${cut.trimEnd()}…`;
}
