import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { describeNextOpening, isWithinSupportHours, parseSupportHours } from "../../src/handoffs/support-hours.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";
import { FakeNotifier } from "./fake-notifier.ts";

const CONSOLE = { authorization: "Bearer console-secret" };

describe("SLA: an unclaimed handoff is re-announced (injected clock)", () => {
  let s: RunningApp;
  let staff: FakeNotifier;
  /** The app's clock runs `offsetMs` ahead of real time; tests move it forward. */
  let offsetMs = 0;
  const minutes = (n: number) => n * 60_000;

  beforeAll(async () => {
    s = await startTestApp({ HANDOFF_SLA_MINUTES: "15" }, { now: () => new Date(Date.now() + offsetMs), slaCheckIntervalMs: 25 });
    staff = new FakeNotifier();
    s.app.handoffService.addNotifier(staff);
  });
  afterAll(async () => s?.close());

  it("re-announces after 15 unclaimed minutes, once per SLA period, and not once claimed", async () => {
    const { body } = await postJson(`${s.url}/api/messages`, { userId: "u-sla", text: "I want to talk to a human" });
    const id = body.handoff.id as string;
    const other = (await postJson(`${s.url}/api/messages`, { userId: "u-sla-2", text: "can I speak to a real person please" })).body.handoff.id as string;
    await staff.waitFor("announce", (c) => c.card.handoff.id === id);
    await staff.waitFor("announce", (c) => c.card.handoff.id === other);
    await postJson(`${s.url}/api/handoffs/${other}/claim`, { agent: "Dana" }, CONSOLE);

    expect(await s.app.handoffService.checkSla()).toBe(0);
    offsetMs = minutes(14);
    expect(await s.app.handoffService.checkSla()).toBe(0);

    offsetMs = minutes(16);
    expect(await s.app.handoffService.checkSla()).toBe(1);
    const reminder = await staff.waitFor("post", (c) => c.note.kind === "sla");
    expect(reminder.note.kind === "sla" && reminder.note.text).toMatch(/Still waiting for a person after 16 min \(SLA 15 min\)/);
    const overdueCard = await staff.waitFor("update", (c) => c.card.handoff.id === id && c.card.overdue);
    expect(overdueCard.card.waitingMinutes).toBe(16);
    // Told once per period: not again at minute 20, again at minute 32.
    offsetMs = minutes(20);
    expect(await s.app.handoffService.checkSla()).toBe(0);
    offsetMs = minutes(32);
    expect(await s.app.handoffService.checkSla()).toBe(1);

    await s.app.handoffService.idle();
    const events = await s.app.handoffs.events(id);
    expect(events.filter((e) => e.kind === "sla_reannounced").map((e) => e.text)).toEqual(["unclaimed for 16 min", "unclaimed for 32 min"]);
    expect((await s.app.handoffs.get(id))?.reannounceCount).toBe(2);
    expect((await s.app.handoffs.events(other)).some((e) => e.kind === "sla_reannounced")).toBe(false);
  });

  it("the timer does it by itself once started", async () => {
    offsetMs = 0;
    const { body } = await postJson(`${s.url}/api/messages`, { userId: "u-sla-timer", text: "I want to talk to a human" });
    const id = body.handoff.id as string;
    await staff.waitFor("announce", (c) => c.card.handoff.id === id);
    await s.app.handoffService.idle();
    const card = (await s.app.handoffs.get(id))?.cards[0];
    expect(card).toBeDefined();
    offsetMs = minutes(16);
    s.app.handoffService.start();
    const reminder = await staff.waitFor("post", (c) => c.note.kind === "sla" && c.ref.messageId === card!.messageId);
    expect(reminder.note.kind === "sla" && reminder.note.text).toMatch(/Still waiting for a person after 16 min/);
  });
});

