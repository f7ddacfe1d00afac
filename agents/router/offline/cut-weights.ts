import type { CutModel } from "./cut-model.ts";

/**
 * Written by `npx tsx scripts/fit-cuts.ts --folds 10 --seed 1`: 5316 candidate cuts (581 true)
 * of held-out lines alone and joined with 65 fitting connectors. Do not edit by hand.
 */
export const CUT_WEIGHTS: CutModel = {
  weights: [
    0.924852, // kind:line
    1.722227, // kind:sentence
    0.322858, // kind:clause
    1.127706, // kind:cue
    -2.625379, // kind:contrast
    -1.472265, // kind:word
    0.132445, // cue dropped
    0.092652, // log two/one
    0.594430, // logit left best
    0.592460, // logit right best
    -0.262893, // logit weaker side
    -0.388809, // logit whole best
    2.026923, // routes differ
    -0.367434, // left none
    -0.766311, // right none
    -1.838640, // whole none
    -0.406024, // log two / whole best
    -0.114349, // log left words
    0.684034, // log right words
    -0.375460, // position
    -0.476836, // both sides placed
    -0.314925, // right starts upper case
    0.376794, // log odds of the rule
    -0.258251, // inner cut × logit weaker side
    -0.143053, // word cut × log two/one
    0.107377, // clause cut × log two/one
    0.312026, // log shorter side words
    0.616893, // whole's route is left's
    -0.203043, // whole's route is right's
  ],
  bias: -3.993892,
  threshold: 0.95,
  minSide: 0,
};
