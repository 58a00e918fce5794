// Square Attack — Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a query-efficient black-box
// adversarial attack via random search", ECCV 2020 (L∞: Algorithm 2, L2: Algorithm 3), as AutoAttack's
// square.py (Croce & Hein 2020) runs it by default: one square per iteration for the whole batch.
import * as torch from '@robusta/torch';
import { F, type Tensor, tensor, tidy, where } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions, type PerturbOutput } from './attack.js';
import type { Classifier } from './classifier.js';
import { logitsOf } from './gradient.js';
import { margin } from './losses.js';
import { flatNorm, perExample } from './lp.js';
import { checkEps, checkNorm, checkNumber, checkSteps, type Norm } from './params.js';

export interface SquareOptions extends AttackOptions {
  norm?: Norm;
  /** Budget. Default 8/255 (Linf) or 0.5 (L2). */
  eps?: number;
  /**
   * Proposals per example and restart after the initial point (AutoAttack's n_queries): an example is
   * queried at most nQueries + 1 times per restart. Default 5000.
   */
  nQueries?: number;
  /** Restarts on the examples not yet fooled. Default 1. */
  nRestarts?: number;
  /** p_init: initial fraction of the image the square covers. Default 0.8. */
  pInit?: number;
  /** Minimised objective: the margin (default) or the cross-entropy (−CE untargeted, CE to the target). */
  loss?: 'margin' | 'ce';
  /** Rescale the p schedule, defined for 10 000 queries, to nQueries. Default true. */
  rescaleSchedule?: boolean;
  /**
   * Where the squares are drawn:
   * - 'batch' (default): as AutoAttack's square.py, which defines AutoAttack's numbers — one window
   *   position per iteration shared by the whole batch, its corner drawn in [0, h − s − 1] (the
   *   official random_int), for L∞ one sign per channel shared by the batch and for L2 one η
   *   orientation per iteration; the random draws in the official order, so that a seeded run draws
   *   what the official code draws with the same seed;
   * - 'example': an independent window (corner in [0, h − s]) and signs per image, proposals that
   *   would not change the image redrawn, as the paper's per-image loop.
   */
  windows?: 'batch' | 'example';
}

/**
 * The fraction p of pixels the square covers at iteration i (the paper's schedule, defined for
 * 10 000 iterations and halving p at 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000; with
 * rescaling, i is first mapped to ⌊i / nQueries · 10 000⌋).
 */
export function squareFraction(iteration: number, nQueries: number, pInit: number, rescale = true): number {
  const it = rescale ? Math.floor((iteration / nQueries) * 10000) : iteration;
  const bounds = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];
  let halvings = 0;
  for (const b of bounds) if (it > b) halvings++;
  return pInit / 2 ** halvings;
}

/**
 * Random search over squares: each iteration proposes, for every example not yet fooled, a change on
 * a random square window (side s = round(√(p·h·w)), p from squareFraction) and keeps it if the loss
 * decreases (or the example is fooled):
 *  - L∞: the window is set to x ± ε, one random sign per channel (vertical-stripe ±ε initialisation);
 *  - L2: mass is moved between two windows with the centred "η" pattern, keeping ||δ||₂ = ε.
 * The window is shared by the batch (default, as AutoAttack) or drawn per example (`windows`).
 * Queries are counted per example (the clean prediction is not a query): the initial point plus at
 * most nQueries proposals per restart.
 */
export class Square extends Attack {
  readonly norm: Norm;
  readonly eps: number;
  readonly nQueries: number;
  readonly nRestarts: number;
  readonly pInit: number;
  readonly loss: 'margin' | 'ce';
  readonly rescaleSchedule: boolean;
  readonly windows: 'batch' | 'example';

  constructor(model: Classifier, options: SquareOptions = {}) {
    super('Square', model, options, { targeted: true }, 0);
    this.norm = checkNorm(this.name, options.norm ?? 'Linf');
    this.eps = checkEps(this.name, options.eps ?? (this.norm === 'Linf' ? 8 / 255 : 0.5));
    this.nQueries = checkSteps(this.name, 'nQueries', options.nQueries ?? 5000);
    this.nRestarts = checkSteps(this.name, 'nRestarts', options.nRestarts ?? 1);
    this.pInit = checkNumber(this.name, 'pInit', options.pInit ?? 0.8, { min: 0, exclusiveMin: true, max: 1 });
    if (options.loss !== undefined && options.loss !== 'margin' && options.loss !== 'ce') {
      throw new RangeError(`Square: loss must be 'margin' or 'ce', got '${String(options.loss)}'`);
    }
    this.loss = options.loss ?? 'margin';
    this.rescaleSchedule = options.rescaleSchedule ?? true;
    if (options.windows !== undefined && options.windows !== 'batch' && options.windows !== 'example') {
      throw new RangeError(`Square: windows must be 'batch' or 'example', got '${String(options.windows)}'`);
    }
    this.windows = options.windows ?? 'batch';
  }

