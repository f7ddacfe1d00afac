/**
 * Answers a customer accepts, asked as a customer would (POST /api/messages on the whole pipeline,
 * offline engine, demo data), and shown as Slack, Discord and a terminal would show them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderReply as renderDiscord } from "../../bots/discord/render.ts";
import { renderReply as renderSlack } from "../../bots/slack/render.ts";
import { renderReplyForTerminal } from "../../bots/cli/terminal.ts";
import type { ReplySection } from "../../src/types.ts";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";

interface Answer {
  reply: string;
  sections: ReplySection[];
  routes: Array<{ route: string }>;
}

/** A sentence cut by a line break: a letter or comma, a break, then a lower-case word. */
const BROKEN_SENTENCE = /[\p{L},]\n[a-z]/u;

describe("answers from the knowledge base", { timeout: 120_000 }, () => {
  let s: RunningApp;
  beforeAll(async () => {
    s = await startTestApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  async function ask(userId: string, text: string): Promise<Answer> {
    const r = await postJson(`${s.url}/api/messages`, { userId, text });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as Answer;
  }
  const sourcesOf = (a: Answer) => a.sections.flatMap((x) => x.sources.map((src) => src.url));

  it("billing answers a refund-timing question from the policy, with the account's refunds when linked", async () => {
    // Jordan (u1) has a refund on file once the duplicate charge was refunded.
    await ask("u1", "I was charged twice this month");
    const linked = await ask("u1", "How long until a refund shows up on my statement?");
    expect(linked.routes[0]?.route).toBe("billing");
    expect(linked.reply).toMatch(/5–10 business days/);
    expect(linked.reply).toMatch(/Your refund requests:[\s\S]*requested/);
    expect(sourcesOf(linked)).toContain("https://help.acme.example/faq/refund-policy");
  });

  it("billing answers the same question for an account that is not linked, from the policy alone", async () => {
    const stranger = await ask("stranger", "How long until a refund shows up on my statement?");
    expect(stranger.reply).toMatch(/5–10 business days/);
    expect(stranger.reply).not.toMatch(/isn't linked/);
    expect(stranger.reply).not.toMatch(/refund requests|INV-\d+/);
    // A question about the account itself still needs the link.
    const own = await ask("stranger", "what is the status of my refund?");
    expect(own.reply).toMatch(/isn't linked/);
  });

  it("answers a limits question from the technical article whichever worker took it", async () => {
    const a = await ask("u1", "What are the API rate limits?");
    expect(a.reply).toContain("100 requests per minute");
    expect(a.reply).toContain("600 requests per minute");
    expect(sourcesOf(a)).toContain("https://help.acme.example/tech/api-rate-limits-and-errors");
    expect(a.reply).not.toMatch(/I don't know/);
  });

  it("asks for the platform and error only when something broke, never after a how-to", async () => {
    const howTo = await ask("u1", "How do I turn on two-factor authentication?");
    expect(howTo.reply).toMatch(/authenticator/i);
    expect(howTo.reply).not.toMatch(/tell me which app|exact error/i);

    const crash = await ask("u1", "the app crashes when I log in");
    expect(crash.reply).toMatch(/which app you use/);

    const detailed = await ask("u1", "the iPhone app crashes at login with error \"token invalid\"");
    expect(detailed.reply).not.toMatch(/which app you use|exact error message/);
  });

  it("cites in one format: the sources beside the text, no citation line of its own in it", async () => {
    const a = await ask("u1", "What is your refund policy?");
    expect(a.reply).not.toMatch(/^Source:|From “/m);
    expect(a.sections[0]?.sources[0]).toEqual({
      title: "Refund policy",
      url: "https://help.acme.example/faq/refund-policy",
      path: "faq/refund-policy.md",
    });
  });

  it("shows article text as paragraphs on Slack, Discord and the terminal, lists kept", async () => {
    const a = await ask("u1", "Do you ship the Acme Dock to Canada?");
    expect(a.reply).toContain("Canada");
    expect(a.reply).not.toMatch(BROKEN_SENTENCE);
    const reply = { platform: "slack" as const, conversationKey: "k", conversationId: "c", idempotencyKey: "i", author: { kind: "bot" as const }, text: a.reply, sections: a.sections };

    const slack = renderSlack(reply).flatMap((m) => m.blocks).map((b) => (b.type === "section" ? (b.text?.text ?? "") : "")).join("\n\n");
    expect(slack).toContain("Canada");
    expect(slack).not.toMatch(BROKEN_SENTENCE);

    const discord = renderDiscord(reply);
    expect(discord).not.toMatch(BROKEN_SENTENCE);
    expect(discord).toContain("-# Sources: [Acme Dock");

    const terminal = renderReplyForTerminal(reply, { width: 1000 });
    expect(terminal).not.toMatch(BROKEN_SENTENCE);
    expect(terminal).not.toContain("**");

    const tiers = await ask("u1", "How long does standard shipping take in the US?");
    // The delivery options stay a list, one option a line.
    expect(tiers.reply).toMatch(/\n- Standard \(United States\): free, arrives in 3–5 business days\.\n- Express/);
  });
});
