# Plain-PyTorch versions of robusta's robustness measures (packages/robusta/src/measures/*.ts), for the
# side-by-side benchmark bench/measures.bench.ts. Each is the same definition computed the same way: the
# same batches (settings['batch_size']), the same seeds, and the same sharing of work between measures
# (a memo per family under robusta's ctx.memo keys, and the PGD examples computed once per split), so
# that the first measure of a family pays for the family's shared computation on both sides and each
# measure's seconds compare one to one. The attacks are the tests' plain-PyTorch references
# (test/attacks/python/reference.py: pgd, fab, grad_of, vnorm, proj_linf, margin, ...), loaded below.
# Import this file as a module (sys.path holds its folder).
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

_REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'attacks', 'python', 'reference.py')
exec(compile(open(_REFERENCE).read(), _REFERENCE, 'exec'))


# ---- FAB's box projection: the exact one robusta uses (box_projection.py), not the reference's bisection
from box_projection import exact_box_projection

box_hyperplane_projection = exact_box_projection   # what reference.fab_single calls


# ---- shared pieces -----------------------------------------------------------------------------------

def batched_logits(model, x, bs):
    with torch.no_grad():
        return torch.cat([model(x[s:s + bs]) for s in range(0, x.shape[0], bs)])


def logits_jacobian(model, x):
    """Logits [B, C] and dz/dx [B, C, d] by C backward passes of sum_b z[b, k] (as robusta's attacks/jacobian.ts)."""
    xg = x.detach().requires_grad_(True)
    z = model(xg)
    C = z.shape[1]
    rows = [torch.autograd.grad(z[:, k].sum(), [xg], retain_graph=k < C - 1)[0].flatten(1) for k in range(C)]
    return z.detach(), torch.stack(rows, 1)


def deepfool_batched(model, x, y, steps, overshoot):
    """DeepFool (Moosavi-Dezfooli et al. 2016) on a batch, the examples still classified y stepping together.

    reference.deepfool goes one example at a time (the paper's code, for the tests); robusta batches, so
    the bench does too: the same steps per example, one Jacobian per step for the whole active set."""
    out = x.clone()
    idx, xs, ys, r_tot, adv = torch.arange(x.shape[0]), x, y, torch.zeros_like(x), x
    for _ in range(steps):
        if idx.numel() == 0:
            break
        z, J = logits_jacobian(model, adv)
        going = (z.argmax(1) == ys).nonzero().flatten()
        idx, xs, ys, r_tot, z, J = idx[going], xs[going], ys[going], r_tot[going], z[going], J[going]
        if idx.numel() == 0:
            break
        f = z - z.gather(1, ys[:, None])
        w = J - J.gather(1, ys[:, None, None].expand(-1, 1, J.shape[2]))
        w_norm = w.norm(dim=2).clamp_min(1e-12)
        dist = (f.abs() / w_norm).scatter(1, ys[:, None], float('inf'))
        l = dist.argmin(1, keepdim=True)
        wl = w.gather(1, l[:, :, None].expand(-1, 1, w.shape[2])).squeeze(1)
        step = (dist.gather(1, l) + 1e-4) / w_norm.gather(1, l)
        r_tot = r_tot + (wl * step).reshape(xs.shape)
        adv = (xs + r_tot * (1 + overshoot)).clamp(0, 1)
        out[idx] = adv
    return out


def targeted_pgdl2(model, x, t, eps, alpha, steps):
    """PGD-L2 towards classes t from x (no random start): ascent on -CE(f, t), step g/(||g||₂ + 1e-10)."""
    adv = x.clone()
    for _ in range(steps):
        g, _, _ = grad_of(model, adv, ce_objective(None, t))
        adv = proj_l2(adv + g / pex(vnorm(g, 2) + 1e-10, g) * alpha, x, eps)
    return adv


