import { describe, expect, it } from "vitest";
import { markdownToMrkdwn } from "../../bots/slack/mrkdwn.ts";
import { renderReply, SLACK_LIMITS, splitMrkdwn } from "../../bots/slack/render.ts";
import type { OutboundReply, ReplySection } from "../../src/types.ts";

const ZW = "\u200b"; // slackify-markdown wraps inline formatting in zero-width spaces so it works mid-word

function reply(partial: Partial<OutboundReply>): OutboundReply {
  return {
    platform: "slack",
    conversationKey: "slack:T1:C1:1700000000.000100",
    conversationId: "conv-1",
    text: "",
    sections: [],
    author: { kind: "bot" },
    idempotencyKey: "k",
    ...partial,
  };
}

function texts(blocks: ReturnType<typeof renderReply>[number]["blocks"]): string[] {
  return blocks.map((b) =>
    b.type === "section" ? (b.text?.text ?? "") : b.type === "context" ? b.elements.map((e) => ("text" in e ? e.text : "")).join("") : "---",
  );
}

describe("markdown → Slack mrkdwn", () => {
  it("converts bold, italics, strikethrough, links and headings", () => {
    expect(markdownToMrkdwn("**Refunds** take _five_ days, ~~not ten~~.")).toBe(
      `${ZW}*Refunds*${ZW} take ${ZW}_five_${ZW} days, ${ZW}~not ten~${ZW}.`,
    );
    expect(markdownToMrkdwn("See [the refund policy](https://help.example.com/refunds?lang=en&v=2).")).toBe(
      "See <https://help.example.com/refunds?lang=en&amp;v=2|the refund policy>.",
    );
    expect(markdownToMrkdwn("## Billing\n\nText")).toBe("*Billing*\n\nText");
  });

  it("converts bullet and numbered lists", () => {
    expect(markdownToMrkdwn("- one\n- two\n  - nested\n\n1. first\n2. second")).toBe(
      "•   one\n•   two\n    •   nested\n\n1.  first\n2.  second",
    );
  });

  it("keeps code as code and escapes what Slack would read as markup inside it", () => {
    expect(markdownToMrkdwn("Run `curl -H 'a: b' <url>` then:\n\n```bash\nif [ $a -lt 2 ] && [ $b > 1 ]; then echo ok; fi\n```")).toBe(
      "Run `curl -H 'a: b' &lt;url&gt;` then:\n\n```\nif [ $a -lt 2 ] &amp;&amp; [ $b &gt; 1 ]; then echo ok; fi\n```",
    );
  });

  it("never lets a broadcast mention or raw HTML through", () => {
    expect(markdownToMrkdwn("<!channel> <!here|here> <script>x</script>")).toBe(
      "&lt;!channel&gt; &lt;!here|here&gt; &lt;script&gt;x&lt;/script&gt;",
    );
  });

  it("escapes every stray < > & in prose but keeps quotes, user and channel references", () => {
    expect(markdownToMrkdwn("a > b > c & d < e")).toBe("a &gt; b &gt; c &amp; d &lt; e");
    expect(markdownToMrkdwn("> quoted > text")).toBe("> quoted &gt; text");
    expect(markdownToMrkdwn("ask <@U123> in <#C42|support>")).toBe("ask <@U123> in <#C42|support>");
  });

  it("leaves relative links as their text (no broken link)", () => {
    expect(markdownToMrkdwn("[password reset](tech/password-reset.md)")).toBe("password reset");
  });
});

describe("splitting mrkdwn", () => {
  it("keeps short text whole", () => {
    expect(splitMrkdwn("one\n\ntwo", 3000)).toEqual(["one\n\ntwo"]);
  });

  it("splits on paragraph boundaries, packing as many paragraphs as fit", () => {
    const p = (c: string) => c.repeat(40);
    const chunks = splitMrkdwn([p("a"), p("b"), p("c"), p("d")].join("\n\n"), 100);
    expect(chunks).toEqual([`${p("a")}\n\n${p("b")}`, `${p("c")}\n\n${p("d")}`]);
  });

  it("splits an overlong paragraph between words, never inside a link", () => {
    const link = "<https://example.com/a/very/long/path|the label with spaces>";
    const text = `${"word ".repeat(15)}${link} ${"tail ".repeat(10)}`.trim();
    const chunks = splitMrkdwn(text, 80);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(80);
    expect(chunks.some((c) => c.includes(link))).toBe(true);
    expect(chunks.join(" ")).toBe(text);
  });

  it("closes and reopens a code block that has to be cut", () => {
    const code = "```\n" + Array.from({ length: 30 }, (_, i) => `line ${i}`).join("\n") + "\n```";
    const chunks = splitMrkdwn(code, 60);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(60);
      expect(chunk.startsWith("```\n") && chunk.endsWith("\n```")).toBe(true);
    }
  });

  it("cuts a single endless word without splitting an entity", () => {
    const chunks = splitMrkdwn("x".repeat(98) + "&amp;" + "y".repeat(50), 100);
    expect(chunks[0]).toBe("x".repeat(98));
    expect(chunks[1]?.startsWith("&amp;")).toBe(true);
  });
});

