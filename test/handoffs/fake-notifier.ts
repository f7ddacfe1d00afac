import type { StaffCardRef } from "../../src/handoffs/handoff-store.ts";
import type { HandoffCard, StaffNotifier, ThreadNote } from "../../src/handoffs/staff-notifier.ts";
import { Changes } from "../helpers/wait-until.ts";

export type NotifierCall =
  | { kind: "announce"; card: HandoffCard }
  | { kind: "update"; ref: StaffCardRef; card: HandoffCard }
  | { kind: "post"; ref: StaffCardRef; note: ThreadNote }
  | { kind: "notice"; text: string };

/** A staff channel that records what it was asked to show; `waitFor` resolves when it was. */
export class FakeNotifier implements StaffNotifier {
  readonly platform = "slack" as const;
  readonly calls: NotifierCall[] = [];
  readonly #changes = new Changes();
  #next = 0;

  async announce(card: HandoffCard): Promise<StaffCardRef> {
    this.#record({ kind: "announce", card });
    this.#next += 1;
    return { platform: "slack", channel: "C0STAFF", messageId: `1700000000.${String(this.#next).padStart(6, "0")}` };
  }

  async update(ref: StaffCardRef, card: HandoffCard): Promise<void> {
    this.#record({ kind: "update", ref, card });
  }

  async post(ref: StaffCardRef, note: ThreadNote): Promise<void> {
    this.#record({ kind: "post", ref, note });
  }

  async notice(text: string): Promise<void> {
    this.#record({ kind: "notice", text });
  }

  waitFor<K extends NotifierCall["kind"]>(kind: K, predicate: (call: Extract<NotifierCall, { kind: K }>) => boolean = () => true, what = `a ${kind} call`) {
    return this.#changes.until(
      () => this.calls.find((c): c is Extract<NotifierCall, { kind: K }> => c.kind === kind && predicate(c as Extract<NotifierCall, { kind: K }>)),
      what,
    );
  }

  #record(call: NotifierCall): void {
    this.calls.push(call);
    this.#changes.notify();
  }
}