  protected perturb({ images, labels, targets, cleanLogits }: AttackInput): PerturbOutput {
    if (images.ndim !== 4) throw new RangeError(`Square: images must be [N, C, H, W], got [${images.shape.join(', ')}]`);
    const cls = targets ?? labels;
    const adv = images.clone();
    const queries = torch.zeros([images.shape[0]!], { dtype: 'int64', device: images.device });
    const robust = this.marginOf(cleanLogits, cls).gt(0);
    for (let r = 0; r < this.nRestarts; r++) {
      tidy(() => {
        const ids = robust.nonzero().flatten();
        if (ids.shape[0] === 0) return;
        const run = this.singleRun(images.indexSelect(0, ids), cls.indexSelect(0, ids));
        queries.indexPut_([ids], queries.indexSelect(0, ids).add(run.queries));
        const ok = run.margin.le(0).nonzero().flatten();
        if (ok.shape[0] === 0) return;
        const okIds = ids.indexSelect(0, ok);
        adv.indexPut_([okIds], run.adv.indexSelect(0, ok));
        robust.indexPut_([okIds], torch.zeros([okIds.shape[0]!], { dtype: 'bool', device: robust.device }));
      });
    }
    return { adv, queries };
  }

  /** Margin that must be driven to ≤ 0: z_y − max_{j≠y} z_j, or (targeted) max_{j≠t} z_j − z_t. */
  private marginOf(logits: Tensor, cls: Tensor): Tensor {
    return this.targeted ? margin(logits, cls).neg() : margin(logits, cls);
  }

  /** Margin and the loss to minimise at x. */
  private evaluate(x: Tensor, cls: Tensor): { margin: Tensor; loss: Tensor } {
    const z = logitsOf(this.forward, x);
    const m = this.marginOf(z, cls);
    if (this.loss === 'margin') return { margin: m, loss: m };
    const ce = F.crossEntropy(z, cls, { reduction: 'none' });
    return { margin: m, loss: this.targeted ? ce : ce.neg() };
  }

  private singleRun(x: Tensor, cls: Tensor): { adv: Tensor; margin: Tensor; queries: Tensor } {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const batch = this.windows === 'batch';
    const best = this.norm === 'Linf' ? (batch ? this.batchLinfInit(x) : this.stripesInit(x)) : (batch ? this.batchL2Init(x) : this.l2Init(x));
    const first = this.evaluate(best, cls);
    // Full-batch state, updated in place on the rows still being attacked.
    const state = { best, margin: first.margin, loss: first.loss, queries: torch.ones([n], { dtype: 'int64', device: x.device }) };
    for (let i = 0; i < this.nQueries; i++) {
      const more = tidy(() => {
        const ids = state.margin.gt(0).nonzero().flatten();
        const k = ids.shape[0]!;
        const p = squareFraction(i, this.nQueries, this.pInit, this.rescaleSchedule);
        // The shared window is drawn before looking at the batch, as the official loop does (it draws
        // even when the initial point fooled every example, and stops after the iteration).
        const propose = batch
          ? (this.norm === 'Linf' ? this.batchLinfProposal(p, c, h, w) : this.batchL2Proposal(p, k, c, h, w))
          : (xs: Tensor, bestS: Tensor) => (this.norm === 'Linf'
            ? this.linfProposal(xs, bestS, Math.min(Math.max(pythonRound(Math.sqrt((p * (c * h * w)) / c)), 1), h, w))
            : this.l2Proposal(xs, bestS, oddSide(p, c, h, w)));
        if (k === 0) return false;
        const xs = x.indexSelect(0, ids);
        const bestS = state.best.indexSelect(0, ids);
        const candidate = propose(xs, bestS);
        const e = this.evaluate(candidate, cls.indexSelect(0, ids));
        const lossS = state.loss.indexSelect(0, ids);
        const improved = e.loss.lt(lossS);
        const accept = improved.logicalOr(e.margin.le(0));
        state.loss.indexPut_([ids], where(improved, e.loss, lossS));
        state.margin.indexPut_([ids], where(accept, e.margin, state.margin.indexSelect(0, ids)));
        state.best.indexPut_([ids], where(perExample(accept, candidate), candidate, bestS));
        state.queries.indexPut_([ids], state.queries.indexSelect(0, ids).add(1));
        return state.margin.gt(0).any().item() === 1;
      });
      if (!more) break;
    }
    return { adv: state.best, margin: state.margin, queries: state.queries };
  }

