import type { MessageRow } from "../conversations/conversation-log.ts";
import type { Platform, RouteScore } from "../types.ts";
import type { HandoffRow, StaffCardRef } from "./handoff-store.ts";

/**
 * The port to a staff channel (Slack or Discord): one card per handoff that changes in place as
 * the handoff does, with a thread under it where the user's messages are relayed and staff reply.
 * Implementations know their platform and nothing of routing; the handoff service calls them.
 */
export interface StaffNotifier {
  readonly platform: "slack" | "discord";
  /** Posts the card for a new handoff; returns where it is (stored on the handoff). */
  announce(card: HandoffCard): Promise<StaffCardRef>;
  /** Rewrites the card in place: who claimed it, resolved when, overdue. */
  update(ref: StaffCardRef, card: HandoffCard): Promise<void>;
  /** Posts a line in the card's thread. */
  post(ref: StaffCardRef, note: ThreadNote): Promise<void>;
  /** Posts a notice to the whole staff channel, about no handoff in particular (the model is down). */
  notice(text: string): Promise<void>;
}

/** Everything a card shows. Text fields are raw user or staff text: notifiers escape them. */
export interface HandoffCard {
  handoff: HandoffRow;
  conversation: { id: string; platform: Platform; conversationKey: string; userId: string };
  /** The routes of the message that opened the handoff. */
  routes: RouteScore[];
  /** The message that opened the handoff (or the first one), shortened. */
  summary: string;
  /** The conversation's last few messages, oldest first. */
  lastMessages: Array<{ author: MessageRow["authorKind"]; name: string | null; text: string }>;
  /** Minutes the user has waited for a person (until claimed). */
  waitingMinutes: number;
  /** Unclaimed past the SLA. */
  overdue: boolean;
  /** Link to the handoff in the web console, when the service knows its public URL. */
  consoleUrl?: string;
  /** The customer the user's account is linked to (`identities`), if any: shown instead of a bare user id. */
  customerName: string | null;
  /** The first line of what the user asked (as stored: redacted at intake). */
  request: string;
  /** Why, in staff words: the detail without a tool code in front, or the reason's label. */
  why: string;
  /** The refund this handoff waits on (a `needs_approval` handoff), with its state: Approve / Reject while it awaits approval. */
  refund?: CardRefund | undefined;
}

/** A refund as a staff card shows it. */
export interface CardRefund {
  id: string;
  /** `$250.00`. */
  amount: string;
  status: string;
  decidedBy: string | null;
  decisionReason: string | null;
}

export type ThreadNote =
  /** The user wrote while a person owns the conversation. */
  | { kind: "user_message"; text: string }
  /** A staff reply that did not come from this thread (console, API, the other platform). */
  | { kind: "agent_reply"; agent: string; text: string; via: string }
  /** The handoff was claimed, resolved, given back; `text` says so in a sentence. */
  | { kind: "status"; text: string }
  /** Still unclaimed after the SLA; shown to the whole channel where the platform can. */
  | { kind: "sla"; text: string }
  /** A staff reply in this thread could not be delivered (not the owner, resolved, failed). */
  | { kind: "error"; text: string };

/** What a staff member did on a card (a button; Resolve with the note from its modal). */
export type StaffAction = "claim" | "resolve" | "back_to_bot";
export const STAFF_ACTIONS: readonly StaffAction[] = ["claim", "resolve", "back_to_bot"];

/** A refund decision from a card's Approve / Reject (Reject with the reason from its modal). */
export type RefundDecisionKind = "approve" | "reject";

/** Who did something in a staff channel, as the platform says: their user id and a display name. */
export interface StaffActor {
  platform: "slack" | "discord";
  userId: string;
  /** The platform's display name: the actor's name only while no agents are configured. */
  name: string;
}

/** How a staff action went: on failure, a sentence for the person (shown only to them where the platform can). */
export type StaffOutcome = { ok: true } | { ok: false; message: string };

/**
 * What platform adapters call when staff act in a staff channel. Implemented by the staff desk
 * (which maps a platform user to an agent, then uses the handoff service and refund approvals);
 * adapters receive it as an option, so they know nothing else of handoffs.
 */
export interface StaffActions {
  /**
   * Whether this platform user may act, before an adapter opens a modal for them (a note, a
   * reason): an unlinked user is told why at the click, not after typing.
   */
  check(actor: StaffActor): Promise<StaffOutcome>;
  /** A card button was clicked (Resolve: its note submitted). */
  act(input: { actor: StaffActor; action: StaffAction; handoffId: string; note?: string | undefined }): Promise<StaffOutcome>;
  /** A card's Approve, or its Reject with the reason typed in the modal. */
  decideRefund(input: { actor: StaffActor; refundId: string; decision: RefundDecisionKind; reason?: string | undefined }): Promise<StaffOutcome>;
  /**
   * A message in a thread of the staff channel. `not_a_card`: another thread (staff talk, nothing
   * done); `handled`: a card's thread, the message went to the user (or its failure was posted in
   * the thread); `refused`: from someone who may not answer users (say `message` to them).
   */
  threadReply(input: {
    actor: StaffActor;
    channel: string;
    /** Slack: the thread's ts; Discord: the thread's id (= the card message's id). */
    threadId: string;
    text: string;
    /** The platform's id of the staff message: a redelivery is sent to the user once. */
    platformMessageId: string;
  }): Promise<{ kind: "not_a_card" } | { kind: "handled" } | { kind: "refused"; message: string }>;
}
