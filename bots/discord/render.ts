import { escapeMarkdown } from "discord.js";
import type { OutboundReply, ReplySection, SourceRef } from "../../src/types.ts";

/** At most this many sources are listed under an answer. */
export const MAX_SOURCES = 8;

/**
 * Turns a reply into Discord message content (before splitting).
 *
 * Several workers' answers are shown as one message, not as embeds: the core's `text` is already
 * the merged answer; the sources of every section follow as one small line of links. Embeds were
 * the alternative and lost: users who turned off "Show embeds and link previews" see nothing of an
 * embed, embeds are not read in push notifications, and they cannot be continued across the
 * 2,000-character split the way plain text can.
 */
export function renderReply(reply: Pick<OutboundReply, "text" | "sections" | "author">): string {
  let body = toDiscordMarkdown(reply.text.trim());
  if (body === "") body = reply.sections.map(renderSection).join("\n\n");
  if (reply.author.kind === "agent") {
    body = `**${escapeMarkdown(reply.author.name)}** (support team):\n${body}`;
  }
  const sources = collectSources(reply.sections);
  if (sources.length > 0) {
    body += `\n\n-# Sources: ${sources.map(renderSource).join(" · ")}`;
  }
  return body;
}

function renderSection(section: ReplySection): string {
  return `**${escapeMarkdown(section.title)}**\n${toDiscordMarkdown(section.text.trim())}`;
}

/** Discord renders headings #, ## and ### only; deeper ones become bold lines. */
function toDiscordMarkdown(markdown: string): string {
  return markdown.replace(/^#{4,6}[ \t]+(.+?)[ \t#]*$/gm, "**$1**");
}

function collectSources(sections: ReplySection[]): SourceRef[] {
  const seen = new Set<string>();
  const sources: SourceRef[] = [];
  for (const source of sections.flatMap((s) => s.sources)) {
    const key = source.url ?? source.path ?? source.title;
    if (seen.has(key)) continue;
    seen.add(key);
    sources.push(source);
  }
  return sources.slice(0, MAX_SOURCES);
}

function renderSource(source: SourceRef): string {
  const title = escapeMarkdown(source.title).replace(/[[\]]/g, "\\$&");
  // Angle brackets keep Discord from unfurling a preview card for every source.
  return source.url && /^https?:\/\//.test(source.url) ? `[${title}](<${source.url}>)` : title;
}
