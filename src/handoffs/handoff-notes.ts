import type pg from "pg";
import { isUuid } from "../conversations/pg-conversation-log.ts";
import { InputError } from "../errors.ts";
import type { Staff } from "../staff/agent-directory.ts";
import { CONTROL_CHARACTERS } from "../types.ts";

/** Longest internal note, in characters. */
export const NOTE_MAX = 4000;

/** A note staff wrote for each other on a handoff. */
export interface HandoffNote {
  id: string;
  handoffId: string;
  author: string;
  createdAt: Date;
  /** Markdown-free plain text, shown as written. */
  text: string;
}

/**
 * Internal notes on a handoff. They are stored in their own table and nothing on the way out
 * (the outbox, the staff cards) reads it: a note is never sent to the user, on any platform.
 */
export class HandoffNotes {
  constructor(private readonly pool: pg.Pool) {}

  /** Adds `by`'s note to the handoff (any state: notes after resolving are how a team follows up). */
  async add(handoffId: string, by: Staff, text: string): Promise<HandoffNote> {
    const body = validNote(text);
    if (!isUuid(handoffId)) throw new InputError("unknown_handoff", `No handoff ${handoffId}.`, 404);
    const r = await this.pool.query<NoteDbRow>(
      `insert into handoff_notes (handoff_id, author, agent_id, text)
       select id, $2, $3, $4 from handoffs where id = $1
       returning *`,
      [handoffId, by.name, by.agentId, body],
    );
    if (!r.rows[0]) throw new InputError("unknown_handoff", `No handoff ${handoffId}.`, 404);
    return toNote(r.rows[0]);
  }

  /** A handoff's notes, oldest first. */
  async list(handoffId: string): Promise<HandoffNote[]> {
    if (!isUuid(handoffId)) return [];
    const r = await this.pool.query<NoteDbRow>("select * from handoff_notes where handoff_id = $1 order by created_at, id", [handoffId]);
    return r.rows.map(toNote);
  }
}

function validNote(text: unknown): string {
  if (typeof text !== "string") throw new InputError("invalid_note", "text is required: the note for your colleagues.");
  const t = text.trim();
  if (!t) throw new InputError("invalid_note", "The note is empty; write something for your colleagues.");
  if (t.length > NOTE_MAX) throw new InputError("invalid_note", `The note is longer than ${NOTE_MAX} characters; shorten it.`);
  if (CONTROL_CHARACTERS.test(t)) throw new InputError("invalid_note", "The note contains a control character; send plain text.");
  return t;
}

interface NoteDbRow {
  id: string;
  handoff_id: string;
  author: string;
  text: string;
  created_at: Date;
}

function toNote(r: NoteDbRow): HandoffNote {
  return { id: r.id, handoffId: r.handoff_id, author: r.author, text: r.text, createdAt: r.created_at };
}
