/**
 * Ways of joining two requests into one message, for measuring the offline router on
 * two-intent messages (`scripts/cv.ts`, `bench/route.ts`). Two disjoint sets:
 *
 * - `TUNING_JOINS`: the six joins the router's priors were chosen on.
 * - `SCORING_JOINS`: the joins the figures are reported on, never tuned on. Many connectors and
 *   punctuation styles, a good part of them words the segmenter's cue list does not have ("as well
 *   as", "on another note", "&"), joins with no full stop, mid-sentence, lower case, or with
 *   nothing at all between the two requests. `cue: false` marks those the code has no cue for.
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

function bare(text: string): string {
  return text.replace(/[\s.!?]+$/, "");
}

function lower(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
