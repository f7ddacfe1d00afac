/**
 * `switchboard chat` as the person at the terminal uses it: lines typed in, what is printed back.
 * The real pipeline on embedded Postgres (offline engine, demo data); stdin and stdout are streams.
 */
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAT_PROMPT, runChat } from "../../bots/cli/chat.ts";
import { startTestApp, type RunningApp } from "../helpers/app.ts";
import { Changes } from "../helpers/wait-until.ts";

class Terminal {
  readonly input = new PassThrough();
  readonly output = new PassThrough();
  printed = "";
  readonly #changes = new Changes();
  constructor() {
    this.output.on("data", (chunk: Buffer) => {
      this.printed += chunk.toString("utf8");
      this.#changes.notify();
    });
  }
  /** Until the chat prints a prompt at the end of what it printed (the limit only turns a hang into a failure). */
  prompted(what: string, from = 0): Promise<true> {
    return this.#changes.until(() => this.printed.slice(from).endsWith(CHAT_PROMPT), what, 60_000);
  }
  /** Types a line, then waits until the chat prompts for the next one. */
  async type(line: string): Promise<string> {
    const before = this.printed.length;
    this.input.write(`${line}\n`);
    await this.prompted(`the prompt after ${JSON.stringify(line)}`, before);
    return this.printed.slice(before, -CHAT_PROMPT.length);
  }
}

describe("switchboard chat", { timeout: 120_000 }, () => {
  let s: RunningApp;
  beforeAll(async () => {
    // `chat` as a developer runs it: on the embedded default, whatever TEST_DATABASE_URL says.
    s = await startTestApp({}, {}, undefined, { embedded: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  async function inboundTexts(): Promise<string[]> {
    const r = await s.app.db.pool.query<{ text: string }>("select text from messages m join conversations c on c.id = m.conversation_id where c.platform = 'cli' and m.direction = 'in' order by m.created_at");
    return r.rows.map((x) => x.text);
  }

  it("prompts, renders answers for a terminal, and keeps its commands to itself", async () => {
    const t = new Terminal();
    const done = runChat(s.app, { user: "local", input: t.input, output: t.output });
    await t.prompted("the first prompt");
    expect(t.printed).toMatch(/\/help/);

    const help = await t.type("/help");
    expect(help).toMatch(/\/new/);
    expect(help).toMatch(/\/quit/);
    expect(await t.type("/nope")).toMatch(/Unknown command \/nope/);

    const answer = await t.type("What is your refund policy?");
    expect(answer).toMatch(/30 days/);
    // Rendered, not raw markdown: no ** markers; the source listed under the answer.
    expect(answer).not.toContain("**");
    expect(answer).toMatch(/Sources: Refund policy \(https:\/\/help\.acme\.example\/faq\/refund-policy\)/);

    t.input.write("/quit\n");
    await done;
    expect(await inboundTexts()).toEqual(["What is your refund policy?"]);
  });

  it("says a person is awaited until one claims the conversation, then names them", async () => {
    const t = new Terminal();
    const done = runChat(s.app, { user: "local", input: t.input, output: t.output });
    await t.prompted("the first prompt");

    const handedOff = await t.type("I want to talk to a person");
    expect(handedOff).toMatch(/person/i);
    const waiting = await t.type("are you still there?");
    expect(waiting).toMatch(/waiting for a person/);
    expect(waiting).not.toMatch(/has this conversation|owns/);

    const [handoff] = await s.app.handoffService.list({ status: "open" });
    expect(handoff).toBeDefined();
    await s.app.handoffService.claim(handoff!.id, "Alex");
    const claimed = await t.type("hello?");
    expect(claimed).toMatch(/Alex from the support team has this conversation/);

    // A new conversation is the bot's again.
    expect(await t.type("/new")).toMatch(/New conversation/);
    expect(await t.type("Do you ship to Canada?")).toMatch(/Canada/);

    t.input.end();
    await done;
  });
});