  // ---- one window for the batch (AutoAttack's square.py) -----------------------------------------
  // Same operations in the same order as the official code (its draws come from torch's CPU
  // generator even for CUDA inputs), so that seeded runs agree with it bit for bit.

  /** clip(x + ε·(±1 per vertical stripe and channel)), the signs as sign(2u − 1). */
  private batchLinfInit(x: Tensor): Tensor {
    const [n, c, , w] = x.shape as [number, number, number, number];
    return x.add(signChoice([n, c, 1, w], x).mul(this.eps)).clamp(0, 1);
  }

  /** One s×s window and one sign per channel for every example: the window moved to x ± ε. */
  private batchLinfProposal(p: number, c: number, h: number, w: number): (x: Tensor, best: Tensor) => Tensor {
    const s = Math.min(Math.max(pythonRound(Math.sqrt((p * (c * h * w)) / c)), 1), h, w);
    const vh = randomCorner(h - s);
    const vw = randomCorner(w - s);
    const signs = signChoice([c, 1, 1]);
    return (x, best) => {
      const delta = torch.zeros([c, h, w], { dtype: x.dtype, device: x.device });
      delta.narrow(1, vh, s).narrow(2, vw, s).copy_(signs.to({ dtype: x.dtype, device: x.device }).mul(2 * this.eps).expand(c, s, s));
      return best.add(delta).maximum(x.sub(this.eps)).minimum(x.add(this.eps)).clamp(0, 1);
    };
  }

  /** The η tiling of l2Init, each tile with its own orientation draw and signs, in the official order. */
  private batchL2Init(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const s = Math.max(Math.floor(h / 5), 1);
    const start = Math.floor((h - s * 5) / 2);
    const delta = torch.zerosLike(x);
    for (let a = 0, vh = start; a < Math.floor(h / s); a++, vh += s) {
      for (let b = 0, vw = start; b < Math.floor(w / s); b++, vw += s) {
        const tile = orientedEta(s, x).reshape([1, 1, s, s]).mul(signChoice([n, c, 1, 1], x));
        // Python slicing clips a tile that runs past the border; the draws happen all the same.
        const rows = Math.min(s, h - vh);
        const cols = Math.min(s, w - vw);
        if (rows > 0 && cols > 0) delta.narrow(2, vh, rows).narrow(3, vw, cols).add_(tile.narrow(2, 0, rows).narrow(3, 0, cols));
      }
    }
    return x.add(officialL2Unit(delta).mul(this.eps)).clamp(0, 1);
  }

  /** Window 1 gets η (one orientation, signs per example and channel) plus its old content; window 2 is emptied. */
  private batchL2Proposal(p: number, k: number, c: number, h: number, w: number): (x: Tensor, best: Tensor) => Tensor {
    const s = oddSide(p, c, h, w);
    const vh = randomCorner(h - s);
    const vw = randomCorner(w - s);
    const vh2 = randomCorner(h - s);
    const vw2 = randomCorner(w - s);
    const pattern = orientedEta(s);
    const signs = signChoice([k, c, 1, 1]);
    return (x, best) => {
      const delta = best.sub(x);
      const window1 = (t: Tensor): Tensor => t.narrow(2, vh, s).narrow(3, vw, s);
      const mask = torch.zerosLike(x);
      window1(mask).fill_(1);
      const mask2 = torch.zerosLike(x);
      mask2.narrow(2, vh2, s).narrow(3, vw2, s).fill_(1);
      const normWindow1 = window1(delta).square().sum([-2, -1], true).sqrt();
      const normImage = officialL2Norm(delta);
      const normWindows = officialL2Norm(delta.mul(mask.maximum(mask2)));
      let fresh = pattern.to({ dtype: x.dtype, device: x.device }).reshape([1, 1, s, s]).mul(signs.to({ dtype: x.dtype, device: x.device }));
      fresh = fresh.add(window1(delta).div(normWindow1.add(1e-12)));
      const budget = torch.fullLike(fresh, this.eps).square().sub(normImage.square()).clampMin(0).div(c).add(normWindows.square()).sqrt();
      fresh = fresh.div(fresh.square().sum([-2, -1], true).sqrt().add(1e-12)).mul(budget);
      const next = delta.clone();
      next.narrow(2, vh2, s).narrow(3, vw2, s).fill_(0);
      window1(next).copy_(fresh);
      return x.add(officialL2Unit(next).mul(this.eps)).clamp(0, 1);
    };
  }

