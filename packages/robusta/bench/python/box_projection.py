# FAB's box projection, exactly as robusta solves it (src/attacks/box-projection.ts), in plain PyTorch for
# the benchmarks. The tests' reference (test/attacks/python/reference.py: box_hyperplane_projection) finds
# the multiplier τ by bisection (200 doublings + 100 halvings in float64): an independent check for the
# tests, but a different amount of work. robusta and AutoAttack's own FAB solve h(τ) = c exactly by sorting
# the breakpoints (Croce & Hein, ICML 2020, §3.1); a bench that times FAB replaces the reference's
# projection with this one, so both sides do the same work.
import torch


def exact_box_projection(p, w, c, norm):
    """min ||d||_norm s.t. <w, d> = c, 0 <= p + d <= 1 (rows); the best box corner when out of reach."""
    d = w.shape[1]
    flip = (c < 0)[:, None]
    wf = torch.where(flip, -w, w)
    cf = c.abs()[:, None]
    aw = wf.abs()
    room = torch.where(wf > 0, 1 - p, p)
    active = aw > 0
    speed = torch.ones_like(aw) if norm == 'Linf' else aw
    breakpoint = room if norm == 'Linf' else torch.where(active, room / torch.where(active, aw, aw + 1), torch.full_like(room, 1e30))
    kappa, order = breakpoint.sort(1)
    gain = aw.gather(1, order) * room.gather(1, order)
    slope = aw.gather(1, order) * speed.gather(1, order)
    before = gain.cumsum(1) - gain
    from_here = slope.flip(1).cumsum(1).flip(1)
    h_at = before + gain + kappa * (from_here - slope)
    k = (h_at < cf).sum(1, keepdim=True)
    unreachable = k == d
    kc = k.clamp_max(d - 1)
    tau = (cf - before.gather(1, kc)) / from_here.gather(1, kc).clamp_min(1e-30)
    magnitude = torch.where(unreachable, room, torch.minimum(tau * speed, room))
    return torch.where(active, magnitude * wf.sign(), torch.zeros_like(aw))
