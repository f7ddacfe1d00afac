import type { RouteName } from "../../src/types.ts";

/** One route the message needs, with the part of the message that route must answer. */
export interface RoutedPart {
  route: RouteName;
  /** Calibrated probability in [0, 1]. */
  confidence: number;
  /** The sub-question this route's worker answers (the whole text when there is one part). */
  question: string;
}

/** Which engine made a routing decision. `hybrid:offline` / `hybrid:llm` say which side answered. */
export type RouterEngine = "offline" | "llm" | "hybrid:offline" | "hybrid:llm" | "llm->offline";

export interface RoutingDecision {
  /** One or more routes, most confident first. Empty when nothing is confident (`unsure`). */
  routes: RoutedPart[];
  /** Best confidence per route for the whole message (for traces and eval). */
  scores: Record<RouteName, number>;
  /** True when no route reached the confidence needed to act on it. */
  unsure: boolean;
  engine: RouterEngine;
  latencyMs: number;
  /** Set when an engine failed and another answered (e.g. the model, after retries). */
  error?: string;
}

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