  // ---- L∞ (Algorithm 2) ------------------------------------------------------------------------

  /** x + ε·(±1 per vertical stripe and channel), clipped to [0, 1]. */
  private stripesInit(x: Tensor): Tensor {
    const [n, c, , w] = x.shape as [number, number, number, number];
    return x.add(randomSigns([n, c, 1, w], x).mul(this.eps)).clamp(0, 1);
  }

  /**
   * Sets one random s×s window per example to clip(x ± ε) with one random sign per channel. A proposal
   * identical to the current point would waste a query, so those signs are redrawn (as the reference does).
   */
  private linfProposal(x: Tensor, best: Tensor, s: number): Tensor {
    const mask = randomWindowMask(x, s);
    let signs = randomSigns([x.shape[0]!, x.shape[1]!, 1, 1], x);
    let candidate = where(mask, x.add(signs.mul(this.eps)).clamp(0, 1), best);
    for (let attempt = 0; attempt < 100; attempt++) {
      const same = candidate.sub(best).abs().flatten(1).amax(1).lt(1e-7);
      if (same.any().item() === 0) break;
      const sameEx = perExample(same, x);
      signs = where(sameEx, randomSigns(signs.shape, x), signs);
      candidate = where(mask, x.add(signs.mul(this.eps)).clamp(0, 1), best);
    }
    return candidate;
  }

  // ---- L2 (Algorithm 3) ------------------------------------------------------------------------

  /** A grid of η patterns (tiles of side ⌊h/5⌋) with random signs per tile and channel, scaled to ||δ||₂ = ε. */
  private l2Init(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const s = Math.max(Math.floor(h / 5), 1);
    const start = Math.floor((h - s * 5) / 2);
    const delta = torch.zerosLike(x);
    const pattern = etaPattern(s, x);
    for (let vh = start; vh + s <= h && vh < start + s * Math.floor(h / s); vh += s) {
      for (let vw = start; vw + s <= w && vw < start + s * Math.floor(w / s); vw += s) {
        const tile = pattern.mul(randomSigns([n, c, 1, 1], x));
        delta.narrow(2, vh, s).narrow(3, vw, s).add_(tile);
      }
    }
    return x.add(unitL2(delta).mul(this.eps)).clamp(0, 1);
  }

  /**
   * Moves perturbation mass from window 2 into window 1: the new window-1 content is the η pattern
   * (random sign per channel) plus the old window-1 content normalised, rescaled so that ||δ||₂ stays ε;
   * window 2 is zeroed. The whole δ is then renormalised to ε and the image clipped.
   */
  private l2Proposal(x: Tensor, best: Tensor, s: number): Tensor {
    const [n, c] = x.shape as [number, number];
    const delta = best.sub(x);
    const w1 = randomWindow(x, s);
    const w2 = randomWindow(x, s);
    const old1 = readWindow(delta, w1, s);                                       // [n, c, s, s]
    const oldNorm1 = old1.square().sum([2, 3], true).sqrt();                   // per channel
    const imageNorm = flatNorm(delta, 2);                                        // [n]
    const both = windowMask(x, w1.top, w1.left, s).logicalOr(windowMask(x, w2.top, w2.left, s));
    const windowsNorm = flatNorm(delta.mul(both.to({ dtype: delta.dtype })), 2);
    const transpose = torch.rand([n], { device: x.device }).gt(0.5);
    const pattern = where(transpose.reshape([n, 1, 1, 1]), etaPattern(s, x).transpose(2, 3), etaPattern(s, x));
    let fresh = pattern.mul(randomSigns([n, c, 1, 1], x)).add(old1.div(oldNorm1.add(1e-12)));
    const budget = imageNorm.square().neg().add(this.eps ** 2).clampMin(0).div(c).add(windowsNorm.square()).sqrt();
    fresh = fresh.div(fresh.square().sum([2, 3], true).sqrt().add(1e-12)).mul(budget.reshape([n, 1, 1, 1]));
    const next = delta.clone();
    writeWindow(next, w2, s, torch.zeros([n, c, s, s], { dtype: x.dtype, device: x.device }));
    writeWindow(next, w1, s, fresh);
    return x.add(unitL2(next).mul(this.eps)).clamp(0, 1);
  }
}

