import type { CutModel } from "./cut-model.ts";

/**
 * Written by `npx tsx scripts/fit-cuts.ts --folds 10 --seed 1`: 5232 candidate cuts (568 true)
 * of held-out lines alone and joined in 2 ways each: 65 written fitting joins and 0 made up
 * (`scripts/join-styles.ts`). Do not edit by hand.
 */
export const CUT_WEIGHTS: CutModel = {
  weights: [
    0.366781, // kind:line
    1.074741, // kind:sentence
    0.858795, // kind:clause
    1.096888, // kind:cue
    -0.784960, // kind:contrast
    -2.612246, // kind:word
    0.765097, // cue dropped
    1.192414, // log two/one
    0.043247, // logit left best
    0.186621, // logit right best
    -0.165165, // logit weaker side
    -0.585337, // logit whole best
    0.139337, // routes differ
    -0.402525, // left none
    -0.433232, // right none
    -0.860680, // whole none
    0.078075, // log two / whole best
    0.264119, // log left words
    1.722631, // log right words
    -0.313968, // position
    0.656502, // both sides placed
    -0.189776, // right starts upper case
    0.038914, // log odds of the rule
    -0.293278, // inner cut × logit weaker side
    0.116535, // word cut × log two/one
    0.227225, // clause cut × log two/one
    0.139009, // log shorter side words
    0.905055, // whole's route is left's
    -0.004703, // whole's route is right's
    0.192112, // log left evidence
    0.264323, // log right evidence
    0.843392, // log weaker evidence
    -0.112223, // logit left's share of right's route
    -0.300091, // logit right's share of left's route
    0.608687, // logit strongest left word
    -0.214094, // logit strongest right word
    -0.213521, // logit weaker strongest word
    0.352290, // strongest left word is left's route
    0.408367, // strongest right word is right's route
    0.036219, // log two/one × logit left best
    -0.030492, // log two/one × logit right best
    0.084915, // log two/one × logit whole best
    0.121635, // log two/one × left none
    0.364445, // log two/one × right none
    -0.457881, // log two/one × log left words
    -0.160128, // log two/one × log right words
    0.272311, // log two/one × log left evidence
    0.343994, // log two/one × log right evidence
    0.036741, // log two/one × logit strongest left word
    -0.006201, // log two/one × logit strongest right word
    -0.109436, // log two/one × logit left's share of right's route
    -0.072009, // log two/one × logit right's share of left's route
    -0.773802, // log two/one × routes differ
    -0.069843, // logit left best × logit right best
    -0.020141, // logit left best × logit whole best
    -0.013373, // logit left best × left none
    0.377542, // logit left best × right none
    0.478112, // logit left best × log left words
    -0.101675, // logit left best × log right words
    -0.215766, // logit left best × log left evidence
    -0.091551, // logit left best × log right evidence
    -0.066535, // logit left best × logit strongest left word
    0.028152, // logit left best × logit strongest right word
    0.027176, // logit left best × logit left's share of right's route
    0.008005, // logit left best × logit right's share of left's route
    -0.025979, // logit left best × routes differ
    -0.015375, // logit right best × logit whole best
    -0.522011, // logit right best × left none
    -0.648949, // logit right best × right none
    -0.141901, // logit right best × log left words
    0.477771, // logit right best × log right words
    0.296942, // logit right best × log left evidence
    -0.373131, // logit right best × log right evidence
    -0.032159, // logit right best × logit strongest left word
    -0.051184, // logit right best × logit strongest right word
    0.040477, // logit right best × logit left's share of right's route
    -0.019899, // logit right best × logit right's share of left's route
    0.362025, // logit right best × routes differ
    1.112272, // logit whole best × left none
    0.652892, // logit whole best × right none
    0.004621, // logit whole best × log left words
    -0.161859, // logit whole best × log right words
    -0.037681, // logit whole best × log left evidence
    0.316690, // logit whole best × log right evidence
    0.023798, // logit whole best × logit strongest left word
    0.011987, // logit whole best × logit strongest right word
    0.046242, // logit whole best × logit left's share of right's route
    0.067719, // logit whole best × logit right's share of left's route
    0.444334, // logit whole best × routes differ
    -0.183446, // left none × right none
    0.007556, // left none × log left words
    -1.484527, // left none × log right words
    -0.588043, // left none × log left evidence
    -0.244267, // left none × log right evidence
    0.423466, // left none × logit strongest left word
    0.532625, // left none × logit strongest right word
    -0.230880, // left none × logit left's share of right's route
    0.129280, // left none × logit right's share of left's route
    -0.307720, // left none × routes differ
    -1.869992, // right none × log left words
    -0.132498, // right none × log right words
    0.354601, // right none × log left evidence
    0.020039, // right none × log right evidence
    0.077779, // right none × logit strongest left word
    -0.320539, // right none × logit strongest right word
    -0.651209, // right none × logit left's share of right's route
    -0.185831, // right none × logit right's share of left's route
    -0.386326, // right none × routes differ
    0.297324, // log left words × log right words
    -1.515078, // log left words × log left evidence
    -0.379935, // log left words × log right evidence
    -0.147073, // log left words × logit strongest left word
    -0.095723, // log left words × logit strongest right word
    -0.128332, // log left words × logit left's share of right's route
    0.141504, // log left words × logit right's share of left's route
    0.828929, // log left words × routes differ
    0.153232, // log right words × log left evidence
    -0.077507, // log right words × log right evidence
    -0.012772, // log right words × logit strongest left word
    0.075304, // log right words × logit strongest right word
    0.133316, // log right words × logit left's share of right's route
    0.121993, // log right words × logit right's share of left's route
    -0.206553, // log right words × routes differ
    0.045300, // log left evidence × log right evidence
    0.225448, // log left evidence × logit strongest left word
    -0.156225, // log left evidence × logit strongest right word
    0.419663, // log left evidence × logit left's share of right's route
    0.170887, // log left evidence × logit right's share of left's route
    -0.031155, // log left evidence × routes differ
    0.244032, // log right evidence × logit strongest left word
    -0.650574, // log right evidence × logit strongest right word
    -0.061464, // log right evidence × logit left's share of right's route
    -0.146603, // log right evidence × logit right's share of left's route
    -0.670455, // log right evidence × routes differ
    0.031020, // logit strongest left word × logit strongest right word
    0.012573, // logit strongest left word × logit left's share of right's route
    -0.000132, // logit strongest left word × logit right's share of left's route
    -0.051553, // logit strongest left word × routes differ
    -0.016966, // logit strongest right word × logit left's share of right's route
    -0.053586, // logit strongest right word × logit right's share of left's route
    -0.446246, // logit strongest right word × routes differ
    -0.024620, // logit left's share of right's route × logit right's share of left's route
    -0.181448, // logit left's share of right's route × routes differ
    -0.124687, // logit right's share of left's route × routes differ
    -0.106430, // kind:line × logit weaker side
    0.158468, // kind:line × log two/one
    -0.262556, // kind:line × log weaker evidence
    0.655254, // kind:line × logit weaker strongest word
    -0.433469, // kind:sentence × logit weaker side
    -0.058638, // kind:sentence × log two/one
    -0.864262, // kind:sentence × log weaker evidence
    0.172999, // kind:sentence × logit weaker strongest word
    -0.114946, // kind:clause × logit weaker side
    0.227225, // kind:clause × log two/one
    1.155340, // kind:clause × log weaker evidence
    0.103200, // kind:clause × logit weaker strongest word
    0.167609, // kind:cue × logit weaker side
    0.355384, // kind:cue × log two/one
    0.209129, // kind:cue × log weaker evidence
    0.033382, // kind:cue × logit weaker strongest word
    0.500403, // kind:contrast × logit weaker side
    0.393440, // kind:contrast × log two/one
    -0.048808, // kind:contrast × log weaker evidence
    -1.124963, // kind:contrast × logit weaker strongest word
    -0.178332, // kind:word × logit weaker side
    0.116535, // kind:word × log two/one
    0.654548, // kind:word × log weaker evidence
    -0.053393, // kind:word × logit weaker strongest word
  ],
  bias: -7.831242,
  threshold: 0.92,
  minSide: 0,
  minEvidence: 0.3,
};
