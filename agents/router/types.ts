import type { RouteName } from "../../src/types.ts";

export type { RoutedPart, RouterEngine, RoutingDecision } from "../../src/types.ts";
import type { RoutingDecision } from "../../src/types.ts";

/** The routing port. Both engines and the hybrid implement it. */
export interface Router {
  route(text: string): Promise<RoutingDecision>;
}

/** A labelled example utterance (worker registry examples, the training corpus). */
export interface LabelledExample {
  text: string;
  route: RouteName;
  source?: string;
}
