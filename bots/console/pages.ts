import type { ConversationRow, TranscriptEntry } from "../../src/conversations/conversation-log.ts";
import type { HandoffEvent, HandoffListItem } from "../../src/handoffs/handoff-store.ts";
import type { HandoffDetail } from "../../src/handoffs/handoff-service.ts";
import { ROUTE_NAMES } from "../../agents/workers/registry.ts";
import { PLATFORMS } from "../../src/types.ts";
import { html, type SafeHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";
import type { RefundItem } from "../../src/handoffs/refund-approvals.ts";
import { money } from "../../agents/workers/billing/billing-repo.ts";
import { HANDOFF_REASON_LABELS, firstLine, readableDetail } from "../../src/handoffs/reasons.ts";
import type { HandoffNote } from "../../src/handoffs/handoff-notes.ts";
import type { SavedReply } from "../../src/staff/saved-replies.ts";
import type { CustomerPanel } from "../../src/handoffs/customer-context.ts";
import { customerPanel } from "./customer-panel.ts";
import { duration, ms, pct, reasonLabel, statusBadge, when } from "./format.ts";

export { duration } from "./format.ts";

/** A one-time note at the top of the next page: done, done but not finished (`warn`), or failed. */
export interface Flash {
  kind: "ok" | "warn" | "error";
  text: string;
}

/** What every signed-in page needs: who is signed in and the form token. */
export interface PageContext {
  agent: string;
  /** `lead`: may close anyone's handoff and assign; `agent` (the default): their own and open ones. */
  role?: "agent" | "lead";
  csrf: string;
  flash?: Flash | undefined;
  now: Date;
}

/** A page that updates itself: the console's events stream, from the version the page shows. */
export interface LiveView {
  /** `/console/events?...` */
  url: string;
  version: string;
}

export function layout(title: string, body: SafeHtml, ctx?: PageContext, live?: LiveView): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Switchboard console</title>
<link rel="stylesheet" href="/console/assets/console.css">
${ctx ? html`<script src="/console/assets/console.js" defer></script>` : ""}
</head>
<body${live ? html` data-live="${live.url}" data-version="${live.version}"` : ""}>
<header class="top">
  <a class="brand" href="/console">Switchboard</a>
  ${ctx
    ? html`<nav><a href="/console">Queue</a> <a href="/console/conversations">Conversations</a> <a href="/console/saved-replies">Saved replies</a></nav>
  <form class="who" method="post" action="/console/logout"><span>Signed in as <strong data-testid="agent">${ctx.agent}</strong></span>
    <input type="hidden" name="csrf" value="${ctx.csrf}"><button type="submit">Sign out</button></form>`
    : ""}
</header>
<main>
${ctx?.flash ? html`<p class="flash ${ctx.flash.kind}" role="status" data-testid="flash">${ctx.flash.text}</p>` : ""}
${body}
</main>
</body>
</html>`;
}

export function consoleOffPage(): SafeHtml {
  return layout(
    "Console off",
    html`<h1>The console is off</h1>
<p data-testid="console-off">Set <code>CONSOLE_TOKEN</code> and restart Switchboard to turn on the support console.</p>`,
  );
}

export function loginPage(options: { error?: string; agent?: string } = {}): SafeHtml {
  return layout(
    "Sign in",
    html`<h1>Support console</h1>
${options.error ? html`<p class="flash error" role="alert" data-testid="login-error">${options.error}</p>` : ""}
<form class="login" method="post" action="/console/login">
  <label>Your name <input name="agent" required maxlength="80" autocomplete="name" value="${options.agent ?? ""}"></label>
  <label>Your agent token, or the console token <input name="token" type="password" required autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>`,
  );
}

export interface QueueFilter {
  status: string;
  /** `mine`, `unassigned`, or "" (anyone's). */
  owner: string;
  route: string;
  platform: string;
  minAge: string;
}

const STATUS_CHOICES = [
  ["active", "Open and claimed"],
  ["open", "Open"],
  ["claimed", "Claimed"],
  ["resolved", "Resolved"],
  ["all", "All"],
] as const;
const OWNER_CHOICES = [
  ["", "Anyone's"],
  ["mine", "Mine"],
  ["unassigned", "Unassigned"],
] as const;
const AGE_CHOICES = [
  ["", "Any age"],
  ["5", "Waiting 5+ min"],
  ["15", "Waiting 15+ min"],
  ["60", "Waiting 1+ hour"],
  ["240", "Waiting 4+ hours"],
] as const;

/** How the wait compares with HANDOFF_SLA_MINUTES: within, in its last quarter, or past it. */
export type SlaState = "ok" | "near" | "over";

export function slaState(waitingSeconds: number, slaMinutes: number): SlaState {
  const sla = slaMinutes * 60;
  if (waitingSeconds >= sla) return "over";
  return waitingSeconds >= sla * 0.75 ? "near" : "ok";
}

const SLA_LABELS: Record<SlaState, string> = { ok: "within SLA", near: "near SLA", over: "over SLA" };

/** The waiting time, coloured against the SLA while it still counts (open: nobody has answered yet). */
function waitCell(h: HandoffListItem, slaMinutes: number): SafeHtml {
  // Resolved: the wait is history. HANDOFF_SLA_MINUTES=0: no SLA to colour against.
  if (h.status === "resolved" || slaMinutes <= 0) return html`<span class="wait">${duration(h.waitingSeconds)}</span>`;
  const state = slaState(h.waitingSeconds, slaMinutes);
  return html`<span class="wait sla-${state}" data-testid="sla" data-sla="${state}" title="${SLA_LABELS[state]} (${slaMinutes} min)">${duration(h.waitingSeconds)}${state === "ok" ? "" : html` <small>${SLA_LABELS[state]}</small>`}</span>`;
}

/** The shortcut help line: what each key does on this page. */
function keysHelp(keys: Array<[string, string]>): SafeHtml {
  return html`<p class="keys" data-testid="keys">Keys: ${keys.map(([k, what], i) => html`${i ? " · " : ""}<kbd>${k}</kbd> ${what}`)}</p>`;
}

export function queuePage(ctx: PageContext, filter: QueueFilter, items: HandoffListItem[], slaMinutes: number, live?: LiveView): SafeHtml {
  const option = (value: string, label: string, current: string) =>
    html`<option value="${value}"${value === current ? html` selected` : ""}>${label}</option>`;
  return layout(
    "Queue",
    html`<h1>Handoff queue</h1>
<form class="filters" method="get" action="/console">
  <label>State <select name="status">${STATUS_CHOICES.map(([v, l]) => option(v, l, filter.status))}</select></label>
  <label>Owner <select name="owner">${OWNER_CHOICES.map(([v, l]) => option(v, l, filter.owner))}</select></label>
  <label>Platform <select name="platform">${option("", "Any platform", filter.platform)}${PLATFORMS.map((p) => option(p, p, filter.platform))}</select></label>
  <label>Route <select name="route">${option("", "Any route", filter.route)}${ROUTE_NAMES.map((r) => option(r, r, filter.route))}</select></label>
  <label>Age <select name="minAge">${AGE_CHOICES.map(([v, l]) => option(v, l, filter.minAge))}</select></label>
  <button type="submit">Filter</button>
</form>
${keysHelp([["j", "next"], ["k", "previous"], ["o", "open"]])}
<div id="queue-list" data-live-region>
${items.length === 0
  ? html`<p class="empty" data-testid="queue-empty">Nothing here. The bot is handling everything.</p>`
  : html`<table class="queue" data-testid="queue">
<thead><tr><th>Waiting</th><th>Customer</th><th>Request</th><th>Where</th><th>Owner</th><th>State</th><th></th></tr></thead>
<tbody>${items.map(
      (h) => html`<tr data-handoff="${h.id}" class="${h.status}">
  <td class="wait-cell">${waitCell(h, slaMinutes)}</td>
  <td class="who" data-testid="customer"><strong>${h.customerName ?? h.userId}</strong>${h.customerName ? html` <span class="meta">${h.userId}</span>` : ""}</td>
  <td class="preview"><span data-testid="preview">${firstLine(h.preview)}</span> <span class="meta">${reasonLabel(h.reason)}${h.routes.length ? html` · ${h.routes.map((r) => r.route).join(", ")}` : ""}</span></td>
  <td class="platform" data-testid="platform">${h.platform}</td>
  <td class="owner" data-testid="owner">${h.assignee ?? html`<span class="meta">unassigned</span>`}</td>
  <td class="state">${statusBadge(h.status)}</td>
  <td class="open"><a href="/console/handoffs/${h.id}">Open</a></td>
</tr>`,
    )}</tbody></table>`}
</div>`,
    ctx,
    live,
  );
}

/** What the handoff page shows besides the handoff. */
export interface HandoffExtras {
  /** The team's names (a lead's Assign). */
  agents: string[];
  /** Refunds this handoff waits on (a `needs_approval` handoff's), decided or not. */
  refunds?: RefundItem[];
  /** Internal notes, shown in the timeline among the messages. */
  notes?: HandoffNote[];
  /** The reply box's picker. */
  savedReplies?: SavedReply[];
  /** The customer panel beside the transcript; absent: not shown. */
  customer?: CustomerPanel | undefined;
  /** The handoffs before and after this one in the active queue (j / k). */
  previous?: string | undefined;
  next?: string | undefined;
  /** HANDOFF_SLA_MINUTES. */
  slaMinutes?: number;
}

export function handoffPage(ctx: PageContext, d: HandoffDetail, extras: HandoffExtras = { agents: [] }, live?: LiveView): SafeHtml {
  const refunds = extras.refunds ?? [];
  const h = d.handoff;
  const action = (path: string) => `/console/handoffs/${h.id}/${path}`;
  const csrf = html`<input type="hidden" name="csrf" value="${ctx.csrf}">`;
  const mine = h.status === "claimed" && h.assignee === ctx.agent;
  // Only the owner of a claimed handoff, or a lead, closes it.
  const mayClose = h.status === "open" || mine || ctx.role === "lead";
  const others = extras.agents.filter((a) => a !== h.assignee);
  const saved = extras.savedReplies ?? [];
  const sla = extras.slaMinutes;
  return layout(
    "Handoff",
    html`<nav class="crumbs"><a href="/console">← Queue</a>
  ${extras.previous ? html`<a rel="prev" href="/console/handoffs/${extras.previous}">↑ Previous</a>` : ""}
  ${extras.next ? html`<a rel="next" href="/console/handoffs/${extras.next}">↓ Next</a>` : ""}
  ${extras.customer ? html`<a class="to-customer" href="#customer-panel">Customer details ↓</a>` : ""}</nav>
<h1>${h.customerName ?? `User ${h.userId}`} ${statusBadge(h.status)}</h1>
${keysHelp([["j", "next"], ["k", "previous"], ["c", "claim"], ["r", "reply"], ["e", "resolve"]])}
<div class="handoff-layout">
<div class="work">
<dl class="facts" id="facts" data-live-region data-testid="handoff-facts">
  <dt>Why</dt><dd>${reasonLabel(h.reason)} — ${readableDetail(h.detail)}</dd>
  <dt>Who</dt><dd data-testid="customer">${h.customerName ?? "not linked to a customer"}</dd>
  <dt>Where</dt><dd>${h.platform} · user ${h.userId} · <a href="/console/conversations/${h.conversationId}">conversation</a></dd>
  <dt>Routes</dt><dd>${h.routes.length ? h.routes.map((r) => html`<span class="route">${r.route} ${pct(r.confidence)}</span> `) : "—"}</dd>
  <dt>Opened</dt><dd>${when(h.createdAt, ctx.now)}</dd>
  <dt>Waited</dt><dd>${sla !== undefined && h.status !== "resolved" ? waitCell(h, sla) : duration(h.waitingSeconds)}${h.status === "open" ? " so far" : ""}</dd>
  <dt>Owner</dt><dd data-testid="owner">${h.assignee ?? "nobody yet"}${h.claimedAt ? html` · claimed ${when(h.claimedAt, ctx.now)}` : ""}</dd>
  ${h.resolvedAt ? html`<dt>Closed</dt><dd>${when(h.resolvedAt, ctx.now)} by ${h.resolvedBy ?? "staff"}${h.resolutionNote ? html` — ${h.resolutionNote}` : ""}</dd>` : ""}
</dl>
<section class="actions" id="actions" data-live-region>
${h.status === "resolved"
  ? html`<p class="closed">This handoff is closed; the bot owns the conversation again.</p>`
  : html`
  ${h.status === "open" ? html`<form method="post" action="${action("claim")}">${csrf}<button type="submit" name="do" value="claim" data-key="c">Claim</button></form>` : ""}
  ${h.status === "open" || mine
    ? html`<form class="reply" method="post" action="${action("reply")}">${csrf}
    <label>Reply to the user <textarea name="text" rows="4" required maxlength="4000" data-key="r"></textarea></label>
    <div class="row">${saved.length
      ? html`<label>Saved reply <select data-saved-reply data-testid="saved-reply-picker"><option value="">Insert a saved reply…</option>${saved.map((r) => html`<option value="${r.id}" data-body="${r.body}">${r.title}</option>`)}</select></label>`
      : html`<span class="meta"><a href="/console/saved-replies">Add saved replies</a> to insert them here.</span>`}
    <button type="submit">Send reply</button></div></form>`
    : html`<p>${h.assignee} owns this handoff; only they can reply.</p>`}
  ${mayClose
    ? html`<form class="resolve" method="post" action="${action("resolve")}">${csrf}
    <label>Resolution note for the bot <input name="note" maxlength="2000" placeholder="What you did, in a sentence"></label>
    <button type="submit" data-key="e">Resolve</button></form>
  <form method="post" action="${action("back-to-bot")}">${csrf}<button type="submit" class="secondary">Back to bot</button></form>`
    : ""}
  ${ctx.role === "lead" && others.length
    ? html`<form class="assign" method="post" action="${action("assign")}">${csrf}
    <label>Assign to <select name="to">${others.map((a) => html`<option value="${a}">${a}</option>`)}</select></label>
    <button type="submit">Assign</button></form>`
    : ""}`}
</section>
<form class="note" method="post" action="${action("note")}">${csrf}
  <label>Internal note <span class="meta">(only staff see it; never sent to the user)</span> <textarea name="text" rows="2" required maxlength="4000"></textarea></label>
  <button type="submit">Add note</button>
</form>
${refunds.length ? refundSection(ctx, h.id, refunds) : ""}
<h2>Conversation</h2>
<div id="timeline" data-live-region>${transcript(d.messages, ctx.now, ctx.csrf, extras.notes ?? [])}</div>
<h2>History</h2>
<div id="history" data-live-region>${events(d.events, ctx.now)}</div>
</div>
${extras.customer ? customerPanel(extras.customer, ctx.now) : ""}
</div>`,
    ctx,
    live,
  );
}

/** The refunds a handoff waits on: Approve, or Reject with the reason the user is told. */
function refundSection(ctx: PageContext, handoffId: string, refunds: RefundItem[]): SafeHtml {
  const hidden = html`<input type="hidden" name="csrf" value="${ctx.csrf}"><input type="hidden" name="handoff" value="${handoffId}">`;
  return html`<section class="refunds" id="refunds" data-live-region data-testid="refunds"><h2>Refund approval</h2>
${refunds.map(
    (r) => html`<div class="refund" data-refund="${r.id}">
  <p><strong>${money(r.amountCents, r.currency)}</strong> for ${r.customerName} · payment ${r.paymentId} · ${r.reason}
  · <span class="badge ${r.status}" data-testid="refund-status">${r.status.replace("_", " ")}</span>${r.decidedBy ? html` by ${r.decidedBy}${r.decisionReason ? html`: ${r.decisionReason}` : ""}` : ""}</p>
  ${r.status === "awaiting_approval"
    ? html`<div class="actions"><form method="post" action="/console/refunds/${r.id}/approve">${hidden}<button type="submit">Approve refund</button></form>
  <form method="post" action="/console/refunds/${r.id}/reject">${hidden}<label>Reason (the user is told) <input name="reason" required maxlength="500"></label><button type="submit">Reject refund</button></form></div>`
    : ""}
</div>`,
  )}
</section>`;
}

export function conversationsPage(ctx: PageContext, q: string, rows: ConversationRow[]): SafeHtml {
  return layout(
    "Conversations",
    html`<h1>Conversations</h1>
<form class="filters" method="get" action="/console/conversations">
  <label>User or text <input name="q" value="${q}" maxlength="200" placeholder="user id, or words from a message"></label>
  <button type="submit">Search</button>
</form>
${rows.length === 0
  ? html`<p class="empty">No conversations${q ? " match" : ""}.</p>`
  : html`<table data-testid="conversations"><thead><tr><th>Updated</th><th>Where</th><th>User</th><th>Owner</th><th></th></tr></thead>
<tbody>${rows.map(
      (c) => html`<tr><td>${when(c.updatedAt, ctx.now)}</td><td>${c.platform}</td><td>${c.userId}</td>
  <td>${c.status === "human" ? c.assignee : c.status}</td><td><a href="/console/conversations/${c.id}">Open</a></td></tr>`,
    )}</tbody></table>`}`,
    ctx,
  );
}

export function conversationPage(ctx: PageContext, c: ConversationRow, messages: TranscriptEntry[], handoffs: HandoffListItem[]): SafeHtml {
  return layout(
    "Conversation",
    html`<p><a href="/console/conversations">← Conversations</a></p>
<h1>Conversation</h1>
<dl class="facts"><dt>Where</dt><dd>${c.platform} · ${c.conversationKey}</dd><dt>User</dt><dd>${c.userId}</dd>
<dt>Owner</dt><dd>${c.status === "human" ? c.assignee : c.status}</dd></dl>
${handoffs.length
  ? html`<h2>Handoffs</h2><ul>${handoffs.map(
      (h) => html`<li><a href="/console/handoffs/${h.id}">${reasonLabel(h.reason)}</a> ${statusBadge(h.status)} ${when(h.createdAt, ctx.now)}</li>`,
    )}</ul>`
  : ""}
<h2>Transcript</h2>
${transcript(messages, ctx.now, ctx.csrf)}`,
    ctx,
  );
}

export function errorPage(ctx: PageContext | undefined, title: string, text: string): SafeHtml {
  return layout(title, html`<h1>${title}</h1><p>${text}</p><p><a href="/console">Back to the queue</a></p>`, ctx);
}

/** Every message (and the handoff's internal notes among them, by time); each bot answer with the routing trace of the message it answers. */
function transcript(messages: TranscriptEntry[], now: Date, csrf?: string, notes: HandoffNote[] = []): SafeHtml {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const answered = new Set(messages.filter((m) => m.direction === "out" && m.inReplyTo).map((m) => m.inReplyTo));
  const timeline: Array<{ at: number; item: SafeHtml }> = notes.map((n) => ({
    at: n.createdAt.getTime(),
    item: html`<li class="msg note" data-note="${n.id}" data-testid="note"><div class="meta"><strong>Internal note · ${n.author}</strong> · ${when(n.createdAt, now)} · only staff see this</div><div class="text">${n.text}</div></li>`,
  }));
  const items = messages.map((m) => {
    const source = m.direction === "out" && m.authorKind === "bot" && m.inReplyTo ? byId.get(m.inReplyTo) : undefined;
    // A message nobody answered (failed, relayed) shows its own trace.
    const traced = source ?? (m.direction === "in" && !answered.has(m.id) ? m : undefined);
    return html`<li class="msg ${m.authorKind}" data-message="${m.id}">
  <div class="meta"><strong>${author(m)}</strong> · ${when(m.createdAt, now)}${m.status === "failed" ? html` · <span class="bad">${m.direction === "out" ? "not delivered" : "failed"}${m.error ? `: ${m.error}` : ""}</span>` : ""}</div>
  ${m.authorKind === "bot" || m.authorKind === "agent"
    ? html`<div class="md" data-testid="message-text">${renderMarkdown(m.text)}</div>`
    : html`<div class="text" data-testid="message-text">${m.text}</div>`}
  ${traced && (traced.routing || traced.workerRuns.length || traced.modelCalls.length) ? trace(traced, csrf) : ""}
</li>`;
  });
  // Stable: a note written at the same instant as a message comes after it.
  const merged = [...messages.map((m, i) => ({ at: m.createdAt.getTime(), item: items[i]! })), ...timeline].sort((a, b) => a.at - b.at);
  return html`<ol class="transcript" data-testid="transcript">${merged.map((x) => x.item)}</ol>`;
}

function trace(m: TranscriptEntry, csrf?: string): SafeHtml {
  const r = m.routing;
  // Staff teach the router: the right route of this user message becomes a training line.
  const correct = csrf && m.direction === "in"
    ? html`<form class="correct" method="post" action="/console/conversations/${m.conversationId}/messages/${m.id}/route"><input type="hidden" name="csrf" value="${csrf}">
  <label>Right route <select name="route">${ROUTE_NAMES.map((x) => html`<option value="${x}"${r?.routes[0]?.route === x ? " selected" : ""}>${x}</option>`)}</select></label> <button type="submit">Teach the router</button></form>`
    : "";
  return html`<details class="trace" data-testid="trace"><summary>Routing trace${r ? html`: ${r.routes.map((x) => `${x.route} ${pct(x.confidence)}`).join(", ") || "no confident route"} · ${r.engine} · ${ms(r.latencyMs)}` : ""}</summary>
${r
  ? html`<dl class="facts">
  <dt>Routes</dt><dd>${r.routes.length ? r.routes.map((x) => html`<span class="route">${x.route} ${pct(x.confidence)}</span> <q>${x.question}</q> `) : "none"}${r.unsure ? " (unsure)" : ""}</dd>
  ${r.plan ? html`<dt>Plan</dt><dd data-testid="plan">${r.plan.map((p) => html`<span class="route">${p.id} ${p.worker}</span>${p.dependsOn.length ? ` after ${p.dependsOn.join(", ")}` : ""} <q>${p.question}</q> `)}</dd>` : ""}
  <dt>Scores</dt><dd>${Object.entries(r.scores).map(([k, v]) => `${k} ${pct(v)}`).join(" · ")}</dd>
  <dt>Engine</dt><dd>${r.engine}, ${ms(r.latencyMs)}</dd>
  ${r.error ? html`<dt>Error</dt><dd class="bad">${r.error}</dd>` : ""}
</dl>`
  : ""}
${correct}
${m.workerRuns.length
  ? html`<table class="runs"><thead><tr><th>Worker</th><th>Status</th><th>Engine</th><th>Latency</th><th>Question</th><th>Reply</th><th>Tools</th><th>Error</th></tr></thead><tbody>${m.workerRuns.map(
      (w) => html`<tr><td>${w.step ? `${w.step} ` : ""}${w.worker}${w.reassignedFrom ? ` (from ${w.reassignedFrom})` : ""}</td><td class="${w.status === "ok" ? "" : "bad"}">${w.status}</td><td>${w.engine}</td><td>${ms(w.latencyMs)}</td><td>${w.question}</td>
  <td class="text">${w.reply ?? ""}</td><td>${w.toolCalls.map((t) => t.name).join(", ")}</td><td class="bad">${w.error ?? ""}</td></tr>`,
    )}</tbody></table>`
  : ""}
${m.modelCalls.length
  ? html`<table class="runs" data-testid="model-calls"><thead><tr><th>Model call</th><th>Model</th><th>Outcome</th><th>Latency</th><th>Prompt tokens</th><th>Completion tokens</th><th>Error</th></tr></thead><tbody>${m.modelCalls.map(
      (c) => html`<tr><td>${c.worker ?? c.stage}</td><td>${c.model}</td><td class="${c.outcome === "ok" ? "" : "bad"}">${c.outcome}</td><td>${ms(c.latencyMs)}</td><td>${c.promptTokens ?? "?"}</td><td>${c.completionTokens ?? "?"}</td><td class="bad">${c.error ?? ""}</td></tr>`,
    )}</tbody></table>`
  : ""}
</details>`;
}

function events(list: HandoffEvent[], now: Date): SafeHtml {
  const label: Record<HandoffEvent["kind"], string> = {
    opened: "opened",
    claimed: "claimed",
    agent_reply: "replied",
    user_message: "user wrote",
    resolved: "resolved",
    back_to_bot: "gave it back to the bot",
    sla_reannounced: "re-announced (SLA)",
    notify_failed: "staff channel failed",
    assigned: "assigned it to",
    refund_approved: "approved the refund",
    refund_rejected: "rejected the refund",
  };
  return html`<ol class="events" data-testid="events">${list.map(
    (e) => html`<li><span class="when">${when(e.at, now)}</span> <strong>${e.actor}</strong> ${label[e.kind] ?? e.kind}${e.text ? (e.kind === "agent_reply" ? html`: <div class="md">${renderMarkdown(e.text)}</div>` : html`: <span class="text">${e.kind === "opened" ? openedText(e.text) : e.text}</span>`) : ""}</li>`,
  )}</ol>`;
}

function author(m: TranscriptEntry): string {
  switch (m.authorKind) {
    case "user":
      return `User ${m.authorId ?? ""}`.trim();
    case "bot":
      return "Bot";
    case "agent":
      return `${m.authorId ?? "Agent"} (support)`;
    default:
      return "System";
  }
}


/** An `opened` event's `reason: detail`, with the reason's label instead of its code. */
function openedText(text: string): string {
  const m = /^([a-z_]+): ([\s\S]*)$/.exec(text);
  if (m && m[1]! in HANDOFF_REASON_LABELS) return `${reasonLabel(m[1]!)} — ${readableDetail(m[2]!)}`;
  return readableDetail(text);
}






export const CONSOLE_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2733; background: #f6f7f9; }
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; }
.top { display: flex; flex-wrap: wrap; gap: .4rem 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1d2733; color: #fff; }
.top a { color: #fff; text-decoration: none; margin-right: 1rem; }
.top nav { display: flex; flex-wrap: wrap; gap: .3rem 0; }
.top .brand { font-weight: 700; }
.top .who { margin-left: auto; display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; }
main { padding: 1rem 1.2rem; max-width: 1400px; }
h1 { margin: .4rem 0 .6rem; font-size: 1.5rem; } h2 { font-size: 1.15rem; margin: 1.2rem 0 .5rem; } h3 { font-size: .95rem; margin: .9rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
a { color: #1f5fbf; }
button { font: inherit; padding: .35rem .8rem; border-radius: .3rem; border: 1px solid #1f5fbf; background: #1f5fbf; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #1f5fbf; }
input, select, textarea { font: inherit; padding: .3rem .4rem; border: 1px solid #b9c0c9; border-radius: .3rem; max-width: 100%; }
.badge { display: inline-block; padding: .1rem .45rem; border-radius: .6rem; font-size: .8rem; background: #e3e6ea; }
.badge.open { background: #ffe2b8; } .badge.claimed { background: #cfe3ff; } .badge.resolved, .badge.paid, .badge.succeeded, .badge.approved { background: #d4f2dc; }
.badge.failed, .badge.rejected { background: #ffd9d6; }
.route { font-size: .8rem; background: #eef0f3; padding: 0 .3rem; border-radius: .3rem; }
.flash { padding: .5rem .8rem; border-radius: .3rem; } .flash.ok { background: #d4f2dc; } .flash.warn { background: #fff1c2; } .flash.error { background: #ffd9d6; }
.filters, .actions form, .login, .note, .saved-new, .saved form { display: flex; gap: .6rem .8rem; align-items: end; flex-wrap: wrap; margin: .6rem 0; }
.login { flex-direction: column; align-items: start; max-width: 22rem; }
label { display: flex; flex-direction: column; font-size: .85rem; gap: .2rem; }
.actions form.reply, form.note, form.saved-new, .saved form:first-child { flex-direction: column; align-items: stretch; }
.reply label, .note label { width: 100%; }
textarea { width: 100%; max-width: 48rem; }
.row { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; max-width: 48rem; }
.reply button, .note button, .saved-new button { align-self: flex-start; }
.resolve input { width: 24rem; }
.keys { font-size: .8rem; color: #55606e; margin: .2rem 0 .6rem; }
kbd { font-family: ui-monospace, monospace; font-size: .75rem; border: 1px solid #b9c0c9; border-bottom-width: 2px; border-radius: .25rem; padding: 0 .3rem; background: #fff; }
.crumbs { display: flex; gap: 1rem; flex-wrap: wrap; }
.crumbs .to-customer { display: none; }
@media (max-width: 900px) { .crumbs .to-customer { display: inline; } }
.transcript { list-style: none; padding: 0; margin: 0; }
.msg { background: #fff; margin: .5rem 0; padding: .5rem .8rem; border-left: 4px solid #c5cbd3; min-width: 0; }
.msg.user { border-color: #7aa7e0; } .msg.bot { border-color: #9bd1a8; } .msg.agent { border-color: #e0b07a; }
.msg.note { background: #fff8db; border-color: #e2c044; }
.meta { font-size: .8rem; color: #55606e; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.md { overflow-wrap: anywhere; } .md p { margin: .3rem 0; } .md table { width: auto; } .md ul, .md ol { margin: .3rem 0; padding-left: 1.4rem; }
.md pre { overflow-x: auto; max-width: 100%; }
.events .md, .events .md p { display: inline; margin: 0; }
.preview { max-width: 28rem; overflow-wrap: anywhere; }
tr[data-handoff].selected { outline: 2px solid #1f5fbf; outline-offset: -2px; background: #eef4ff; }
.wait { white-space: nowrap; font-weight: 600; padding: .05rem .35rem; border-radius: .3rem; }
.wait small { font-weight: 400; }
.sla-ok { background: #d4f2dc; } .sla-near { background: #fff1c2; } .sla-over { background: #ffd9d6; color: #8c1d18; }
.trace { font-size: .85rem; margin-top: .4rem; overflow-x: auto; max-width: 100%; }
.bad { color: #b3261e; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .2rem 1rem; overflow-wrap: anywhere; }
dl.facts dt { font-weight: 600; }
.handoff-layout { display: grid; grid-template-columns: minmax(0, 1fr) 20rem; gap: 1.2rem; align-items: start; }
.work { min-width: 0; }
.customer { background: #fff; border: 1px solid #e3e6ea; border-radius: .4rem; padding: .2rem 1rem .8rem; position: sticky; top: .5rem; overflow-wrap: anywhere; }
.customer h2 { margin-top: .6rem; }
ul.plain, ul.saved { list-style: none; padding: 0; margin: 0; }
ul.plain li { padding: .25rem 0; border-bottom: 1px solid #eef0f3; font-size: .9rem; }
ul.saved li { background: #fff; padding: .4rem .8rem; margin: .5rem 0; border: 1px solid #e3e6ea; border-radius: .4rem; }
@media (max-width: 900px) {
  .handoff-layout { grid-template-columns: minmax(0, 1fr); }
  .customer { position: static; }
}
@media (max-width: 640px) {
  main { padding: .6rem .7rem; }
  .top { padding: .5rem .7rem; }
  .top .who { margin-left: 0; }
  table.queue, table.queue tbody { display: block; background: none; }
  table.queue thead { display: none; }
  table.queue tr { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: .15rem .6rem; background: #fff; margin: .5rem 0; padding: .5rem .6rem; border-radius: .4rem; border: 1px solid #e3e6ea; }
  table.queue td { display: block; border: 0; padding: 0; min-width: 0; }
  table.queue td.who { grid-column: 1; grid-row: 1; }
  table.queue td.wait-cell { grid-column: 2; grid-row: 1; text-align: right; }
  table.queue td.preview { grid-column: 1 / -1; max-width: none; }
  table.queue td.platform, table.queue td.owner { font-size: .85rem; color: #55606e; }
  table.queue td.platform { grid-column: 1; } table.queue td.owner { grid-column: 2; text-align: right; }
  table.queue td.state { grid-column: 1; } table.queue td.open { grid-column: 2; text-align: right; }
  table:not(.queue) { display: block; overflow-x: auto; }
  dl.facts { grid-template-columns: 4.5rem minmax(0, 1fr); gap: .15rem .6rem; font-size: .9rem; } dl.facts dd { margin: 0; }
  .filters label { flex: 1 1 9rem; } .filters select { width: 100%; }
  .keys { display: none; }
  .resolve label, .resolve input { width: 100%; }
}
`;
