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

/** The route a person takes: not a worker, and a name no worker may have. */
export const HUMAN_ROUTE = "human";

/** Route names of a set of workers: each worker's name, then {@link HUMAN_ROUTE}. */
export function routeNamesOf(workers: readonly WorkerDefinition[]): string[] {
  return [...workers.map((w) => w.name), HUMAN_ROUTE];
}

/**
 * The default registry's routes (`billing`, `tech_support`, `faq`, `human`): for code that has
 * no registry at hand (console filters, API validation). A worker added to
 * {@link defaultWorkers} is in it with no other edit.
 */
export const ROUTE_NAMES: readonly string[] = routeNamesOf(defaultWorkers);

export class WorkerRegistry {
  private readonly byName: Map<string, WorkerDefinition>;

  constructor(readonly workers: readonly WorkerDefinition[] = defaultWorkers) {
    this.byName = new Map();
    for (const w of workers) {
      if (w.name === HUMAN_ROUTE) throw new Error('"human" is reserved for handoffs and cannot name a worker');
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

  /** Every route a message can take: the workers' names and `human`. */
  get routes(): string[] {
    return routeNamesOf(this.workers);
  }

  /** Every worker's example utterances, labelled with its route: the offline router trains on them. */
  examples(): LabelledExample[] {
    return this.workers.flatMap((w) => w.examples.map((text) => ({ text, route: w.name, source: `registry:${w.name}` })));
  }
}
