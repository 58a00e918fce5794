// Minimum-norm step onto a hyperplane inside the box [0, 1]^d — the projection at the heart of FAB
// (Croce & Hein, "Minimally distorted adversarial examples with a fast adaptive boundary attack", ICML 2020, §3.1).
import { cat, type Tensor, where } from '@robusta/torch';
import type { Norm } from './params.js';

/** Stands in for +∞ breakpoints (zero-weight coordinates in L2) without making ∞·0 = NaN. */
const FAR = 1e30;

/**
 * For each row i, the δ of least ||δ||_p (p = ∞ or 2) with ⟨w_i, δ⟩ = c_i and 0 ≤ p_i + δ ≤ 1, where
 * points p [B, d], normals w [B, d], offsets c [B]. If no δ in the box reaches the hyperplane, the
 * box corner that gets closest (⟨w, δ⟩ maximal towards c) is returned, as in FAB.
 *
 * With c ≥ 0 (else flip w and c), the optimum moves each coordinate towards sign(w_i) by
 *   |δ_i| = min(τ·s_i, r_i),  r_i = room to the box (1 − p_i if w_i > 0, p_i if w_i < 0),
 * s_i = 1 for L∞ (δ_i = ±min(τ, r_i)) and s_i = |w_i| for L2 (δ_i = clip(τ·w_i) from the KKT conditions).
 * h(τ) = Σ|w_i|·min(τ s_i, r_i) is piecewise linear and nondecreasing with breakpoints κ_i = r_i/s_i;
 * sorting κ and taking prefix/suffix sums gives the τ with h(τ) = c exactly, in O(d log d) per row.
 */
export function projectOntoBoxedHyperplane(points: Tensor, w: Tensor, c: Tensor, norm: Norm): Tensor {
  const d = w.shape[1]!;
  const flip = c.lt(0).unsqueeze(1);
  const wf = where(flip, w.neg(), w);
  const cf = c.abs().unsqueeze(1);
  const aw = wf.abs();
  const room = where(wf.gt(0), points.neg().add(1), points);
  const active = aw.gt(0);
  const speed = norm === 'Linf' ? aw.mul(0).add(1) : aw;
  const breakpoint = norm === 'Linf' ? room : where(active, room.div(where(active, aw, aw.add(1))), room.mul(0).add(FAR));

  const { values: kappa, indices: order } = breakpoint.sort(1);
  const gain = aw.gather(1, order).mul(room.gather(1, order));   // |w|·r: the coordinate's share once saturated
  const slope = aw.gather(1, order).mul(speed.gather(1, order)); // |w|·s: its share of dh/dτ before that
  const before = gain.cumsum(1).sub(gain);                        // Σ_{j<k} |w|r
  const fromHere = slope.flip(1).cumsum(1).flip(1);               // Σ_{j≥k} |w|s
  const hAtBreakpoint = before.add(gain).add(kappa.mul(fromHere.sub(slope)));
  const k = hAtBreakpoint.lt(cf).sum(1, true);                     // first breakpoint where h reaches c
  const unreachable = k.eq(d);
  const kc = k.clampMax(d - 1);
  const tau = cf.sub(before.gather(1, kc)).div(fromHere.gather(1, kc).clampMin(1e-30));
  const magnitude = where(unreachable, room, tau.mul(speed).minimum(room));
  return where(active, magnitude.mul(wf.sign()), aw.mul(0));
}

/** Both FAB projections of one step in one call: rows of a and b share w but not the point or offset. */
export function projectPair(pa: Tensor, pb: Tensor, w: Tensor, ca: Tensor, cb: Tensor, norm: Norm): [Tensor, Tensor] {
  const n = pa.shape[0]!;
  const both = projectOntoBoxedHyperplane(cat([pa, pb]), cat([w, w]), cat([ca, cb]), norm);
  return [both.narrow(0, 0, n), both.narrow(0, n, n)];
}