describe("rendering a reply as Block Kit", () => {
  const sections: ReplySection[] = [
    {
      route: "billing",
      title: "Invoices",
      text: "Download them from **Billing → Invoices**.",
      sources: [
        { title: "Billing & invoices", url: "https://help.example.com/billing" },
        { title: "Local doc", path: "faq/billing.md" },
      ],
    },
    { route: "faq", title: "Hours", text: "We answer 9–17 CET.", sources: [] },
  ];

  // The reply's text as the core writes it when several workers answered: each part under its title.
  const joined = sections.map((s) => `**${s.title}**\n${s.text}`).join("\n\n");

  it("gives each topic its own titled section with its sources as links", () => {
    const [message, ...rest] = renderReply(reply({ text: joined, sections }));
    expect(rest).toEqual([]);
    expect(texts(message!.blocks)).toEqual([
      `*Invoices*\nDownload them from ${ZW}*Billing → Invoices*${ZW}.`,
      "Sources: <https://help.example.com/billing|Billing &amp; invoices> · Local doc",
      "---",
      "*Hours*\nWe answer 9–17 CET.",
    ]);
    expect(message!.text).toContain("*Invoices*");
  });

  it("shows the footer (a handoff note) after the sections, which would otherwise be lost", () => {
    const footer = "A person will reply **right here**.";
    const [message] = renderReply(reply({ text: `${joined}\n\n${footer}`, sections, footer }));
    const shown = texts(message!.blocks);
    expect(shown.slice(-2)).toEqual(["---", `A person will reply ${ZW}*right here*${ZW}.`]);
    expect(shown.filter((t) => t.includes("right here"))).toHaveLength(1);
  });

  it("shows a model's merged answer, laid out by the sections' titles it kept", () => {
    const merged = "**Invoices**\nYour invoices are under **Billing → Invoices**.\n\n**Hours**\nAnd we answer 9–17 CET.";
    const [message] = renderReply(reply({ text: merged, sections }));
    expect(texts(message!.blocks)).toEqual([
      `*Invoices*\nYour invoices are under ${ZW}*Billing → Invoices*${ZW}.`,
      "Sources: <https://help.example.com/billing|Billing &amp; invoices> · Local doc",
      "---",
      "*Hours*\nAnd we answer 9–17 CET.",
    ]);
  });

  it("shows a merged answer that is not headed by section as one answer, with every source under it (never the drafts instead)", () => {
    const [message] = renderReply(reply({ text: "You'll find invoices under Billing, and we answer 9–17 CET.", sections }));
    expect(texts(message!.blocks)).toEqual([
      "You'll find invoices under Billing, and we answer 9–17 CET.",
      "Sources: <https://help.example.com/billing|Billing &amp; invoices> · Local doc",
    ]);
  });

  it("shows the reply text (and the one section's sources) when one worker answered", () => {
    const [message] = renderReply(reply({ text: "Download them from the Billing page.", sections: [sections[0]!] }));
    expect(texts(message!.blocks)).toEqual([
      "Download them from the Billing page.",
      "Sources: <https://help.example.com/billing|Billing &amp; invoices> · Local doc",
    ]);
  });

  it("introduces a relayed agent reply with the agent's name, escaped", () => {
    const [message] = renderReply(reply({ text: "Done!", author: { kind: "agent", name: "Dana <ops>" } }));
    expect(texts(message!.blocks)).toEqual(["*Dana &lt;ops&gt; (support):* Done!"]);
  });

  it("splits a very long reply across messages within Slack's limits", () => {
    const paragraph = "lorem ipsum ".repeat(240).trim(); // 2,879 characters
    const messages = renderReply(reply({ text: Array.from({ length: 60 }, () => paragraph).join("\n\n") }));
    expect(messages.length).toBe(5); // 13 sections of 2,879 characters fit in 40,000
    for (const m of messages) {
      expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
      expect(texts(m.blocks).join("").length).toBeLessThanOrEqual(SLACK_LIMITS.messageChars);
      expect(m.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
      for (const t of texts(m.blocks)) expect(t.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    }
    expect(messages.flatMap((m) => texts(m.blocks))).toHaveLength(60);
  });

  it("keeps a message to 50 blocks when a reply has many short parts", () => {
    const many: ReplySection[] = Array.from({ length: 30 }, (_, i) => ({
      route: "faq",
      title: `Topic ${i}`,
      text: "Short.",
      sources: [{ title: "Doc", url: `https://example.com/${i}` }],
    }));
    const messages = renderReply(reply({ sections: many }));
    expect(messages.length).toBe(2); // 30 × (section + sources) + 29 dividers = 89 blocks
    for (const m of messages) {
      expect(m.blocks.length).toBeLessThanOrEqual(50);
      expect(m.blocks[0]?.type).not.toBe("divider");
    }
  });
});
