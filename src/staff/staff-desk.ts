import { InputError, errorMessage } from "../errors.ts";
import type { HandoffService } from "../handoffs/handoff-service.ts";
import type { RefundApprovals } from "../handoffs/refund-approvals.ts";
import type { StaffActions, StaffActor, StaffOutcome } from "../handoffs/staff-notifier.ts";
import type { Logger } from "../logger.ts";
import type { AgentDirectory, Staff } from "./agent-directory.ts";

export interface StaffDeskOptions {
  agents: Pick<AgentDirectory, "byPlatformUser" | "any">;
  handoffs: Pick<HandoffService, "act" | "cardHandoff" | "threadReply">;
  refunds: Pick<RefundApprovals, "approve" | "reject">;
  logger: Logger;
}

/**
 * Who a Slack or Discord staff member is, as the support team: the rule for every staff-channel
 * action (card buttons, their modals, replies in card threads), the same on both platforms.
 *
 * - A platform user linked to an agent (`switchboard agents add|link … --slack-user/--discord-user`)
 *   acts as that agent, under the API's rules: an `agent` resolves or gives back only an open
 *   handoff or their own, a `lead` anyone's.
 * - Once any agent exists, an unlinked platform user is refused (told only them, with their id
 *   and the command that links them) and nothing changes: the team has moved to named agents, and
 *   an action nobody can be held to would be the one gap.
 * - With no agents at all (a team that has not set them up), staff act as before agents existed,
 *   named by their platform display name, with no owner rule.
 *
 * Who counts as staff at all (the staff channel, SLACK_STAFF_USERGROUP, DISCORD_STAFF_ROLE) is
 * checked by the adapters before this.
 */
export class StaffDesk implements StaffActions {
  readonly #o: StaffDeskOptions;
  readonly #log: Logger;

  constructor(options: StaffDeskOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "staff-desk" });
  }

  /** The acting agent: `by` set when linked (the owner rule applies); `refused` when the rule says no. */
  async identify(actor: StaffActor): Promise<{ ok: true; name: string; by: Staff | undefined } | { ok: false; message: string }> {
    const agent = await this.#o.agents.byPlatformUser(actor.platform, actor.userId);
    if (agent) return { ok: true, name: agent.name, by: { name: agent.name, role: agent.role, agentId: agent.id } };
    if (await this.#o.agents.any()) {
      this.#log.warn({ platform: actor.platform, user: actor.userId }, "staff action refused: the platform user is linked to no agent");
      return { ok: false, message: unlinkedMessage(actor) };
    }
    return { ok: true, name: actor.name, by: undefined };
  }

  async check(actor: StaffActor): Promise<StaffOutcome> {
    const who = await this.#identify(actor);
    return who.ok ? { ok: true } : who;
  }

  async act(input: Parameters<StaffActions["act"]>[0]): Promise<StaffOutcome> {
    const who = await this.#identify(input.actor);
    if (!who.ok) return who;
    return this.#o.handoffs.act({ action: input.action, handoffId: input.handoffId, agent: who.name, by: who.by, note: input.note });
  }

  async decideRefund(input: Parameters<StaffActions["decideRefund"]>[0]): Promise<StaffOutcome> {
    const who = await this.#identify(input.actor);
    if (!who.ok) return who;
    // Before agents exist the platform name decides, as on the API with CONSOLE_TOKEN and a typed name.
    const by: Staff = who.by ?? { name: who.name, role: "agent", agentId: null };
    try {
      if (input.decision === "approve") await this.#o.refunds.approve(input.refundId, by);
      else await this.#o.refunds.reject(input.refundId, by, input.reason ?? "");
      return { ok: true };
    } catch (err) {
      if (err instanceof InputError) return { ok: false, message: err.message };
      this.#log.error({ err: errorMessage(err), refundId: input.refundId, decision: input.decision }, "refund decision from a staff channel failed");
      return { ok: false, message: "That did not work because of an error on our side; it has been logged. Try again, or use the console." };
    }
  }

  async threadReply(input: Parameters<StaffActions["threadReply"]>[0]): ReturnType<StaffActions["threadReply"]> {
    const { actor } = input;
    const handoff = await this.#o.handoffs.cardHandoff(actor.platform, input.channel, input.threadId);
    if (!handoff) return { kind: "not_a_card" };
    const who = await this.#identify(actor);
    if (!who.ok) return { kind: "refused", message: who.message.replace("so nothing was changed", "so your message was not sent to the user").replace("Nothing was changed", "Your message was not sent to the user") };
    await this.#o.handoffs.threadReply(handoff, { platform: actor.platform, agent: who.name, text: input.text, platformMessageId: input.platformMessageId });
    return { kind: "handled" };
  }

  async #identify(actor: StaffActor): ReturnType<StaffDesk["identify"]> {
    try {
      return await this.identify(actor);
    } catch (err) {
      this.#log.error({ err: errorMessage(err), platform: actor.platform }, "could not tell which agent a staff member is");
      return { ok: false, message: "Could not check which agent you are just now. Nothing was changed; please try again in a minute." };
    }
  }
}

/** What an unlinked staff member is told: their id, and the command a lead runs. */
export function unlinkedMessage(actor: StaffActor): string {
  const flag = actor.platform === "slack" ? "--slack-user" : "--discord-user";
  const platform = actor.platform === "slack" ? "Slack" : "Discord";
  return (
    `Your ${platform} account (${actor.userId}) is not linked to a Switchboard agent, so nothing was changed. ` +
    `Ask a lead to run \`switchboard agents link <your agent name> ${flag} ${actor.userId}\` ` +
    `(or \`switchboard agents add <name> ${flag} ${actor.userId}\`), then try again.`
  );
}
