import { errorMessage } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { HandoffStore } from "./handoff-store.ts";
import type { StaffChannels } from "./staff-channels.ts";
import { isWithinSupportHours, type SupportHours } from "./support-hours.ts";

export interface SlaMonitorOptions {
  store: HandoffStore;
  staff: StaffChannels;
  logger: Logger;
  now: () => Date;
  /** Minutes an unclaimed handoff waits before staff are told again; 0 turns it off. */
  slaMinutes: number;
  supportHours?: SupportHours | undefined;
  /** How often the SLA is checked once `start()` ran, in ms. Default 30000. */
  checkIntervalMs?: number;
}

/** Re-announces handoffs still unclaimed past the SLA, within support hours. */
export class SlaMonitor {
  readonly #o: SlaMonitorOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<number> | undefined;

  constructor(options: SlaMonitorOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "sla" });
  }

  start(): void {
    if (this.#timer || this.#o.slaMinutes <= 0) return;
    this.#timer = setInterval(() => {
      void this.check().catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, "SLA check failed"));
    }, this.#o.checkIntervalMs ?? 30_000);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#checking?.catch(() => 0);
  }

  /**
   * Re-announces every handoff still unclaimed `slaMinutes` after staff were last told, within
   * support hours (outside them nobody is there to hear it). Returns how many were re-announced.
   */
  check(): Promise<number> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<number> {
    const sla = this.#o.slaMinutes;
    if (sla <= 0) return 0;
    const now = this.#o.now();
    if (this.#o.supportHours && !isWithinSupportHours(this.#o.supportHours, now)) return 0;
    const overdue = await this.#o.store.takeOverdue(new Date(now.getTime() - sla * 60_000), now);
    for (const handoff of overdue) {
      const waited = Math.round((now.getTime() - handoff.createdAt.getTime()) / 60_000);
      await this.#o.store.addEvent(handoff.id, "sla_reannounced", "system", `unclaimed for ${waited} min`);
      this.#log.warn({ handoffId: handoff.id, waitedMinutes: waited }, "handoff unclaimed past the SLA; re-announced");
      this.#o.staff.background(handoff.id, async () => {
        await this.#o.staff.refreshCards(handoff.id);
        await this.#o.staff.postInThreads(handoff.id, { kind: "sla", text: `Still waiting for a person after ${waited} min (SLA ${sla} min). Can someone claim it?` });
      });
    }
    return overdue.length;
  }
}
