import { LRUCache } from "lru-cache";
import slackify from "slackify-markdown";

/**
 * Markdown → Slack mrkdwn.
 *
 * slackify-markdown (remark underneath) does the conversion: `**bold**` → `*bold*`, `_it_`,
 * `~~x~~` → `~x~`, `[text](url)` → `<url|text>`, headings → bold lines, `- item` → `•   item`,
 * fenced code without the language tag. Its output was checked and has three gaps this module
 * closes, because a reply can echo what a user typed:
 *
 * - raw HTML passes through untouched, so `<!channel>` in a reply would ping the whole channel
 *   and `<script>` would be read as a Slack control sequence;
 * - code spans and blocks are not entity-escaped (`a < b` inside code breaks the message);
 * - only the last `>` of a line's text is escaped.
 *
 * After conversion every `<` that does not open a link (`<https://…|…>`, `<mailto:…>`) or a user or
 * channel reference (`<@U1>`, `<#C1>`) is escaped, so broadcast mentions (`<!here>`, `<!channel>`)
 * can never come out of a reply.
 */
export function markdownToMrkdwn(markdown: string): string {
  if (markdown.trim() === "") return "";
  if (isPlainLine(markdown)) return markdown.replace(/\s+$/, "");
  let mrkdwn = converted.get(markdown);
  if (mrkdwn === undefined) {
    mrkdwn = hardenMrkdwn(slackify(markdown)).replace(/\s+$/, "");
    converted.set(markdown, mrkdwn);
  }
  return mrkdwn;
}

/**
 * One line of words and punctuation that markdown reads as nothing but text: slackify gives it back
 * as it is (checked against it in test/slack/mrkdwn.test.ts), and remark's ~0.7 ms for a text seen
 * for the first time is saved: "Thanks, Ana!", a short answer, a note. It starts with a letter (no
 * list, heading or quote), has no character of markup or escaping, no `www.` (an autolink), and no
 * line break (line starts and blank lines are read).
 */
const PLAIN_LINE = /^[A-Za-z][A-Za-z0-9 ,.?!'’:;()-]*$/;

function isPlainLine(text: string): boolean {
  return PLAIN_LINE.test(text) && !/www\./i.test(text);
}

/**
 * Texts converted lately. remark parses a reply in ~0.5 ms of CPU (a tenth of a turn's), and
 * replies repeat: the offline engine answers from a fixed set of knowledge-base sections, and
 * notes and footers are fixed sentences. The conversion is a pure function of the text, so a
 * repeated text is taken from here; bounded by entries and by characters (keys and values).
 */
const converted = new LRUCache<string, string>({ max: 1000, maxSize: 4_000_000, sizeCalculation: (value, key) => value.length + key.length });

/** Escapes the three characters Slack treats as markup (`&`, `<`, `>`) in plain text. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A link in mrkdwn, or the escaped label when the URL is not http(s)/mailto. */
export function mrkdwnLink(url: string | undefined, label: string): string {
  const safeLabel = escapeMrkdwn(label).replace(/\|/g, "¦");
  if (url === undefined || !URL.canParse(url)) return safeLabel;
  const parsed = new URL(url);
  if (!["http:", "https:", "mailto:"].includes(parsed.protocol)) return safeLabel;
  const href = parsed.href
    .replace(/\|/g, "%7C")
    .replace(/</g, "%3C")
    .replace(/>/g, "%3E")
    .replace(/&/g, "&amp;");
  return `<${href}|${safeLabel}>`;
}

/**
 * One pass over slackify's output. Code (fences and spans, as slackify writes them) is escaped
 * whole. In prose, links, user/channel references, entities and a blockquote marker at the start of
 * a line are kept; any other `<`, `>` or `&` is escaped. (slackify escapes the `>` closing a
 * reference such as `<#C1|general>`; it is restored.)
 */
const TOKEN =
  /```[\s\S]*?```|`[^`\n]+`|<(?:https?:\/\/|mailto:)[^\s<>|]+(?:\|[^<>\n]*)?>|<[@#][A-Z0-9]+(?:\|[^<>&\n]*)?(?:>|&gt;)|&(?:amp|lt|gt);|[<>&]/g;

function hardenMrkdwn(mrkdwn: string): string {
  return mrkdwn.replace(TOKEN, (token: string, offset: number) => {
    if (token === ">") return offset === 0 || mrkdwn[offset - 1] === "\n" ? ">" : "&gt;";
    if (token === "<") return "&lt;";
    if (token === "&") return "&amp;";
    if (token.startsWith("`")) {
      const fence = token.startsWith("```") ? "```" : "`";
      return fence + escapeMrkdwn(token.slice(fence.length, token.length - fence.length)) + fence;
    }
    if (token.startsWith("<@") || token.startsWith("<#")) return token.replace(/&gt;$/, ">");
    // `&` inside a link's URL or label is written as an entity too, as Slack itself sends it.
    if (token.startsWith("<")) return token.replace(/&(?!amp;|lt;|gt;)/g, "&amp;");
    return token;
  });
}