describe("what the user is told about the wait", () => {
  let s: RunningApp;
  /** A Saturday at noon UTC. */
  let now = new Date("2031-06-07T12:00:00Z");

  beforeAll(async () => {
    s = await startTestApp({ SUPPORT_HOURS: "Mon-Fri 08:00-18:00 UTC" }, { now: () => now });
  });
  afterAll(async () => s?.close());

  it("outside support hours: when to expect a reply; inside them: the typical wait once it is known", async () => {
    const weekend = await postJson(`${s.url}/api/messages`, { userId: "u-weekend", text: "I want to talk to a human" });
    expect(weekend.body.handoff).toMatchObject({ reason: "user_request" });
    expect(weekend.body.reply).toContain("reply right here");
    expect(weekend.body.reply).toContain("Our support team works Mon-Fri 08:00-18:00 UTC. It's outside those hours now, so expect a reply on Monday at 08:00 UTC.");
    // The reply is what the user got, recorded as sent.
    const conversation = await fetch(`${s.url}/api/conversations/${weekend.body.conversationId}`, { headers: CONSOLE });
    const transcript = (await conversation.json()) as { messages: Array<{ direction: string; text: string }> };
    expect(conversation.status, JSON.stringify(transcript)).toBe(200);
    const messages = transcript.messages;
    expect(messages.find((m) => m.direction === "out")?.text).toContain("expect a reply on Monday at 08:00 UTC");

    // Monday 10:00: within hours. No history of claims yet: nothing is promised.
    now = new Date("2031-06-09T10:00:00Z");
    const first = await postJson(`${s.url}/api/messages`, { userId: "u-monday-1", text: "I want to talk to a human" });
    expect(first.body.reply).not.toMatch(/Expected wait|outside those hours/);
    // After a few claimed handoffs the typical wait is known, with the place in the queue.
    for (const user of ["u-a", "u-b", "u-c"]) {
      const r = await postJson(`${s.url}/api/messages`, { userId: user, text: "can I speak to a real person please" });
      await postJson(`${s.url}/api/handoffs/${r.body.handoff.id}/claim`, { agent: "Dana" }, CONSOLE);
    }
    const later = await postJson(`${s.url}/api/messages`, { userId: "u-monday-2", text: "I want to talk to a human" });
    expect(later.body.reply).toMatch(/Expected wait: about 1 minute \(2 people are ahead of you\)\./);
  });
});

describe("SUPPORT_HOURS and HANDOFF_SLA_MINUTES", () => {
  it("are validated at start with the variable named", () => {
    expect(() => loadConfig({ SUPPORT_HOURS: "weekdays 9 to 5" })).toThrow(/SUPPORT_HOURS: cannot read "weekdays 9 to 5"/);
    expect(() => loadConfig({ SUPPORT_HOURS: "Mon-Fri 08:00-18:00 Mars/Olympus" })).toThrow(/SUPPORT_HOURS: unknown time zone "Mars\/Olympus"/);
    // Another format altogether is told the expected one, not that "weekdays" is no time zone.
    expect(() => loadConfig({ SUPPORT_HOURS: "9-5 weekdays" })).toThrow(/SUPPORT_HOURS: cannot read "9-5 weekdays"; write it like "Mon-Fri 08:00-18:00 UTC"/);
    expect(() => loadConfig({ HANDOFF_SLA_MINUTES: "soon" })).toThrow(/HANDOFF_SLA_MINUTES: must be a non-negative number/);
    expect(loadConfig({}).handoffSlaMinutes).toBe(15);
    expect(loadConfig({}).supportHours).toBeUndefined();
  });

  it("reads windows in their time zone", () => {
    const hours = parseSupportHours("Mon-Fri 09:00-17:30, Sat 10:00-14:00 Europe/Berlin");
    // 07:30 UTC on a Monday in summer is 09:30 in Berlin.
    expect(isWithinSupportHours(hours, new Date("2031-06-09T07:30:00Z"))).toBe(true);
    expect(isWithinSupportHours(hours, new Date("2031-06-09T06:30:00Z"))).toBe(false);
    expect(describeNextOpening(hours, new Date("2031-06-09T06:30:00Z"))).toBe("today at 09:00 Europe/Berlin");
    // Saturday 15:00 in Berlin: next is Monday.
    expect(describeNextOpening(hours, new Date("2031-06-07T13:00:00Z"))).toBe("on Monday at 09:00 Europe/Berlin");
    expect(describeNextOpening(hours, new Date("2031-06-06T16:00:00Z"))).toBe("tomorrow at 10:00 Europe/Berlin");
  });
});
