import { describe, expect, test } from "vitest";
import { DISCORD_MESSAGE_LIMIT, splitMessage } from "../../bots/discord/split-message.ts";
import { random } from "../helpers/random.ts";

const fences = (chunk: string) => chunk.split("\n").filter((line) => /^ {0,3}```/.test(line)).length;
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe("splitMessage", () => {
  test("a short message is one chunk, trimmed", () => {
    expect(splitMessage("  Hello there.\n")).toEqual(["Hello there."]);
    expect(splitMessage("   ")).toEqual([]);
  });

  test("a message of exactly 2,000 characters is not split", () => {
    const text = "a".repeat(DISCORD_MESSAGE_LIMIT);
    expect(splitMessage(text)).toEqual([text]);
  });

  test("cuts between paragraphs, filling each chunk", () => {
    const paragraphs = [1, 2, 3, 4].map((n) => `${n}`.repeat(900));
    const chunks = splitMessage(paragraphs.join("\n\n"));
    expect(chunks).toEqual([`${paragraphs[0]}\n\n${paragraphs[1]}`, `${paragraphs[2]}\n\n${paragraphs[3]}`]);
  });

  test("without paragraphs, cuts between lines and keeps every line whole", () => {
    const lines = Array.from({ length: 40 }, (_, i) => `- item ${i}: ${"x".repeat(120)}`);
    const chunks = splitMessage(lines.join("\n"));
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(DISCORD_MESSAGE_LIMIT);
      for (const line of chunk.split("\n")) expect(lines).toContain(line);
    }
    expect(chunks.join("\n")).toBe(lines.join("\n"));
  });

  test("a single long paragraph is cut after a sentence", () => {
    const sentences = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} explains one more step of the setup.`);
    const chunks = splitMessage(sentences.join(" "));
    expect(chunks.length).toBe(2);
    expect(chunks[0]).toMatch(/setup\.$/);
    expect(chunks.join(" ")).toBe(sentences.join(" "));
  });

  test("text without punctuation is cut between words; one huge word is cut hard", () => {
    const words = Array.from({ length: 500 }, (_, i) => `word${i}`).join(" ");
    const chunks = splitMessage(words);
    expect(chunks.join(" ")).toBe(words);
    expect(chunks.every((c) => c.length <= DISCORD_MESSAGE_LIMIT && !c.startsWith(" ") && !c.endsWith(" "))).toBe(true);

    expect(splitMessage("z".repeat(4500)).map((c) => c.length)).toEqual([2000, 2000, 500]);
  });

  test("a code block that fits in a message is moved whole to the next chunk rather than cut", () => {
    const intro = "Here is what to run. ".repeat(70).trim(); // ~1,470 characters
    const code = ["```bash", ...Array.from({ length: 25 }, (_, i) => `switchboard migrate --step ${i}`), "```"].join("\n");
    const chunks = splitMessage(`${intro}\n${code}\nThat is all.`);
    expect(chunks[0]).toBe(intro);
    expect(chunks[1]).toBe(`${code}\nThat is all.`);
  });

  test("a code block longer than a message is cut between lines, closed and reopened with its language", () => {
    const lines = Array.from({ length: 200 }, (_, i) => `const value${i} = compute(${i}); // step ${i}`);
    const chunks = splitMessage(["Before.", "```ts", ...lines, "```", "After."].join("\n"));
    expect(chunks.length).toBeGreaterThan(3);
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.length).toBeLessThanOrEqual(DISCORD_MESSAGE_LIMIT);
      expect(fences(chunk) % 2).toBe(0);
      if (i > 0 && i < chunks.length - 1) expect(chunk.startsWith("```ts\n")).toBe(true);
    }
    const codeLines = chunks.join("\n").split("\n").filter((l) => l.startsWith("const "));
    expect(codeLines).toEqual(lines);
    expect(chunks.at(-1)?.endsWith("After.")).toBe(true);
  });

  test("never splits an emoji (a surrogate pair) in two", () => {
    const chunks = splitMessage("😀".repeat(1500));
    expect(chunks.length).toBe(2);
    for (const chunk of chunks) expect(loneSurrogate.test(chunk)).toBe(false);
    expect(chunks.join("")).toBe("😀".repeat(1500));
  });

  test("random markdown: every chunk fits, code fences stay balanced, no text is lost", () => {
    const next = random(42);
    const word = () => "abcdefghij".slice(0, 1 + Math.floor(next() * 9));
    for (let round = 0; round < 200; round++) {
      const blocks: string[] = [];
      const count = 1 + Math.floor(next() * 12);
      for (let b = 0; b < count; b++) {
        if (next() < 0.3) {
          const codeLines = Array.from({ length: 1 + Math.floor(next() * 15) }, () =>
            Array.from({ length: 1 + Math.floor(next() * 8) }, word).join(" "),
          );
          blocks.push(["```py", ...codeLines, "```"].join("\n"));
        } else {
          const sentences = Array.from({ length: 1 + Math.floor(next() * 6) }, () =>
            `${Array.from({ length: 1 + Math.floor(next() * 12) }, word).join(" ")}.`,
          );
          blocks.push(sentences.join(" "));
        }
      }
      const text = blocks.join(next() < 0.5 ? "\n\n" : "\n");
      const chunks = splitMessage(text, 120);
      for (const chunk of chunks) {
        expect(chunk.length).toBeLessThanOrEqual(120);
        expect(fences(chunk) % 2).toBe(0);
      }
      const squash = (s: string) => s.replace(/```py/g, "").replace(/```/g, "").replace(/\s+/g, "");
      expect(squash(chunks.join(""))).toBe(squash(text));
    }
  });
});
