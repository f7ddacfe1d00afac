import type pg from "pg";
import type { HandoffStats } from "../metrics.ts";

/**
 * Unresolved handoffs by state and the age of the oldest unclaimed one, across every process on
 * the database: what `/metrics` shows as `switchboard_handoffs_open` and
 * `switchboard_handoff_oldest_waiting_seconds` (an alert on the latter is "a customer has waited
 * for a person longer than the SLA"). One indexed statement (`handoffs_status`).
 */
export async function readHandoffStats(pool: Pick<pg.Pool, "query">): Promise<HandoffStats> {
  const { rows } = await pool.query<{ status: "open" | "claimed"; n: number; oldest: number | null }>(
    `select status, count(*)::int as n, extract(epoch from now() - min(created_at))::float8 as oldest
       from handoffs where status in ('open', 'claimed') group by status`,
  );
  const byState: HandoffStats["byState"] = {};
  let oldestWaitingSeconds = 0;
  for (const r of rows) {
    byState[r.status] = r.n;
    if (r.status === "open") oldestWaitingSeconds = Math.max(0, r.oldest ?? 0);
  }
  return { byState, oldestWaitingSeconds };
}
