import type { ConversationLog } from "../conversations/conversation-log.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { HandoffStore, StaffCardRef } from "./handoff-store.ts";
import type { HandoffCard, StaffNotifier, ThreadNote } from "./staff-notifier.ts";
import { money } from "../../agents/workers/billing/billing-repo.ts";
import type { RefundLookup } from "./refund-approvals.ts";
import { HANDOFF_REASON_LABELS, firstLine, readableDetail } from "./reasons.ts";

export interface StaffChannelsOptions {
  store: HandoffStore;
  log: ConversationLog;
  logger: Logger;
  now: () => Date;
  /** Minutes an unclaimed handoff waits before it counts as overdue on its card; 0: never. */
  slaMinutes: number;
  /** Public base URL of the service, for links from staff cards to the console. Optional. */
  publicUrl?: string | undefined;
  /** The refund a handoff waits on (Approve / Reject on its cards). Unset: none shown. */
  refunds?: RefundLookup | undefined;
}

/**
 * The staff channels (Slack, Discord): one card per handoff, changed in place as the handoff
 * changes, and a thread under it. Work runs in the background, one handoff at a time in order,
 * so a slow platform never holds up a claim or a reply; `idle()` waits for it.
 */
export class StaffChannels {
  readonly #o: StaffChannelsOptions;
  readonly #log: Logger;
  readonly #notifiers: StaffNotifier[] = [];
  readonly #chains = new Map<string, Promise<void>>();
  readonly #pending = new Set<Promise<void>>();

  constructor(options: StaffChannelsOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "staff-channels" });
  }

  add(notifier: StaffNotifier): void {
    this.#notifiers.push(notifier);
  }

  notifier(platform: string): StaffNotifier | undefined {
    return this.#notifiers.find((n) => n.platform === platform);
  }

  /** Resolves when no staff-channel work is queued or running. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** The card a staff channel shows for the handoff now. */
  async card(handoffId: string): Promise<HandoffCard | undefined> {
    const now = this.#o.now();
    const [item] = await this.#o.store.list({ id: handoffId, limit: 1 }, now);
    if (!item) return undefined;
    const transcript = await this.#o.log.transcript(item.conversationId);
    const opener = transcript.find((m) => m.id === item.messageId) ?? transcript.findLast((m) => m.direction === "in");
    const sla = this.#o.slaMinutes;
    const card: HandoffCard = {
      handoff: item,
      conversation: { id: item.conversationId, platform: item.platform, conversationKey: item.conversationKey, userId: item.userId },
      routes: item.routes,
      summary: shorten(opener?.text ?? "", 500),
      lastMessages: transcript.slice(-5).map((m) => ({ author: m.authorKind, name: m.authorId, text: shorten(m.text, 300) })),
      waitingMinutes: Math.floor(item.waitingSeconds / 60),
      overdue: item.status === "open" && sla > 0 && item.waitingSeconds >= sla * 60,
      customerName: item.customerName,
      request: firstLine(item.preview || opener?.text || "", 200),
      why: readableDetail(item.detail).trim() || HANDOFF_REASON_LABELS[item.reason],
    };
    const refund = item.reason === "needs_approval" ? await this.#o.refunds?.forHandoff(item.id) : undefined;
    if (refund) {
      card.refund = {
        id: refund.id,
        amount: money(refund.amountCents, refund.currency),
        status: refund.status,
        decidedBy: refund.decidedBy,
        decisionReason: refund.decisionReason,
      };
    }
    if (this.#o.publicUrl) card.consoleUrl = `${this.#o.publicUrl.replace(/\/$/, "")}/console/handoffs/${item.id}`;
    return card;
  }

  /** Posts the card where it is missing, updates it where it exists. */
  async refreshCards(handoffId: string): Promise<void> {
    if (this.#notifiers.length === 0) return;
    const card = await this.card(handoffId);
    if (!card) return;
    for (const notifier of this.#notifiers) {
      const ref = card.handoff.cards.find((c) => c.platform === notifier.platform);
      try {
        if (ref) {
          await notifier.update(ref, card);
        } else {
          const posted = await notifier.announce(card);
          await this.#o.store.setCard(handoffId, posted);
          card.handoff.cards.push(posted);
        }
      } catch (err) {
        this.#log.error({ handoffId, platform: notifier.platform, err: errorMessage(err) }, "staff channel card failed");
        await this.#o.store.addEvent(handoffId, "notify_failed", "system", `${notifier.platform}: ${errorMessage(err)}`).catch(() => undefined);
      }
    }
  }

  /** Posts a line in the handoff's card threads (except on `skipPlatform`, where it was written). */
  async postInThreads(handoffId: string, note: ThreadNote, skipPlatform?: string): Promise<void> {
    if (this.#notifiers.length === 0) return;
    const handoff = await this.#o.store.get(handoffId);
    if (!handoff) return;
    for (const notifier of this.#notifiers) {
      if (notifier.platform === skipPlatform) continue;
      const ref: StaffCardRef | undefined = handoff.cards.find((c) => c.platform === notifier.platform);
      if (!ref) continue;
      try {
        await notifier.post(ref, note);
      } catch (err) {
        this.#log.error({ handoffId, platform: notifier.platform, err: errorMessage(err) }, "staff thread post failed");
      }
    }
  }

  /** Posts a notice to every staff channel (not about one handoff), tracked for `idle()`. */
  notice(text: string): void {
    for (const notifier of this.#notifiers) {
      this.background(`notice:${notifier.platform}`, async () => {
        try {
          await notifier.notice(text);
        } catch (err) {
          this.#log.error({ platform: notifier.platform, err: errorMessage(err) }, "staff channel notice failed");
        }
      });
    }
  }

  /** Runs staff-channel work after the handoff's earlier work, tracked for `idle()`. */
  background(handoffId: string, work: () => Promise<void>): void {
    const previous = this.#chains.get(handoffId) ?? Promise.resolve();
    const next = previous.then(work).catch((err: unknown) => {
      this.#log.error({ handoffId, err: errorMessage(err) }, "handoff background work failed");
    });
    this.#chains.set(handoffId, next);
    this.#pending.add(next);
    void next.finally(() => {
      this.#pending.delete(next);
      if (this.#chains.get(handoffId) === next) this.#chains.delete(handoffId);
    });
  }
}

export function shorten(text: string, max: number): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}
