import { randomUUID } from "node:crypto";
import type { ConversationLog, ConversationRow, TranscriptEntry } from "../conversations/conversation-log.ts";
import { InputError, SwitchboardError, errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ConversationLeases } from "../inbox/conversation-leases.ts";
import type { DeliveryStatus, Outbox } from "../outbox/outbox.ts";
import { MAX_MESSAGE_CHARS, type HandoffInfo } from "../types.ts";
import type { Staff } from "../staff/agent-directory.ts";
import type { BotMemory } from "./bot-memory.ts";
import { HANDOFF_BECAUSE } from "./reasons.ts";
import type { HandoffEvent, HandoffFilter, HandoffListItem, HandoffRow, HandoffStore } from "./handoff-store.ts";
import { SlaMonitor } from "./sla-monitor.ts";
import { StaffChannels, shorten } from "./staff-channels.ts";
import type { HandoffCard, StaffAction, StaffNotifier, StaffOutcome } from "./staff-notifier.ts";
import type { RefundLookup } from "./refund-approvals.ts";
import { describeNextOpening, isWithinSupportHours, type SupportHours } from "./support-hours.ts";

/** A staff reply the platform refused for good (the channel is gone, the bot was removed). */
export class DeliveryError extends SwitchboardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("delivery_failed", message, options);
  }
}

export interface HandoffServiceOptions {
  store: HandoffStore;
  log: ConversationLog;
  /** Staff replies go out through it, to the user's conversation on its own platform. */
  outbox: Outbox;
  /** Turn order of a conversation across processes: the memory note waits for a message being answered. */
  leases: Pick<ConversationLeases, "run">;
  memory: BotMemory;
  logger: Logger;
  /** Minutes an unclaimed handoff waits before staff are told again; 0 turns re-announcing off. */
  slaMinutes: number;
  /** Unset: the team is always there. */
  supportHours?: SupportHours | undefined;
  /** The clock. Default `() => new Date()`. */
  now?: () => Date;
  /** How often the SLA is checked once `start()` ran, in ms. Default 30000. */
  slaCheckIntervalMs?: number;
  /** Public base URL of the service, for links from staff cards to the console. Optional. */
  publicUrl?: string | undefined;
  /** The refund a handoff waits on, for its staff cards (Approve / Reject). Unset: cards show none. */
  refunds?: RefundLookup | undefined;
}

export interface HandoffDetail {
  handoff: HandoffListItem;
  conversation: ConversationRow;
  events: HandoffEvent[];
  /** The whole transcript, each inbound message with its routing decision and worker runs. */
  messages: TranscriptEntry[];
}


export const AGENT_NAME_MAX = 80;

/**
 * The human handoff loop: claim, reply, resolve and give back to the bot (from the console, the
 * API or a staff channel), the staff channel cards and their threads, the SLA re-announcement,
 * and the note the bot keeps of what the person did. Every transition is an event.
 *
 * Staff-channel work (cards, thread lines) runs in the background, one handoff at a time in
 * order, so a slow platform never holds up a claim or a reply; `idle()` waits for it.
 */
export class HandoffService {
  readonly #o: HandoffServiceOptions;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #staff: StaffChannels;
  readonly #sla: SlaMonitor;

