# Plain-PyTorch reference implementations of SPSA, EAD (L1 and EN rules), SparseFool, JSMA and LGV's
# model collection, for test/attacks/other-family.test.ts. Loaded after reference.py (it uses its
# helpers: deepfool, grad_of, pex). Written from the papers and torchattacks' structure (one example at
# a time where torchattacks loops), with robusta's documented corrections (see each function).
import math

import torch
import torch.nn.functional as F


def _margin(z, c):
    """z_c - max_{j != c} z_j."""
    zc = z.gather(1, c[:, None]).squeeze(1)
    other = z.scatter(1, c[:, None], float('-inf')).amax(1)
    return zc - other


# ---- SPSA (Uesato et al. 2018), torchattacks/advertorch structure with torch.optim.Adam -----------

def spsa(model, x, y, eps, delta, lr, nb_iter, nb_sample, max_batch_size, seed, t=None):
    torch.manual_seed(seed)
    cls = y if t is None else t

    def loss(z, c):
        return -_margin(z, c) if t is not None else _margin(z, c)

    n = x.shape[0]
    rest = list(x.shape[1:])
    dx = torch.zeros_like(x, requires_grad=True)
    opt = torch.optim.Adam([dx], lr=lr)
    for _ in range(nb_iter):
        with torch.no_grad():
            xx = x + dx
            g = torch.zeros_like(x)
            for start in range(0, nb_sample, max_batch_size):
                k = min(max_batch_size, nb_sample - start)
                v = torch.empty([k, 1] + rest).bernoulli_().mul_(2.0).sub_(1.0)
                xs = xx.unsqueeze(0).expand(k, n, *rest)
                vs = v.expand(k, n, *rest)
                cs = cls.unsqueeze(0).expand(k, n).reshape(-1)
                plus = loss(model((xs + delta * vs).reshape(k * n, *rest)), cs)
                minus = loss(model((xs - delta * vs).reshape(k * n, *rest)), cs)
                df = (plus - minus).view(-1, *([1] * len(rest)))
                g += (df / (2.0 * delta * vs.reshape(k * n, *rest))).view(k, n, *rest).sum(0)
            g /= nb_sample
        opt.zero_grad()
        dx.grad = g
        opt.step()
        with torch.no_grad():
            dx.copy_(torch.clamp(x + dx.clamp(-eps, eps), 0, 1) - x)
    return (x + dx).detach().clamp(0, 1)


# ---- EAD (Chen et al. 2018), Algorithm 1; every c restarts from x0 (as the paper) --------------------

