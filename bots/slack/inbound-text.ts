import { CONTROL_CHARACTERS } from "../../src/types.ts";

/** Dropped from Slack text: never part of what a person typed. */
const EVERY_CONTROL_CHARACTER = new RegExp(CONTROL_CHARACTERS.source, "g");
/**
 * Slack message text → the plain text the core reads. Slack sends mrkdwn with control sequences
 * (`<@U123>`, `<#C1|general>`, `<https://x|label>`, `<!here>`) and `&`, `<`, `>` as entities; the
 * router and the workers should see what the user saw, without the bot's own mention.
 */
export function slackTextToPlain(text: string, botUserId?: string): string {
  const plain = text.replace(/<([^<>]*)>/g, (_match, inner: string) => {
    const bar = inner.indexOf("|");
    const target = bar === -1 ? inner : inner.slice(0, bar);
    const label = bar === -1 ? undefined : inner.slice(bar + 1);
    if (target.startsWith("@")) {
      if (botUserId !== undefined && target === `@${botUserId}`) return "";
      return label ? `@${label.replace(/^@/, "")}` : target;
    }
    if (target.startsWith("#")) return label ? `#${label}` : target;
    if (target.startsWith("!")) {
      // <!here>, <!channel>, <!subteam^S1|@team>, <!date^…|fallback>
      if (label) return label.startsWith("@") || target.startsWith("!date") ? label : `@${label}`;
      return `@${target.slice(1).split("^")[0] ?? ""}`;
    }
    if (label === undefined || label === target) return target;
    const bare = target.replace(/^(https?:\/\/|mailto:)/, "");
    return label === bare ? target : `${label} (${target})`;
  });
  return plain
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(EVERY_CONTROL_CHARACTER, "")
    .replace(/[ \t]+\n/g, "\n")
    .replace(/^[ \t]+/, "")
    .trim();
}

/** True when the text addresses the bot with `<@BOT>` (Slack also sends an `app_mention` then). */
export function mentionsUser(text: string, userId: string): boolean {
  return text.includes(`<@${userId}>`) || text.includes(`<@${userId}|`);
}
