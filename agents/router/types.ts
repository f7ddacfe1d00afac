import type { RouteName } from "../../src/types.ts";

export type { RoutedPart, RouterEngine, RoutingDecision } from "../../src/types.ts";
import type { RoutingDecision } from "../../src/types.ts";

/** What a router may know of the conversation before this message. */
export interface RouteContext {
  /** The routes the previous user message took (most confident first); empty or absent: none. */
  previousRoutes?: readonly RouteName[];
  /** Set aside the "none of these" share: the message is known to be about the product. */
  assumeInScope?: boolean;
  /** The last turns, oldest first (the LLM router reads them). */
  transcript?: ReadonlyArray<{ role: "user" | "assistant"; text: string }>;
}

/** The routing port. Both engines and the hybrid implement it. */
export interface Router {
  route(text: string, context?: RouteContext): Promise<RoutingDecision>;
}

/** A labelled example utterance (worker registry examples, the training corpus). */
export interface LabelledExample {
  text: string;
  route: RouteName;
  source?: string;
  /** Training weight; default: by source (see `exampleWeights`). */
  weight?: number;
}
