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

/** What a staff member did on a card (a button). */
export type StaffAction = "claim" | "resolve" | "back_to_bot";
export const STAFF_ACTIONS: readonly StaffAction[] = ["claim", "resolve", "back_to_bot"];

/**
 * What platform adapters call when staff act in a staff channel. Implemented by the handoff
 * service; adapters receive it as an option, so they know nothing else of handoffs.
 */
export interface StaffActions {
  /** A card button was clicked. Resolves with a sentence for the clicker when it failed. */
  act(input: { platform: "slack" | "discord"; action: StaffAction; handoffId: string; agent: string }): Promise<{ ok: true } | { ok: false; message: string }>;
  /**
   * A message in a thread of the staff channel. `true` when the thread is a handoff card's (the
   * message was a staff reply, handled); `false` for any other thread.
   */
  threadReply(input: {
    platform: "slack" | "discord";
    channel: string;
    /** Slack: the thread's ts; Discord: the thread's id (= the card message's id). */
    threadId: string;
    agent: string;
    text: string;
    /** The platform's id of the staff message: a redelivery is sent to the user once. */
    platformMessageId: string;
  }): Promise<boolean>;
}