def ead(model, x, y, rule, kappa=0.0, lr=0.01, bs_steps=9, max_iter=100, abort_early=True, c0=1e-3, beta=1e-3, t=None):
    targeted = t is not None
    cls = t if targeted else y
    n = x.shape[0]
    lower = torch.zeros(n)
    const = torch.full([n], c0)
    upper = torch.full([n], 1e10)
    o_best = torch.full([n], 1e10)
    final = x.clone()

    def f(z):
        m = _margin(z, cls)
        return (-m if targeted else m).clamp_min(-kappa)

    def fooled(z):
        zz = z.clone()
        zz[torch.arange(n), cls] += -kappa if targeted else kappa
        p = zz.argmax(1)
        return p == cls if targeted else p != cls

    every = max(max_iter // 10, 1)
    for outer in range(bs_steps):
        if bs_steps >= 10 and outer == bs_steps - 1:
            const = upper.clone()
        xk = x.clone()
        yk = x.clone()
        best = torch.full([n], 1e10)
        best_pred = torch.full([n], -1, dtype=torch.long)
        prev = 1e6
        step_lr = lr
        for k in range(1, max_iter + 1):
            yv = yk.detach().requires_grad_(True)
            smooth = (const * f(model(yv))).sum() + (yv - x).square().flatten(1).sum(1).sum()
            smooth.backward()
            with torch.no_grad():
                ynew = yk - yv.grad * step_lr
                d = ynew - x
                xnew = torch.where(d > beta, (ynew - beta).clamp(max=1), torch.where(d < -beta, (ynew + beta).clamp(min=0), x))
                yk = xnew + (xnew - xk) * (k / (k + 3))
                xk = xnew
                z = model(xk)
                l2 = (xk - x).square().flatten(1).sum(1)
                l1 = (xk - x).abs().flatten(1).sum(1)
                if abort_early and (k - 1) % every == 0:
                    loss = ((const * f(z)).sum() + l2.sum() + l1.sum() * beta).item()
                    if loss > prev * 0.999999:
                        break
                    prev = loss
                cost = l1 if rule == 'L1' else l2 + l1 * beta
                ok = fooled(z)
                b = (cost < best) & ok
                best = torch.where(b, cost, best)
                best_pred = torch.where(b, z.argmax(1), best_pred)
                bo = (cost < o_best) & ok
                o_best = torch.where(bo, cost, o_best)
                final = torch.where(pex(bo, x), xk, final)
            step_lr = lr * (1 - k / max_iter) ** 0.5
        success = (best_pred != -1) & ((best_pred == cls) if targeted else (best_pred != cls))
        upper = torch.where(success, torch.minimum(upper, const), upper)
        lower = torch.where(success, lower, torch.maximum(lower, const))
        const = torch.where(upper < 1e9, (lower + upper) / 2, const * 10)
    return final


# ---- SparseFool (Modas et al. 2019), one example at a time as torchattacks ---------------------------
# DeepFool is reference.py's (robusta's: no clipping of intermediate steps); the boundary class is the
# prediction at x_B, or the runner-up class if that is still the label.

def linear_solver(x0, normal, point):
    shape = x0.shape
    w = normal.flatten()
    p = point.flatten()
    coord = w.clone()
    xi = x0.flatten().clone()
    sign_true = ((w * (xi - p)).sum()).sign()
    beta = 0.001 * sign_true
    current = sign_true
    while current == sign_true and bool((coord != 0).any()):
        fk = (w * (xi - p)).sum() + beta
        j = int(coord.abs().argmax())
        pert = (fk.abs() / coord.abs().max()).clamp_min(1e-4)
        xi = xi.clone()
        xi[j] = xi[j] + pert * coord[j].sign()
        xi = xi.clamp(0, 1)
        current = ((w * (xi - p)).sum()).sign()
        coord[j] = 0
    return xi.reshape(shape)


def sparsefool(model, x, y, steps=10, lam=3.0, overshoot=0.02):
    out = []
    for i in range(x.shape[0]):
        x0 = x[i:i + 1]
        label = int(y[i])
        adv = x0.clone()
        for _ in range(steps):
            with torch.no_grad():
                if int(model(adv).argmax(1)) != label:
                    break
            xdf = deepfool(model, adv, y[i:i + 1], 50, 0.02)
            xb = x0 + lam * (xdf - x0)
            with torch.no_grad():
                z = model(xb)[0]
                k = int(z.argmax())
                if k == label:
                    z2 = z.clone()
                    z2[label] = float('-inf')
                    k = int(z2.argmax())
            xg = xb.detach().requires_grad_(True)
            zz = model(xg)[0]
            g, = torch.autograd.grad(zz[k] - zz[label], [xg])
            g = g / g.norm()
            xi = linear_solver(x0, g, xb)
            adv = (x0 + (1 + overshoot) * (xi - x0)).clamp(0, 1).detach()
        out.append(adv)
    return torch.cat(out)


# ---- JSMA (Papernot et al. 2016), one example at a time ---------------------------------------------
# Admissible pairs: both features in the search domain, p != q, alpha > 0 and beta < 0 (theta > 0);
# stop when none is admissible. beta = d(sum_j z_j)/dx - alpha.

def jsma(model, x, y, theta=1.0, gamma=0.1, num_classes=10, t=None):
    out = []
    d = x[0].numel()
    max_iter = int(math.ceil(d * gamma / 2.0))
    eye = torch.eye(d, dtype=torch.bool)
    for i in range(x.shape[0]):
        target = int(t[i]) if t is not None else (int(y[i]) + 1) % num_classes
        img = x[i:i + 1].clone()
        domain = (img.flatten() < 0.99) if theta > 0 else (img.flatten() > 0.01)
        for _ in range(max_iter):
            with torch.no_grad():
                if int(model(img).argmax(1)) == target or not bool(domain.any()):
                    break
            xg = img.detach().requires_grad_(True)
            z = model(xg)
            ga, = torch.autograd.grad(z[0, target], [xg], retain_graph=True)
            gs, = torch.autograd.grad(z.sum(), [xg])
            a1 = ga.flatten()
            b1 = gs.flatten() - a1
            a = a1[None, :] + a1[:, None]
            b = b1[None, :] + b1[:, None]
            ok = (domain[None, :] & domain[:, None]) & ~eye
            ok &= (a > 0) & (b < 0) if theta > 0 else (a < 0) & (b > 0)
            sal = torch.where(ok, a * b.abs(), torch.zeros(()))
            score = sal if theta > 0 else -sal
            if not float(score.max()) > 0:
                break
            best = int(score.flatten().argmax())
            p, q = best // d, best % d
            flat = img.flatten().clone()
            flat[p] += theta
            flat[q] += theta
            img = flat.clamp(0, 1).reshape(img.shape)
            domain[p] = False
            domain[q] = False
        out.append(img)
    return torch.cat(out)


# ---- LGV (Gubri et al. 2022): weights along SGD, then BIM on the averaged surrogates ------------------

def lgv_collect(params, forward, batches, lr, momentum, wd, span, samples):
    """params: leaf tensors; batches(sample, b) -> (x, y); returns the list of snapshots."""
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    snaps = []
    for s in range(samples):
        for b in range(span):
            xb, yb = batches(s, b)
            loss = F.cross_entropy(forward(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        snaps.append([p.detach().clone() for p in params])
    return snaps


def bim(model, x, y, eps, alpha, steps, t=None):
    adv = x.clone()
    for _ in range(steps):
        g, _, _ = grad_of(model, adv, ce_objective(y, t))
        adv = proj_linf(adv + g.sign() * alpha, x, eps)
    return adv
