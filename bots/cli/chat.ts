/**
 * `switchboard chat`: a conversation with the bot in the terminal, through the same pipeline as
 * every channel (intake, queue, supervisor, outbox). A prompt, replies rendered for a terminal,
 * a few commands (`/help`, `/new`, `/quit`) that are never sent to the bot, and — once a person
 * has been asked to take over — wording that says where the conversation really stands: waiting
 * for someone, or with the named person who claimed it.
 */
import { randomUUID } from "node:crypto";
import readline from "node:readline/promises";
import type { App } from "../../src/app.ts";
import { SwitchboardError, errorMessage } from "../../src/errors.ts";
import type { Outcome } from "../../src/types.ts";
import { createCliChannel } from "./channel.ts";
import { renderMarkdown, renderReplyForTerminal, type TerminalOptions } from "./terminal.ts";

export const CHAT_PROMPT = "you> ";

export const CHAT_HELP = [
  "Type a question and press Enter; the answer comes from the same bot your customers talk to.",
  "  /help   this list",
  "  /new    start a new conversation (the bot forgets this one)",
  "  /quit   leave (also /exit or Ctrl-D)",
].join("\n");

export interface ChatOptions {
  /** Who is talking (a `cli` platform user id). */
  user: string;
  /** The conversation to continue; a new one when absent. */
  conversationKey?: string;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Line editing and history (a TTY). Default false. */
  terminal?: boolean;
  render?: TerminalOptions;
}

/** Runs the chat until `/quit` or the end of input. */
export async function runChat(app: App, options: ChatOptions): Promise<void> {
  const out = (s: string) => options.output.write(s);
  const render = options.render ?? {};
  let key = options.conversationKey ?? newKey();

  const rl = readline.createInterface({ input: options.input, output: options.output, terminal: options.terminal ?? false });
  rl.setPrompt(CHAT_PROMPT);
  // A support agent's reply arrives whenever they write it: print it as it comes (the bot's
  // answers are printed from each question's outcome).
  app.outbox.attach(
    createCliChannel((m) => {
      if (m.conversationKey !== key || m.author.kind !== "agent") return;
      out(`\n${m.author.name} (support team):\n${renderMarkdown(m.text, render)}\n\n`);
      rl.prompt(true);
    }),
  );
  out("Switchboard chat — type a question, /help for commands, /quit to leave.\n");
  rl.prompt();
  try {
    for await (const line of rl) {
      const text = line.trim();
      if (text.startsWith("/")) {
        const command = text.split(/\s+/)[0]?.toLowerCase();
        if (command === "/quit" || command === "/exit") break;
        if (command === "/help") out(`${CHAT_HELP}\n`);
        else if (command === "/new") {
          key = newKey();
          out("New conversation: the bot starts afresh.\n");
        } else out(`Unknown command ${command} — /help lists the commands. (Nothing was sent.)\n`);
      } else if (text) {
        try {
          out(`\n${await describe(app, await send(app, key, options.user, text), render)}\n\n`);
        } catch (err) {
          out(`! ${errorMessage(err)}\n`);
        }
      }
      rl.prompt();
    }
  } finally {
    rl.close();
  }
}

function newKey(): string {
  return `cli:${randomUUID()}`;
}

/** One message through the pipeline, as the user `user` in the conversation `conversationKey`. */
export async function send(app: App, conversationKey: string, user: string, text: string): Promise<Outcome> {
  const s = await app.intake.submit({ platform: "cli", conversationKey, userId: user, text, platformMessageId: randomUUID() });
  if (s.status === "duplicate") throw new SwitchboardError("duplicate", "That message was already received.");
  return s.done;
}

/** What the terminal shows for an outcome: the bot's reply, or where a message for a person went. */
export async function describe(app: App, outcome: Outcome, render: TerminalOptions = {}): Promise<string> {
  if (outcome.kind === "reply") return renderReplyForTerminal(outcome, render);
  if (outcome.kind === "ignored") return `(ignored: ${outcome.reason})`;
  const [handoff] = outcome.handoffId ? await app.handoffService.list({ id: outcome.handoffId, limit: 1 }) : [];
  if (handoff?.status === "claimed" && handoff.assignee) {
    return `(${handoff.assignee} from the support team has this conversation; your message was passed to them, and they'll reply here.)`;
  }
  if (handoff?.status === "open") {
    return "(You're waiting for a person from the support team — nobody has picked this up yet. Your message was added for them, and they'll reply here.)";
  }
  return "(A person from the support team has this conversation; your message was passed to them.)";
}
