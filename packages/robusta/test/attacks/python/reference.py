# Plain-PyTorch reference implementations of the published attacks, written independently of the
# TypeScript code, for the attack tests (loaded by helpers.referencePrelude() into runPython).
# Deterministic attacks use the same operation order as robusta so results agree to float rounding.
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F


def load_tensors(d):
    man = json.load(open(os.path.join(d, 'manifest.json')))
    out = {}
    for name, m in man.items():
        dt = {'float32': np.float32, 'int64': np.int64}[m['dtype']]
        arr = np.fromfile(os.path.join(d, name + '.bin'), dtype=dt)
        out[name] = torch.from_numpy(arr.copy()).reshape(m['shape'])
    return out


def save_tensors(d, tensors):
    """Writes float32/int64 tensors as raw files plus out-manifest.json (read by helpers.readTensors)."""
    man = {}
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.bool:
            t = t.long()
        if t.dtype not in (torch.float32, torch.int64):
            t = t.float()
        t.numpy().tofile(os.path.join(d, 'out-' + name + '.bin'))
        man[name] = {'shape': list(t.shape), 'dtype': str(t.dtype).replace('torch.', '')}
    json.dump(man, open(os.path.join(d, 'out-manifest.json'), 'w'))


def make_model(kind, W):
    if kind == 'mlp':
        return lambda x: F.linear(F.relu(F.linear(x.flatten(1), W['mlp.w1'], W['mlp.b1'])), W['mlp.w2'], W['mlp.b2'])

    def cnn(x):
        h = F.relu(F.conv2d(x, W['cnn.k1'], W['cnn.c1'], stride=2))
        h = F.relu(F.conv2d(h, W['cnn.k2'], W['cnn.c2'], stride=2))
        return F.linear(h.flatten(1), W['cnn.w3'], W['cnn.b3'])
    return cnn


def grad_of(model, x, objective):
    xg = x.detach().requires_grad_(True)
    z = model(xg)
    o = objective(z)
    g, = torch.autograd.grad(o.sum(), [xg])
    return g, z.detach(), o.detach()


def ce_objective(y, t=None):
    if t is not None:
        return lambda z: F.cross_entropy(z, t, reduction='none').neg()
    return lambda z: F.cross_entropy(z, y, reduction='none')


def pex(v, like):
    return v.reshape([v.shape[0]] + [1] * (like.dim() - 1))


def vnorm(x, p):
    return torch.linalg.vector_norm(x.flatten(1), p, dim=1)


def proj_linf(adv, x, eps):
    return torch.clamp(adv, x - eps, x + eps).clamp(0, 1)


def proj_l2(adv, x, eps):
    d = adv - x
    factor = vnorm(d, 2).reciprocal().mul(eps).clamp_max(1)
    return (x + d * pex(factor, d)).clamp(0, 1)


# ---- gradient attacks (Goodfellow 2015, Kurakin 2017, Madry 2018, Dong 2018, Zhang 2019) ----------

def fgsm(model, x, y, eps, t=None):
    g, _, _ = grad_of(model, x, ce_objective(y, t))
    return (x + g.sign() * eps).clamp(0, 1)


def pgd(model, x, y, eps, alpha, steps, random_start=False, seed=None, t=None):
    if seed is not None:
        torch.manual_seed(seed)
    adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1) if random_start else x.clone()
    for _ in range(steps):
        g, _, _ = grad_of(model, adv, ce_objective(y, t))
        adv = proj_linf(adv + g.sign() * alpha, x, eps)
    return adv


def pgdl2(model, x, y, eps, alpha, steps, random_start=False, seed=None):
    if seed is not None:
        torch.manual_seed(seed)
    adv = x.clone()
    if random_start:
        direction = torch.empty_like(x).normal_()
        length = vnorm(direction, 2)
        radius = torch.zeros_like(length).uniform_(0, 1) * eps
        adv = (x + direction * pex(radius / length, x)).clamp(0, 1)
    for _ in range(steps):
        g, _, _ = grad_of(model, adv, ce_objective(y))
        unit = g / pex(vnorm(g, 2) + 1e-10, g)
        adv = proj_l2(adv + unit * alpha, x, eps)
    return adv


