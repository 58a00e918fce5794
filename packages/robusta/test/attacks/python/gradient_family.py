# Plain-PyTorch references for the gradient-based attacks of the torchattacks family (VANILA … Jitter),
# written from the papers and torchattacks 3.5's algorithms, for test/attacks/gradient-family.test.ts.
# Loaded after reference.py (grad_of, ce_objective, proj_linf, pex, vnorm, dlr, ...). Random draws
# follow torchattacks' order and shapes, so one seed gives the same numbers on both sides.
# As reference.py, gradients are of the per-example losses summed (torchattacks averages them: the
# signs and normalised directions are the same).
import warnings

import numpy as np

# an even TI kernel with padding='same' pads a copy of the input: what the test wants, so no warning
warnings.filterwarnings('ignore', message="Using padding='same' with even kernel")


def seed_(seed):
    # None: the caller seeded (and, for a randomized model, ran the clean forward pass that draws noise)
    if seed is not None:
        torch.manual_seed(seed)


def mean_abs_normalized(g):
    # robusta floors the mean at 1e-12 (torchattacks divides by 0 and returns NaN for a zero gradient)
    return g / g.abs().mean(dim=tuple(range(1, g.dim())), keepdim=True).clamp_min(1e-12)


def vanila(x):
    return x.clone()


def gn(x, std, seed):
    seed_(seed)
    return (x + torch.randn_like(x) * std).clamp(0, 1)


def linf_steps(model, x, adv, y, eps, alpha, steps, t=None):
    for _ in range(steps):
        g, _, _ = grad_of(model, adv, ce_objective(y, t))
        adv = proj_linf(adv + g.sign() * alpha, x, eps)
    return adv


def rfgsm(model, x, y, eps, alpha, steps, seed, t=None):
    seed_(seed)
    adv = (x + alpha * torch.randn_like(x).sign()).clamp(0, 1)
    return linf_steps(model, x, adv, y, eps, alpha, steps, t)


def ffgsm(model, x, y, eps, alpha, seed, t=None):
    seed_(seed)
    adv = (x + torch.randn_like(x).uniform_(-eps, eps)).clamp(0, 1)
    g, _, _ = grad_of(model, adv, ce_objective(y, t))
    return proj_linf(adv + alpha * g.sign(), x, eps)


def uniform_start(x, eps):
    return (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)


def eotpgd(model, x, y, eps, alpha, steps, eot_iter, random_start, seed, t=None):
    seed_(seed)
    adv = uniform_start(x, eps) if random_start else x.clone()
    for _ in range(steps):
        grad = torch.zeros_like(adv)
        for _ in range(eot_iter):
            grad += grad_of(model, adv, ce_objective(y, t))[0]
        adv = proj_linf(adv + alpha * grad.sign(), x, eps)
    return adv


def upgd_objective(loss, y, t):
    if loss == 'ce':
        return ce_objective(y, t)
    if loss == 'dlr':
        return (lambda z: dlr_targeted(z, y, t)) if t is not None else (lambda z: dlr(z, y))

    def margin_loss(z):
        # CW's f with kappa = 0 over the true runner-up (torchattacks takes the max of (1 - onehot)·z)
        c = t if t is not None else y
        zc = z.gather(1, c[:, None]).squeeze(1)
        other = z.masked_fill(F.one_hot(c, z.shape[1]).bool(), float('-inf')).max(1)[0]
        return -(other - zc).clamp(min=0) if t is not None else -(zc - other).clamp(min=0)
    return margin_loss


def upgd(model, x, y, eps, alpha, steps, random_start, loss, decay, eot_iter, seed, t=None):
    seed_(seed)
    objective = upgd_objective(loss, y, t)
    momentum = torch.zeros_like(x)
    adv = uniform_start(x, eps) if random_start else x.clone()
    for _ in range(steps):
        grad = torch.zeros_like(adv)
        for _ in range(eot_iter):
            grad += grad_of(model, adv, objective)[0] / eot_iter
        grad = mean_abs_normalized(grad) + momentum * decay
        momentum = grad
        adv = proj_linf(adv + alpha * grad.sign(), x, eps)
    return adv


# ---- randomized smoothing (Salman et al. 2019), torchattacks' PGDRS / PGDRSL2 ------------------------

def smooth_noise(img, noise_type, sd):
    flat = img.view(len(img), -1)
    if noise_type == 'gaussian':
        noise = torch.randn_like(flat) * sd
    else:
        noise = (torch.rand_like(flat) - 0.5) * 2 * sd
    return noise.view(img.shape)


