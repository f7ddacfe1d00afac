import fs from "node:fs";
import path from "node:path";
import formbody from "@fastify/formbody";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Config } from "../../src/config.ts";
import type { ConversationLog } from "../../src/conversations/conversation-log.ts";
import { InputError, SwitchboardError, errorMessage } from "../../src/errors.ts";
import { AGENT_NAME_MAX, type HandoffService } from "../../src/handoffs/handoff-service.ts";
import { AgentDirectory, type Staff } from "../../src/staff/agent-directory.ts";
import type { RefundApprovals } from "../../src/handoffs/refund-approvals.ts";
import { money } from "../../agents/workers/billing/billing-repo.ts";
import type { DeliveryStatus } from "../../src/outbox/outbox.ts";
import type { Logger } from "../../src/logger.ts";
import type { HandoffFilter } from "../../src/handoffs/handoff-store.ts";
import type { RouterCorrections } from "../../agents/router/corrections.ts";
import { ROUTE_NAMES } from "../../agents/workers/registry.ts";
import { PLATFORMS, type Platform, type RouteName } from "../../src/types.ts";
import type { GuessGuard } from "../http/rate-limits.ts";
import type { SafeHtml } from "./html.ts";
import {
  CONSOLE_CSS,
  consoleOffPage,
  conversationPage,
  conversationsPage,
  errorPage,
  handoffPage,
  loginPage,
  queuePage,
  type Flash,
  type PageContext,
  type HandoffExtras,
  type QueueFilter,
} from "./pages.ts";
import { SESSION_COOKIE, SESSION_TTL_SECONDS, SessionSigner, consoleCookie, type ConsoleSession } from "./session.ts";
import type { HandoffNotes } from "../../src/handoffs/handoff-notes.ts";
import type { SavedReplies } from "../../src/staff/saved-replies.ts";
import type { CustomerContext } from "../../src/handoffs/customer-context.ts";
import { registerConsoleLive, type ConsoleLiveDeps } from "./live.ts";
import { savedRepliesPage } from "./saved-replies-page.ts";

/** The console's one script (live updates, shortcuts, the saved-reply picker), read once. */
const CONSOLE_JS = fs.readFileSync(path.join(import.meta.dirname, "assets", "console.js"), "utf8");

const FLASH_COOKIE = "sb_flash";
const FORM_BODY_LIMIT = 64 * 1024;

/**
 * Headers on every console response: no caching, no framing, and no script but the console's
 * own file (no inline script, so escaped user text could not run even if escaping failed).
 */
const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  // Not no-referrer: that makes browsers send `Origin: null` on form posts, which the origin check refuses.
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

const QueueQuery = z.object({
  status: z.enum(["active", "open", "claimed", "resolved", "all"]).catch("active"),
  owner: z.enum(["", "mine", "unassigned"]).catch(""),
  route: z.enum(["", ...ROUTE_NAMES] as [string, ...string[]]).catch(""),
  platform: z.enum(["", ...PLATFORMS] as [string, ...string[]]).catch(""),
  minAge: z.enum(["", "5", "15", "60", "240"]).catch(""),
});

type Action = "claim" | "reply" | "resolve" | "back-to-bot" | "assign";

/** HANDOFF_SLA_MINUTES' default, for a console given a config without it (tests). */
const DEFAULT_SLA_MINUTES = 15;

function staffOf(session: ConsoleSession): Staff {
  return { name: session.agent, role: session.role, agentId: session.agentId };
}

/** What the console uses of the service (a structural subset of `App`). */
export interface ConsoleDeps extends ConsoleLiveDeps {
  config: Pick<Config, "consoleToken"> & Partial<Pick<Config, "handoffSlaMinutes">>;
  logger: Logger;
  log: Pick<ConversationLog, "getConversation" | "transcript" | "searchConversations">;
  handoffService: Pick<HandoffService, "list" | "detail" | "claim" | "reply" | "resolve" | "backToBot" | "assign">;
  /** The support team: agents sign in with their own token; absent, only CONSOLE_TOKEN does. */
  agents?: Pick<AgentDirectory, "verify" | "byId" | "list">;
  /** Refund approvals (the handoff page's Approve / Reject); absent: not shown. */
  refunds?: Pick<RefundApprovals, "list" | "approve" | "reject">;
  /** Staff corrections of the router (the trace's "Teach the router"); absent: the form fails. */
  corrections?: Pick<RouterCorrections, "set">;
  /** Internal notes on a handoff; absent: the note form fails. */
  notes?: Pick<HandoffNotes, "add" | "list">;
  /** The team's saved replies; absent: no picker. */
  savedReplies?: Pick<SavedReplies, "list" | "get" | "create" | "update" | "remove">;
  /** The customer panel beside the transcript; absent: not shown. */
  customerContext?: Pick<CustomerContext, "forHandoff">;
}

