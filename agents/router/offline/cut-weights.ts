import type { CutModel } from "./cut-model.ts";

/** Placeholder until `scripts/fit-cuts.ts` writes fitted weights: a cut model that never cuts. */
export const CUT_WEIGHTS: CutModel = { weights: new Array(30).fill(0), bias: -20, threshold: 0.5, minSide: 0.5 };