/** Python's round(): halves go to the even neighbour (the official code computes the side with it). */
function pythonRound(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The L2 window side: max(round(√(p·h·w)), 3), made odd, at most the image side. */
function oddSide(p: number, c: number, h: number, w: number): number {
  let s = Math.max(pythonRound(Math.sqrt((p * (c * h * w)) / c)), 3);
  if (s % 2 === 0) s += 1;
  const limit = Math.min(h, w);
  if (s > limit) s = limit % 2 === 1 ? limit : limit - 1;
  return Math.max(s, 1);
}

/** The official random_int(0, high): ⌊high·u⌋ for u ~ U[0, 1) from the CPU generator, so in [0, high − 1] (0 when high = 0). */
function randomCorner(high: number): number {
  return Math.trunc(torch.rand([1]).mul(high).item());
}

/** The official random_choice: sign(2u − 1) from the CPU generator, moved to `like`'s device. */
function signChoice(shape: number[], like?: Tensor): Tensor {
  const signs = torch.rand(shape).mul(2).sub(1).sign();
  return like ? signs.to({ dtype: like.dtype, device: like.device }) : signs;
}

/** √(Σ x²) per example, shaped [n, 1, 1, 1] (the official lp_norm). */
function officialL2Norm(x: Tensor): Tensor {
  return x.square().flatten(1).sum(1).sqrt().reshape([x.shape[0]!, 1, 1, 1]);
}

/** x / (√(Σ x²) + 1e-12) per example (the official normalize). */
function officialL2Unit(x: Tensor): Tensor {
  return x.div(officialL2Norm(x).add(1e-12));
}

/**
 * The official eta(s): the η pattern computed in float32 as it does (rows of concentric rectangles,
 * each half normalised, then the whole), transposed when a uniform draw exceeds 0.5. Shape [s, s].
 */
function orientedEta(s: number, like?: Tensor): Tensor {
  const half = Math.floor(s / 2);
  const d = torch.zeros([s, s]);
  if (half > 0) d.narrow(0, 0, half).copy_(float32Rectangles(half, s));
  d.narrow(0, half, s - half).copy_(float32Rectangles(s - half, s).mul(-1));
  const eta = d.div(d.square().sum([0, 1], true).sqrt());
  const out = torch.rand([1]).item() > 0.5 ? eta.t() : eta;
  return like ? out.to({ dtype: like.dtype, device: like.device }) : out;
}

/** The official eta_rectangles in float32: ring k of the x×y block weighted 1/(k+1)², unit L2 norm. */
function float32Rectangles(x: number, y: number): Tensor {
  const d = torch.zeros([x, y]);
  let r0 = Math.floor(x / 2);
  let c0 = Math.floor(y / 2);
  for (let k = 0; k < Math.max(Math.floor(x / 2) + 1, Math.floor(y / 2) + 1); k++) {
    const top = Math.max(r0, 0);
    const left = Math.max(c0, 0);
    const rows = Math.min(r0 + 2 * k + 1, x) - top;
    const cols = Math.min(c0 + 2 * k + 1, y) - left;
    if (rows > 0 && cols > 0) d.narrow(0, top, rows).narrow(1, left, cols).add_(torch.tensor([1]).div(torch.tensor([(k + 1) ** 2])));
    r0 -= 1;
    c0 -= 1;
  }
  return d.div(d.square().sum([0, 1], true).sqrt());
}

/** ±1 with equal probability, shaped `shape`, as float on x's device. */
function randomSigns(shape: number[], like: Tensor): Tensor {
  return torch.randint(0, 2, shape, { dtype: like.dtype, device: like.device }).mul(2).sub(1);
}

function unitL2(d: Tensor): Tensor {
  return d.div(perExample(flatNorm(d, 2).add(1e-12), d));
}

interface Window {
  top: Tensor;  // int64 [n]
  left: Tensor; // int64 [n]
}

/** One uniformly placed s×s window per example (top-left corner in {0 … h−s} × {0 … w−s}). */
function randomWindow(x: Tensor, s: number): Window {
  const [n, , h, w] = x.shape as [number, number, number, number];
  return {
    top: torch.randint(0, h - s + 1, [n], { device: x.device }),
    left: torch.randint(0, w - s + 1, [n], { device: x.device }),
  };
}

/** bool [n, 1, h, w], true inside each example's window. */
function windowMask(x: Tensor, top: Tensor, left: Tensor, s: number): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  const rows = torch.arange(h, undefined, 1, { device: x.device }).reshape([1, h]);
  const cols = torch.arange(w, undefined, 1, { device: x.device }).reshape([1, w]);
  const t = top.reshape([n, 1]);
  const l = left.reshape([n, 1]);
  const inRows = rows.ge(t).logicalAnd(rows.lt(t.add(s)));  // [n, h]
  const inCols = cols.ge(l).logicalAnd(cols.lt(l.add(s)));  // [n, w]
  return inRows.unsqueeze(2).logicalAnd(inCols.unsqueeze(1)).unsqueeze(1);
}

