import { describe, expect, test } from "vitest";
import { renderReply } from "../../bots/discord/render.ts";
import { formatConversationKey, legacyKeyOf, parseConversationKey } from "../../bots/discord/conversation-key.ts";
import type { ReplySection } from "../../src/types.ts";

const billing: ReplySection = {
  route: "billing",
  title: "Billing",
  text: "Your refund was issued on 3 May.",
  sources: [{ title: "Refund policy", url: "https://help.example.com/refunds" }],
};
const tech: ReplySection = {
  route: "tech_support",
  title: "Tech support",
  text: "Sign out and in again to see the new plan.",
  sources: [
    { title: "Sessions [FAQ]", path: "tech/sessions.md" },
    { title: "Refund policy", url: "https://help.example.com/refunds" },
  ],
};

describe("renderReply", () => {
  test("one message: the merged answer, then every section's sources once, as links without previews", () => {
    const text = renderReply({ text: "Refunded on 3 May; sign out and in again.", sections: [billing, tech], author: { kind: "bot" } });
    expect(text).toBe(
      "Refunded on 3 May; sign out and in again.\n\n-# Sources: [Refund policy](<https://help.example.com/refunds>) · Sessions \\[FAQ\\]",
    );
  });

  test("without merged text, each worker's answer appears under its title", () => {
    const text = renderReply({ text: "", sections: [billing, tech], author: { kind: "bot" } });
    expect(text.startsWith("**Billing**\nYour refund was issued on 3 May.\n\n**Tech support**\nSign out")).toBe(true);
  });

  test("a staff reply relayed by the bot names the person", () => {
    expect(renderReply({ text: "I have fixed it.", sections: [], author: { kind: "agent", name: "Dana_K" } })).toBe(
      "**Dana\\_K** (support team):\nI have fixed it.",
    );
  });

  test("headings Discord cannot show become bold lines", () => {
    expect(renderReply({ text: "## Steps\n#### Detail\nok", sections: [], author: { kind: "bot" } })).toBe("## Steps\n**Detail**\nok");
  });
});

describe("conversation keys", () => {
  test("round-trip guild channels, threads and DMs", () => {
    for (const c of [
      { kind: "guild", guildId: "111", channelId: "222", userId: "444" },
      { kind: "guild", guildId: "111", channelId: "222" },
      { kind: "dm", channelId: "333" },
    ] as const) {
      expect(parseConversationKey(formatConversationKey(c))).toEqual(c);
    }
    expect(formatConversationKey({ kind: "guild", guildId: "1", channelId: "2" })).toBe("discord:1:2");
    expect(formatConversationKey({ kind: "dm", channelId: "3" })).toBe("discord:dm:3");
    expect(formatConversationKey({ kind: "guild", guildId: "1", channelId: "2", userId: "9" })).toBe("discord:1:2:user.9");
  });

  test("a per-person key knows the key its place had before conversations were per person", () => {
    expect(legacyKeyOf("discord:1:2:user.9")).toBe("discord:1:2");
    for (const key of ["discord:1:2", "discord:dm:3", "slack:T1:C1:1.2"]) expect(legacyKeyOf(key)).toBeNull();
  });

  test("reject keys of other platforms and malformed ones", () => {
    for (const key of ["slack:T1:C1:1.2", "discord:1", "discord:dm:abc", "discord:1:2:3", "discord:1:2:user.", "discord:1:2:user.x", "discord:dm:3:user.4", "discord:1:2:user.9:x", "discord:x:2", ""]) {
      expect(parseConversationKey(key)).toBeNull();
    }
  });
});
