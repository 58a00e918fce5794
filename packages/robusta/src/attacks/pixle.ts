// Pixle — Pomponi, Scardapane & Uncini, "Pixle: a fast and effective black-box attack based on
// rearranging pixels", IJCNN 2022: a black-box L0 attack that copies patches of the image's own pixels
// to other places, found by random search.
import * as torch from '@robusta/torch';
import { keep, noGrad, type Tensor, tidy, where } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions, type PerturbOutput } from './attack.js';
import type { Classifier } from './classifier.js';
import { perExample } from './lp.js';
import { checkNumber, checkSteps } from './params.js';

/** A patch side: a pixel count (an integer ≥ 1) or a fraction of the image side (in (0, 1)). */
export type PatchSide = number;

export type PixelMapping = 'random' | 'similarity' | 'similarity_random' | 'distance' | 'distance_random';
const MAPPINGS: readonly PixelMapping[] = ['random', 'similarity', 'similarity_random', 'distance', 'distance_random'];

export interface PixleOptions extends AttackOptions {
  /** Patch width: a side or [min, max] (inclusive), drawn per iteration. Default [2, 10]. */
  xDimensions?: PatchSide | [PatchSide, PatchSide];
  /** Patch height, likewise. Default [2, 10]. */
  yDimensions?: PatchSide | [PatchSide, PatchSide];
  /**
   * Where each patch pixel is copied to: 'random' (a uniformly random place), 'similarity' /
   * 'distance' (the place whose pixel is most similar / most different, mean |Δ| over channels),
   * '*_random' (drawn with softmax probabilities of the similarity / distance). Default 'random'.
   */
  pixelMapping?: PixelMapping;
  /** Restarts. Default 20. */
  restarts?: number;
  /** Iterations per restart. Default 10. */
  maxIterations?: number;
  /** Move to every improving candidate at once (true) or at the end of each restart (false). Default false. */
  updateEachIteration?: boolean;
}

/**
 * Minimises p_y(x') (targeted: 1 − p_t(x')), x' the image with pixels of x copied elsewhere. Each
 * iteration draws a patch (corner (⌊u·(W−1)⌋, ⌊u·(H−1)⌋), sides drawn in the dimension bounds and cut
 * at the border) and a destination for each of its pixels, and writes the patch's pixels of the clean
 * image x at those destinations of the current image. As torchattacks: with restarts, the current
 * image stays fixed within a restart and becomes, at its end, the best candidate found so far (or the
 * restart's last candidate if none has improved on x yet); with `updateEachIteration`, the current image
 * moves to every improving candidate (one loop of maxIterations). An example stops at the first
 * candidate that fools the model. `queries` counts the model's evaluations per example (1 + candidates).
 */
export class Pixle extends Attack {
  readonly xDimensions: [PatchSide, PatchSide];
  readonly yDimensions: [PatchSide, PatchSide];
  readonly pixelMapping: PixelMapping;
  readonly restarts: number;
  readonly maxIterations: number;
  readonly updateEachIteration: boolean;

  constructor(model: Classifier, options: PixleOptions = {}) {
    super('Pixle', model, options, { targeted: true });
    this.xDimensions = checkSides(this.name, 'xDimensions', options.xDimensions ?? [2, 10]);
    this.yDimensions = checkSides(this.name, 'yDimensions', options.yDimensions ?? [2, 10]);
    const mapping = options.pixelMapping ?? 'random';
    if (!MAPPINGS.includes(mapping)) throw new RangeError(`Pixle: pixelMapping must be one of ${MAPPINGS.join(', ')}, got '${String(mapping)}'`);
    this.pixelMapping = mapping;
    this.restarts = checkSteps(this.name, 'restarts', options.restarts ?? 20);
    this.maxIterations = checkSteps(this.name, 'maxIterations', options.maxIterations ?? 10);
    this.updateEachIteration = options.updateEachIteration ?? false;
  }