/**
 * The support team's web console at `/console` (a fastify plugin): sign in with an agent token
 * (or CONSOLE_TOKEN), the handoff queue, a handoff with its timeline (transcript, routing traces,
 * internal notes) and customer panel, Claim / Reply / Resolve / Back to bot / Assign / refund
 * decisions, saved replies, and conversation search. Server-rendered, escaped by construction
 * (`html`); one script of its own (`assets/console.js`: the live view, shortcuts, the saved-reply
 * picker) adds to pages that work without it. Sessions are HMAC-signed HttpOnly SameSite=Strict
 * cookies and every form carries a per-session CSRF token.
 */
export function consolePlugin(deps: ConsoleDeps, guesses?: GuessGuard) {
  return async function consoleRoutes(f: FastifyInstance): Promise<void> {
    const token = deps.config.consoleToken;
    const signer = token ? new SessionSigner(token) : undefined;
    const log = deps.logger.child({ component: "console" });

    // Forms are application/x-www-form-urlencoded (they post without script); this plugin's routes only.
    await f.register(formbody, { bodyLimit: FORM_BODY_LIMIT });

    f.addHook("onSend", async (_req, reply, payload) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
      return payload;
    });

    const page = (reply: FastifyReply, content: SafeHtml, status = 200) =>
      reply.status(status).type("text/html; charset=utf-8").send(content.value);

    const isSecure = (req: FastifyRequest) => req.protocol === "https";

    const sessionOf = (req: FastifyRequest): ConsoleSession | undefined => signer?.verify(req.cookies[SESSION_COOKIE]);

    const context = (req: FastifyRequest, reply: FastifyReply, session: ConsoleSession): PageContext => {
      // A live refresh (the page fetching itself) leaves the flash to the page the agent sees.
      const flash = req.headers["x-console-live"] ? undefined : readFlash(req);
      if (flash) reply.clearCookie(FLASH_COOKIE, consoleCookie(0, isSecure(req)));
      return { agent: session.agent, role: session.role, csrf: signer!.csrfToken(session), flash, now: new Date() };
    };

    /** Signed-in pages: the console off, or the sign-in page, or the page itself. */
    const signedIn =
      (handler: (req: FastifyRequest, reply: FastifyReply, session: ConsoleSession) => Promise<unknown>) =>
      async (req: FastifyRequest, reply: FastifyReply) => {
        if (!signer) return page(reply, consoleOffPage(), 403);
        let session = sessionOf(req);
        // A removed agent's session ends at once, whatever the cookie says.
        if (session?.agentId && !(await deps.agents?.byId(session.agentId))) {
          reply.clearCookie(SESSION_COOKIE, consoleCookie(0, isSecure(req)));
          session = undefined;
        }
        if (!session) {
          if (req.method === "GET") return reply.redirect("/console/login", 303);
          return page(reply, loginPage({ error: "Your session has ended; sign in again." }), 401);
        }
        if (req.method === "POST") {
          const body = (req.body ?? {}) as Record<string, string>;
          if (!sameOrigin(req) || !signer.checkCsrf(session, body["csrf"])) {
            log.warn({ path: req.url }, "console form refused: bad CSRF token or origin");
            return page(reply, errorPage(undefined, "Form expired", "That form was not sent from this console session. Go back, reload the page and try again."), 403);
          }
        }
        return handler(req, reply, session);
      };

    f.get("/console/assets/console.css", async (_req, reply) => reply.type("text/css; charset=utf-8").header("cache-control", "no-cache").send(CONSOLE_CSS));
    f.get("/console/assets/console.js", async (_req, reply) => reply.type("text/javascript; charset=utf-8").header("cache-control", "no-cache").send(CONSOLE_JS));

    const slaMinutes = deps.config.handoffSlaMinutes ?? DEFAULT_SLA_MINUTES;

    // The live stream: a signed-in session, like every page (no CSRF: it changes nothing).
    registerConsoleLive(f, deps, async (req, reply) => {
      const session = signer ? sessionOf(req) : undefined;
      if (!session || (session.agentId && !(await deps.agents?.byId(session.agentId)))) {
        await reply.status(401).send({ error: { code: "unauthorized", message: "Sign in to the console first." } });
        return false;
      }
      return true;
    });

    f.get("/console/login", async (req, reply) => {
      if (!signer) return page(reply, consoleOffPage(), 403);
      if (sessionOf(req)) return reply.redirect("/console", 303);
      return page(reply, loginPage());
    });

    f.post("/console/login", async (req, reply) => {
      if (!signer || !token) return page(reply, consoleOffPage(), 403);
      if (!sameOrigin(req)) return page(reply, loginPage({ error: "Sign in from this console's own page." }), 403);
      const body = (req.body ?? {}) as Record<string, string>;
      const agent = (body["agent"] ?? "").replace(/[\u0000-\u001f\u007f]/g, " ").trim();
      const given = body["token"] ?? "";
      if (!agent || agent.length > AGENT_NAME_MAX) {
        return page(reply, loginPage({ error: `Enter your name (1 to ${AGENT_NAME_MAX} characters); it is shown on your replies.` }), 400);
      }
      const tooMany = (seconds: number) =>
        page(reply.header("retry-after", String(seconds)), loginPage({ error: `Too many wrong tokens from this address; try again in ${Math.ceil(seconds / 60)} min.`, agent }), 429);
      const locked = guesses?.locked(req);
      if (locked !== undefined) return tooMany(locked);
      // CONSOLE_TOKEN signs in a lead named as typed (the bootstrap); an agent token signs in its
      // owner, and only under their own name.
      let who: { agent: string; role: "agent" | "lead"; agentId: string | null } | undefined;
      if (SessionSigner.tokenMatches(given, token)) who = { agent, role: "lead", agentId: null };
      else if (deps.agents && AgentDirectory.looksLikeToken(given)) {
        const owner = await deps.agents.verify(given);
        if (owner && owner.name.toLowerCase() === agent.toLowerCase()) who = { agent: owner.name, role: owner.role, agentId: owner.id };
      }
      if (!who) {
        const lockout = await guesses?.failed(req);
        if (lockout !== undefined) return tooMany(lockout);
        log.warn({ ip: req.ip }, "console sign-in refused: wrong token");
        return page(reply, loginPage({ error: "That token is not right.", agent }), 401);
      }
      const { cookie } = signer.issue(who);
      reply.setCookie(SESSION_COOKIE, cookie, consoleCookie(SESSION_TTL_SECONDS, isSecure(req)));
      log.info({ agent: who.agent, role: who.role }, "console sign-in");
      return reply.redirect("/console", 303);
    });

    f.post(
      "/console/logout",
      signedIn(async (req, reply) => {
        reply.clearCookie(SESSION_COOKIE, consoleCookie(0, isSecure(req)));
        return reply.redirect("/console/login", 303);
      }),
    );

    f.get(
      "/console",
      signedIn(async (req, reply, session) => {
        const q = QueueQuery.parse(req.query ?? {});
        const filter: HandoffFilter = { limit: 200 };
        if (q.status !== "all") filter.status = q.status;
        if (q.route) filter.route = q.route as RouteName;
        if (q.platform) filter.platform = q.platform as Platform;
        if (q.minAge) filter.minAgeMinutes = Number(q.minAge);
        if (q.owner === "mine") filter.assignee = session.agent;
        if (q.owner === "unassigned") filter.assignee = null;
        // The version first: a change landing while the page renders is then sent at once.
        const version = (await deps.inboxChanges?.queueVersion()) ?? "";
        const items = await deps.handoffService.list(filter);
        const shown: QueueFilter = { status: q.status, owner: q.owner, route: q.route, platform: q.platform, minAge: q.minAge };
        const live = deps.inboxChanges ? { url: `/console/events?since=${encodeURIComponent(version)}`, version } : undefined;
        return page(reply, queuePage(context(req, reply, session), shown, items, slaMinutes, live));
      }),
    );

    f.get(
      "/console/handoffs/:id",
      signedIn(async (req, reply, session) => {
        const { id } = req.params as { id: string };
        const ctx = context(req, reply, session);
        try {
          const version = (await deps.inboxChanges?.handoffVersion(id)) ?? "";
          const live = deps.inboxChanges ? { url: `/console/events?handoff=${encodeURIComponent(id)}&since=${encodeURIComponent(version)}`, version } : undefined;
          return page(reply, handoffPage(ctx, await deps.handoffService.detail(id), await extras(session, id), live));
        } catch (err) {
          if (err instanceof InputError) return page(reply, errorPage(ctx, "Not found", err.message), err.status);
          throw err;
        }
      }),
    );

    f.post(
      "/console/conversations/:id/messages/:messageId/route",
      signedIn(async (req, reply, session) => {
        const { id, messageId } = req.params as { id: string; messageId: string };
        const route = ((req.body ?? {}) as Record<string, string>)["route"] ?? "";
        try {
          if (!deps.corrections) throw new InputError("corrections_off", "Router corrections are not available in this process.", 503);
          await deps.corrections.set({ messageId, conversationId: id, route, agent: session.agent });
          setFlash(reply, isSecure(req), { kind: "ok", text: `Saved: this message is ${route}. The router learns it at its next start.` });
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          setFlash(reply, isSecure(req), { kind: "error", text: err.message });
        }
        return reply.redirect(`/console/conversations/${encodeURIComponent(id)}`, 303);
      }),
    );

    /** What the handoff page shows beyond the handoff: the team (a lead's Assign), refunds, notes, saved replies, the customer, the neighbours in the queue. */
    const extras = async (session: ConsoleSession, handoffId: string): Promise<HandoffExtras> => {
      const [agents, refunds, notes, savedReplies, customer, queue] = await Promise.all([
        session.role === "lead" && deps.agents ? deps.agents.list() : [],
        deps.refunds ? deps.refunds.list({ handoffId }) : [],
        deps.notes ? deps.notes.list(handoffId) : [],
        deps.savedReplies ? deps.savedReplies.list() : [],
        deps.customerContext?.forHandoff(handoffId),
        deps.handoffService.list({ status: "active", limit: 500 }),
      ]);
      const at = queue.findIndex((h) => h.id === handoffId);
      return {
        agents: agents.map((a) => a.name),
        refunds,
        notes,
        savedReplies,
        customer,
        previous: at > 0 ? queue[at - 1]?.id : undefined,
        next: at >= 0 ? queue[at + 1]?.id : queue[0]?.id,
        slaMinutes,
      };
    };

    // Approve / Reject a refund the handoff waits on; back to the handoff with what happened.
    for (const decision of ["approve", "reject"] as const) {
      f.post(
        `/console/refunds/:id/${decision}`,
        signedIn(async (req, reply, session) => {
          const { id } = req.params as { id: string };
          const body = (req.body ?? {}) as Record<string, string>;
          const handoffId = body["handoff"] ?? "";
          const back = /^[0-9a-f-]{36}$/i.test(handoffId) ? `/console/handoffs/${handoffId}` : "/console";
          try {
            if (!deps.refunds) throw new InputError("refunds_off", "Refund approvals are not available in this process.", 503);
            const done =
              decision === "approve" ? await deps.refunds.approve(id, staffOf(session)) : await deps.refunds.reject(id, staffOf(session), body["reason"] ?? "");
            const amount = money(done.refund.amountCents, done.refund.currency);
            const told = done.delivery === "sent" ? "The user was told." : done.delivery === null ? "No conversation to tell." : "The user will be told (delivery pending).";
            setFlash(reply, isSecure(req), { kind: done.delivery === "sent" || done.delivery === null ? "ok" : "warn", text: `Refund of ${amount} ${decision === "approve" ? "approved" : "rejected"}. ${told}` });
          } catch (err) {
            if (!(err instanceof InputError)) throw err;
            setFlash(reply, isSecure(req), { kind: "error", text: err.message });
          }
          return reply.redirect(back, 303);
        }),
      );
    }

    for (const action of ["claim", "reply", "resolve", "back-to-bot", "assign"] as const) {
      f.post(
        `/console/handoffs/:id/${action}`,
        signedIn(async (req, reply, session) => {
          const { id } = req.params as { id: string };
          const body = (req.body ?? {}) as Record<string, string>;
          try {
            const done = await perform(deps, action, id, staffOf(session), body);
            setFlash(reply, isSecure(req), done);
            return reply.redirect(`/console/handoffs/${encodeURIComponent(id)}`, 303);
          } catch (err) {
            if (!(err instanceof SwitchboardError)) throw err;
            const status = err instanceof InputError ? err.status : 502;
            const ctx = { ...context(req, reply, session), flash: { kind: "error" as const, text: err.message } };
            try {
              return page(reply, handoffPage(ctx, await deps.handoffService.detail(id), await extras(session, id)), status);
            } catch {
              return page(reply, errorPage(ctx, "Not found", err.message), status);
            }
          }
        }),
      );
    }

    // An internal note: stored on the handoff, shown to staff, never sent to the user.
    f.post(
      "/console/handoffs/:id/note",
      signedIn(async (req, reply, session) => {
        const { id } = req.params as { id: string };
        const body = (req.body ?? {}) as Record<string, string>;
        try {
          if (!deps.notes) throw new InputError("notes_off", "Internal notes are not available in this process.", 503);
          await deps.notes.add(id, staffOf(session), body["text"] ?? "");
          setFlash(reply, isSecure(req), { kind: "ok", text: "Internal note added. Only staff see it; the user does not." });
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          if (err.status === 404) return page(reply, errorPage(context(req, reply, session), "Not found", err.message), 404);
          setFlash(reply, isSecure(req), { kind: "error", text: err.message });
        }
        return reply.redirect(`/console/handoffs/${encodeURIComponent(id)}`, 303);
      }),
    );

    f.get(
      "/console/saved-replies",
      signedIn(async (req, reply, session) => page(reply, savedRepliesPage(context(req, reply, session), deps.savedReplies ? await deps.savedReplies.list() : []))),
    );

    /** Create, change or delete a saved reply, then back to the list with what happened. */
    const savedReplyForm = (run: (saved: NonNullable<ConsoleDeps["savedReplies"]>, req: FastifyRequest, by: Staff) => Promise<string>) =>
      signedIn(async (req, reply, session) => {
        try {
          if (!deps.savedReplies) throw new InputError("saved_replies_off", "Saved replies are not available in this process.", 503);
          setFlash(reply, isSecure(req), { kind: "ok", text: await run(deps.savedReplies, req, staffOf(session)) });
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          setFlash(reply, isSecure(req), { kind: "error", text: err.message });
        }
        return reply.redirect("/console/saved-replies", 303);
      });
    const form = (req: FastifyRequest) => (req.body ?? {}) as Record<string, string>;
    const savedId = (req: FastifyRequest) => (req.params as { id: string }).id;
    f.post("/console/saved-replies", savedReplyForm(async (saved, req, by) => `Saved reply “${(await saved.create({ title: form(req)["title"], body: form(req)["body"] }, by)).title}” added.`));
    f.post("/console/saved-replies/:id", savedReplyForm(async (saved, req, by) => `Saved reply “${(await saved.update(savedId(req), { title: form(req)["title"], body: form(req)["body"] }, by)).title}” saved.`));
    f.post("/console/saved-replies/:id/delete", savedReplyForm(async (saved, req, by) => `Saved reply “${(await saved.remove(savedId(req), by)).title}” deleted.`));

    f.get(
      "/console/conversations",
      signedIn(async (req, reply, session) => {
        const q = z.object({ q: z.string().max(200).catch("") }).parse(req.query ?? {}).q.trim();
        const rows = await deps.log.searchConversations({ ...(q ? { text: q } : {}), limit: 100 });
        return page(reply, conversationsPage(context(req, reply, session), q, rows));
      }),
    );

    f.get(
      "/console/conversations/:id",
      signedIn(async (req, reply, session) => {
        const { id } = req.params as { id: string };
        const ctx = context(req, reply, session);
        const conversation = await deps.log.getConversation(id);
        if (!conversation) return page(reply, errorPage(ctx, "Not found", `No conversation ${id}.`), 404);
        const [messages, handoffs] = await Promise.all([deps.log.transcript(id), deps.handoffService.list({ conversationId: id })]);
        return page(reply, conversationPage(ctx, conversation, messages, handoffs));
      }),
    );

    f.setErrorHandler((err: unknown, req, reply) => {
      const e = err as { statusCode?: number; message?: string };
      if (e.statusCode && e.statusCode < 500) return page(reply, errorPage(undefined, "Bad request", e.message ?? "Bad request"), e.statusCode);
      log.error({ err: errorMessage(err), path: req.url }, "console request failed");
      return page(reply, errorPage(undefined, "Something went wrong", "Something went wrong on our side; it has been logged."), 500);
    });
  };
}

