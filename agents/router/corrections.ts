import type pg from "pg";
import { InputError } from "../../src/errors.ts";
import type { RouteName } from "../../src/types.ts";
import type { LabelledExample } from "./types.ts";
import { createRedactor } from "../../src/inbox/redact.ts";

/** Training examples keep no secrets or contacts, whatever the deployment stores. */
const redactor = createRedactor();

/** One stored correction (`router_corrections`, migration 007). */
export interface RouterCorrection {
  messageId: string;
  text: string;
  route: RouteName;
  /** The routes the router had given the message. */
  routed: RouteName[];
  agent: string;
  updatedAt: Date;
}

/**
 * Staff corrections of the router: an agent sets a user message's right route where the console
 * shows its routing trace; the line is kept as a training example in the company's own words,
 * and the offline router trains on every stored one at start (`examples()`).
 */
export class RouterCorrections {
  constructor(
    private readonly pool: pg.Pool,
    /** The routes a correction may name (the registry's `routes`). */
    private readonly routes: readonly RouteName[],
  ) {}

  /**
   * Sets (or replaces) the right route of a user message. `conversationId`, when given, must be
   * the message's conversation. Unknown message: InputError `unknown_message` (404); a message
   * that is not a user's: `not_a_user_message` (400); unknown route: `unknown_route` (400).
   */
  async set(input: { messageId: string; route: string; agent: string; conversationId?: string }): Promise<RouterCorrection> {
    if (!this.routes.includes(input.route)) {
      throw new InputError("unknown_route", `route must be one of ${this.routes.join(", ")}`);
    }
    const found = await this.pool.query<{ text: string; direction: string; conversation_id: string; routes: Array<{ route: string }> | null }>(
      `select m.text, m.direction, m.conversation_id,
              (select d.routes from routing_decisions d where d.message_id = m.id order by d.created_at desc limit 1) as routes
         from messages m where m.id::text = $1`,
      [input.messageId],
    );
    const message = found.rows[0];
    if (!message || (input.conversationId !== undefined && message.conversation_id !== input.conversationId)) {
      throw new InputError("unknown_message", "No such message in this conversation.", 404);
    }
    if (message.direction !== "in") throw new InputError("not_a_user_message", "Only a user's message has a route to correct.");
    const routed = (message.routes ?? []).map((r) => r.route);
    const { rows } = await this.pool.query<Row>(
      `insert into router_corrections (message_id, text, route, routed, agent) values ($1, $2, $3, $4, $5)
       on conflict (message_id) do update set route = excluded.route, agent = excluded.agent, updated_at = now()
       returning message_id, text, route, routed, agent, updated_at`,
      // Redacted at intake already; again here for rows stored before intake redacted.
      [input.messageId, (await redactor.redact(message.text)).text, input.route, JSON.stringify(routed), input.agent],
    );
    return toCorrection(rows[0]!);
  }

  /** Every stored correction, oldest first. */
  async list(): Promise<RouterCorrection[]> {
    const { rows } = await this.pool.query<Row>(
      "select message_id, text, route, routed, agent, updated_at from router_corrections order by created_at, message_id",
    );
    return rows.map(toCorrection);
  }

  /** The corrections as training lines; routes the registry no longer has are left out. */
  async examples(): Promise<LabelledExample[]> {
    return (await this.list())
      .filter((c) => this.routes.includes(c.route))
      .map((c) => ({ text: c.text, route: c.route, source: "staff_correction" }));
  }
}

interface Row {
  message_id: string;
  text: string;
  route: string;
  routed: string[];
  agent: string;
  updated_at: Date;
}

function toCorrection(r: Row): RouterCorrection {
  return { messageId: r.message_id, text: r.text, route: r.route, routed: r.routed, agent: r.agent, updatedAt: r.updated_at };
}
