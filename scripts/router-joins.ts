/**
 * Ways of joining two requests into one message, for measuring the offline router on
 * two-intent messages (`scripts/cv.ts`, `bench/route.ts`). Three disjoint sets:
 *
 * - `TUNING_JOINS`: the six joins the router's first priors were chosen on.
 * - `SCORING_JOINS`: 24 joins reported on by an earlier change. Its misses were read to find why
 *   the segmenter missed joins, and the present settings were chosen on them together with
 *   `TUNING_JOINS`: both are tuning sets now.
 * - `TEST_JOINS`: 30 joins written before the present settings were tried and never tuned on
 *   (only their total and per-join figures are printed). Ordinary ways people join two requests:
 *   mid-sentence with no full stop, lower case, no punctuation at all, emoji, dashes, bullets,
 *   numbered lists, questions joined by "and", parentheses, "P.S.", upper case.
 *
 * `cue: false` marks joins whose connector the segmenter's cue list does not have.
 */

export interface Join {
  name: string;
  /** Whether the connector is one of the segmenter's cues (or plain punctuation it knows). */
  cue: boolean;
  join: (a: string, b: string) => string;
}

export const TUNING_JOINS: Join[] = [
  { name: "…. Also, …", cue: true, join: (a, b) => `${bare(a)}. Also, ${b}` },
  { name: "…, but …", cue: true, join: (a, b) => `${bare(a)}, but ${b}` },
  { name: "… btw …", cue: true, join: (a, b) => `${bare(a)} btw ${b}` },
  { name: "new line", cue: true, join: (a, b) => `${a}\n${b}` },
  { name: "… and also …", cue: true, join: (a, b) => `${bare(a)} and also ${b}` },
  { name: "… and …", cue: true, join: (a, b) => `${bare(a)} and ${lower(b)}` },
];

export const SCORING_JOINS: Join[] = [
  { name: "…, and …", cue: true, join: (a, b) => `${bare(a)}, and ${lower(b)}` },
  { name: "… plus …", cue: true, join: (a, b) => `${bare(a)} plus ${lower(b)}` },
  { name: "…; …", cue: true, join: (a, b) => `${bare(a)}; ${lower(b)}` },
  { name: "… - …", cue: true, join: (a, b) => `${bare(a)} - ${lower(b)}` },
  { name: "…! …", cue: true, join: (a, b) => `${bare(a)}! ${b}` },
  { name: "…? …", cue: true, join: (a, b) => `${bare(a)}? ${b}` },
  { name: "…. oh and …", cue: true, join: (a, b) => `${bare(a)}. oh and ${lower(b)}` },
  { name: "…. Separately, …", cue: true, join: (a, b) => `${bare(a)}. Separately, ${lower(b)}` },
  { name: "… also …", cue: true, join: (a, b) => `${bare(a)} also ${lower(b)}` },
  { name: "…, …", cue: true, join: (a, b) => `${bare(a)}, ${lower(b)}` },
  { name: "… … (nothing between)", cue: false, join: (a, b) => `${bare(a)} ${lower(b)}` },
  { name: "… as well as …", cue: false, join: (a, b) => `${bare(a)} as well as ${lower(b)}` },
  { name: "…. On another note, …", cue: false, join: (a, b) => `${bare(a)}. On another note, ${lower(b)}` },
  { name: "…. One more question: …", cue: false, join: (a, b) => `${bare(a)}. One more question: ${lower(b)}` },
  { name: "… & …", cue: false, join: (a, b) => `${bare(a)} & ${lower(b)}` },
  { name: "… + …", cue: false, join: (a, b) => `${bare(a)} + ${lower(b)}` },
  { name: "…, while I'm at it …", cue: false, join: (a, b) => `${bare(a)}, while I'm at it ${lower(b)}` },
  { name: "… not to mention …", cue: false, join: (a, b) => `${bare(a)} not to mention ${lower(b)}` },
  { name: "…. Unrelated, …", cue: false, join: (a, b) => `${bare(a)}. Unrelated, ${lower(b)}` },
  { name: "… and I was also wondering …", cue: false, join: (a, b) => `${bare(a)} and I was also wondering ${lower(b)}` },
  { name: "…. Question 2: …", cue: false, join: (a, b) => `${bare(a)}. Question 2: ${b}` },
  { name: "… … (ellipsis)", cue: false, join: (a, b) => `${bare(a)}... ${lower(b)}` },
  { name: "… / …", cue: false, join: (a, b) => `${bare(a)} / ${lower(b)}` },
  { name: "… and secondly …", cue: false, join: (a, b) => `${bare(a)} and secondly ${lower(b)}` },
];