async function perform(deps: ConsoleDeps, action: Action, id: string, by: Staff, body: Record<string, string>): Promise<Flash> {
  const agent = by.name;
  switch (action) {
    case "claim":
      await deps.handoffService.claim(id, agent);
      return { kind: "ok", text: "You claimed this handoff. Reply below; the user sees your name." };
    case "reply": {
      const sent = await deps.handoffService.reply(id, agent, body["text"] ?? "", { via: "console" });
      if (sent.delivery === "sent") return { kind: "ok", text: "Reply sent to the user." };
      const platform = (await deps.log.getConversation(sent.handoff.conversationId))?.platform;
      return { kind: "warn", text: notDeliveredYet(sent.delivery, platform, sent.error) };
    }
    case "resolve":
      await deps.handoffService.resolve(id, { agent, note: body["note"], by });
      return { kind: "ok", text: "Resolved. The bot answers this conversation again." };
    case "back-to-bot":
      await deps.handoffService.backToBot(id, agent, by);
      return { kind: "ok", text: "Given back to the bot." };
    case "assign": {
      const to = body["to"] ?? "";
      await deps.handoffService.assign(id, to, by);
      return { kind: "ok", text: `Assigned to ${to.trim()}.` };
    }
  }
}

const PLATFORM_NAMES: Record<Platform, string> = { slack: "Slack", discord: "Discord", http: "the HTTP webhook", cli: "the terminal" };