  constructor(options: HandoffServiceOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "handoffs" });
    this.#now = options.now ?? (() => new Date());
    this.#staff = new StaffChannels({
      store: options.store,
      log: options.log,
      logger: options.logger,
      now: this.#now,
      slaMinutes: options.slaMinutes,
      publicUrl: options.publicUrl,
      refunds: options.refunds,
    });
    this.#sla = new SlaMonitor({
      store: options.store,
      staff: this.#staff,
      logger: options.logger,
      now: this.#now,
      slaMinutes: options.slaMinutes,
      supportHours: options.supportHours,
      ...(options.slaCheckIntervalMs ? { checkIntervalMs: options.slaCheckIntervalMs } : {}),
    });
  }

  /** Staff channels to post cards in (Slack, Discord). */
  addNotifier(notifier: StaffNotifier): void {
    this.#staff.add(notifier);
  }

  /** Starts the SLA timer. */
  start(): void {
    this.#sla.start();
  }

  /** Stops the timer and waits for staff-channel work in flight. */
  async close(): Promise<void> {
    await this.#sla.close();
    await this.idle();
  }

  /** Resolves when no staff-channel work is queued or running. */
  idle(): Promise<void> {
    return this.#staff.idle();
  }

  /** Re-announces handoffs unclaimed past the SLA now; returns how many. */
  checkSla(): Promise<number> {
    return this.#sla.check();
  }

  /** Tells every staff channel something about the service (the model is down, or back). */
  announce(text: string): void {
    this.#staff.notice(text);
  }

  /** The card a staff channel shows for the handoff now. */
  card(handoffId: string): Promise<HandoffCard | undefined> {
    return this.#staff.card(handoffId);
  }

  // ------------------------------------------------------------------ what the turn runner tells us

  opened(handoff: HandoffInfo & { conversationId: string }): void {
    this.#staff.background(handoff.id, async () => {
      // Dated when the handoff opened, so it sorts first even if a claim was quicker than this.
      const opened = await this.#o.store.get(handoff.id);
      await this.#o.store.addEvent(handoff.id, "opened", "bot", `${handoff.reason}: ${handoff.detail}`, opened?.createdAt);
      await this.#o.store.markAnnounced(handoff.id, this.#now());
      await this.#staff.refreshCards(handoff.id);
    });
  }

  async notice(handoff: HandoffInfo): Promise<string | null> {
    const now = this.#now();
    const hours = this.#o.supportHours;
    if (hours && !isWithinSupportHours(hours, now)) {
      const next = describeNextOpening(hours, now);
      return `Our support team works ${hours.spec}. It's outside those hours now${next ? `, so expect a reply ${next}` : ""}.`;
    }
    const typical = await this.#o.store.typicalClaimSeconds();
    if (typical === undefined) return null;
    const position = await this.#o.store.queuePosition(handoff.id);
    const minutes = Math.max(1, Math.round(typical / 60));
    const ahead = position > 0 ? ` (${position} ${position === 1 ? "person is" : "people are"} ahead of you)` : "";
    return `Expected wait: about ${minutes} minute${minutes === 1 ? "" : "s"}${ahead}.`;
  }

  relayed(event: { handoffId: string; conversationId: string; messageId: string; text: string }): void {
    this.#staff.background(event.handoffId, async () => {
      await this.#o.store.addEvent(event.handoffId, "user_message", "user", event.text);
      await this.#staff.postInThreads(event.handoffId, { kind: "user_message", text: event.text });
    });
  }

  // ------------------------------------------------------------------ actions (console, API, staff channels)

  /** `agent` takes the handoff. Two agents at once: one owner, the other a 409 naming them. */
  async claim(handoffId: string, agentName: string): Promise<HandoffRow> {
    const agent = validAgent(agentName);
    const { handoff, changed } = await this.#o.store.claim(handoffId, agent);
    if (changed) {
      await this.#o.store.addEvent(handoff.id, "claimed", agent);
      this.#log.info({ handoffId: handoff.id, conversationId: handoff.conversationId, agent }, "handoff claimed");
      this.#staff.background(handoff.id, async () => {
        await this.#staff.refreshCards(handoff.id);
        await this.#staff.postInThreads(handoff.id, { kind: "status", text: `${agent} claimed this and will reply to the user.` });
      });
    }
    return handoff;
  }

  /**
   * A staff reply, delivered to the user's original conversation on its own platform. An open
   * handoff is claimed by the replier first; one claimed by someone else is theirs to answer.
   *
   * @param via where it was written (`console`, `api`, `slack`, `discord`): a reply written in a
   *   staff thread is not echoed back into that thread.
   */
  async reply(
    handoffId: string,
    agentName: string,
    text: string,
    options: { via?: string; idempotencyKey?: string } = {},
  ): Promise<{ handoff: HandoffRow; messageId: string; delivery: DeliveryStatus; error?: string }> {
    const agent = validAgent(agentName);
    const body = text.trim();
    if (!body) throw new InputError("empty_text", "The reply is empty: write something to send.");
    if (body.length > MAX_MESSAGE_CHARS) {
      throw new InputError("text_too_long", `The reply is ${body.length} characters; the limit is ${MAX_MESSAGE_CHARS}.`);
    }
    let handoff = await this.#o.store.require(handoffId);
    if (handoff.status === "resolved") {
      throw new InputError("already_resolved", "This handoff is resolved; the bot owns the conversation again. Nothing was sent.", 409);
    }
    if (handoff.status === "open") handoff = await this.claim(handoff.id, agent);
    else if (handoff.assignee !== agent) {
      throw new InputError("claimed_by_other", `${handoff.assignee ?? "Someone else"} owns this handoff; only they can reply. Nothing was sent.`, 409);
    }
    const key = `handoff:${handoff.id}:reply:${options.idempotencyKey ?? randomUUID()}`;
    // It goes where the user's latest message would have been answered.
    const latest = await this.#o.log.latestInbound(handoff.conversationId);
    const sent = await this.#o.outbox.send({ conversationId: handoff.conversationId, inReplyTo: latest?.id ?? null, author: { kind: "agent", name: agent }, text: body, idempotencyKey: key });
    if (sent.status === "failed") {
      this.#log.error({ handoffId: handoff.id, err: sent.error }, "staff reply refused by the platform");
      if (sent.created) await this.#o.store.addEvent(handoff.id, "notify_failed", "system", `reply not delivered: ${sent.error ?? "refused"}`);
      throw new DeliveryError(`The reply could not be delivered to the user: ${sent.error ?? "the platform refused it"}`);
    }
    // Recorded once per key: a redelivered staff message (Slack's retry) is neither sent nor logged again.
    if (sent.created) {
      await this.#o.store.addEvent(handoff.id, "agent_reply", agent, body);
      const via = options.via ?? "api";
      this.#staff.background(handoff.id, () => this.#staff.postInThreads(handoff.id, { kind: "agent_reply", agent, text: body, via }, via));
    }
    if (sent.status !== "sent") this.#log.warn({ handoffId: handoff.id, delivery: sent.status, err: sent.error }, "staff reply recorded; not delivered yet");
    return { handoff, messageId: sent.messageId, delivery: sent.status, ...(sent.error ? { error: sent.error } : {}) };
  }

  /** Closes the handoff, gives the conversation back to the bot, and leaves the bot a note. */
  /**
   * @param options.by the signed-in agent acting, when known (console, API): an `agent` (not a
   *   lead) closes only an open handoff or one they own; otherwise 403 `not_owner`.
   */
  async resolve(handoffId: string, options: { agent?: string | undefined; note?: string | undefined; by?: Staff | undefined } = {}): Promise<HandoffRow> {
    return this.#close(handoffId, "resolved", options.agent, options.note, options.by);
  }

  /** Gives the conversation back to the bot without a resolution note (`by`: as for `resolve`). */
  async backToBot(handoffId: string, agent?: string, by?: Staff): Promise<HandoffRow> {
    return this.#close(handoffId, "back_to_bot", agent, undefined, by);
  }

  /** A lead gives the handoff to `to` (an agent name): it is theirs now, claimed. */
  async assign(handoffId: string, to: string, by: Staff): Promise<HandoffRow> {
    if (by.role !== "lead") throw new InputError("lead_only", "Only a lead can assign a handoff to someone else.", 403);
    const agent = validAgent(to);
    const { handoff, previous, changed } = await this.#o.store.assign(handoffId, agent);
    if (!changed) return handoff;
    await this.#o.store.addEvent(handoff.id, "assigned", by.name, agent);
    this.#log.info({ handoffId: handoff.id, conversationId: handoff.conversationId, agent, by: by.name, previous }, "handoff assigned");
    this.#staff.background(handoff.id, async () => {
      await this.#staff.refreshCards(handoff.id);
      await this.#staff.postInThreads(handoff.id, { kind: "status", text: `${by.name} assigned this to ${agent}.` });
    });
    return handoff;
  }

  async #close(handoffId: string, kind: "resolved" | "back_to_bot", agentName: string | undefined, noteText: string | undefined, by: Staff | undefined): Promise<HandoffRow> {
    const agent = agentName === undefined || agentName.trim() === "" ? null : validAgent(agentName);
    const note = noteText?.trim() ? noteText.trim().slice(0, 2000) : null;
    const onlyOwner = by && by.role !== "lead" ? { onlyOwner: by.name } : {};
    const { handoff, changed } = await this.#o.store.resolve(handoffId, agent, note, onlyOwner);
    if (!changed) return handoff;
    const actor = agent ?? "staff";
    await this.#o.store.addEvent(handoff.id, kind, actor, note ?? "");
    this.#log.info({ handoffId: handoff.id, conversationId: handoff.conversationId, kind, agent: actor }, "conversation back with the bot");
    try {
      const memo = await this.#memoryNote(handoff, kind, actor, note);
      // In the conversation's turn order, so a message being answered cannot overwrite it.
      await this.#o.leases.run(handoff.conversationId, () => this.#o.memory.addNote(handoff.conversationId, memo));
    } catch (err) {
      this.#log.error({ handoffId: handoff.id, err: errorMessage(err) }, "could not leave the bot a note of the handoff");
    }
    this.#staff.background(handoff.id, async () => {
      await this.#staff.refreshCards(handoff.id);
      const what = kind === "resolved" ? `${actor} resolved this${note ? `: ${note}` : "."}` : `${actor} gave the conversation back to the bot.`;
      await this.#staff.postInThreads(handoff.id, { kind: "status", text: what });
    });
    return handoff;
  }

  /** What the bot should know of the handoff: who took over, what they told the user, how it ended. */
  async #memoryNote(handoff: HandoffRow, kind: "resolved" | "back_to_bot", actor: string, note: string | null): Promise<string> {
    const events = await this.#o.store.events(handoff.id);
    const replies = events.filter((e) => e.kind === "agent_reply");
    const people = [...new Set(replies.map((e) => e.actor).concat(handoff.assignee ? [handoff.assignee] : []))];
    const parts = [
      `[Support team note] This conversation was handed to a person because ${HANDOFF_BECAUSE[handoff.reason]}.`,
      people.length ? `${people.join(" and ")} from the support team took it over.` : "Nobody from the support team replied.",
    ];
    if (replies.length) {
      const said = replies.slice(-3).map((e) => `${e.actor}: "${shorten(e.text, 300)}"`);
      parts.push(`What they told the user: ${said.join(" ")}`);
    }
    if (kind === "resolved") parts.push(note ? `Resolution (${actor}): ${note}` : `${actor} marked it resolved.`);
    else parts.push(`${actor} gave the conversation back to the bot.`);
    parts.push("The bot answers again from here; do not contradict what the support team told the user.");
    return parts.join(" ");
  }

  // ------------------------------------------------------------------ staff channels (through the staff desk)

  /**
   * A card button, as `agent` (and, when the staff desk knows which agent that is, `by`: the
   * owner rule of `resolve` applies). Resolves with a sentence for the clicker when it failed.
   */
  async act(input: { action: StaffAction; handoffId: string; agent: string; by?: Staff | undefined; note?: string | undefined }): Promise<StaffOutcome> {
    try {
      if (input.action === "claim") await this.claim(input.handoffId, input.agent);
      else if (input.action === "resolve") await this.resolve(input.handoffId, { agent: input.agent, note: input.note, by: input.by });
      else await this.backToBot(input.handoffId, input.agent, input.by);
      return { ok: true };
    } catch (err) {
      if (err instanceof InputError) return { ok: false, message: err.message };
      this.#log.error({ err: errorMessage(err), action: input.action, handoffId: input.handoffId }, "staff action failed");
      return { ok: false, message: "That did not work because of an error on our side; it has been logged. Try again, or use the console." };
    }
  }

  /** The handoff whose card (in a staff channel) started this thread, if it is one. */
  cardHandoff(platform: "slack" | "discord", channel: string, threadId: string): Promise<HandoffRow | undefined> {
    return this.#o.store.findByCard(platform, channel, threadId);
  }

  /**
   * A staff reply written in the card's thread of `handoff`, sent to the user; when it cannot be,
   * the thread is told why.
   */
  async threadReply(handoff: HandoffRow, input: { platform: "slack" | "discord"; agent: string; text: string; platformMessageId: string }): Promise<void> {
    try {
      await this.reply(handoff.id, input.agent, input.text, { via: input.platform, idempotencyKey: `${input.platform}:${input.platformMessageId}` });
    } catch (err) {
      const message = err instanceof SwitchboardError ? err.message : "It could not be sent because of an error on our side.";
      if (!(err instanceof SwitchboardError)) this.#log.error({ err: errorMessage(err), handoffId: handoff.id }, "staff thread reply failed");
      const notifier = this.#staff.notifier(input.platform);
      const ref = handoff.cards.find((c) => c.platform === input.platform);
      if (notifier && ref) {
        this.#staff.background(handoff.id, () => notifier.post(ref, { kind: "error", text: `Not sent to the user: ${message}` }));
      }
    }
  }

  /**
   * A refund the handoff waits on was decided (from the console, the API or a card): its cards
   * lose Approve / Reject and say who decided, and the threads are told.
   */
  refundDecided(handoffId: string, text: string): void {
    this.#staff.background(handoffId, async () => {
      await this.#staff.refreshCards(handoffId);
      await this.#staff.postInThreads(handoffId, { kind: "status", text });
    });
  }

  // ------------------------------------------------------------------ queries

  list(filter: HandoffFilter = {}): Promise<HandoffListItem[]> {
    return this.#o.store.list(filter, this.#now());
  }

  async detail(handoffId: string): Promise<HandoffDetail> {
    const [item] = await this.#o.store.list({ id: handoffId, limit: 1 }, this.#now());
    if (!item) throw new InputError("unknown_handoff", `No handoff ${handoffId}.`, 404);
    const [conversation, events, messages] = await Promise.all([
      this.#o.log.getConversation(item.conversationId),
      this.#o.store.events(item.id),
      this.#o.log.transcript(item.conversationId),
    ]);
    if (!conversation) throw new InputError("unknown_conversation", `No conversation ${item.conversationId}.`, 404);
    return { handoff: item, conversation, events, messages };
  }

}

function validAgent(name: string): string {
  // Control characters would garble cards and logs.
  // eslint-disable-next-line no-control-regex
  const agent = name.replace(/[\u0000-\u001f\u007f]/g, " ").trim();
  if (!agent) throw new InputError("agent_required", "Say who you are: agent must be a non-empty name.");
  if (agent.length > AGENT_NAME_MAX) throw new InputError("agent_too_long", `agent is longer than ${AGENT_NAME_MAX} characters.`);
  return agent;
}