function randomWindowMask(x: Tensor, s: number): Tensor {
  const win = randomWindow(x, s);
  return windowMask(x, win.top, win.left, s);
}

/** Index tensors (example, row, column) selecting each example's window from a [n, h, w, c] view. */
function windowIndex(win: Window, s: number): [Tensor, Tensor, Tensor] {
  const n = win.top.shape[0]!;
  const offsets = torch.arange(s, undefined, 1, { device: win.top.device });
  return [
    torch.arange(n, undefined, 1, { device: win.top.device }).reshape([n, 1, 1]),
    win.top.reshape([n, 1, 1]).add(offsets.reshape([1, s, 1])),
    win.left.reshape([n, 1, 1]).add(offsets.reshape([1, 1, s])),
  ];
}

/** t[b, :, top_b : top_b + s, left_b : left_b + s] for every b, as [n, c, s, s]. */
function readWindow(t: Tensor, win: Window, s: number): Tensor {
  return t.permute(0, 2, 3, 1).index(windowIndex(win, s)).permute(0, 3, 1, 2);
}

/** Writes values [n, c, s, s] into each example's window of t (in place). */
function writeWindow(t: Tensor, win: Window, s: number, values: Tensor): void {
  t.permute(0, 2, 3, 1).indexPut_(windowIndex(win, s), values.permute(0, 2, 3, 1));
}

/**
 * The paper's η(s): two nested-rectangle bumps of opposite sign (upper and lower half), weights
 * Σ 1/(k+1)² over concentric rectangles, normalised to unit L2 norm. Shape [1, 1, s, s].
 */
function etaPattern(s: number, like: Tensor): Tensor {
  const out = new Float32Array(s * s);
  const half = Math.floor(s / 2);
  const fill = (rows: number, rowOffset: number, sign: number): void => {
    const block = rectangles(rows, s);
    for (let r = 0; r < rows; r++) for (let col = 0; col < s; col++) out[(r + rowOffset) * s + col] = sign * block[r * s + col]!;
  };
  fill(half, 0, 1);
  fill(s - half, half, -1);
  let norm = 0;
  for (const v of out) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return tensor(out, { shape: [1, 1, s, s], dtype: like.dtype, device: like.device });
}

/** Concentric rectangles centred in an x×y block, the k-th ring weighted 1/(k+1)², unit L2 norm. */
function rectangles(x: number, y: number): Float64Array {
  const out = new Float64Array(x * y);
  const cx = Math.floor(x / 2) + 1;
  const cy = Math.floor(y / 2) + 1;
  let r0 = cx - 1;
  let c0 = cy - 1;
  for (let k = 0; k < Math.max(cx, cy); k++) {
    for (let r = Math.max(r0, 0); r < Math.min(r0 + 2 * k + 1, x); r++) {
      for (let col = Math.max(c0, 0); col < Math.min(c0 + 2 * k + 1, y); col++) out[r * y + col]! += 1 / (k + 1) ** 2;
    }
    r0 -= 1;
    c0 -= 1;
  }
  let norm = 0;
  for (const v of out) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}
