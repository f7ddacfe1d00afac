import type { SparseVector } from "./vectorizer.ts";

/**
 * Multinomial logistic regression (softmax) with L2 regularisation, fitted by L-BFGS.
 *
 * The objective is convex and L-BFGS has no randomness, so training the same examples always
 * gives the same model, with no seed to carry around. There is no intercept: a message with no
 * known feature (gibberish, another script) then scores every route alike and comes out unsure,
 * instead of taking the route the corpus has most short messages for. Cross-validated accuracy
 * is the same with or without one.
 */
export interface SoftmaxModel {
  readonly classes: number;
  readonly features: number;
  /** Feature-major weights: `params[feature * classes + class]`. */
  readonly params: Float64Array;
}

export interface TrainOptions {
  /** L2 penalty on the weights; the data term is a sum over examples. */
  l2: number;
  /** Per-example weights; default 1 each. */
  sampleWeights?: readonly number[];
  /** Default 300. */
  maxIterations?: number;
  /** Stop when an iteration improves the objective by less than this, relatively. Default 1e-7. */
  tolerance?: number;
}

/** Fits a model to vectors `xs` with class indexes `ys` in `[0, classes)`. */
export function trainSoftmax(
  xs: readonly SparseVector[],
  ys: readonly number[],
  classes: number,
  features: number,
  opts: TrainOptions,
): SoftmaxModel {
  const params = new Float64Array(features * classes);
  const z = new Float64Array(classes);
  const objective = (w: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const y = ys[i]!;
      const s = opts.sampleWeights?.[i] ?? 1;
      scores(w, classes, x, z);
      const logSum = logSumExp(z);
      loss += s * (logSum - z[y]!);
      for (let c = 0; c < classes; c++) {
        const d = s * (Math.exp(z[c]! - logSum) - (c === y ? 1 : 0));
        for (let k = 0; k < x.index.length; k++) grad[x.index[k]! * classes + c]! += d * x.value[k]!;
      }
    }
    for (let j = 0; j < w.length; j++) {
      loss += 0.5 * opts.l2 * w[j]! * w[j]!;
      grad[j]! += opts.l2 * w[j]!;
    }
    return loss;
  };
  minimize(objective, params, opts.maxIterations ?? 300, opts.tolerance ?? 1e-7);
  return { classes, features, params };
}

/** Raw class scores (logits) of one vector. */
export function logits(model: SoftmaxModel, x: SparseVector): Float64Array {
  const z = new Float64Array(model.classes);
  scores(model.params, model.classes, x, z);
  return z;
}

/** Probabilities from logits; a temperature above 1 softens them, below 1 sharpens them. */
export function softmax(z: ArrayLike<number>, temperature = 1): number[] {
  const scaled = Array.from(z, (v) => v / temperature);
  const logSum = logSumExp(scaled);
  return scaled.map((v) => Math.exp(v - logSum));
}

function scores(w: Float64Array, classes: number, x: SparseVector, out: Float64Array): void {
  out.fill(0);
  for (let k = 0; k < x.index.length; k++) {
    const base = x.index[k]! * classes;
    const v = x.value[k]!;
    for (let c = 0; c < classes; c++) out[c]! += w[base + c]! * v;
  }
}

function logSumExp(z: ArrayLike<number>): number {
  let max = -Infinity;
  for (let c = 0; c < z.length; c++) max = Math.max(max, z[c]!);
  let sum = 0;
  for (let c = 0; c < z.length; c++) sum += Math.exp(z[c]! - max);
  return max + Math.log(sum);
}

/**
 * Limited-memory BFGS with a backtracking (Armijo) line search; minimises `f` in place of `x`.
 * Small and sufficient for a smooth convex objective of a few hundred thousand parameters.
 */
function minimize(
  f: (x: Float64Array, grad: Float64Array) => number,
  target: Float64Array,
  maxIterations: number,
  tolerance: number,
  memory = 8,
): void {
  const n = target.length;
  let x: Float64Array = target;
  let grad = new Float64Array(n);
  let value = f(x, grad);
  const history: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  const dir = new Float64Array(n);
  let next: Float64Array = new Float64Array(n);
  let nextGrad = new Float64Array(n);
  const alpha: number[] = [];

  for (let iter = 0; iter < maxIterations; iter++) {
    // Two-loop recursion: dir = -H·grad with H the implicit inverse-Hessian estimate.
    dir.set(grad);
    for (let k = history.length - 1; k >= 0; k--) {
      const h = history[k]!;
      alpha[k] = h.rho * dot(h.s, dir);
      axpy(-alpha[k]!, h.y, dir);
    }
    const last = history.at(-1);
    scaleBy(dir, last ? dot(last.s, last.y) / dot(last.y, last.y) : 1 / Math.max(norm(grad), 1e-12));
    for (let k = 0; k < history.length; k++) {
      const h = history[k]!;
      axpy(alpha[k]! - h.rho * dot(h.y, dir), h.s, dir);
    }
    scaleBy(dir, -1);
    let slope = dot(grad, dir);
    if (slope >= 0) {
      // The curvature estimate went bad: forget it and take a plain gradient step.
      history.length = 0;
      dir.set(grad);
      scaleBy(dir, -1 / Math.max(norm(grad), 1e-12));
      slope = dot(grad, dir);
    }

    let step = 1;
    let nextValue = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let j = 0; j < n; j++) next[j] = x[j]! + step * dir[j]!;
      nextValue = f(next, nextGrad);
      if (nextValue <= value + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(nextValue < value)) break;

    // Reuse the oldest pair's arrays once memory is full: no allocation per iteration.
    const pair = history.length >= memory ? history.shift()! : { s: new Float64Array(n), y: new Float64Array(n), rho: 0 };
    for (let j = 0; j < n; j++) {
      pair.s[j] = next[j]! - x[j]!;
      pair.y[j] = nextGrad[j]! - grad[j]!;
    }
    const sy = dot(pair.s, pair.y);
    if (sy > 1e-12) {
      pair.rho = 1 / sy;
      history.push(pair);
    }

    const improvement = value - nextValue;
    [x, next] = [next, x];
    [grad, nextGrad] = [nextGrad, grad];
    value = nextValue;
    if (improvement <= tolerance * Math.max(1, Math.abs(value))) break;
  }
  // The buffers were swapped each iteration: the result may sit in the scratch array.
  if (x !== target) target.set(x);
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += a[j]! * b[j]!;
  return sum;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let j = 0; j < x.length; j++) y[j]! += a * x[j]!;
}

function scaleBy(x: Float64Array, a: number): void {
  for (let j = 0; j < x.length; j++) x[j]! *= a;
}

function norm(x: Float64Array): number {
  return Math.sqrt(dot(x, x));
}
