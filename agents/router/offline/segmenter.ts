/**
 * Where a message could be cut into two requests. Every word boundary is a candidate: the
 * connector list below only sets a prior (how likely a new request starts there), so a join
 * written with words or punctuation it does not know is still cut when the classifier says the
 * two sides need different routes (`decide.ts` weighs the evidence).
 */

/** A word of the message, with where it is in the original text. */
export interface Token {
  text: string;
  start: number;
  end: number;
}

/**
 * How a candidate cut is marked: a new line, a full stop (or ? !), a clause mark (, ; : a dash),
 * an additive cue word ("also", "and", "btw", …), a contrast ("but", "however"), or nothing but
 * a space between two words.
 */
export type CutKind = "line" | "sentence" | "clause" | "cue" | "contrast" | "word";

/** A candidate cut: the left side is `tokens[..at)`, the right `tokens[resume..)`. */
export interface Cut {
  at: number;
  /** Past the cue words that start the right side ("and also", "by the way"): they are dropped. */
  resume: number;
  kind: CutKind;
}

/** Words, numbers and contractions ("can't"); everything between them is a gap. */
const TOKEN = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

export function tokenize(text: string): Token[] {
  return [...text.matchAll(TOKEN)].map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length }));
}

/**
 * Words that often open another request; multi-word ones as sequences. Only a prior: a cut is
 * made on the classifier's evidence about the two sides, never because a word is here.
 */
const ADDITIVE_CUES: readonly string[][] = [
  "and", "also", "plus", "btw", "additionally", "then", "oh", "ps", "another", "separately", "secondly",
  "next", "furthermore", "moreover", "besides", "lastly", "finally", "anyway", "aside", "and also",
  "and btw", "and then", "by the way", "as well", "on top of that", "one more thing", "in addition",
  "apart from that", "other than that", "oh and", "and oh",
].map((c) => c.split(" "));

const CONTRAST_CUES: readonly string[][] = ["but", "however", "though", "although", "yet", "and but"].map((c) => c.split(" "));

/** Dots that end an abbreviation, not a sentence ("Mr. Jones", "e.g. the app"). */
const ABBREVIATION = /^(?:[a-z]|mr|mrs|ms|dr|st|vs|approx|etc|eg|ie|no)$/i;

/** The candidate cuts of a tokenized message, one per word boundary. */
export function candidateCuts(text: string, tokens: readonly Token[]): Cut[] {
  const cuts: Cut[] = [];
  for (let at = 1; at < tokens.length; at++) {
    const gap = text.slice(tokens[at - 1]!.end, tokens[at]!.start);
    const contrast = cueLength(tokens, at, CONTRAST_CUES);
    const additive = contrast > 0 ? 0 : cueLength(tokens, at, ADDITIVE_CUES);
    // A cue that is the whole right side ("…, and?") starts nothing.
    const resume = Math.min(at + Math.max(contrast, additive), tokens.length - 1);
    let kind: CutKind = "word";
    if (/\n/.test(gap)) kind = "line";
    else if (contrast > 0) kind = "contrast";
    else if (isSentenceEnd(gap, tokens[at - 1]!)) kind = "sentence";
    else if (additive > 0) kind = "cue";
    // Any other mark between two words (, ; : & + / - … brackets) sets off a clause, whatever
    // the mark: no list of them to keep.
    // ("acme.com", "e-mail", "3.5": a dot, dash or slash with no space is inside a word; the dot
    // of "Mr. Smith" is an abbreviation's.)
    else if (/[^\s'’]/u.test(gap) && !/^[.\-_@/:]+$/.test(gap) && !/^\.\s+$/.test(gap)) kind = "clause";
    cuts.push({ at, resume: resume > at ? resume : at, kind });
  }
  return cuts;
}

function isSentenceEnd(gap: string, before: Token): boolean {
  if (/[!?]/.test(gap)) return true;
  // A dot followed by a space ends a sentence unless it ends an abbreviation or initial;
  // "acme.com" or "3.5" (no space) do not.
  return /\.\s/.test(gap) || (/\.$/.test(gap.trimEnd()) && /\s/.test(gap)) ? !ABBREVIATION.test(before.text) : false;
}

/** How many tokens from `at` form the longest cue of `cues` (0: none). */
function cueLength(tokens: readonly Token[], at: number, cues: readonly string[][]): number {
  let best = 0;
  for (const cue of cues) {
    if (cue.length <= best || at + cue.length > tokens.length) continue;
    if (cue.every((w, k) => tokens[at + k]!.text.toLowerCase() === w)) best = cue.length;
  }
  return best;
}
