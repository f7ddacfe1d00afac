/**
 * Joins made up at random from parts, for fitting the cut model on many more ways of writing two
 * requests in one message than a hand-written list has (`scripts/fit-cuts.ts`, `scripts/cv.ts`):
 * how the first request ends (nothing, a comma, a full stop, a dash, "pls", …), what comes
 * between (nothing, "and", "also", "plus", "can you also", "my other question is", …), how the
 * second starts (lower case or not), and how the whole is typed (all lower case with no
 * punctuation, doubled spaces, a typo in the connector).
 *
 * None of it is taken from the joins that are scored and never tuned on (`TEST_JOINS`,
 * `HELD_BACK_JOINS` in `scripts/router-joins.ts`): a style whose words between the requests are
 * one of theirs is never made, and a connector phrase found in theirs but in none of the fitting
 * joins' is left out (see {@link styledJoins}).
 */
import { CUT_FIT_JOINS, HELD_BACK_JOINS, SCORING_JOINS, TEST_JOINS, TUNING_JOINS, type Join } from "./router-joins.ts";
import { tokenize } from "../agents/router/offline/segmenter.ts";

/** How the first request ends (before the connector). */
const ENDS = ["", "", "", "", ".", ".", "?", "!", ",", ",", ",", ";", " -", " –", ":", "...", " !!", " ??", " :-)", " pls", " please", " thanks", " thx", " asap", " ok", " lol"];

/** What may come between two requests: ordinary words, none of them a cue the segmenter must know. */
const CONNECTORS = [
  "", "", "", "", "and", "and", "also", "also", "plus", "and also", "oh and", "btw", "and btw", "oh",
  "one more", "quick question", "also quick question", "second thing", "another one", "and another one",
  "and i also", "i also", "also i", "and can you", "can you also", "could you also", "and could you",
  "also can u", "and pls", "also pls", "also another issue", "another issue", "other thing",
  "and my other question", "my second question is", "i also want to ask", "i also wanted to know",
  "additionally", "apart from that", "other than that", "on another topic", "different question",
  "anyway", "anyways", "also one more", "along with that", "ok also", "okay so", "so also", "n",
  "&", "and pls also", "and", "and i have another question", "i have one more question", "also wondering",
  "and i was wondering", "second", "one more request", "also need", "and i need", "i need also",
  "and help", "also help me", "oh also please", "another request", "and my second issue",
  "also, quick one", "and a second thing", "as for another thing", "same for", "as well as",
  "together with", "and then also", "then", "afterwards", "and after that", "also a question",
];

function words(text: string): string[] {
  return tokenize(text.toLowerCase()).map((t) => t.text);
}

/** What a join writes between (and around) two requests, in lower case, spaces collapsed. */
function separator(join: Join): string {
  return join.join("Xqa", "Xqb").toLowerCase().replace(/\s+/g, " ").replace(/xqa|xqb/g, "|");
}

function contains(hay: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0) return false;
  for (let i = 0; i + needle.length <= hay.length; i++) if (needle.every((w, k) => hay[i + k] === w)) return true;
  return false;
}

const SCORED = [...TEST_JOINS, ...HELD_BACK_JOINS];
const FITTING = [...TUNING_JOINS, ...SCORING_JOINS, ...CUT_FIT_JOINS];
const scoredSeparators = new Set(SCORED.map(separator));
const scoredWords = SCORED.map((j) => words(separator(j)));
const fittingWords = FITTING.map((j) => words(separator(j)));

/** A connector phrase that only the scored joins have is not used (their words stay unseen). */
function allowed(phrase: string): boolean {
  const w = words(phrase);
  if (w.length === 0) return true;
  const inScored = scoredWords.some((s) => contains(s, w));
  const inFitting = fittingWords.some((s) => contains(s, w));
  return !inScored || inFitting;
}

export const USABLE_CONNECTORS = CONNECTORS.filter(allowed);

function bare(text: string): string {
  return text.replace(/[\s.!?]+$/, "");
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Lower case, punctuation dropped. */
function plain(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}\s']+/gu, " ").replace(/\s+/g, " ").trim();
}

/** One letter of a connector dropped or doubled (a typo), when it has a word of 3+ letters. */
function typo(phrase: string, rand: () => number): string {
  const at = [...phrase.matchAll(/\p{L}{3,}/gu)];
  if (at.length === 0) return phrase;
  const m = at[Math.floor(rand() * at.length)]!;
  const k = m.index! + 1 + Math.floor(rand() * (m[0].length - 1));
  return rand() < 0.5 ? phrase.slice(0, k) + phrase.slice(k + 1) : phrase.slice(0, k) + phrase[k] + phrase.slice(k);
}

function pick<T>(items: readonly T[], rand: () => number): T {
  return items[Math.floor(rand() * items.length)]!;
}

/**
 * `count` joins drawn at random (the same ones for the same seed), none with the separator of a
 * scored join (`TEST_JOINS`, `HELD_BACK_JOINS`) and none with a connector phrase only they have.
 */
export function styledJoins(count: number, rand: () => number): Join[] {
  const out: Join[] = [];
  for (let tries = 0; out.length < count && tries < count * 20; tries++) {
    const end = pick(ENDS, rand);
    let connector = pick(USABLE_CONNECTORS, rand);
    if (rand() < 0.1) connector = typo(connector, rand);
    // A connector opening a new sentence is written with a capital now and then.
    const sentence = /[.?!]$/.test(end);
    if (sentence && connector !== "" && rand() < 0.5) connector = connector.charAt(0).toUpperCase() + connector.slice(1);
    const comma = connector !== "" && /\p{L}$/u.test(connector) && rand() < 0.2 ? "," : "";
    const keepCase = rand() < (sentence ? 0.6 : 0.2);
    const allPlain = rand() < 0.12;
    const space = rand() < 0.05 ? "  " : " ";
    const middle = `${end}${space}${connector}${comma}${connector === "" ? "" : " "}`.replace(/^ +$/, " ");
    const join: Join = {
      name: `…${middle}…${allPlain ? " (lower case, no punctuation)" : ""}`,
      cue: false,
      join: allPlain ? (a, b) => plain(`${plain(a)}${middle}${plain(b)}`) : (a, b) => `${bare(a)}${middle}${keepCase ? b : lowerFirst(b)}`,
    };
    if (scoredSeparators.has(separator(join))) continue;
    out.push(join);
  }
  return out;
}