  protected perturb({ images, labels, targets }: AttackInput): PerturbOutput {
    if (images.ndim !== 4) throw new RangeError(`Pixle: images must be [N, C, H, W], got [${images.shape.join(', ')}]`);
    const [n, , h, w] = images.shape as [number, number, number, number];
    const xb = this.xDimensions.map((d) => sideInPixels(d, w)) as [number, number];
    const yb = this.yDimensions.map((d) => sideInPixels(d, h)) as [number, number];
    const cls = targets ?? labels;
    const dev = { device: images.device };
    const first = this.evaluate(images, cls);
    const s = {
      current: keep(images.clone()),
      bestLoss: keep(first.loss),
      bestSolution: keep(images.clone()),
      hasSolution: keep(torch.zeros([n], { ...dev, dtype: 'bool' })),
      last: keep(images.clone()),
      stopped: keep(torch.zeros([n], { ...dev, dtype: 'bool' })),
      queries: keep(torch.ones([n], { ...dev, dtype: 'int64' })),
    };
    first.fooled.dispose();
    const restarts = this.updateEachIteration ? 1 : this.restarts;
    for (let r = 0; r < restarts; r++) {
      for (let it = 0; it < this.maxIterations; it++) {
        const more = tidy(() => {
          const ids = s.stopped.logicalNot().nonzero().flatten();
          if (ids.shape[0] === 0) return false;
          const current = s.current.indexSelect(0, ids);
          const candidate = this.propose(images.indexSelect(0, ids), current, xb, yb);
          const { loss, fooled } = this.evaluate(candidate, cls.indexSelect(0, ids));
          const improved = loss.lt(s.bestLoss.indexSelect(0, ids));
          const keepIt = improved.logicalOr(fooled);
          s.bestLoss.indexPut_([ids], where(improved, loss, s.bestLoss.indexSelect(0, ids)));
          s.bestSolution.indexPut_([ids], where(perExample(keepIt, candidate), candidate, s.bestSolution.indexSelect(0, ids)));
          s.hasSolution.indexPut_([ids], s.hasSolution.indexSelect(0, ids).logicalOr(keepIt));
          s.last.indexPut_([ids], candidate);
          s.queries.indexPut_([ids], s.queries.indexSelect(0, ids).add(1));
          // A fooled example ends here with that candidate; with updateEachIteration, improvements move at once.
          const move = this.updateEachIteration ? keepIt : fooled;
          s.current.indexPut_([ids], where(perExample(move, candidate), candidate, current));
          s.stopped.indexPut_([ids], fooled);
          return true;
        });
        if (!more) break;
      }
      if (!this.updateEachIteration) {
        tidy(() => {
          // End of a restart: the best candidate so far, or the last one if none improved yet.
          const running = perExample(s.stopped.logicalNot(), images);
          const next = where(perExample(s.hasSolution, images), s.bestSolution, s.last);
          s.current.copy_(where(running, next, s.current));
        });
      }
    }
    const adv = s.current;
    for (const t of [s.bestLoss, s.bestSolution, s.hasSolution, s.last, s.stopped]) t.dispose();
    return { adv, queries: s.queries };
  }

  /** The loss to minimise and whether the model is fooled, per example. */
  private evaluate(x: Tensor, cls: Tensor): { loss: Tensor; fooled: Tensor } {
    return noGrad(() => {
      const logits = this.forward(x);
      const p = logits.softmax(1).gather(1, cls.unsqueeze(1)).squeeze(1);
      const pred = logits.argmax(1);
      return this.targeted ? { loss: p.neg().add(1), fooled: pred.eq(cls) } : { loss: p, fooled: pred.ne(cls) };
    });
  }