export const TEST_JOINS: Join[] = [
  { name: "… oh also …", cue: true, join: (a, b) => `${bare(a)} oh also ${lower(b)}` },
  { name: "…, btw …", cue: true, join: (a, b) => `${bare(a)}, btw ${lower(b)}` },
  { name: "blank line", cue: true, join: (a, b) => `${a}\n\n${b}` },
  { name: "…!! …", cue: true, join: (a, b) => `${bare(a)}!! ${b}` },
  { name: "… 🙏 …", cue: false, join: (a, b) => `${bare(a)} 🙏 ${b}` },
  { name: "…? and …?", cue: true, join: (a, b) => `${bare(a)}? and ${lower(bare(b))}?` },
  { name: "… — …", cue: true, join: (a, b) => `${bare(a)} — ${lower(b)}` },
  { name: "… and one more thing, …", cue: true, join: (a, b) => `${bare(a)} and one more thing, ${lower(b)}` },
  { name: "…. Another thing: …", cue: false, join: (a, b) => `${bare(a)}. Another thing: ${lower(b)}` },
  { name: "… (also …)", cue: true, join: (a, b) => `${bare(a)} (also ${lower(bare(b))})` },
  { name: "…, plus …", cue: true, join: (a, b) => `${bare(a)}, plus ${lower(b)}` },
  { name: "… ALSO …", cue: true, join: (a, b) => `${bare(a)} ALSO ${lower(b)}` },
  { name: "…. P.S. …", cue: false, join: (a, b) => `${bare(a)}. P.S. ${b}` },
  { name: "1) … 2) …", cue: false, join: (a, b) => `1) ${a} 2) ${b}` },
  { name: "bullets", cue: false, join: (a, b) => `- ${a}\n- ${b}` },
  { name: "… :) …", cue: false, join: (a, b) => `${bare(a)} :) ${b}` },
  { name: "…. Oh, and …", cue: true, join: (a, b) => `${bare(a)}. Oh, and ${lower(b)}` },
  { name: "…... and …", cue: true, join: (a, b) => `${bare(a)}... and ${lower(b)}` },
  { name: "…. Also: …", cue: true, join: (a, b) => `${bare(a)}. Also: ${lower(b)}` },
  { name: "… and then …", cue: true, join: (a, b) => `${bare(a)} and then ${lower(b)}` },
  { name: "… in addition …", cue: true, join: (a, b) => `${bare(a)} in addition ${lower(b)}` },
  { name: "… and another question …", cue: false, join: (a, b) => `${bare(a)} and another question ${lower(b)}` },
  { name: "…. Last thing - …", cue: false, join: (a, b) => `${bare(a)}. Last thing - ${lower(b)}` },
  { name: "… also wanted to ask …", cue: true, join: (a, b) => `${bare(a)} also wanted to ask ${lower(b)}` },
  { name: "…. And …", cue: true, join: (a, b) => `${bare(a)}. And ${lower(b)}` },
  { name: "all lower case, no punctuation", cue: false, join: (a, b) => `${plain(a)} ${plain(b)}` },
  { name: "… & also …", cue: true, join: (a, b) => `${bare(a)} & also ${lower(b)}` },
  { name: "… and what about …", cue: false, join: (a, b) => `${bare(a)} and what about ${lower(b)}` },
  { name: "… | …", cue: false, join: (a, b) => `${bare(a)} | ${lower(b)}` },
  { name: "…, and also, …", cue: true, join: (a, b) => `${bare(a)}, and also, ${lower(b)}` },
];

/** Lower case, punctuation dropped: how some people type on a phone. */
function plain(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}\s']+/gu, " ").replace(/\s+/g, " ").trim();
}

function bare(text: string): string {
  return text.replace(/[\s.!?]+$/, "");
}

function lower(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
