import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Outbox } from "../outbox/outbox.ts";
import type { PartDone } from "../ports.ts";
import type { ReplySection } from "../types.ts";
import { partialReply } from "./compose-reply.ts";

/** The idempotency key of version `n` (from 1) of the partial answer to an inbound message. */
export function partialKey(messageId: string, n: number): string {
  return `partial:${messageId}:${n}`;
}

export interface PartialRepliesOptions {
  outbox: Pick<Outbox, "send" | "find">;
  conversationId: string;
  messageId: string;
  /** How long the ready parts wait for the slowest one before they are posted, in ms (PARTIAL_REPLY_MS). */
  delayMs: number;
  /** An earlier attempt of this message may have posted versions already: continue after them. */
  retried: boolean;
  log: Logger;
}

/**
 * Partial answers first, for one message on Slack or Discord. The supervisor streams each
 * worker's part as it finishes (`seen`). When one part is ready and another is still being worked
 * on after `delayMs`, the ready parts are posted (a `partial` outbox message, with a line saying
 * what is coming); every part that finishes after that posts a new version that edits the same
 * platform message in place (`revises`). The whole answer revises the last version (`settle`).
 * Nothing is posted when every part finishes within `delayMs`: one message, as before.
 *
 * Versions go through the outbox like any message (recorded once per key, delivered in order),
 * so a crash between versions loses nothing and posts nothing twice.
 */
export class PartialReplies {
  readonly #o: PartialRepliesOptions;
  readonly #done = new Map<string, ReplySection | null>();
  #parts: PartDone["parts"] = [];
  #timer: NodeJS.Timeout | undefined;
  #posting: Promise<void> = Promise.resolve();
  #versions = 0;
  #lastKey: string | undefined;
  #settled = false;

  constructor(options: PartialRepliesOptions) {
    this.#o = options;
  }

  /** A worker finished its part. */
  seen(part: PartDone): void {
    if (this.#settled) return;
    this.#parts = part.parts;
    this.#done.set(part.worker, part.section);
    if (this.#pending().length === 0) {
      // Everything is in: the whole answer follows at once (no version for it here).
      clearTimeout(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (this.#versions > 0) this.#post();
    else this.#timer ??= setTimeout(() => this.#post(), this.#o.delayMs);
  }

  /**
   * The run is over: no more versions. Waits for one being posted; returns the key of the last
   * version (what the whole answer revises), or undefined when none was posted.
   */
  async settle(): Promise<string | undefined> {
    this.#settled = true;
    clearTimeout(this.#timer);
    await this.#posting;
    if (this.#o.retried) await this.#continueAfterEarlier();
    return this.#lastKey;
  }

  #pending(): string[] {
    return this.#parts.filter((p) => !this.#done.has(p.worker)).map((p) => p.title);
  }

  #post(): void {
    this.#timer = undefined;
    if (this.#settled) return;
    const ready = this.#parts.flatMap((p) => this.#done.get(p.worker) ?? []);
    const pending = this.#pending();
    // Nothing to show yet (the parts that finished failed): keep waiting for one that answers.
    if (ready.length === 0 || pending.length === 0) return;
    const reply = partialReply(ready, pending);
    this.#posting = this.#posting.then(async () => {
      if (this.#settled) return;
      const n = ++this.#versions;
      const key = partialKey(this.#o.messageId, n);
      try {
        await this.#o.outbox.send({
          conversationId: this.#o.conversationId,
          inReplyTo: this.#o.messageId,
          author: { kind: "bot" },
          text: reply.text,
          sections: reply.sections,
          footer: reply.footer,
          idempotencyKey: key,
          kind: "partial",
          ...(this.#lastKey ? { revises: this.#lastKey } : {}),
        });
        this.#lastKey = key;
        this.#o.log.info({ version: n, ready: ready.length, pending }, "posted the parts of the answer that are ready");
      } catch (err) {
        // A preview only: the whole answer still goes out (as a message of its own if no version did).
        this.#o.log.warn({ err: errorMessage(err) }, "could not post the parts that are ready; the whole answer follows");
      }
    });
  }

  /** After a retry: versions an earlier attempt recorded come first; the whole answer revises the newest. */
  async #continueAfterEarlier(): Promise<void> {
    for (let n = this.#versions + 1; ; n++) {
      const earlier = await this.#o.outbox.find(partialKey(this.#o.messageId, n));
      if (!earlier) return;
      this.#lastKey = earlier.idempotencyKey;
    }
  }
}