  /** One candidate per example: a random patch of `source` written at mapped places of `current`. */
  private propose(source: Tensor, current: Tensor, xb: [number, number], yb: [number, number]): Tensor {
    const [m, c, h, w] = source.shape as [number, number, number, number];
    const maxPatch = xb[1] * yb[1];
    const u = torch.rand([m, 4 + 2 * maxPatch]).toFlatArray();
    const rows: number[] = [];
    const from: number[] = [];
    const to: number[] = [];
    const width = 4 + 2 * maxPatch;
    for (let b = 0; b < m; b++) {
      const r = (k: number): number => u[b * width + k]!;
      const x = Math.floor(r(0) * (w - 1));
      const y = Math.floor(r(1) * (h - 1));
      const xOff = Math.min(xb[0] + Math.floor(r(2) * (xb[1] - xb[0] + 1)), w - x);
      const yOff = Math.min(yb[0] + Math.floor(r(3) * (yb[1] - yb[0] + 1)), h - y);
      let k = 0;
      for (let i = y; i < y + yOff; i++) {
        for (let j = x; j < x + xOff; j++) {
          rows.push(b);
          from.push(i * w + j);
          // Random mapping: (⌊u·(H−1)⌋, ⌊u·(W−1)⌋), as torchattacks draws it.
          to.push(Math.floor(r(4 + 2 * k) * (h - 1)) * w + Math.floor(r(5 + 2 * k) * (w - 1)));
          k++;
        }
      }
    }
    const dev = { device: source.device, dtype: 'int64' as const };
    const rowIdx = torch.tensor(BigInt64Array.from(rows.map(BigInt)), dev);
    const fromIdx = torch.tensor(BigInt64Array.from(from.map(BigInt)), dev);
    const pixels = (t: Tensor): Tensor => t.reshape([m, c, h * w]).transpose(1, 2);        // [m, HW, C]
    const values = pixels(source).index([rowIdx, fromIdx]);                                // [P, C]
    const toIdx = this.pixelMapping === 'random'
      ? torch.tensor(BigInt64Array.from(to.map(BigInt)), dev)
      : this.mapBySimilarity(pixels(current).index([rowIdx]), values, fromIdx);
    const out = pixels(current).contiguous().clone();
    out.indexPut_([rowIdx, toIdx], values);
    return out.transpose(1, 2).reshape([m, c, h, w]);
  }

  /**
   * Destinations by (dis)similarity: for each patch pixel v (its own place excluded), the score of a
   * place is mean_c |z − v| ('distance') or 1/(1 + that) with exact copies scored 0 ('similarity');
   * the place of highest score, or one drawn with probabilities softmax(score) ('*_random').
   */
  private mapBySimilarity(places: Tensor, values: Tensor, own: Tensor): Tensor {
    const diff = places.sub(values.unsqueeze(1)).abs().mean(2);                            // [P, HW]
    let score = diff;
    if (this.pixelMapping.startsWith('similarity')) {
      score = diff.add(1).reciprocal();
      score = score.maskedFill(score.eq(1), 0);
    }
    const isOwn = torch.zerosLike(score, { dtype: 'bool' }).scatter(1, own.unsqueeze(1), true);
    if (!this.pixelMapping.endsWith('_random')) return score.maskedFill(isOwn, -Infinity).argmax(1);
    const probs = score.softmax(1).maskedFill(isOwn, 0);
    const cdf = probs.cumsum(1);
    const u = torch.rand([probs.shape[0]!, 1], { device: probs.device }).mul(cdf.narrow(1, cdf.shape[1]! - 1, 1));
    return cdf.lt(u).sum(1).clampMax(probs.shape[1]! - 1);
  }
}

function checkSides(owner: string, name: string, v: PatchSide | [PatchSide, PatchSide]): [PatchSide, PatchSide] {
  const pair: [number, number] = Array.isArray(v) ? [v[0], v[1]] : [v, v];
  for (const d of pair) {
    checkNumber(owner, name, d, { min: 0, exclusiveMin: true });
    if (!Number.isInteger(d) && d >= 1) throw new RangeError(`${owner}: ${name} must hold pixel counts (integers ≥ 1) or fractions in (0, 1), got ${d}`);
  }
  if (Array.isArray(v) && v.length !== 2) throw new RangeError(`${owner}: ${name} must be a side or [min, max]`);
  return pair;
}

/** A side in pixels: a fraction of the image side is rounded (at least 1). */
function sideInPixels(d: PatchSide, size: number): number {
  return Math.max(1, Number.isInteger(d) ? d : Math.round(size * d));
}