def pgdrs_chunk(model, x, y, norm, eps, alpha, steps, noise_type, sd, m, t=None):
    n = x.shape[0]
    shape = torch.Size([n, m]) + x.shape[1:]
    x_exp = x.unsqueeze(1).expand(shape).reshape(torch.Size([-1]) + x.shape[1:])
    delta = torch.zeros_like(x)
    for _ in range(steps):
        delta = delta.detach().requires_grad_(True)
        img = (x_exp + delta.unsqueeze(1).repeat((1, m) + (1,) * (x.dim() - 1)).view_as(x_exp)).clamp(0, 1)
        logits = model(img + smooth_noise(img, noise_type, sd))
        avg = F.softmax(logits, dim=1).reshape(-1, m, logits.shape[-1]).mean(1, keepdim=True).squeeze(1)
        logp = torch.log(avg.clamp(min=1e-20))
        loss = -F.nll_loss(logp, t, reduction='sum') if t is not None else F.nll_loss(logp, y, reduction='sum')
        g, = torch.autograd.grad(loss, [delta])
        with torch.no_grad():
            if norm == 'Linf':
                delta = torch.clamp(delta + alpha * torch.sign(g), -eps, eps)
            else:
                g = g / pex(vnorm(g, 2) + 1e-10, g)
                delta = delta + alpha * g
                factor = torch.min(eps / vnorm(delta, 2), torch.ones(n))
                delta = delta * pex(factor, delta)
    return torch.clamp(x + delta.detach(), 0, 1)


def pgdrs(model, x, y, norm, eps, alpha, steps, seed, noise_type='gaussian', sd=0.5, m=5, batch_max=2048, t=None):
    seed_(seed)
    if x.shape[0] * m <= batch_max:
        return pgdrs_chunk(model, x, y, norm, eps, alpha, steps, noise_type, sd, m, t)
    k = int(batch_max / m)
    parts = [pgdrs_chunk(model, xs, ys, norm, eps, alpha, steps, noise_type, sd, m, ts)
             for xs, ys, ts in zip(x.split(k), y.split(k), t.split(k) if t is not None else [None] * x.shape[0])]
    return torch.vstack(parts)


# ---- transfer attacks: DI (Xie et al. 2019), TI (Dong et al. 2019), NI/SI (Lin et al. 2020), VT (Wang & He 2021)

def input_diversity(x, resize_rate, prob):
    # torchattacks' DIFGSM.input_diversity, draws and all (int32 draws, as torchattacks)
    img_size = x.shape[-1]
    img_resize = int(img_size * resize_rate)
    if resize_rate < 1:
        img_size = img_resize
        img_resize = x.shape[-1]
    rnd = torch.randint(low=img_size, high=img_resize, size=(1,), dtype=torch.int32)
    rescaled = F.interpolate(x, size=[rnd, rnd], mode='bilinear', align_corners=False)
    h_rem = img_resize - rnd
    w_rem = img_resize - rnd
    pad_top = torch.randint(low=0, high=h_rem.item(), size=(1,), dtype=torch.int32)
    pad_bottom = h_rem - pad_top
    pad_left = torch.randint(low=0, high=w_rem.item(), size=(1,), dtype=torch.int32)
    pad_right = w_rem - pad_left
    padded = F.pad(rescaled, [pad_left.item(), pad_right.item(), pad_top.item(), pad_bottom.item()], value=0)
    return padded if torch.rand(1) < prob else x


def ti_kernel(name, k, nsig):
    # torchattacks' kernel_generation (scipy's normal pdf when scipy is there)
    if name == 'gaussian':
        x = np.linspace(-nsig, nsig, k)
        try:
            from scipy import stats as st
            k1 = st.norm.pdf(x)
        except ImportError:
            k1 = np.exp(-x ** 2 / 2.0) / np.sqrt(2 * np.pi)
    elif name == 'linear':
        k1 = 1 - np.abs(np.linspace((-k + 1) / 2, (k - 1) / 2, k) / (k + 1) * 2)
    else:
        k1 = np.ones(k)
    raw = np.outer(k1, k1)
    return (raw / raw.sum()).astype(np.float32)


def depthwise(x, kernel, padding='same'):
    c = x.shape[1]
    w = torch.from_numpy(np.ascontiguousarray(kernel))[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, w, stride=1, padding=padding, groups=c)


def difgsm(model, x, y, eps, alpha, steps, decay, resize_rate, prob, random_start, seed, t=None, kernel=None):
    seed_(seed)
    momentum = torch.zeros_like(x)
    adv = uniform_start(x, eps) if random_start else x.clone()
    for _ in range(steps):
        g, _, _ = grad_of(lambda a: model(input_diversity(a, resize_rate, prob)), adv, ce_objective(y, t))
        if kernel is not None:
            g = depthwise(g, kernel)
        g = mean_abs_normalized(g) + momentum * decay
        momentum = g
        adv = proj_linf(adv + alpha * g.sign(), x, eps)
    return adv


