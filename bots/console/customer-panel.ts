import { day, money } from "../../agents/workers/billing/billing-repo.ts";
import type { CustomerPanel } from "../../src/handoffs/customer-context.ts";
import { html, type SafeHtml } from "./html.ts";
import { reasonLabel, statusBadge, when } from "./format.ts";

/**
 * The panel beside a handoff's transcript: who the user is to the business (plan, recent
 * invoices and payments), whether an open incident explains the request, and their earlier
 * handoffs, so an agent answers without opening the billing system.
 */
export function customerPanel(p: CustomerPanel, now: Date): SafeHtml {
  const c = p.customer;
  return html`<aside class="customer" id="customer-panel" data-live-region data-testid="customer-panel">
<h2>Customer</h2>
${c
  ? html`<p class="name"><strong data-testid="customer-name">${c.name}</strong><br><span class="meta">${c.email}</span></p>
<dl class="facts"><dt>Plan</dt><dd data-testid="plan">${c.plan} · ${c.seats} ${c.seats === 1 ? "seat" : "seats"}</dd><dt>Id</dt><dd>${c.id}</dd></dl>
<h3>Recent invoices</h3>
${p.invoices.length
  ? html`<ul class="plain" data-testid="invoices">${p.invoices.map((i) => html`<li><span>${i.number}</span> <span>${money(i.amountCents, i.currency)}</span> <span class="badge ${i.status}">${i.status}</span> <span class="meta">${day(i.issuedAt)}</span></li>`)}</ul>`
  : html`<p class="meta">No invoices.</p>`}
<h3>Recent payments</h3>
${p.payments.length
  ? html`<ul class="plain" data-testid="payments">${p.payments.map((x) => html`<li><span>${money(x.amountCents, x.currency)}</span> <span class="badge ${x.status}">${x.status}</span> <span class="meta">${x.method} · ${day(x.createdAt)}${x.invoiceNumber ? ` · ${x.invoiceNumber}` : ""}</span></li>`)}</ul>`
  : html`<p class="meta">No payments.</p>`}`
  : html`<p class="meta" data-testid="no-customer">This user's account is not linked to a customer.</p>`}
<h3>Open incidents</h3>
${p.matchingIncidents.length
  ? html`<ul class="plain" data-testid="incidents">${p.matchingIncidents.map((i) => html`<li><strong>${i.title}</strong> <span class="badge">${i.status}</span><br><span class="meta">${i.components.join(", ")} · since ${when(i.startedAt, now)}</span></li>`)}</ul>`
  : html`<p class="meta">None matches what they wrote${p.openIncidents ? ` (${p.openIncidents} open in all)` : " (none open)"}.</p>`}
<h3>Earlier handoffs</h3>
${p.earlierHandoffs.length
  ? html`<ul class="plain" data-testid="earlier-handoffs">${p.earlierHandoffs.map((o) => html`<li><a href="/console/handoffs/${o.id}">${reasonLabel(o.reason)}</a> ${statusBadge(o.status)}<br><span class="meta">${when(o.createdAt, now)}${o.assignee ? ` · ${o.assignee}` : ""}${o.resolutionNote ? ` · ${o.resolutionNote}` : ""}</span></li>`)}</ul>`
  : html`<p class="meta">None before this one.</p>`}
</aside>`;
}