class Context:
    """robusta's DefaultMeasureContext: the first n examples of each split, their PGD examples, a memo."""

    def __init__(self, model, data, settings, initial=None):
        self.model, self.data, self.s, self.initial = model, data, settings, initial
        self._adv, self._memo = {}, {}

    def examples(self, split=None):
        x, y = self.data[split or self.s['split']]
        return x[:self.s['n']], y[:self.s['n']]

    def adversarial(self, split=None):
        """PGD of settings, batch b attacked after manual_seed(seed + b); the caller's generator is kept."""
        split = split or self.s['split']
        if split not in self._adv:
            x, y = self.examples(split)
            s, bs = self.s, self.s['batch_size']
            state = torch.get_rng_state()
            self._adv[split] = torch.cat([pgd(self.model, x[i:i + bs], y[i:i + bs], s['eps'], s['alpha'], s['steps'], random_start=True,
                                              seed=s['seed'] + b) for b, i in enumerate(range(0, x.shape[0], bs))])
            torch.set_rng_state(state)
        return self._adv[split]

    def memo(self, key, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


def mean(v):
    return v.double().mean().item()


# ---- accuracy.ts ---------------------------------------------------------------------------------

def split_stats(ctx, split):
    def compute():
        x, y = ctx.examples(split)
        bs = ctx.s['batch_size']
        zc, za = batched_logits(ctx.model, x, bs), batched_logits(ctx.model, ctx.adversarial(split), bs)
        clean, adv = (zc.argmax(1) == y).double(), (za.argmax(1) == y).double()
        return {'clean_loss': F.cross_entropy(zc, y, reduction='none'), 'adv_loss': F.cross_entropy(za, y, reduction='none'),
                'clean': clean, 'robust': clean * adv}
    return ctx.memo('accuracy:' + split, compute)


def per_example_mean(v):
    return mean(v), v


def accuracy_measure(split, key):
    return lambda ctx: per_example_mean(split_stats(ctx, split)[key])


def gap(key):
    return lambda ctx: (mean(split_stats(ctx, 'train')[key]) - mean(split_stats(ctx, 'test')[key]), None)


# ---- weight-norms.ts -----------------------------------------------------------------------------

def weight_norms(ctx):
    def compute():
        fro2, spec2 = [], []
        for mod in ctx.model.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                m = mod.weight.detach().double().reshape(mod.weight.shape[0], -1)
                fro2.append(m.square().sum().item())
                spec2.append(torch.linalg.svdvals(m).max().item() ** 2 if bool(m.isfinite().all()) else float('nan'))
        return fro2, spec2
    return ctx.memo('weight-norms:layers', compute)


def sum_of_logs(v):
    return sum(math.log(u) for u in v)


def balanced_sum(v):
    return len(v) * math.exp(sum_of_logs(v) / len(v))


def path_norm(ctx):
    """Sum over paths of prod w²: every parameter squared in place, an all-ones input, restored after.
    (The tutorial CNN is Conv2d, Linear, ReLU and Flatten only: every parameter is squared.)"""
    model = ctx.model
    saved = [(p, p.detach().clone()) for p in model.parameters()]
    try:
        with torch.no_grad():
            for p, _ in saved:
                p.copy_(p.square())
            return model(torch.ones([1] + list(ctx.examples()[0].shape[1:]))).double().sum().item(), None
    finally:
        with torch.no_grad():
            for p, original in saved:
                p.copy_(original)


def distance_from_init(ctx):
    total = sum((p.detach().double() - ctx.initial[k].double()).square().sum().item() for k, p in ctx.model.named_parameters())
    return math.sqrt(total), None


# ---- margins.ts ----------------------------------------------------------------------------------

def output_margins(ctx, inputs):
    def compute():
        x, y = ctx.examples()
        return margin(batched_logits(ctx.model, x if inputs == 'clean' else ctx.adversarial(), ctx.s['batch_size']), y)
    return ctx.memo('margins:output:%s:%s' % (inputs, ctx.s['split']), compute)


def quantile10(v):
    return torch.quantile(v.double(), 0.1).item(), v


def input_margins(ctx, norm):
    """0 if misclassified, ||x_adv - x||_p if DeepFool (L2) / FAB (L∞, ε 1, 100 steps) flipped it, else NaN."""
    def compute():
        x, y = ctx.examples()
        bs, out = ctx.s['batch_size'], []
        for s in range(0, x.shape[0], bs):
            xb, yb = x[s:s + bs], y[s:s + bs]
            if norm == 'L2':
                adv = deepfool_batched(ctx.model, xb, yb, 50, 0.02)
            else:
                _, adv = fab(ctx.model, xb, yb, 1.0, 'Linf', steps=100, n_restarts=1, alpha_max=0.1, eta=1.05, beta=0.9)
            with torch.no_grad():
                z = ctx.model(xb)
                flipped = ctx.model(adv).argmax(1) != yb
            d = vnorm(adv - xb, 2 if norm == 'L2' else float('inf'))
            nan = torch.full_like(d, float('nan'))
            out.append(torch.where(~z.isfinite().all(1), nan, torch.where(z.argmax(1) != yb, torch.zeros_like(d), torch.where(flipped, d, nan))))
        return torch.cat(out)
    return ctx.memo('margins:input:%s:%s' % (norm, ctx.s['split']), compute)


def known_mean(v):
    return mean(v[~v.isnan()]), v


# ---- local-lipschitz.ts, kl-divergence.ts, input-gradient.ts -------------------------------------

def local_lipschitz(ctx):
    """max over 11 iterates of ||f(x) - f(x')||₁ / ||x - x'||∞, 10 signed-gradient ascent steps of ε/4."""
    def compute():
        torch.manual_seed(ctx.s['seed'])
        x = ctx.examples()[0]
        r, bs, M = ctx.s['eps'], ctx.s['batch_size'], ctx.model
        alpha = r * 0.25

        def ratio(fx, z, x0, xp):
            return torch.linalg.vector_norm(fx - z, 1, dim=1) / vnorm(x0 - xp, float('inf')).clamp_min(1e-12)
        out = []
        for s in range(0, x.shape[0], bs):
            xb = x[s:s + bs]
            with torch.no_grad():
                fx = M(xb)
            xp, best = proj_linf(xb + torch.randn(xb.shape) * 0.001, xb, r), None
            for _ in range(10):
                xg = xp.detach().requires_grad_(True)
                v = ratio(fx, M(xg), xb, xg)
                g, = torch.autograd.grad(v.sum(), [xg])
                best = v.detach() if best is None else torch.maximum(best, v.detach())
                xp = proj_linf(xp + g.sign() * alpha, xb, r)
            with torch.no_grad():
                out.append(torch.maximum(best, ratio(fx, M(xp), xb, xp)))
        return torch.cat(out)
    return ctx.memo('local-lipschitz:' + ctx.s['split'], compute)


def kl_clean_adv(ctx):
    def compute():
        bs = ctx.s['batch_size']
        log_p = F.log_softmax(batched_logits(ctx.model, ctx.examples()[0], bs), 1)
        log_q = F.log_softmax(batched_logits(ctx.model, ctx.adversarial(), bs), 1)
        return (log_p.exp() * (log_p - log_q)).sum(1)
    return ctx.memo('kl-divergence:' + ctx.s['split'], compute)


def gradient_norms(ctx, inputs):
    """Per-example L1 and L2 norms of the gradient of each example's own CE, on clean or PGD inputs."""
    def compute():
        x, y = ctx.examples()
        points, bs, l1, l2 = x if inputs == 'clean' else ctx.adversarial(), ctx.s['batch_size'], [], []
        for s in range(0, x.shape[0], bs):
            g, _, _ = grad_of(ctx.model, points[s:s + bs], ce_objective(y[s:s + bs]))
            l1.append(vnorm(g, 1))
            l2.append(vnorm(g, 2))
        return {'l1': torch.cat(l1), 'l2': torch.cat(l2)}
    return ctx.memo('input-gradient:%s:%s' % (inputs, ctx.s['split']), compute)


# ---- flatness.ts (Stutz et al.) ------------------------------------------------------------------

def cross_entropies(ctx, inputs):
    y, bs = ctx.examples()[1], ctx.s['batch_size']
    return F.cross_entropy(batched_logits(ctx.model, inputs, bs), y, reduction='none').double()


def robust_loss(ctx):
    return ctx.memo('flatness:robust-loss', lambda: cross_entropies(ctx, ctx.adversarial()))


def perturbed(model):
    norm_params = {id(p) for mod in model.modules() if isinstance(mod, nn.BatchNorm2d) for p in mod.parameters()}
    return [p for p in model.parameters() if id(p) not in norm_params]


def with_weights_restored(model, fn):
    P = perturbed(model)
    originals = [p.detach().clone() for p in P]
    try:
        return fn(P, originals)
    finally:
        with torch.no_grad():
            for p, o in zip(P, originals):
                p.copy_(o)


def average_flatness(ctx):
    """Mean over 10 ν (‖ν_l‖ = 0.5‖w_l‖, uniform on the sphere) of the robust loss at w + ν (PGD rerun) minus at w."""
    reference = robust_loss(ctx)
    split = ctx.s['split']

    def run(P, originals):
        norms = [o.norm().item() for o in originals]
        total = torch.zeros(reference.shape[0], dtype=torch.float64)
        for _ in range(10):
            with torch.no_grad():
                for p, w, n in zip(P, originals, norms):
                    g = torch.randn(p.shape)
                    p.copy_(w + g * (0.5 * n / g.norm().item()))
            total += cross_entropies(ctx, Context(ctx.model, {split: ctx.examples()}, ctx.s).adversarial(split))
        return total / 10
    v = with_weights_restored(ctx.model, run) - reference
    return mean(v), v


def worst_case_flatness(ctx):
    """20 steps of joint ascent on ν (‖ν_l‖ ≤ 0.003‖w_l‖, step 0.01‖w_l‖ ∇/‖∇‖ over all n) and δ (PGD step), from (0, PGD)."""
    reference = robust_loss(ctx)
    x, y = ctx.examples()
    s, bs, M = ctx.s, ctx.s['batch_size'], ctx.model
    starts = list(range(0, x.shape[0], bs))

    def run(P, originals):
        norms = [o.norm().item() for o in originals]
        nu = [torch.zeros_like(p) for p in P]
        advs = [ctx.adversarial()[i:i + bs].clone() for i in starts]
        for _ in range(20):
            G = [torch.zeros_like(p) for p in P]
            for b, i in enumerate(starts):
                xg = advs[b].detach().requires_grad_(True)
                grads = torch.autograd.grad(F.cross_entropy(M(xg), y[i:i + bs], reduction='none').sum(), [xg] + P, allow_unused=True)
                with torch.no_grad():
                    for l, g in enumerate(grads[1:]):
                        if g is not None:
                            G[l].add_(g)
                    advs[b] = proj_linf(advs[b] + grads[0].sign() * s['alpha'], x[i:i + bs], s['eps'])
            with torch.no_grad():
                for l, p in enumerate(P):
                    radius = 0.003 * norms[l]
                    if not radius > 0:
                        continue
                    gn = G[l].norm().item()
                    if gn > 0 and math.isfinite(gn):
                        nu[l].add_(G[l] * (0.01 * norms[l] / gn))
                    size = nu[l].norm().item()
                    if size > radius:
                        nu[l].mul_(radius / size)
                    p.copy_(originals[l] + nu[l])
        return cross_entropies(ctx, torch.cat(advs))
    v = with_weights_restored(M, run) - reference
    return mean(v), v


# ---- boundary-thickness.ts (Yang et al.) ---------------------------------------------------------

def boundary_thickness(ctx):
    """‖x′ − x‖₂ × fraction of 128 points of [x, x′] with 0 < p_ŷ − p_j < 0.75, x′ = PGD-L2 (ε 1, 0.2, 20) towards j."""
    def compute():
        torch.manual_seed(ctx.s['seed'])
        x, y = ctx.examples()
        n, bs, P, M = x.shape[0], ctx.s['batch_size'], 128, ctx.model
        z = batched_logits(M, x, bs)
        C = z.shape[1]
        pred = z.argmax(1)
        t = (y + torch.randint(1, C, (n,))) % C
        ts = torch.linspace(0, 1, P)
        group = max(1, bs // P)   # as robusta: a forward pass holds about batch_size points
        out = []
        for s in range(0, n, bs):
            xb = x[s:s + bs]
            delta = targeted_pgdl2(M, xb, t[s:s + bs], 1.0, 0.2, 20) - xb
            length = vnorm(delta, 2)
            for g0 in range(0, xb.shape[0], group):
                g = min(group, xb.shape[0] - g0)
                seg = (xb[g0:g0 + g, None] + delta[g0:g0 + g, None] * ts.reshape(1, P, 1, 1, 1)).reshape(g * P, *xb.shape[1:])
                with torch.no_grad():
                    p = F.softmax(M(seg), 1).reshape(g, P, C)
                gap_ = (p.gather(2, pred[s + g0:s + g0 + g].reshape(g, 1, 1).expand(g, P, 1))
                        - p.gather(2, t[s + g0:s + g0 + g].reshape(g, 1, 1).expand(g, P, 1))).squeeze(2)
                inside = ((gap_ > 0) & (gap_ < 0.75)).sum(1).double() / P
                frac = torch.where(p.isfinite().all(2).all(1), inside, torch.full_like(inside, float('nan')))
                out.append(length[g0:g0 + g].double() * frac)
        return torch.cat(out)
    return ctx.memo('boundary-thickness:' + ctx.s['split'], compute)


# ---- the registry, in robusta's order (registry.ts) ------------------------------------------------

MEASURES = [
    ('clean-loss', 'accuracy', lambda c: per_example_mean(split_stats(c, c.s['split'])['clean_loss'])),
    ('adv-loss', 'accuracy', lambda c: per_example_mean(split_stats(c, c.s['split'])['adv_loss'])),
    ('clean-acc-train', 'accuracy', accuracy_measure('train', 'clean')),
    ('clean-acc-test', 'accuracy', accuracy_measure('test', 'clean')),
    ('pgd-acc-train', 'accuracy', accuracy_measure('train', 'robust')),
    ('pgd-acc-test', 'accuracy', accuracy_measure('test', 'robust')),
    ('robust-gap', 'accuracy', gap('robust')),
    ('clean-gap', 'accuracy', gap('clean')),
    ('log-prod-of-fro', 'weight-norm', lambda c: (sum_of_logs(weight_norms(c)[0]), None)),
    ('sum-of-fro', 'weight-norm', lambda c: (balanced_sum(weight_norms(c)[0]), None)),
    ('param-norm', 'weight-norm', lambda c: (sum(weight_norms(c)[0]), None)),
    ('log-prod-of-spec', 'weight-norm', lambda c: (sum_of_logs(weight_norms(c)[1]), None)),
    ('sum-of-spec', 'weight-norm', lambda c: (balanced_sum(weight_norms(c)[1]), None)),
    ('path-norm', 'weight-norm', path_norm),
    ('distance-from-init', 'weight-norm', distance_from_init),
    ('param-count', 'weight-norm', lambda c: (sum(p.numel() for p in c.model.parameters()), None)),
    ('output-margin-clean', 'margin', lambda c: per_example_mean(output_margins(c, 'clean'))),
    ('output-margin-clean-p10', 'margin', lambda c: quantile10(output_margins(c, 'clean'))),
    ('output-margin-adv', 'margin', lambda c: per_example_mean(output_margins(c, 'adv'))),
    ('output-margin-adv-p10', 'margin', lambda c: quantile10(output_margins(c, 'adv'))),
    ('input-margin-l2', 'margin', lambda c: known_mean(input_margins(c, 'L2'))),
    ('input-margin-linf', 'margin', lambda c: known_mean(input_margins(c, 'Linf'))),
    ('local-lipschitz', 'smoothness', lambda c: per_example_mean(local_lipschitz(c))),
    ('kl-clean-adv', 'smoothness', lambda c: per_example_mean(kl_clean_adv(c))),
    ('input-grad-l1-clean', 'smoothness', lambda c: per_example_mean(gradient_norms(c, 'clean')['l1'])),
    ('input-grad-l2-clean', 'smoothness', lambda c: per_example_mean(gradient_norms(c, 'clean')['l2'])),
    ('input-grad-l1-adv', 'smoothness', lambda c: per_example_mean(gradient_norms(c, 'adv')['l1'])),
    ('input-grad-l2-adv', 'smoothness', lambda c: per_example_mean(gradient_norms(c, 'adv')['l2'])),
    ('average-flatness', 'flatness', average_flatness),
    ('worst-case-flatness', 'flatness', worst_case_flatness),
    ('boundary-thickness', 'boundary-thickness', lambda c: per_example_mean(boundary_thickness(c))),
]


def _plain(v):
    """JSON without NaN (null), as the bench reads it."""
    return None if isinstance(v, float) and math.isnan(v) else v


def compute_measures(model, data, settings, initial, progress=None):
    """Every measure in order, each seeded with settings['seed'] (the caller's generator kept) and timed,
    as robusta's computeMeasures. Returns [{name, family, value, perExample, seconds, forwarded}] (forwarded:
    images through the model's forward during the measure)."""
    model.eval()
    forwarded = [0]
    hook = model.register_forward_pre_hook(lambda module, inputs: forwarded.__setitem__(0, forwarded[0] + inputs[0].shape[0]))
    ctx = Context(model, data, settings, initial)
    ctx.examples()
    out = []
    for name, family, fn in MEASURES:
        state = torch.get_rng_state()
        torch.manual_seed(settings['seed'])
        forwarded[0] = 0
        t0 = time.perf_counter()
        value, per = fn(ctx)
        per = None if per is None else [_plain(float(v)) for v in per.tolist()]
        seconds = time.perf_counter() - t0
        torch.set_rng_state(state)
        out.append({'name': name, 'family': family, 'value': _plain(float(value)), 'perExample': per, 'seconds': seconds,
                    'forwarded': forwarded[0]})
        if progress:
            progress(name, seconds)
    hook.remove()
    return out
