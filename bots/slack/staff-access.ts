import type { webApi } from "@slack/bolt";
import { errorMessage } from "../../src/errors.ts";

/**
 * Who may act on handoffs from Slack: a click or thread reply counts only when it comes from the
 * staff channel (SLACK_HANDOFF_CHANNEL) and, with SLACK_STAFF_USERGROUP set, from a member of that
 * user group. A Slack signature proves the request came from Slack, not that its sender is staff:
 * anyone in the workspace can send a correctly signed click from wherever a button is shown.
 */

export type StaffRefusal = "not_staff_channel" | "not_in_usergroup" | "usergroup_unavailable";

export type StaffCheck =
  | { ok: true }
  /** `message`: the note shown to the sender; `error`: why the group could not be read (logged). */
  | { ok: false; reason: StaffRefusal; message: string; error?: string };

/** How long a user group's member list is trusted before it is asked again. */
export const DEFAULT_MEMBER_CACHE_MS = 60_000;

export interface SlackStaffAccessOptions {
  /** The staff channel's id (SLACK_HANDOFF_CHANNEL). */
  channel: string;
  /** SLACK_STAFF_USERGROUP. Unset: everyone in the staff channel counts as staff. */
  usergroup?: string | undefined;
  /** Default `DEFAULT_MEMBER_CACHE_MS` (60 s): a member removed from the group can act for up to this long. */
  memberCacheMs?: number | undefined;
  /** The clock, for the cache. Default `Date.now`. */
  now?: () => number;
}

/** What the sender is told (only they see it), for a button click and for a reply in a card's thread. */
const NOTES: Record<"button" | "reply", Record<StaffRefusal, string>> = {
  button: {
    not_staff_channel: "Handoff buttons work only in the support team's staff channel. Nothing was changed.",
    not_in_usergroup: "Only members of the support team's user group can act on handoffs. Nothing was changed.",
    usergroup_unavailable: "Could not check that you are in the support team's user group just now. Nothing was changed; please try again in a minute.",
  },
  reply: {
    not_staff_channel: "Replies to users can be sent only from the support team's staff channel. Your message was not sent to the user.",
    not_in_usergroup: "Only members of the support team's user group can answer users from here. Your message was not sent to the user.",
    usergroup_unavailable: "Could not check that you are in the support team's user group just now. Your message was not sent to the user; please post it again in a minute.",
  },
};

export class SlackStaffAccess {
  readonly #o: SlackStaffAccessOptions;
  readonly #cacheMs: number;
  readonly #now: () => number;
  #members: { users: ReadonlySet<string>; at: number } | undefined;
  /** One lookup at a time: a burst of clicks shares it. */
  #pending: Promise<ReadonlySet<string>> | undefined;

  constructor(options: SlackStaffAccessOptions) {
    this.#o = options;
    this.#cacheMs = options.memberCacheMs ?? DEFAULT_MEMBER_CACHE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Whether `user` acting from `channel` is staff. Asks Slack (`usergroups.users.list`) at most once per cache period. */
  async check(client: webApi.WebClient, what: "button" | "reply", channel: string | undefined, user: string): Promise<StaffCheck> {
    const refuse = (reason: StaffRefusal): Extract<StaffCheck, { ok: false }> => ({ ok: false, reason, message: NOTES[what][reason] });
    if (channel !== this.#o.channel) return refuse("not_staff_channel");
    const usergroup = this.#o.usergroup;
    if (usergroup === undefined) return { ok: true };
    let members: ReadonlySet<string>;
    try {
      members = await this.#membersOf(client, usergroup);
    } catch (err) {
      // Fail closed: without the list nobody can be told apart from a customer.
      return { ...refuse("usergroup_unavailable"), error: errorMessage(err) };
    }
    return members.has(user) ? { ok: true } : refuse("not_in_usergroup");
  }

  async #membersOf(client: webApi.WebClient, usergroup: string): Promise<ReadonlySet<string>> {
    const cached = this.#members;
    if (cached && this.#now() - cached.at < this.#cacheMs) return cached.users;
    this.#pending ??= client.usergroups.users
      .list({ usergroup })
      .then((answer) => {
        const users = new Set(answer.users ?? []);
        this.#members = { users, at: this.#now() };
        return users;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }
}
