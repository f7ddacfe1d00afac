import { describe, expect, it } from "vitest";
import { commandIdOf, formatConversationKey, parseConversationKey } from "../../bots/slack/conversation-key.ts";
import { slackTextToPlain } from "../../bots/slack/inbound-text.ts";

describe("Slack conversation keys", () => {
  it("round-trips workspace + channel + thread, and a DM without a thread", () => {
    const thread = { teamId: "T1", channelId: "C123", threadTs: "1700000000.000100" };
    expect(formatConversationKey(thread)).toBe("slack:T1:C123:1700000000.000100");
    expect(parseConversationKey("slack:T1:C123:1700000000.000100")).toEqual(thread);
    expect(parseConversationKey(formatConversationKey({ teamId: "T1", channelId: "D9" }))).toEqual({
      teamId: "T1",
      channelId: "D9",
    });
  });

  it("round-trips a /support placeholder (no thread yet), never mistaken for a thread", () => {
    const trigger = "13345224609.738474920.8088930838d88f008e0";
    const placeholder = { teamId: "T1", channelId: "C123", commandId: commandIdOf(trigger) };
    expect(formatConversationKey(placeholder)).toBe(`slack:T1:C123:cmd.${trigger}`);
    expect(parseConversationKey(`slack:T1:C123:cmd.${trigger}`)).toEqual(placeholder);
    // A trigger id with characters a key cannot hold is hashed into one it can.
    const odd = commandIdOf("trigger with spaces:and:colons");
    expect(odd).toMatch(/^[0-9a-f]{40}$/);
    expect(parseConversationKey(formatConversationKey({ teamId: "T1", channelId: "C1", commandId: odd }))?.commandId).toBe(odd);
  });

  it("rejects keys of other platforms and malformed ones", () => {
    for (const key of ["discord:1:2", "slack:T1", "slack:T1:C1:notats", "slack:T1:C1:1.2:extra", "slack:x:C1", "slack:T1:C1:cmd.", "slack:T1:C1:cmd.a b"]) {
      expect(parseConversationKey(key)).toBeNull();
    }
  });
});

describe("Slack text → plain text for the core", () => {
  it("drops the bot's mention and turns Slack's markup back into what the user saw", () => {
    expect(
      slackTextToPlain(
        "<@UBOT> can <@U2|dana> check <#C1|billing>? see <https://x.io/a?b=1&amp;c=2|this page> &lt;3 &amp; <https://y.io>",
        "UBOT",
      ),
    ).toBe("can @dana check #billing? see this page (https://x.io/a?b=1&c=2) <3 & https://y.io");
  });

  it("keeps a link whose label is the URL as just the URL, and names broadcasts", () => {
    expect(slackTextToPlain("<https://docs.io|docs.io> <!here>", "UBOT")).toBe("https://docs.io @here");
    // A NUL (it gave a 500 from Postgres) and other control characters are dropped; tabs and new lines kept.
    expect(slackTextToPlain("refund\u0000 please\u001b\n\tnow", "UBOT")).toBe("refund please\n\tnow");
  });
});
