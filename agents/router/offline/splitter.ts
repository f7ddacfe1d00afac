/**
 * Cuts a message into the parts that could each ask for something: lines, sentences, clauses
 * after "but", "btw", "also", "plus", ";". It only proposes cuts; `decide.ts` keeps a cut when the
 * parts on either side need different routes, so a cut inside one request costs nothing when both
 * sides route the same way.
 */

/**
 * How a part is joined to the one before it. `addition` ("also", "btw", "plus", ";", a new line)
 * announces another request; `contrast` ("but") usually goes on about the same one ("money
 * deducted but order not placed"); `sentence` is a plain full stop.
 */
export type Boundary = "start" | "addition" | "sentence" | "contrast" | "conjunction";

export interface MessagePart {
  text: string;
  /** How this part follows the previous one (`start` for the first). */
  boundary: Boundary;
}

/** Dots that end an abbreviation, not a sentence ("Mr. Jones", "e.g. the app"). */
const ABBREVIATION = /(?:^|\s)(?:[a-z]|mr|mrs|ms|dr|st|vs|approx|e\.g|i\.e)\.$/i;

/** Clause connectors that commonly start a second request inside one sentence. */
const CONNECTOR = new RegExp(
  [
    String.raw`\s*,?\s+but\b[,:]?\s*`,
    String.raw`\s*,?\s+(?:and\s+)?(?:btw|by\s+the\s+way)\b[,:]?\s*`,
    String.raw`\s+and\s+also\b[,:]?\s*`,
    // "also"/"plus" mid-sentence ("can I also…") modify one request; only after a comma do they
    // start another.
    String.raw`\s*,\s*(?:and\s+)?(?:also|plus|additionally)\b[,:]?\s*`,
    String.raw`\s*;\s*`,
    // A bare "and" mostly joins parts of one request ("cancel and refund"), so it gets a low
    // prior: it is cut only when both sides clearly need different routes.
    String.raw`\s*,?\s+and\s+(?!also\b)`,
  ].join("|"),
  "gi",
);

/** A connector left at the start of a part once the text before it was cut off. */
const LEADING_CONNECTOR =
  /^(?:(?:and|but|also|btw|by\s+the\s+way|plus|additionally|oh|so|ps|p\.s\.)\b[,:.]?\s*)+/i;

/** Parts of a message, in order, connectors removed; one part when there is nothing to cut. */
export function splitIntents(text: string): MessagePart[] {
  const parts: MessagePart[] = [];
  let pending: Boundary = "start";
  const push = (raw: string, boundary: Boundary) => {
    const part = raw.trim().replace(LEADING_CONNECTOR, "").trim();
    // Parts of pure punctuation ("??", "...") ask nothing.
    if (!/[\p{L}\p{N}]/u.test(part)) return;
    parts.push({ text: part, boundary: parts.length === 0 ? "start" : refine(boundary, raw) });
  };
  for (const line of text.split(/\n+/)) {
    pending = "addition";
    for (const [s, sentence] of sentences(line).entries()) {
      if (s > 0) pending = "sentence";
      let at = 0;
      for (const m of sentence.matchAll(CONNECTOR)) {
        push(sentence.slice(at, m.index), pending);
        pending = /\bbut\b/i.test(m[0]) ? "contrast" : /^\s*,?\s+and\s+$/i.test(m[0]) ? "conjunction" : "addition";
        at = m.index + m[0].length;
      }
      push(sentence.slice(at), pending);
    }
  }
  return parts;
}

/** A sentence that opens with "Also," or "But" is joined by that word, not by the full stop. */
function refine(boundary: Boundary, raw: string): Boundary {
  if (boundary !== "sentence") return boundary;
  if (/^\s*but\b/i.test(raw)) return "contrast";
  if (/^\s*(?:and\s+)?(?:also|btw|by\s+the\s+way|plus|additionally|p\.?s\.?)\b/i.test(raw)) return "addition";
  return boundary;
}

function sentences(line: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (const m of line.matchAll(/[.!?]+\s+/g)) {
    const end = m.index + m[0].length;
    const sentence = line.slice(start, end).trim();
    if (ABBREVIATION.test(sentence)) continue;
    out.push(sentence);
    start = end;
  }
  out.push(line.slice(start));
  return out;
}
