import slackify from "slackify-markdown";
import { describe, expect, it } from "vitest";
import { markdownToMrkdwn } from "../../bots/slack/mrkdwn.ts";
import { random } from "../helpers/random.ts";

describe("markdownToMrkdwn on one plain line", () => {
  it("gives what slackify gives, for lines of words and punctuation (it skips remark for them)", () => {
    const next = random(13);
    const alphabet = "abcXYZ019 ,.?!':;()-’w";
    const lines = ["Answer to: bench question 12", "Thanks, Ana!", "a  b", "a - b -- c", "x (y) z.", "ok: yes; no!", "A ) b", "a 1. b", "Done   "];
    for (let n = 0; n < 3000; n += 1) {
      let line = "aZw"[n % 3] ?? "a";
      const length = Math.floor(next() * 40);
      for (let i = 0; i < length; i += 1) line += alphabet[Math.floor(next() * alphabet.length)];
      lines.push(line);
    }
    for (const line of lines) expect(markdownToMrkdwn(line), JSON.stringify(line)).toBe(slackify(line).replace(/\s+$/, ""));
  });

  it("still converts what only looks plain to a line-by-line reader", () => {
    expect(markdownToMrkdwn("see www.example.com now")).toBe(slackify("see www.example.com now").replace(/\s+$/, ""));
    expect(markdownToMrkdwn("see www.example.com now")).not.toBe("see www.example.com now");
    expect(markdownToMrkdwn("Heading\n===")).toBe("*Heading*");
    expect(markdownToMrkdwn("1. first")).not.toBe("1. first");
  });
});
