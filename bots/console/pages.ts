import type { ConversationRow, TranscriptEntry } from "../../src/conversations/conversation-log.ts";
import type { HandoffEvent, HandoffListItem } from "../../src/handoffs/handoff-store.ts";
import type { HandoffDetail } from "../../src/handoffs/handoff-service.ts";
import { ROUTE_NAMES } from "../../agents/workers/registry.ts";
import { PLATFORMS } from "../../src/types.ts";
import { html, type SafeHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";
import type { RefundItem } from "../../src/handoffs/refund-approvals.ts";
import { money } from "../../agents/workers/billing/billing-repo.ts";
import { HANDOFF_REASON_LABELS } from "../../src/handoffs/reasons.ts";
import type { HandoffReason } from "../../src/types.ts";

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

export function layout(title: string, body: SafeHtml, ctx?: PageContext): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Switchboard console</title>
<link rel="stylesheet" href="/console/assets/console.css">
</head>
<body>
<header class="top">
  <a class="brand" href="/console">Switchboard</a>
  ${ctx
    ? html`<nav><a href="/console">Queue</a> <a href="/console/conversations">Conversations</a></nav>
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
const AGE_CHOICES = [
  ["", "Any age"],
  ["5", "Waiting 5+ min"],
  ["15", "Waiting 15+ min"],
  ["60", "Waiting 1+ hour"],
  ["240", "Waiting 4+ hours"],
] as const;

export function queuePage(ctx: PageContext, filter: QueueFilter, items: HandoffListItem[]): SafeHtml {
  const option = (value: string, label: string, current: string) =>
    html`<option value="${value}"${value === current ? html` selected` : ""}>${label}</option>`;
  return layout(
    "Queue",
    html`<h1>Handoff queue</h1>
<form class="filters" method="get" action="/console">
  <label>State <select name="status">${STATUS_CHOICES.map(([v, l]) => option(v, l, filter.status))}</select></label>
  <label>Route <select name="route">${option("", "Any route", filter.route)}${ROUTE_NAMES.map((r) => option(r, r, filter.route))}</select></label>
  <label>Platform <select name="platform">${option("", "Any platform", filter.platform)}${PLATFORMS.map((p) => option(p, p, filter.platform))}</select></label>
  <label>Age <select name="minAge">${AGE_CHOICES.map(([v, l]) => option(v, l, filter.minAge))}</select></label>
  <button type="submit">Filter</button>
</form>
${items.length === 0
  ? html`<p class="empty" data-testid="queue-empty">Nothing here. The bot is handling everything.</p>`
  : html`<table class="queue" data-testid="queue">
<thead><tr><th>Waiting</th><th>State</th><th>Who</th><th>Asked</th><th>Why</th><th>Routes</th><th>Where</th><th>Owner</th><th>Opened</th><th></th></tr></thead>
<tbody>${items.map(
      (h) => html`<tr data-handoff="${h.id}" class="${h.status}">
  <td class="wait">${duration(h.waitingSeconds)}</td>
  <td>${statusBadge(h.status)}</td>
  <td data-testid="customer">${h.customerName ? html`${h.customerName} <span class="meta">${h.userId}</span>` : h.userId}</td>
  <td class="preview" data-testid="preview">${firstLine(h.preview)}</td>
  <td>${reasonLabel(h.reason)}</td>
  <td>${h.routes.map((r) => html`<span class="route">${r.route} ${pct(r.confidence)}</span> `)}</td>
  <td>${h.platform}</td>
  <td>${h.assignee ?? "—"}</td>
  <td>${when(h.createdAt, ctx.now)}</td>
  <td><a href="/console/handoffs/${h.id}">Open</a></td>
</tr>`,
    )}</tbody></table>`}`,
    ctx,
  );
}

/** What the handoff page shows besides the handoff: the team's names (a lead's Assign). */
export interface HandoffExtras {
  agents: string[];
  /** Refunds this handoff waits on (a `needs_approval` handoff's), decided or not. */
  refunds?: RefundItem[];
}

export function handoffPage(ctx: PageContext, d: HandoffDetail, extras: HandoffExtras = { agents: [] }): SafeHtml {
  const refunds = extras.refunds ?? [];
  const h = d.handoff;
  const action = (path: string) => `/console/handoffs/${h.id}/${path}`;
  const csrf = html`<input type="hidden" name="csrf" value="${ctx.csrf}">`;
  const mine = h.status === "claimed" && h.assignee === ctx.agent;
  // Only the owner of a claimed handoff, or a lead, closes it.
  const mayClose = h.status === "open" || mine || ctx.role === "lead";
  const others = extras.agents.filter((a) => a !== h.assignee);
  return layout(
    "Handoff",
    html`<p><a href="/console">← Queue</a></p>
<h1>Handoff ${statusBadge(h.status)}</h1>
<dl class="facts" data-testid="handoff-facts">
  <dt>Why</dt><dd>${reasonLabel(h.reason)} — ${readableDetail(h.detail)}</dd>
  <dt>Who</dt><dd data-testid="customer">${h.customerName ?? "not linked to a customer"}</dd>
  <dt>Where</dt><dd>${h.platform} · user ${h.userId} · <a href="/console/conversations/${h.conversationId}">conversation</a></dd>
  <dt>Routes</dt><dd>${h.routes.length ? h.routes.map((r) => html`<span class="route">${r.route} ${pct(r.confidence)}</span> `) : "—"}</dd>
  <dt>Opened</dt><dd>${when(h.createdAt, ctx.now)}</dd>
  <dt>Waited</dt><dd>${duration(h.waitingSeconds)}${h.status === "open" ? " so far" : ""}</dd>
  <dt>Owner</dt><dd data-testid="owner">${h.assignee ?? "nobody yet"}${h.claimedAt ? html` · claimed ${when(h.claimedAt, ctx.now)}` : ""}</dd>
  ${h.resolvedAt ? html`<dt>Closed</dt><dd>${when(h.resolvedAt, ctx.now)} by ${h.resolvedBy ?? "staff"}${h.resolutionNote ? html` — ${h.resolutionNote}` : ""}</dd>` : ""}
</dl>
${h.status === "resolved"
  ? html`<p class="closed">This handoff is closed; the bot owns the conversation again.</p>`
  : html`<section class="actions">
  ${h.status === "open" ? html`<form method="post" action="${action("claim")}">${csrf}<button type="submit" name="do" value="claim">Claim</button></form>` : ""}
  ${h.status === "open" || mine
    ? html`<form class="reply" method="post" action="${action("reply")}">${csrf}
    <label>Reply to the user <textarea name="text" rows="4" required maxlength="4000"></textarea></label>
    <button type="submit">Send reply</button></form>`
    : html`<p>${h.assignee} owns this handoff; only they can reply.</p>`}
  ${mayClose
    ? html`<form class="resolve" method="post" action="${action("resolve")}">${csrf}
    <label>Resolution note for the bot <input name="note" maxlength="2000" placeholder="What you did, in a sentence"></label>
    <button type="submit">Resolve</button></form>
  <form method="post" action="${action("back-to-bot")}">${csrf}<button type="submit">Back to bot</button></form>`
    : ""}
  ${ctx.role === "lead" && others.length
    ? html`<form class="assign" method="post" action="${action("assign")}">${csrf}
    <label>Assign to <select name="to">${others.map((a) => html`<option value="${a}">${a}</option>`)}</select></label>
    <button type="submit">Assign</button></form>`
    : ""}
</section>`}
${refunds.length ? refundSection(ctx, h.id, refunds) : ""}
<h2>Transcript</h2>
${transcript(d.messages, ctx.now, ctx.csrf)}
<h2>History</h2>
${events(d.events, ctx.now)}`,
    ctx,
  );
}

/** The refunds a handoff waits on: Approve, or Reject with the reason the user is told. */
function refundSection(ctx: PageContext, handoffId: string, refunds: RefundItem[]): SafeHtml {
  const hidden = html`<input type="hidden" name="csrf" value="${ctx.csrf}"><input type="hidden" name="handoff" value="${handoffId}">`;
  return html`<section class="refunds" data-testid="refunds"><h2>Refund approval</h2>
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

/** Every message; each bot answer with the routing trace of the message it answers. */
function transcript(messages: TranscriptEntry[], now: Date, csrf?: string): SafeHtml {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const answered = new Set(messages.filter((m) => m.direction === "out" && m.inReplyTo).map((m) => m.inReplyTo));
  return html`<ol class="transcript" data-testid="transcript">${messages.map((m) => {
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
  })}</ol>`;
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
  <dt>Scores</dt><dd>${Object.entries(r.scores).map(([k, v]) => `${k} ${pct(v)}`).join(" · ")}</dd>
  <dt>Engine</dt><dd>${r.engine}, ${ms(r.latencyMs)}</dd>
  ${r.error ? html`<dt>Error</dt><dd class="bad">${r.error}</dd>` : ""}
</dl>`
  : ""}
${correct}
${m.workerRuns.length
  ? html`<table class="runs"><thead><tr><th>Worker</th><th>Status</th><th>Engine</th><th>Latency</th><th>Question</th><th>Reply</th><th>Tools</th><th>Error</th></tr></thead><tbody>${m.workerRuns.map(
      (w) => html`<tr><td>${w.worker}</td><td class="${w.status === "ok" ? "" : "bad"}">${w.status}</td><td>${w.engine}</td><td>${ms(w.latencyMs)}</td><td>${w.question}</td>
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
    (e) => html`<li><span class="when">${when(e.at, now)}</span> <strong>${e.actor}</strong> ${label[e.kind] ?? e.kind}${e.text ? html`: <span class="text">${e.kind === "opened" ? openedText(e.text) : e.text}</span>` : ""}</li>`,
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

function statusBadge(status: string): SafeHtml {
  return html`<span class="badge ${status}" data-testid="status">${status}</span>`;
}

/** The first line of what the user asked, cut to fit a queue row. */
function firstLine(text: string): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== "")?.trim() ?? "";
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
}

/** A detail as staff read it: an upper-case tool code in front (`NEEDS_APPROVAL: …`, older rows) is dropped. */
export function readableDetail(detail: string): string {
  return detail.replace(/^[A-Z][A-Z_]{2,}:\s*/, "");
}

/** An `opened` event's `reason: detail`, with the reason's label instead of its code. */
function openedText(text: string): string {
  const m = /^([a-z_]+): ([\s\S]*)$/.exec(text);
  if (m && m[1]! in HANDOFF_REASON_LABELS) return `${reasonLabel(m[1]!)} — ${readableDetail(m[2]!)}`;
  return readableDetail(text);
}

function reasonLabel(reason: string): string {
  return HANDOFF_REASON_LABELS[reason as HandoffReason] ?? reason;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`;
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function when(at: Date, now: Date): SafeHtml {
  const iso = at.toISOString();
  const ago = Math.round((now.getTime() - at.getTime()) / 1000);
  return html`<time datetime="${iso}" title="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC${ago >= 0 ? ` (${duration(ago)} ago)` : ""}</time>`;
}

export const CONSOLE_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2733; background: #f6f7f9; }
body { margin: 0; }
.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1d2733; color: #fff; }
.top a { color: #fff; text-decoration: none; margin-right: 1rem; }
.top .brand { font-weight: 700; }
.top .who { margin-left: auto; display: flex; gap: .6rem; align-items: center; }
main { padding: 1rem 1.2rem; max-width: 1200px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
.badge { padding: .1rem .45rem; border-radius: .6rem; font-size: .8rem; background: #e3e6ea; }
.badge.open { background: #ffe2b8; } .badge.claimed { background: #cfe3ff; } .badge.resolved { background: #d4f2dc; }
.route { font-size: .8rem; background: #eef0f3; padding: 0 .3rem; border-radius: .3rem; }
.flash { padding: .5rem .8rem; border-radius: .3rem; } .flash.ok { background: #d4f2dc; } .flash.warn { background: #fff1c2; } .flash.error { background: #ffd9d6; }
.filters, .actions form, .login { display: flex; gap: .8rem; align-items: end; flex-wrap: wrap; margin: .6rem 0; }
.login { flex-direction: column; align-items: start; max-width: 22rem; }
label { display: flex; flex-direction: column; font-size: .85rem; gap: .2rem; }
textarea { width: 40rem; max-width: 90vw; }
.transcript { list-style: none; padding: 0; }
.msg { background: #fff; margin: .5rem 0; padding: .5rem .8rem; border-left: 4px solid #c5cbd3; }
.msg.user { border-color: #7aa7e0; } .msg.bot { border-color: #9bd1a8; } .msg.agent { border-color: #e0b07a; }
.meta { font-size: .8rem; color: #55606e; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.md { overflow-wrap: anywhere; } .md p { margin: .3rem 0; } .md table { width: auto; } .md ul, .md ol { margin: .3rem 0; padding-left: 1.4rem; }
.preview { max-width: 22rem; overflow-wrap: anywhere; }
.trace { font-size: .85rem; margin-top: .4rem; }
.bad { color: #b3261e; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { font-weight: 600; }
`;
