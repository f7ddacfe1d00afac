import type { ReplySection } from "../types.ts";

/** A reply as adapters render it: `text` is the whole answer; `sections` + `footer` the same, in parts. */
export interface ComposedReply {
  /** Markdown: the answer, then every note (failed parts, handoff, when a person will reply). */
  text: string;
  /** One per worker that answered (adapters that lay out sections show these instead of `text`). */
  sections: ReplySection[];
  /** The notes that follow the sections; already the tail of `text`. */
  footer: string;
}

/**
 * The one place the text / sections / footer rule lives: the body (the merged answer, or a
 * clarifying question), then the notes, each a paragraph, in order. Whatever adapters show —
 * `text`, or `sections` followed by `footer` — says the same thing.
 */
export function composeReply(parts: { body?: string | undefined; sections?: ReplySection[]; notes?: Array<string | null | undefined> }): ComposedReply {
  const notes = (parts.notes ?? []).map((n) => n?.trim() ?? "").filter(Boolean);
  const body = parts.body?.trim() ?? "";
  const footer = notes.join("\n\n");
  return { text: [body, footer].filter(Boolean).join("\n\n"), sections: parts.sections ?? [], footer };
}

/** The reply with more notes after the ones it has (e.g. when a person will reply). */
export function withNotes(reply: ComposedReply, notes: Array<string | null | undefined>): ComposedReply {
  const body = reply.footer && reply.text.endsWith(reply.footer) ? reply.text.slice(0, reply.text.length - reply.footer.length) : reply.text;
  return composeReply({ body, sections: reply.sections, notes: [reply.footer, ...notes] });
}

/** The sections as one text, each under its bold title: the offline answer, and the merged one when the model gives nothing usable. */
export function sectionsText(sections: ReadonlyArray<{ title: string; text: string }>): string {
  return sections.map((s) => `**${s.title}**\n${s.text}`).join("\n\n");
}

/**
 * The parts of an answer that are ready, while others are still being worked on (partial answers
 * first): the ready sections, laid out as the whole answer will be, then a note naming what is
 * still coming. The whole answer replaces it in place.
 */
export function partialReply(ready: ReplySection[], pending: string[]): ComposedReply {
  const coming = pending.length ? `_Still working on: ${pending.join(", ")}. This message will update when ${pending.length === 1 ? "it is" : "they are"} ready._` : null;
  return composeReply({ body: sectionsText(ready), sections: ready, notes: [coming] });
}
