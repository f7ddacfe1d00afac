import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { HandoffNotes } from "../../src/handoffs/handoff-notes.ts";
import { NOTE_MAX } from "../../src/handoffs/handoff-notes.ts";
import { InputError } from "../../src/errors.ts";
import { SAVED_REPLY_BODY_MAX, SAVED_REPLY_TITLE_MAX, type SavedReplies } from "../../src/staff/saved-replies.ts";
import type { HandoffActions } from "./handoff-routes.ts";
import { actingStaff } from "./staff-auth.ts";

type PreHandler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const name = z.string().trim().min(1).max(80).optional();
const NoteBody = z.object({
  agent: name,
  text: z.string({ error: "text is required: the note for your colleagues" }).trim().min(1, "text must not be empty").max(NOTE_MAX, `text is longer than ${NOTE_MAX} characters`),
});
const title = z.string({ error: "title is required" }).trim().min(1, "title must not be empty").max(SAVED_REPLY_TITLE_MAX, `title is longer than ${SAVED_REPLY_TITLE_MAX} characters`);
const replyBody = z.string({ error: "body is required: the reply's text" }).trim().min(1, "body must not be empty").max(SAVED_REPLY_BODY_MAX, `body is longer than ${SAVED_REPLY_BODY_MAX} characters`);
const CreateSaved = z.object({ agent: name, title, body: replyBody });
const UpdateSaved = z
  .object({ agent: name, title: title.optional(), body: replyBody.optional() })
  .refine((b) => b.title !== undefined || b.body !== undefined, { message: "send title, body or both: what to change" });
const DeleteSaved = z.object({ agent: name });

export interface InboxRoutesDeps {
  handoffService: HandoffActions;
  /** Internal notes; absent: the endpoints answer 503. */
  notes?: Pick<HandoffNotes, "add" | "list">;
  /** Saved replies; absent: the endpoints answer 503. */
  savedReplies?: Pick<SavedReplies, "list" | "get" | "create" | "update" | "remove">;
}

/**
 * The inbox's staff API (staff auth, as /api/handoffs): internal notes on a handoff
 * (`GET|POST /api/handoffs/:id/notes`; a note is stored and shown to staff, never sent to the
 * user) and the team's saved replies (`GET|POST /api/saved-replies`,
 * `GET|PATCH|DELETE /api/saved-replies/:id`; changes by the author or a lead).
 */
export function registerInboxRoutes(f: FastifyInstance, deps: InboxRoutesDeps, auth: PreHandler): void {
  const notes = () => {
    if (!deps.notes) throw new InputError("notes_off", "Internal notes are not available in this process.", 503);
    return deps.notes;
  };
  const saved = () => {
    if (!deps.savedReplies) throw new InputError("saved_replies_off", "Saved replies are not available in this process.", 503);
    return deps.savedReplies;
  };
  const body = (req: FastifyRequest) => (req.body === undefined || req.body === null ? {} : req.body);
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;

  f.get("/api/handoffs/:id/notes", { preHandler: auth }, async (req) => {
    await deps.handoffService.detail(id(req)); // 404 for a handoff that does not exist
    return { notes: await notes().list(id(req)) };
  });

  f.post("/api/handoffs/:id/notes", { preHandler: auth }, async (req, reply) => {
    const b = NoteBody.parse(body(req));
    const note = await notes().add(id(req), actingStaff(req, b.agent, true)!, b.text);
    return reply.status(201).send({ note });
  });

  f.get("/api/saved-replies", { preHandler: auth }, async () => ({ savedReplies: await saved().list() }));

  f.get("/api/saved-replies/:id", { preHandler: auth }, async (req) => {
    const found = await saved().get(id(req));
    if (!found) throw new InputError("unknown_saved_reply", `No saved reply ${id(req)}.`, 404);
    return { savedReply: found };
  });

  f.post("/api/saved-replies", { preHandler: auth }, async (req, reply) => {
    const b = CreateSaved.parse(body(req));
    return reply.status(201).send({ savedReply: await saved().create({ title: b.title, body: b.body }, actingStaff(req, b.agent, true)!) });
  });

  f.patch("/api/saved-replies/:id", { preHandler: auth }, async (req) => {
    const b = UpdateSaved.parse(body(req));
    return { savedReply: await saved().update(id(req), { ...(b.title !== undefined ? { title: b.title } : {}), ...(b.body !== undefined ? { body: b.body } : {}) }, actingStaff(req, b.agent, true)!) };
  });

  f.delete("/api/saved-replies/:id", { preHandler: auth }, async (req) => {
    const b = DeleteSaved.parse(body(req));
    return { deleted: await saved().remove(id(req), actingStaff(req, b.agent, true)!) };
  });
}
