import { describe, expect, it } from "vitest";
import { queuePage, slaState, type PageContext } from "../../bots/console/pages.ts";
import type { HandoffListItem } from "../../src/handoffs/handoff-store.ts";

const ctx: PageContext = { agent: "Dana", role: "agent", csrf: "t", now: new Date("2026-01-01T12:00:00Z") };

function item(id: string, waitingSeconds: number, extra: Partial<HandoffListItem> = {}): HandoffListItem {
  return {
    id,
    conversationId: "c",
    messageId: null,
    reason: "user_request",
    detail: "",
    status: "open",
    assignee: null,
    createdAt: new Date("2026-01-01T11:00:00Z"),
    claimedAt: null,
    resolvedAt: null,
    resolvedBy: null,
    resolutionNote: null,
    announcedAt: null,
    reannounceCount: 0,
    cards: [],
    platform: "slack",
    userId: "U1",
    conversationKey: "slack:C1:1",
    customerName: null,
    preview: "",
    routes: [],
    waitingSeconds,
    ...extra,
  };
}

const filter = { status: "active", owner: "", route: "", platform: "", minAge: "" };
const slaOf = (page: string, id: string) => new RegExp(`<tr data-handoff="${id}"[\\s\\S]*?data-sla="(\\w+)"`).exec(page)?.[1];

describe("the queue's waiting time against HANDOFF_SLA_MINUTES", () => {
  it("is ok within the SLA, near in its last quarter, over past it", () => {
    expect(slaState(0, 15)).toBe("ok");
    expect(slaState(15 * 60 * 0.75 - 1, 15)).toBe("ok");
    expect(slaState(15 * 60 * 0.75, 15)).toBe("near");
    expect(slaState(15 * 60 - 1, 15)).toBe("near");
    expect(slaState(15 * 60, 15)).toBe("over");
  });

  it("colours each row and says it in words; resolved rows and HANDOFF_SLA_MINUTES=0 are not coloured", () => {
    const items = [item("a", 60), item("b", 12 * 60), item("c", 3600), item("d", 3600, { status: "resolved" })];
    const page = queuePage(ctx, filter, items, 15).value;
    expect(slaOf(page, "a")).toBe("ok");
    expect(slaOf(page, "b")).toBe("near");
    expect(slaOf(page, "c")).toBe("over");
    expect(page).toMatch(/data-sla="over"[^>]*>1 h 0 min <small>over SLA<\/small>/);
    expect(new RegExp(`<tr data-handoff="d"[\\s\\S]*?</tr>`).exec(page)![0]).not.toContain("data-sla");
    expect(queuePage(ctx, filter, items, 0).value).not.toContain("data-sla");
  });

  it("shows the first line of the request, the customer and the owner, escaped", () => {
    const page = queuePage(ctx, filter, [item("e", 5, { customerName: "<b>Priya</b>", preview: "\n  First <i>line</i>\nsecond", assignee: "Sam" })], 15).value;
    expect(page).toContain('<span data-testid="preview">First &lt;i&gt;line&lt;/i&gt;</span>');
    expect(page).toContain("<strong>&lt;b&gt;Priya&lt;/b&gt;</strong>");
    expect(page).toContain('<td class="owner" data-testid="owner">Sam</td>');
    expect(page).not.toContain("second");
  });
});