def tifgsm(model, x, y, eps, alpha, steps, decay, kernel_name, len_kernel, nsig, resize_rate, prob, random_start, seed, t=None):
    return difgsm(model, x, y, eps, alpha, steps, decay, resize_rate, prob, random_start, seed, t,
                  kernel=ti_kernel(kernel_name, len_kernel, nsig))


def nifgsm(model, x, y, eps, alpha, steps, decay, t=None, m=1):
    # m = 1: NI-FGSM; m > 1: SI-NI-FGSM (gradients of x/2^i, i < m, averaged)
    momentum = torch.zeros_like(x)
    adv = x.clone()
    for _ in range(steps):
        nes = adv + decay * alpha * momentum
        total = torch.zeros_like(x)
        for i in torch.arange(m):
            total += grad_of(lambda a: model(a / torch.pow(2, i)), nes, ce_objective(y, t))[0]
        g = decay * momentum + mean_abs_normalized(total / m)
        momentum = g
        adv = proj_linf(adv + alpha * g.sign(), x, eps)
    return adv


def vmifgsm(model, x, y, eps, alpha, steps, decay, n, beta, seed, t=None, nesterov=False):
    seed_(seed)
    momentum = torch.zeros_like(x)
    v = torch.zeros_like(x)
    adv = x.clone()
    for _ in range(steps):
        at = adv + decay * alpha * momentum if nesterov else adv
        adv_grad = grad_of(model, at, ce_objective(y, t))[0]
        g = mean_abs_normalized(adv_grad + v) + momentum * decay
        momentum = g
        gv = torch.zeros_like(x)
        for _ in range(n):
            neighbour = adv + torch.randn_like(x).uniform_(-eps * beta, eps * beta)
            gv += grad_of(model, neighbour, ce_objective(y, t))[0]
        v = gv / n - adv_grad
        adv = proj_linf(adv + alpha * g.sign(), x, eps)
    return adv


# ---- patch-wise attacks (Gao et al. 2020, 2021): torchattacks' graph() with groups = channels --------------

def pifgsm(model, x, y, eps, num_iter, amplification, project_factor=1.0, smooth=False, t=None):
    alpha = eps / num_iter
    alpha_beta = alpha * amplification
    gamma = alpha_beta * project_factor
    p_kern = np.ones((3, 3), dtype=np.float32) / (3 ** 2 - 1)
    p_kern[1, 1] = 0.0
    t_kern = ti_kernel('gaussian', 3, 3)  # PI-FGSM++'s W_t as the paper (torchattacks swaps its axes)
    lo = (x - eps).clamp(0, 1)
    hi = (x + eps).clamp(0, 1)
    adv = x.clone()
    amp = 0.0
    for _ in range(num_iter):
        # torchattacks' targeted branch: descend CE towards t
        noise = grad_of(model, adv, ce_objective(t if t is not None else y))[0]
        if smooth:
            noise = depthwise(noise, t_kern, padding=1)
        amp += alpha_beta * torch.sign(noise)
        cut = torch.clamp(abs(amp) - eps, 0, 10000.0) * torch.sign(amp)
        projection = gamma * torch.sign(depthwise(cut, p_kern, padding=1))
        amp += projection
        if t is not None:
            adv = adv - alpha_beta * torch.sign(noise) - projection
        else:
            adv = adv + alpha_beta * torch.sign(noise) + projection
        adv = torch.max(torch.min(adv, hi), lo)
    return adv


# ---- Jitter (Schwinn et al. 2021) ---------------------------------------------------------------------

def jitter(model, x, y, eps, alpha, steps, scale, std, random_start, seed, t=None):
    seed_(seed)
    adv = uniform_start(x, eps) if random_start else x.clone()
    for _ in range(steps):
        adv = adv.detach().requires_grad_(True)
        logits = model(adv)
        pred = logits.argmax(1)
        fooled = pred == t if t is not None else pred != y  # the attack already succeeds
        norm_z = torch.linalg.vector_norm(logits, float('inf'), dim=1, keepdim=True)
        hat_z = F.softmax(scale * logits / norm_z, dim=1)
        if std != 0:
            hat_z = hat_z + std * torch.randn_like(hat_z)
        goal = F.one_hot(t if t is not None else y, num_classes=logits.shape[-1]).float()
        cost = F.mse_loss(hat_z, goal, reduction='none').mean(dim=1)
        if t is not None:
            cost = -cost
        norm_r = vnorm(adv - x, float('inf'))
        mask = fooled & (norm_r != 0)
        cost = cost.clone()
        cost[mask] = cost[mask] / norm_r[mask]
        g, = torch.autograd.grad(cost.sum(), [adv])
        adv = proj_linf(adv.detach() + alpha * g.sign(), x, eps)
    return adv
