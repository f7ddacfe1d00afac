import type { HandoffReason } from "../../src/types.ts";
import { HANDOFF_REASON_LABELS } from "../../src/handoffs/reasons.ts";
import { html, type SafeHtml } from "./html.ts";

// Small formatters every console page uses.

export function statusBadge(status: string): SafeHtml {
  return html`<span class="badge ${status}" data-testid="status">${status}</span>`;
}

export function reasonLabel(reason: string): string {
  return HANDOFF_REASON_LABELS[reason as HandoffReason] ?? reason;
}

export function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

export function ms(x: number): string {
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

export function when(at: Date, now: Date): SafeHtml {
  const iso = at.toISOString();
  const ago = Math.round((now.getTime() - at.getTime()) / 1000);
  return html`<time datetime="${iso}" title="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC${ago >= 0 ? ` (${duration(ago)} ago)` : ""}</time>`;
}
