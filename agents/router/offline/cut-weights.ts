import type { CutModel } from "./cut-model.ts";

/**
 * Written by `npx tsx scripts/fit-cuts.ts --folds 10 --seed 1`: 2139 candidate cuts (281 true)
 * of held-out lines alone and joined in 2 ways each: 65 written fitting joins and 0 made up
 * (`scripts/join-styles.ts`). Do not edit by hand.
 */
export const CUT_WEIGHTS: CutModel = {
  weights: [
    0.190293, // kind:line
    0.673193, // kind:sentence
    0.595676, // kind:clause
    0.873003, // kind:cue
    -0.671949, // kind:contrast
    -1.660215, // kind:word
    0.276111, // cue dropped
    0.524099, // log two/one
    -0.232855, // logit left best
    0.160649, // logit right best
    -0.184937, // logit weaker side
    -1.056654, // logit whole best
    0.115355, // routes differ
    0.128705, // left none
    -0.122348, // right none
    -0.255813, // whole none
    0.292429, // log two / whole best
    -0.002694, // log left words
    0.908854, // log right words
    -0.244192, // position
    0.553859, // both sides placed
    -0.634489, // right starts upper case
    0.124140, // log odds of the rule
    0.063981, // inner cut × logit weaker side
    -0.013785, // word cut × log two/one
    0.178655, // clause cut × log two/one
    -0.241081, // log shorter side words
    0.598372, // whole's route is left's
    -0.325023, // whole's route is right's
    -0.043515, // log left evidence
    0.065978, // log right evidence
    0.232657, // log weaker evidence
    -0.225843, // logit left's share of right's route
    -0.328605, // logit right's share of left's route
    -0.195754, // logit strongest left word
    0.118541, // logit strongest right word
    0.331616, // logit weaker strongest word
    -0.460485, // strongest left word is left's route
    0.086493, // strongest right word is right's route
    0.007739, // log two/one × logit left best
    -0.007851, // log two/one × logit right best
    0.091495, // log two/one × logit whole best
    0.796753, // log two/one × left none
    -0.398564, // log two/one × right none
    -0.273433, // log two/one × log left words
    0.569567, // log two/one × log right words
    -0.156403, // log two/one × log left evidence
    -0.073135, // log two/one × log right evidence
    -0.030269, // log two/one × logit strongest left word
    -0.045954, // log two/one × logit strongest right word
    -0.111989, // log two/one × logit left's share of right's route
    0.049936, // log two/one × logit right's share of left's route
    -0.738795, // log two/one × routes differ
    0.003414, // logit left best × logit right best
    -0.030070, // logit left best × logit whole best
    0.409465, // logit left best × left none
    0.109595, // logit left best × right none
    0.591288, // logit left best × log left words
    -0.286309, // logit left best × log right words
    -1.129158, // logit left best × log left evidence
    0.395625, // logit left best × log right evidence
    0.005412, // logit left best × logit strongest left word
    0.012118, // logit left best × logit strongest right word
    0.019648, // logit left best × logit left's share of right's route
    -0.021773, // logit left best × logit right's share of left's route
    -0.279358, // logit left best × routes differ
    0.020166, // logit right best × logit whole best
    -0.263497, // logit right best × left none
    -0.288504, // logit right best × right none
    -0.493046, // logit right best × log left words
    0.435362, // logit right best × log right words
    0.900949, // logit right best × log left evidence
    -0.985999, // logit right best × log right evidence
    0.078906, // logit right best × logit strongest left word
    -0.042795, // logit right best × logit strongest right word
    0.139501, // logit right best × logit left's share of right's route
    -0.050722, // logit right best × logit right's share of left's route
    0.634153, // logit right best × routes differ
    1.091650, // logit whole best × left none
    0.703851, // logit whole best × right none
    0.130113, // logit whole best × log left words
    0.304169, // logit whole best × log right words
    0.378352, // logit whole best × log left evidence
    0.022431, // logit whole best × log right evidence
    -0.045265, // logit whole best × logit strongest left word
    -0.052334, // logit whole best × logit strongest right word
    0.002253, // logit whole best × logit left's share of right's route
    0.098715, // logit whole best × logit right's share of left's route
    0.518156, // logit whole best × routes differ
    -0.010919, // left none × right none
    0.252195, // left none × log left words
    -0.082573, // left none × log right words
    -0.176640, // left none × log left evidence
    -0.189075, // left none × log right evidence
    0.257697, // left none × logit strongest left word
    0.592194, // left none × logit strongest right word
    0.148940, // left none × logit left's share of right's route
    0.637347, // left none × logit right's share of left's route
    0.117341, // left none × routes differ
    -0.295370, // right none × log left words
    -0.230602, // right none × log right words
    -0.161020, // right none × log left evidence
    -0.034226, // right none × log right evidence
    0.461326, // right none × logit strongest left word
    -1.093845, // right none × logit strongest right word
    -0.427182, // right none × logit left's share of right's route
    -0.338587, // right none × logit right's share of left's route
    -0.121026, // right none × routes differ
    0.809513, // log left words × log right words
    -0.564491, // log left words × log left evidence
    0.129368, // log left words × log right evidence
    -0.026398, // log left words × logit strongest left word
    -0.308284, // log left words × logit strongest right word
    0.130031, // log left words × logit left's share of right's route
    -0.223518, // log left words × logit right's share of left's route
    0.401485, // log left words × routes differ
    -0.165472, // log right words × log left evidence
    0.196745, // log right words × log right evidence
    -0.046353, // log right words × logit strongest left word
    0.207107, // log right words × logit strongest right word
    0.199520, // log right words × logit left's share of right's route
    0.501436, // log right words × logit right's share of left's route
    0.035183, // log right words × routes differ
    0.151233, // log left evidence × log right evidence
    0.308143, // log left evidence × logit strongest left word
    -0.246260, // log left evidence × logit strongest right word
    -0.082466, // log left evidence × logit left's share of right's route
    0.778262, // log left evidence × logit right's share of left's route
    -0.160246, // log left evidence × routes differ
    0.206219, // log right evidence × logit strongest left word
    -0.855373, // log right evidence × logit strongest right word
    0.382082, // log right evidence × logit left's share of right's route
    -0.958354, // log right evidence × logit right's share of left's route
    -0.499800, // log right evidence × routes differ
    0.004801, // logit strongest left word × logit strongest right word
    0.022100, // logit strongest left word × logit left's share of right's route
    0.076760, // logit strongest left word × logit right's share of left's route
    0.754996, // logit strongest left word × routes differ
    -0.056786, // logit strongest right word × logit left's share of right's route
    -0.106310, // logit strongest right word × logit right's share of left's route
    -0.887511, // logit strongest right word × routes differ
    0.070164, // logit left's share of right's route × logit right's share of left's route
    -0.272346, // logit left's share of right's route × routes differ
    0.144899, // logit right's share of left's route × routes differ
    0.024375, // kind:line × logit weaker side
    0.182075, // kind:line × log two/one
    -0.148101, // kind:line × log weaker evidence
    0.606757, // kind:line × logit weaker strongest word
    0.101152, // kind:sentence × logit weaker side
    0.236211, // kind:sentence × log two/one
    -0.484587, // kind:sentence × log weaker evidence
    0.772594, // kind:sentence × logit weaker strongest word
    0.453109, // kind:clause × logit weaker side
    0.178655, // kind:clause × log two/one
    0.882698, // kind:clause × log weaker evidence
    -0.101885, // kind:clause × logit weaker strongest word
    -0.810248, // kind:cue × logit weaker side
    -0.336323, // kind:cue × log two/one
    -0.179285, // kind:cue × log weaker evidence
    0.470565, // kind:cue × logit weaker strongest word
    0.435804, // kind:contrast × logit weaker side
    0.277266, // kind:contrast × log two/one
    -0.095488, // kind:contrast × log weaker evidence
    -1.055535, // kind:contrast × logit weaker strongest word
    -0.389128, // kind:word × logit weaker side
    -0.013785, // kind:word × log two/one
    0.257420, // kind:word × log weaker evidence
    -0.360880, // kind:word × logit weaker strongest word
  ],
  bias: -4.789809,
  threshold: 0.95,
  minSide: 0.4,
};
