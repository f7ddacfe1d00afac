import type { LabelledExample } from "../router/types.ts";
import type { WorkerDefinition } from "./types.ts";
import { billingWorker } from "./billing/index.ts";
import { faqWorker } from "./faq/index.ts";
import { techSupportWorker } from "./tech-support/index.ts";

/**
 * The workers the supervisor can route to. Adding one: a folder exporting a `WorkerDefinition`
 * and an entry here. The supervisor, the routers and the log read everything from the registry.
 */
export const defaultWorkers: readonly WorkerDefinition[] = [billingWorker, techSupportWorker, faqWorker];

export class WorkerRegistry {
  private readonly byName: Map<string, WorkerDefinition>;

  constructor(readonly workers: readonly WorkerDefinition[] = defaultWorkers) {
    this.byName = new Map();
    for (const w of workers) {
      if (w.name === "human") throw new Error('"human" is reserved for handoffs and cannot name a worker');
      if (this.byName.has(w.name)) throw new Error(`two workers are named "${w.name}"`);
      this.byName.set(w.name, w);
    }
  }

  get(name: string): WorkerDefinition | undefined {
    return this.byName.get(name);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** Every worker's example utterances, labelled with its route: the offline router trains on them. */
  examples(): LabelledExample[] {
    // A worker's name is its route; the router's label type lists the built-in routes only.
    return this.workers.flatMap((w) =>
      w.examples.map((text) => ({ text, route: w.name as LabelledExample["route"], source: `registry:${w.name}` })),
    );
  }
}
