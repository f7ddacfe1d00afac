import type pg from "pg";
import { isUuid } from "../conversations/pg-conversation-log.ts";
import { InputError } from "../errors.ts";
import { CONTROL_CHARACTERS } from "../types.ts";
import type { Staff } from "./agent-directory.ts";

/** Longest saved-reply title and body, in characters. */
export const SAVED_REPLY_TITLE_MAX = 80;
export const SAVED_REPLY_BODY_MAX = 4000;

/** A canned answer staff insert into a reply. */
export interface SavedReply {
  id: string;
  title: string;
  /** Markdown, as a staff reply is. */
  body: string;
  createdBy: string;
  createdAt: Date;
  updatedBy: string;
  updatedAt: Date;
}

/**
 * The team's saved replies. Anyone on the team adds one; its author or a lead changes or
 * deletes it (a lead curates the team's set, an agent cannot rewrite a colleague's words).
 */
export class SavedReplies {
  constructor(private readonly pool: pg.Pool) {}

  /** All of them, by title. */
  async list(): Promise<SavedReply[]> {
    const r = await this.pool.query<SavedReplyDbRow>("select * from saved_replies order by lower(title), id");
    return r.rows.map(toSavedReply);
  }

  async get(id: string): Promise<SavedReply | undefined> {
    if (!isUuid(id)) return undefined;
    const r = await this.pool.query<SavedReplyDbRow>("select * from saved_replies where id = $1", [id]);
    return r.rows[0] && toSavedReply(r.rows[0]);
  }

  async create(input: { title: unknown; body: unknown }, by: Staff): Promise<SavedReply> {
    const title = field(input.title, "title", SAVED_REPLY_TITLE_MAX);
    const body = field(input.body, "body", SAVED_REPLY_BODY_MAX, true);
    try {
      const r = await this.pool.query<SavedReplyDbRow>(
        "insert into saved_replies (title, body, created_by, updated_by) values ($1, $2, $3, $3) returning *",
        [title, body, by.name],
      );
      return toSavedReply(r.rows[0]!);
    } catch (err) {
      throw duplicateTitle(err, title);
    }
  }

  /** Changes the title and/or body; only its author or a lead may. */
  async update(id: string, input: { title?: unknown; body?: unknown }, by: Staff): Promise<SavedReply> {
    const current = await this.#mayChange(id, by);
    const title = input.title === undefined ? current.title : field(input.title, "title", SAVED_REPLY_TITLE_MAX);
    const body = input.body === undefined ? current.body : field(input.body, "body", SAVED_REPLY_BODY_MAX, true);
    try {
      const r = await this.pool.query<SavedReplyDbRow>(
        "update saved_replies set title = $2, body = $3, updated_by = $4, updated_at = now() where id = $1 returning *",
        [id, title, body, by.name],
      );
      if (!r.rows[0]) throw notFound(id);
      return toSavedReply(r.rows[0]);
    } catch (err) {
      throw duplicateTitle(err, title);
    }
  }

  /** Deletes it; only its author or a lead may. */
  async remove(id: string, by: Staff): Promise<SavedReply> {
    const current = await this.#mayChange(id, by);
    await this.pool.query("delete from saved_replies where id = $1", [id]);
    return current;
  }

  async #mayChange(id: string, by: Staff): Promise<SavedReply> {
    const current = await this.get(id);
    if (!current) throw notFound(id);
    if (by.role !== "lead" && current.createdBy.toLowerCase() !== by.name.toLowerCase()) {
      throw new InputError("not_author", `${current.createdBy} wrote this saved reply; only they or a lead can change it.`, 403);
    }
    return current;
  }
}

function field(value: unknown, name: "title" | "body", max: number, multiline = false): string {
  if (typeof value !== "string") throw new InputError("invalid_saved_reply", `${name} is required and must be text.`);
  const v = value.trim();
  if (!v) throw new InputError("invalid_saved_reply", `${name} must not be empty.`);
  if (v.length > max) throw new InputError("invalid_saved_reply", `${name} is longer than ${max} characters.`);
  if (CONTROL_CHARACTERS.test(v) || (!multiline && /[\r\n\t]/.test(v))) {
    throw new InputError("invalid_saved_reply", `${name} contains a control character${multiline ? "" : " or a line break"}; send plain text.`);
  }
  return v;
}

function notFound(id: string): InputError {
  return new InputError("unknown_saved_reply", `No saved reply ${id}.`, 404);
}

function duplicateTitle(err: unknown, title: string): unknown {
  if ((err as { code?: string }).code === "23505") return new InputError("saved_reply_exists", `There is already a saved reply titled "${title}".`, 409);
  return err;
}

interface SavedReplyDbRow {
  id: string;
  title: string;
  body: string;
  created_by: string;
  created_at: Date;
  updated_by: string;
  updated_at: Date;
}

function toSavedReply(r: SavedReplyDbRow): SavedReply {
  return { id: r.id, title: r.title, body: r.body, createdBy: r.created_by, createdAt: r.created_at, updatedBy: r.updated_by, updatedAt: r.updated_at };
}