/** The flash for a reply the outbox recorded but has not delivered: what happens to it next, honestly. */
export function notDeliveredYet(delivery: Exclude<DeliveryStatus, "sent">, platform: Platform | undefined, error?: string): string {
  const where = platform ? PLATFORM_NAMES[platform] : "the user's platform";
  switch (delivery) {
    case "sending":
      return "Reply recorded; it is being delivered to the user right now.";
    case "queued":
      return "Reply recorded; it will be delivered right after the earlier messages still waiting to reach this user.";
    case "retry": {
      const why = error ? ` (${error.length > 120 ? `${error.slice(0, 117)}...` : error})` : "";
      return `Reply recorded, not delivered yet: ${where} did not take it${why}. It is retried automatically; do not send it again.`;
    }
    case "no_adapter":
      return `Reply recorded; it will be delivered when a Switchboard process connected to ${where} is running (this one is not).`;
    case "failed":
      return `Reply recorded, but ${where} refused it${error ? ` (${error.slice(0, 120)})` : ""}; it will not be delivered.`;
  }
}

/** A form post must come from this console's own origin when the browser says where from. */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function setFlash(reply: FastifyReply, secure: boolean, flash: Flash): void {
  const value = Buffer.from(JSON.stringify(flash)).toString("base64url");
  reply.setCookie(FLASH_COOKIE, value, consoleCookie(60, secure));
}

function readFlash(req: FastifyRequest): Flash | undefined {
  const raw = req.cookies[FLASH_COOKIE];
  if (!raw) return undefined;
  try {
    const v = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as { kind?: unknown; text?: unknown };
    if ((v.kind === "ok" || v.kind === "warn" || v.kind === "error") && typeof v.text === "string") return { kind: v.kind, text: v.text.slice(0, 300) };
  } catch {
    // an unreadable flash is no flash
  }
  return undefined;
}
