import { Marked, type Tokens } from "marked";
import { SafeHtml, escapeHtml } from "./html.ts";

/** Links the console follows: web and mail only (no `javascript:`, no `data:`). */
function safeHref(href: string): string | undefined {
  try {
    const url = new URL(href);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Markdown as the user saw it (bold, lists, tables, links), rendered with marked for the
 * console. What marked would pass through untouched is escaped instead: raw HTML in a message
 * is shown as text, images as their alt text (the page loads nothing from elsewhere), and only
 * http(s) and mailto links become links.
 */
const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(token.text);
    },
    image(token: Tokens.Image): string {
      return escapeHtml(token.text);
    },
    link(token: Tokens.Link): string {
      const text = this.parser.parseInline(token.tokens);
      const href = safeHref(token.href);
      return href ? `<a href="${escapeHtml(href)}" rel="noopener noreferrer">${text}</a>` : text;
    },
  },
});

export function renderMarkdown(text: string): SafeHtml {
  return new SafeHtml(marked.parse(text, { async: false }).trim());
}