def mifgsm(model, x, y, eps, alpha, steps, decay):
    adv = x.clone()
    m = torch.zeros_like(x)
    for _ in range(steps):
        g, _, _ = grad_of(model, adv, ce_objective(y))
        m = g / g.abs().mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12) + m * decay
        adv = proj_linf(adv + m.sign() * alpha, x, eps)
    return adv


def tpgd(model, x, eps, alpha, steps, seed=None):
    if seed is not None:
        torch.manual_seed(seed)
    p_clean = F.softmax(model(x).detach(), 1)
    adv = (x + torch.randn_like(x) * 0.001).clamp(0, 1)
    for _ in range(steps):
        g, _, _ = grad_of(model, adv, lambda z: F.kl_div(F.log_softmax(z, 1), p_clean, reduction='none').sum(1))
        adv = proj_linf(adv + g.sign() * alpha, x, eps)
    return adv


# ---- CW-L2 (Carlini & Wagner 2017) with torch.optim.Adam ----------------------------------------------

def cw(model, x, y, c, kappa, steps, lr):
    w = torch.atanh(x.mul(2).sub(1).mul(0.999999)).detach().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    best_adv = x.clone()
    best_l2 = torch.full([x.shape[0]], 1e10)
    prev = float('inf')
    every = max(steps // 10, 1)
    for step in range(steps):
        adv = (torch.tanh(w) + 1) * 0.5
        l2 = (adv - x).square().flatten(1).sum(1)
        z = model(adv)
        real = z.gather(1, y[:, None]).squeeze(1)
        other = z.scatter(1, y[:, None], float('-inf')).amax(1)
        cost = l2.sum() + (real - other).clamp_min(-kappa).sum() * c
        opt.zero_grad()
        cost.backward()
        opt.step()
        better = (z.detach().argmax(1) != y) & (best_l2 > l2.detach())
        best_l2 = torch.where(better, l2.detach(), best_l2)
        best_adv = torch.where(pex(better, x), adv.detach(), best_adv)
        if step % every == 0:
            if cost.item() > prev:
                break
            prev = cost.item()
    return best_adv


# ---- DeepFool (Moosavi-Dezfooli 2016), one example at a time as the reference code ------------------

def deepfool(model, x, y, steps, overshoot):
    out = []
    for i in range(x.shape[0]):
        x0 = x[i:i + 1]
        label = int(y[i])
        r_tot = torch.zeros_like(x0)
        adv = x0.clone()
        for _ in range(steps):
            xg = adv.detach().requires_grad_(True)
            z = model(xg)[0]
            if int(z.argmax()) != label:
                break
            grads = []
            for k in range(z.shape[0]):
                g, = torch.autograd.grad(z[k], [xg], retain_graph=True)
                grads.append(g.flatten())
            J = torch.stack(grads)
            f = z.detach() - z.detach()[label]
            wk = J - J[label]
            nrm = wk.norm(dim=1).clamp_min(1e-12)
            dist = f.abs() / nrm
            dist[label] = float('inf')
            l = int(dist.argmin())
            r = (dist[l] + 1e-4) / nrm[l] * wk[l]
            r_tot = r_tot + r.reshape(x0.shape)
            adv = (x0 + r_tot * (1 + overshoot)).clamp(0, 1)
        out.append(adv.detach())
    return torch.cat(out)


# ---- APGD (Croce & Hein 2020, Algorithm 1) -------------------------------------------------------

def dlr(z, y):
    s = z.sort(1, descending=True)[0]
    zy = z.gather(1, y[:, None]).squeeze(1)
    other = z.scatter(1, y[:, None], float('-inf')).amax(1)
    return -(zy - other) / (s[:, 0] - s[:, 2] + 1e-12)


def dlr_targeted(z, y, t):
    s = z.sort(1, descending=True)[0]
    zy = z.gather(1, y[:, None]).squeeze(1)
    zt = z.gather(1, t[:, None]).squeeze(1)
    return -(zy - zt) / (s[:, 0] - (s[:, 2] + s[:, 3]) * 0.5 + 1e-12)


def check_oscillation(loss_steps, j, k, rho):
    """Condition 1 as autoattack's check_oscillation: over the last k entries of loss_steps ending at j,
    how often the loss rose; index j - k may be -1, which (Python indexing) is the array's last,
    still zero, row."""
    t = torch.zeros(loss_steps.shape[1])
    for c in range(k):
        t += (loss_steps[j - c] > loss_steps[j - c - 1]).float()
    return t <= k * rho


def apgd_single(model, x, y, eps, norm, n_iter, objective, rho=0.75, eot=1, trace=None):
    """Returns (fooled bool [B], adv). No early stop: the full-batch reference. `trace`, a list, gets
    (iteration, step sizes, reduced) at every checkpoint."""
    B = x.shape[0]

    def P(v):
        return proj_linf(v, x, eps) if norm == 'Linf' else proj_l2(v, x, eps)

    def direction(g):
        return g.sign() if norm == 'Linf' else g / pex(vnorm(g, 2) + 1e-12, g)

    def gradient(p):
        total = None
        for _ in range(eot):
            g, z, o = grad_of(model, p, objective)
            total = g if total is None else total + g
        return total / eot, z, o

    if norm == 'Linf':
        u = torch.rand(x.shape) * 2 - 1
        x_adv = (x + u / pex(vnorm(u, float('inf')), u) * eps).clamp(0, 1)
    else:
        u = torch.randn(x.shape)
        x_adv = (x + u / pex(vnorm(u, 2) + 1e-12, u) * eps).clamp(0, 1)
    grad, z, loss = gradient(x_adv)
    fooled = z.argmax(1) != y
    adv_out = torch.where(pex(fooled, x), x_adv, x)
    x_best, grad_best, loss_best = x_adv.clone(), grad.clone(), loss.clone()
    step = torch.full([B], 2 * eps)
    x_old = x_adv.clone()
    first, dec, mn = max(int(0.22 * n_iter), 1), max(int(0.03 * n_iter), 1), max(int(0.06 * n_iter), 1)
    k = first
    since = 0
    loss_steps = torch.zeros([n_iter, B])
    loss_best_last = loss_best.clone()
    reduced_last = torch.ones(B, dtype=torch.bool)
    for i in range(n_iter):
        a = 0.75 if i > 0 else 1.0
        zpt = P(x_adv + direction(grad) * pex(step, x))
        x_new = P(x_adv + (zpt - x_adv) * a + (x_adv - x_old) * (1 - a))
        x_old = x_adv
        grad, z, loss = gradient(x_new)
        now = z.argmax(1) != y
        adv_out = torch.where(pex(now, x), x_new, adv_out)
        fooled = fooled | now
        loss_steps[i] = loss
        imp = loss > loss_best
        x_best = torch.where(pex(imp, x), x_new, x_best)
        grad_best = torch.where(pex(imp, x), grad, grad_best)
        loss_best = torch.where(imp, loss, loss_best)
        since += 1
        if since == k:
            reduce = check_oscillation(loss_steps, i, k, rho) | (~reduced_last & (loss_best_last >= loss_best))
            step = torch.where(reduce, step / 2, step)
            x_new = torch.where(pex(reduce, x), x_best, x_new)
            grad = torch.where(pex(reduce, x), grad_best, grad)
            reduced_last = reduce
            loss_best_last = loss_best.clone()
            if trace is not None:
                trace.append((i + 1, step.clone(), reduce.clone()))
            since = 0
            k = max(k - dec, mn)
        x_adv = x_new
    return fooled, adv_out


def apgd(model, x, y, eps, norm='Linf', n_iter=100, loss='ce', n_restarts=1, seed=0, eot=1):
    torch.manual_seed(seed)
    z0 = model(x).detach()
    robust = z0.argmax(1) == y
    adv = x.clone()
    for _ in range(n_restarts):
        ids = robust.nonzero().flatten()
        if ids.numel() == 0:
            break
        yy = y[ids]
        obj = ce_objective(yy) if loss == 'ce' else (lambda z, yy=yy: dlr(z, yy))
        f, a = apgd_single(model, x[ids], yy, eps, norm, n_iter, obj, eot=eot)
        adv[ids[f]] = a[f]
        robust[ids[f]] = False
    return robust, adv


def apgdt(model, x, y, eps, norm='Linf', n_iter=100, n_target=9, n_restarts=1, seed=0):
    torch.manual_seed(seed)
    z0 = model(x).detach()
    robust = z0.argmax(1) == y
    adv = x.clone()
    for rank in range(2, min(n_target, z0.shape[1] - 1) + 2):
        for _ in range(n_restarts):
            ids = robust.nonzero().flatten()
            if ids.numel() == 0:
                break
            yy = y[ids]
            tt = z0[ids].sort(1, descending=True)[1][:, rank - 1]
            f, a = apgd_single(model, x[ids], yy, eps, norm, n_iter, lambda z: dlr_targeted(z, yy, tt))
            adv[ids[f]] = a[f]
            robust[ids[f]] = False
    return robust, adv


# ---- FAB (Croce & Hein 2020) with a bisection projection -----------------------------------------

def box_hyperplane_projection(p, w, c, norm, iters=100):
    """min ||d||_norm s.t. <w, d> = c, 0 <= p + d <= 1, by bisection on the multiplier tau."""
    flip = (c < 0)[:, None]
    wf = torch.where(flip, -w, w).double()
    cf = c.abs().double()
    pd = p.double()
    room = torch.where(wf > 0, 1 - pd, pd)
    speed = torch.ones_like(wf) if norm == 'Linf' else wf.abs()

    def h(tau):
        return (wf.abs() * torch.minimum(tau[:, None] * speed, room)).sum(1)

    reachable = (wf.abs() * room).sum(1) >= cf
    lo = torch.zeros_like(cf)
    hi = torch.ones_like(cf)
    for _ in range(200):
        grow = h(hi) < cf
        if not bool((grow & reachable).any()):
            break
        hi = torch.where(grow, hi * 2, hi)
    for _ in range(iters):
        mid = (lo + hi) / 2
        below = h(mid) < cf
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    mag = torch.where(reachable[:, None], torch.minimum(hi[:, None] * speed, room), room)
    return (mag * wf.sign()).float()


def fab_single(model, x, y, target, eps, norm, steps, alpha_max, eta, beta, random_start):
    B = x.shape[0]
    p = float('inf') if norm == 'Linf' else 2
    xf = x.flatten(1)
    if random_start:
        u = (torch.rand(x.shape) * 2 - 1) if norm == 'Linf' else torch.randn(x.shape)
        x1 = (x + u / pex(vnorm(u, p), u) * (eps * 0.5)).clamp(0, 1)
    else:
        x1 = x.clone()
    best = torch.full([B], 1e10)
    adv = x.clone()
    for _ in range(steps):
        xg = x1.detach().requires_grad_(True)
        z = model(xg)
        if target is None:
            J = torch.stack([torch.autograd.grad(z[:, k].sum(), [xg], retain_graph=True)[0].flatten(1)
                             for k in range(z.shape[1])], 1)
            zd = z.detach()
            df = zd - zd.gather(1, y[:, None])
            df.scatter_(1, y[:, None], 1e10)
            dg = J - J[torch.arange(B), y][:, None, :]
        else:
            diff = z.gather(1, target[:, None]).squeeze(1) - z.gather(1, y[:, None]).squeeze(1)
            g, = torch.autograd.grad(diff.sum(), [xg])
            df = diff.detach()[:, None]
            dg = g.flatten(1)[:, None, :]
        dual = dg.abs().sum(2) if norm == 'Linf' else dg.norm(dim=2)
        s = (df.abs() / (dual + 1e-12)).argmin(1)
        f = df[torch.arange(B), s]
        w = dg[torch.arange(B), s]
        x1f = x1.flatten(1)
        d1 = box_hyperplane_projection(x1f, w, -f, norm)
        d0 = box_hyperplane_projection(xf, w, (w * (x1f - xf)).sum(1) - f, norm)
        a1 = vnorm(d1, p).clamp_min(1e-8)
        a0 = vnorm(d0, p).clamp_min(1e-8)
        alpha = (a1 / (a1 + a0)).clamp(0, alpha_max)[:, None]
        nxt = ((x1f + eta * d1) * (1 - alpha) + (xf + eta * d0) * alpha).clamp(0, 1).reshape(x.shape)
        with torch.no_grad():
            fooled = model(nxt).argmax(1) != y
        dist = vnorm(nxt - x, p)
        better = fooled & (dist < best)
        best = torch.where(better, dist, best)
        adv = torch.where(pex(better, x), nxt, adv)
        x1 = torch.where(pex(fooled, x), x + (nxt - x) * beta, nxt)
    return best, adv


def fab(model, x, y, eps, norm='Linf', steps=10, n_restarts=1, alpha_max=0.1, eta=1.05, beta=0.9,
        multi_targeted=False, n_target=9, seed=0):
    torch.manual_seed(seed)
    z0 = model(x).detach()
    robust = z0.argmax(1) == y
    adv = x.clone()
    ranks = list(range(2, min(n_target, z0.shape[1] - 1) + 2)) if multi_targeted else [None]
    for rank in ranks:
        for r in range(n_restarts):
            ids = robust.nonzero().flatten()
            if ids.numel() == 0:
                break
            tt = None if rank is None else z0[ids].sort(1, descending=True)[1][:, rank - 1]
            best, a = fab_single(model, x[ids], y[ids], tt, eps, norm, steps, alpha_max, eta, beta, r > 0)
            ok = best <= eps
            adv[ids[ok]] = a[ok]
            robust[ids[ok]] = False
    return robust, adv


# ---- Square Attack (Andriushchenko et al. 2020), L-inf ------------------------------------------------

def p_selection(it, n_queries, p_init):
    it = int(it / n_queries * 10000)
    for b, d in [(8000, 512), (6000, 256), (4000, 128), (2000, 64), (1000, 32), (500, 16), (200, 8), (50, 4), (10, 2)]:
        if it > b:
            return p_init / d
    return p_init


def margin(z, y):
    return z.gather(1, y[:, None]).squeeze(1) - z.scatter(1, y[:, None], float('-inf')).amax(1)


def square_linf_per_image(model, x, y, eps, n_queries=5000, p_init=0.8, seed=0):
    """Untargeted margin-loss Square L-inf, one window per image; returns (robust, adv, queries)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        robust = model(x).argmax(1) == y
        adv = x.clone()
        queries = torch.zeros(x.shape[0], dtype=torch.long)
        ids = robust.nonzero().flatten()
        if ids.numel() == 0:
            return robust, adv, queries
        xs, ys = x[ids], y[ids]
        n, c, h, w = xs.shape
        signs = torch.randint(0, 2, [n, c, 1, w]).float() * 2 - 1
        best = (xs + signs * eps).clamp(0, 1)
        m = margin(model(best), ys)
        q = torch.ones(n, dtype=torch.long)
        rows = torch.arange(h)
        cols = torch.arange(w)
        for i in range(n_queries):
            act = (m > 0).nonzero().flatten()
            if act.numel() == 0:
                break
            s = min(max(int(round(math.sqrt(p_selection(i, n_queries, p_init) * h * w))), 1), h, w)
            k = act.numel()
            top = torch.randint(0, h - s + 1, [k])
            left = torch.randint(0, w - s + 1, [k])
            mask = (((rows[None] >= top[:, None]) & (rows[None] < top[:, None] + s))[:, :, None]
                    & ((cols[None] >= left[:, None]) & (cols[None] < left[:, None] + s))[:, None, :])[:, None]
            xa, ba = xs[act], best[act]
            sg = torch.randint(0, 2, [k, c, 1, 1]).float() * 2 - 1
            cand = torch.where(mask, (xa + sg * eps).clamp(0, 1), ba)
            for _ in range(100):
                same = (cand - ba).abs().flatten(1).amax(1) < 1e-7
                if not bool(same.any()):
                    break
                sg = torch.where(pex(same, sg), torch.randint(0, 2, [k, c, 1, 1]).float() * 2 - 1, sg)
                cand = torch.where(mask, (xa + sg * eps).clamp(0, 1), ba)
            mc = margin(model(cand), ys[act])
            acc = mc < m[act]
            acc = acc | (mc <= 0)
            m[act] = torch.where(acc, mc, m[act])
            best[act] = torch.where(pex(acc, cand), cand, ba)
            q[act] += 1
        ok = m <= 0
        adv[ids[ok]] = best[ok]
        robust[ids[ok]] = False
        queries[ids] = q
    return robust, adv, queries


def eta_rect(x, y):
    d = torch.zeros(x, y)
    cx, cy = x // 2 + 1, y // 2 + 1
    r0, c0 = cx - 1, cy - 1
    for k in range(max(cx, cy)):
        d[max(r0, 0):min(r0 + 2 * k + 1, x), max(c0, 0):min(c0 + 2 * k + 1, y)] += 1.0 / (k + 1) ** 2
        r0 -= 1
        c0 -= 1
    return d / d.norm()


def eta(s):
    d = torch.zeros(s, s)
    d[:s // 2] = eta_rect(s // 2, s)
    d[s // 2:] = -eta_rect(s - s // 2, s)
    return d / d.norm()


def square_l2_per_image(model, x, y, eps, n_queries=5000, p_init=0.8, seed=0):
    """Untargeted margin-loss Square L2 with one pair of windows per image; returns (robust, adv, queries)."""
    torch.manual_seed(seed)

    def unit(d):
        return d / pex(vnorm(d, 2) + 1e-12, d)

    def windows(k, h, w, s):
        top = torch.randint(0, h - s + 1, [k])
        left = torch.randint(0, w - s + 1, [k])
        o = torch.arange(s)
        return torch.arange(k)[:, None, None], (top[:, None] + o[None])[:, :, None], (left[:, None] + o[None])[:, None, :]

    with torch.no_grad():
        robust = model(x).argmax(1) == y
        adv = x.clone()
        queries = torch.zeros(x.shape[0], dtype=torch.long)
        ids = robust.nonzero().flatten()
        if ids.numel() == 0:
            return robust, adv, queries
        xs, ys = x[ids], y[ids]
        n, c, h, w = xs.shape
        s0 = max(h // 5, 1)
        st = (h - s0 * 5) // 2
        delta = torch.zeros_like(xs)
        for vh in range(st, st + s0 * (h // s0), s0):
            for vw in range(st, st + s0 * (w // s0), s0):
                if vh + s0 <= h and vw + s0 <= w:
                    delta[:, :, vh:vh + s0, vw:vw + s0] += eta(s0)[None, None] * (torch.randint(0, 2, [n, c, 1, 1]).float() * 2 - 1)
        best = (xs + unit(delta) * eps).clamp(0, 1)
        m = margin(model(best), ys)
        q = torch.ones(n, dtype=torch.long)
        for i in range(n_queries):
            act = (m > 0).nonzero().flatten()
            if act.numel() == 0:
                break
            k = act.numel()
            s = max(int(round(math.sqrt(p_selection(i, n_queries, p_init) * h * w))), 3)
            s = s + 1 if s % 2 == 0 else s
            s = min(s, h if h % 2 else h - 1)
            xa, ba = xs[act], best[act]
            d = (ba - xa).permute(0, 2, 3, 1).clone()           # [k, h, w, c]
            i1, i2 = windows(k, h, w, s), windows(k, h, w, s)
            old = d[i1]                                          # [k, s, s, c]
            old_norm = old.square().sum((1, 2), keepdim=True).sqrt()
            image_norm = vnorm(d, 2)
            mask = torch.zeros(k, h, w, 1)
            mask[i1] = 1
            mask[i2] = 1
            win_norm = vnorm(d * mask, 2)
            tr = torch.rand(k) > 0.5
            pat = torch.where(tr[:, None, None], eta(s).t()[None], eta(s)[None])[..., None]   # [k, s, s, 1]
            new = pat * (torch.randint(0, 2, [k, 1, 1, c]).float() * 2 - 1) + old / (old_norm + 1e-12)
            budget = ((eps ** 2 - image_norm ** 2).clamp_min(0) / c + win_norm ** 2).sqrt()
            new = new / (new.square().sum((1, 2), keepdim=True).sqrt() + 1e-12) * budget[:, None, None, None]
            d[i2] = 0
            d[i1] = new
            cand = (xa + unit(d.permute(0, 3, 1, 2)) * eps).clamp(0, 1)
            mc = margin(model(cand), ys[act])
            acc = (mc < m[act]) | (mc <= 0)
            m[act] = torch.where(acc, mc, m[act])
            best[act] = torch.where(pex(acc, cand), cand, ba)
            q[act] += 1
        ok = m <= 0
        adv[ids[ok]] = best[ok]
        robust[ids[ok]] = False
        queries[ids] = q
    return robust, adv, queries


# ---- Square as AutoAttack runs it (square.py): one window per iteration for the whole batch ---------

def uniform_corner(high):
    """AutoAttack's random_int(0, high): floor(high * u), u ~ U[0, 1), so 0 .. high - 1."""
    return int((high * torch.rand([1])).long())


def sign_draw(shape):
    """AutoAttack's random_choice: sign(2u - 1)."""
    return (2 * torch.rand(shape) - 1).sign()


def rect_rings(x, y):
    d = torch.zeros([x, y])
    r0, c0 = x // 2, y // 2
    for k in range(max(x // 2 + 1, y // 2 + 1)):
        d[max(r0, 0):min(r0 + 2 * k + 1, x), max(c0, 0):min(c0 + 2 * k + 1, y)] += 1.0 / (torch.tensor([[k + 1.0]]) ** 2)
        r0 -= 1
        c0 -= 1
    return d / (d ** 2).sum(dim=(0, 1), keepdim=True).sqrt()


def eta_oriented(s):
    """The eta pattern in float32, transposed when a uniform draw exceeds 0.5."""
    d = torch.zeros([s, s])
    d[:s // 2] = rect_rings(s // 2, s)
    d[s // 2:] = -1. * rect_rings(s - s // 2, s)
    d = d / (d ** 2).sum(dim=(0, 1), keepdim=True).sqrt()
    return d.t() if torch.rand([1]) > 0.5 else d


def l2_of(d):
    return (d ** 2).flatten(1).sum(-1).sqrt().view(-1, 1, 1, 1)


def square_batch(model, x, y, eps, norm='Linf', n_queries=5000, p_init=0.8, seed=0):
    """Untargeted margin-loss Square; one window (L-inf: and one sign per channel) per iteration shared
    by the batch, as AutoAttack's square.py. Returns (robust, adv, queries)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        robust = model(x).argmax(1) == y
        adv = x.clone()
        queries = torch.zeros(x.shape[0], dtype=torch.long)
        ids = robust.nonzero().flatten()
        if ids.numel() == 0:
            return robust, adv, queries
        xs, ys = x[ids], y[ids]
        n, c, h, w = xs.shape
        if norm == 'Linf':
            best = (xs + eps * sign_draw([n, c, 1, w])).clamp(0, 1)
        else:
            t = h // 5
            start = (h - 5 * t) // 2
            d0 = torch.zeros_like(xs)
            for a in range(h // t):
                for b in range(w // t):
                    vh, vw = start + a * t, start + b * t
                    d0[:, :, vh:vh + t, vw:vw + t] += eta_oriented(t).view(1, 1, t, t) * sign_draw([n, c, 1, 1])
            best = (xs + d0 / (l2_of(d0) + 1e-12) * eps).clamp(0, 1)
        m = margin(model(best), ys)
        q = torch.ones(n, dtype=torch.long)
        for i in range(n_queries):
            act = (m > 0).nonzero().flatten()
            k = act.numel()
            xa, ba = xs[act], best[act]
            p = p_selection(i, n_queries, p_init)
            if norm == 'Linf':
                s = max(int(round(math.sqrt(p * (c * h * w) / c))), 1)
                vh, vw = uniform_corner(h - s), uniform_corner(w - s)
                change = torch.zeros([c, h, w])
                change[:, vh:vh + s, vw:vw + s] = 2. * eps * sign_draw([c, 1, 1])
                cand = torch.min(torch.max(ba + change, xa - eps), xa + eps).clamp(0, 1)
            else:
                s = max(int(round(math.sqrt(p * (c * h * w) / c))), 3)
                s += 1 - s % 2
                d = ba - xa
                vh, vw = uniform_corner(h - s), uniform_corner(w - s)
                m1 = torch.zeros_like(xa)
                m1[:, :, vh:vh + s, vw:vw + s] = 1.
                n1 = (d[:, :, vh:vh + s, vw:vw + s] ** 2).sum(dim=(-2, -1), keepdim=True).sqrt()
                vh2, vw2 = uniform_corner(h - s), uniform_corner(w - s)
                m2 = torch.zeros_like(xa)
                m2[:, :, vh2:vh2 + s, vw2:vw2 + s] = 1.
                n_img = l2_of(d)
                n_win = l2_of(d * torch.max(m1, m2))
                new = eta_oriented(s).view(1, 1, s, s) * sign_draw([k, c, 1, 1])
                new = new + d[:, :, vh:vh + s, vw:vw + s] / (n1 + 1e-12)
                room = (torch.clamp_min(torch.full_like(new, eps) ** 2 - n_img ** 2, 0) / c + n_win ** 2).sqrt()
                new = new / ((new ** 2).sum(dim=(-2, -1), keepdim=True).sqrt() + 1e-12) * room
                d = d.clone()
                d[:, :, vh2:vh2 + s, vw2:vw2 + s] = 0.
                d[:, :, vh:vh + s, vw:vw + s] = new
                cand = (xa + d / (l2_of(d) + 1e-12) * eps).clamp(0, 1)
            if k > 0:
                mc = margin(model(cand), ys[act])
                acc = (mc < m[act]) | (mc <= 0)
                m[act] = torch.where(acc, mc, m[act])
                best[act] = torch.where(pex(acc, cand), cand, ba)
                q[act] += 1
            if not bool((m > 0).any()):
                break
        ok = m <= 0
        adv[ids[ok]] = best[ok]
        robust[ids[ok]] = False
        queries[ids] = q
    return robust, adv, queries


def square_linf(model, x, y, eps, n_queries=5000, p_init=0.8, seed=0):
    return square_batch(model, x, y, eps, 'Linf', n_queries, p_init, seed)


def square_l2(model, x, y, eps, n_queries=5000, p_init=0.8, seed=0):
    return square_batch(model, x, y, eps, 'L2', n_queries, p_init, seed)


def autoattack(model, x, y, eps, norm='Linf', n_iter=100, n_target=9, n_queries=5000, seed=0, version='standard', eot=20):
    """Returns (robust bool, adv, robust counts after each stage)."""
    with torch.no_grad():
        robust = model(x).argmax(1) == y
    adv = x.clone()
    stages = []
    if version == 'standard':
        runs = [lambda xs, ys: apgd(model, xs, ys, eps, norm, n_iter, 'ce', 1, seed),
                lambda xs, ys: apgdt(model, xs, ys, eps, norm, n_iter, n_target, 1, seed),
                lambda xs, ys: fab(model, xs, ys, eps, norm, n_iter, 1, multi_targeted=True, n_target=n_target, seed=seed),
                lambda xs, ys: square_linf(model, xs, ys, eps, n_queries, seed=seed)[:2]]
    else:
        runs = [lambda xs, ys: apgd(model, xs, ys, eps, norm, n_iter, 'ce', 1, seed, eot),
                lambda xs, ys: apgd(model, xs, ys, eps, norm, n_iter, 'dlr', 1, seed, eot)]
    for run in runs:
        ids = robust.nonzero().flatten()
        if ids.numel() > 0:
            r, a = run(x[ids], y[ids])
            ok = ~r
            adv[ids[ok]] = a[ok]
            robust[ids[ok]] = False
        stages.append(int(robust.sum()))
    return robust, adv, stages
