import type { HandoffReason } from "../types.ts";

/** How a handoff's reason reads on a staff card and in the console. */
export const HANDOFF_REASON_LABELS: Record<HandoffReason, string> = {
  user_request: "Asked for a person",
  complaint: "Complaint",
  low_confidence: "The bot is unsure",
  needs_approval: "Needs approval",
  needs_engineer: "Needs an engineer",
  worker_failed: "A worker failed",
  worker_timeout: "A worker timed out",
  model_failed: "The model failed",
  processing_failed: "Answering kept failing",
};
