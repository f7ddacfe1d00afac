/** Discord rejects message content longer than this (characters). */
export const DISCORD_MESSAGE_LIMIT = 2000;

interface Fence {
  /** Offset of the opening fence line. */
  start: number;
  /** Offset just after the closing fence line (or the end of the text when unclosed). */
  end: number;
  /** The opening line, e.g. "```ts", repeated when a block has to be continued. */
  opening: string;
  /** The bare marker, e.g. "```", used to close a block cut in two. */
  marker: string;
}

const FENCE_LINE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

function findFences(text: string): Fence[] {
  const fences: Fence[] = [];
  let open: { start: number; opening: string; marker: string } | null = null;
  let lineStart = 0;
  while (lineStart <= text.length) {
    const newline = text.indexOf("\n", lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    const match = FENCE_LINE.exec(text.slice(lineStart, lineEnd));
    if (match) {
      const marker = match[1] ?? "";
      const info = match[2] ?? "";
      if (!open) {
        open = { start: lineStart, opening: `${marker}${info}`.trimEnd(), marker };
      } else if (
        marker[0] === open.marker[0] &&
        marker.length >= open.marker.length &&
        info.trim() === ""
      ) {
        fences.push({ start: open.start, end: lineEnd, opening: open.opening, marker: open.marker });
        open = null;
      }
    }
    if (newline === -1) break;
    lineStart = newline + 1;
  }
  if (open) fences.push({ ...open, end: text.length });
  return fences;
}

/** A place to cut: the chunk is `text.slice(0, at)`, the rest starts after `skip` characters. */
interface Cut {
  at: number;
  skip: number;
}

/** Boundaries from best to worst: paragraph, line, sentence, word. */
const BOUNDARIES: ReadonlyArray<{ pattern: RegExp; skip: (m: RegExpExecArray) => number; cutOffset: (m: RegExpExecArray) => number }> = [
  { pattern: /\n[ \t]*\n/g, cutOffset: () => 0, skip: (m) => m[0].length },
  { pattern: /\n/g, cutOffset: () => 0, skip: () => 1 },
  { pattern: /[.!?][)"'*_]*( +)/g, cutOffset: (m) => m[0].length - (m[1]?.length ?? 0), skip: (m) => m[1]?.length ?? 0 },
  { pattern: / +/g, cutOffset: () => 0, skip: (m) => m[0].length },
];

function lastCut(text: string, limit: number, level: number, fences: Fence[]): Cut | null {
  const boundary = BOUNDARIES[level];
  if (!boundary) return null;
  const pattern = new RegExp(boundary.pattern.source, "g");
  let best: Cut | null = null;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    const at = m.index + boundary.cutOffset(m);
    if (at > limit) break;
    if (at === 0 || fences.some((f) => f.start < at && at < f.end)) continue;
    best = { at, skip: boundary.skip(m) };
  }
  return best;
}

/** Never leave half a surrogate pair at the end of a chunk. */
function safeHardCut(text: string, at: number): number {
  const code = text.charCodeAt(at - 1);
  return code >= 0xd800 && code <= 0xdbff && at > 1 ? at - 1 : at;
}

/**
 * Splits markdown into chunks of at most `limit` characters for Discord.
 *
 * Cuts on the best boundary available (blank line, then line, sentence, word), preferring one in
 * the second half of the window so chunks are not needlessly short. A fenced code block is never
 * cut when a cut before or after it exists; a block longer than one message is cut between its
 * lines, closed at the end of one chunk and reopened (same language) at the start of the next, so
 * every chunk renders on its own.
 *
 * @param limit - maximum characters per chunk; default 2000 (Discord's limit).
 */
export function splitMessage(text: string, limit: number = DISCORD_MESSAGE_LIMIT): string[] {
  if (limit < 20) throw new RangeError("splitMessage: limit must be at least 20 characters");
  const chunks: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const fences = findFences(rest);
    const cut = chooseCut(rest, limit, fences);
    if (cut.kind === "plain") {
      chunks.push(rest.slice(0, cut.at).trimEnd());
      rest = rest.slice(cut.at + cut.skip);
      if (cut.skip === 0) rest = rest.replace(/^\n+/, "");
    } else {
      chunks.push(`${rest.slice(0, cut.at).trimEnd()}\n${cut.fence.marker}`);
      rest = `${cut.fence.opening}\n${rest.slice(cut.at + cut.skip)}`;
    }
    rest = rest.replace(/^\s*\n/, "");
  }
  if (rest.trim() !== "") chunks.push(rest);
  return chunks.filter((c) => c.trim() !== "");
}

type ChosenCut = ({ kind: "plain" } & Cut) | ({ kind: "code"; fence: Fence } & Cut);

function chooseCut(text: string, limit: number, fences: Fence[]): ChosenCut {
  const cuts = BOUNDARIES.map((_, level) => lastCut(text, limit, level, fences));
  const good = cuts.find((c) => c !== null && c.at >= limit / 2);
  if (good) return { kind: "plain", ...good };
  // Any cut outside code beats cutting a code block, even if it makes a short chunk.
  const latest = cuts.reduce<Cut | null>((a, c) => (c && (!a || c.at > a.at) ? c : a), null);
  if (latest) return { kind: "plain", ...latest };

  const fence = fences.find((f) => f.start < limit && f.end > limit);
  if (fence) {
    // Room for "\n```" after the chunk.
    const room = limit - fence.marker.length - 1;
    const bodyStart = fence.start + fence.opening.length + 1;
    const newline = text.lastIndexOf("\n", room);
    if (newline > bodyStart) return { kind: "code", fence, at: newline, skip: 1 };
    if (room > bodyStart) return { kind: "code", fence, at: safeHardCut(text, room), skip: 0 };
  }
  return { kind: "plain", at: safeHardCut(text, limit), skip: 0 };
}
