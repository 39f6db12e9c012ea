"""Adam / AdamW, schedule, clipping and EMA against float64 numpy and torch.optim."""
import math

import numpy as np
import pytest
import torch

from flow_studio_torch.optim import Optimizer, ema_decay_at, learning_rate

BASE = {'kind': 'adam', 'lr': 1e-2, 'beta1': 0.9, 'beta2': 0.99, 'eps': 1e-8, 'weightDecay': 0.0, 'warmupSteps': 0,
        'schedule': 'constant', 'minLrRatio': 0.1, 'gradClip': 0.0, 'emaDecay': 0.9}


def test_learning_rate_schedule():
    o = dict(BASE, warmupSteps=4, schedule='cosine', minLrRatio=0.2)
    assert [learning_rate(o, k, 20) for k in range(4)] == pytest.approx([0.0025, 0.005, 0.0075, 0.01])
    assert learning_rate(o, 4, 20) == pytest.approx(0.01)
    assert learning_rate(o, 12, 20) == pytest.approx(0.01 * (0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * 0.5))))
    assert learning_rate(o, 20, 20) == pytest.approx(0.002) and learning_rate(o, 99, 20) == pytest.approx(0.002)
    assert learning_rate(BASE, 50, 20) == 0.01


def test_ema_decay_ramp():
    assert ema_decay_at(BASE, 0) == pytest.approx(0.1) and ema_decay_at(BASE, 5) == pytest.approx(6 / 15)
    assert ema_decay_at(BASE, 1000) == 0.9 and ema_decay_at(dict(BASE, emaWarmup=False), 0) == 0.9


def numpy_reference(spec, w0, grads):
    """The update of optim.py's module doc in float64, written from the formula."""
    w = [x.astype(np.float64) for x in w0]
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    ema = [x.copy() for x in w]
    b1, b2, wd = spec['beta1'], spec['beta2'], spec['weightDecay']
    for j, g in enumerate(grads):
        k = j + 1
        lr = learning_rate(spec, j, len(grads))
        norm = math.sqrt(sum((x.astype(np.float64) ** 2).sum() for x in g))
        c = spec['gradClip'] / norm if spec['gradClip'] > 0 and norm > spec['gradClip'] else 1.0
        d = ema_decay_at(spec, j)
        for i in range(len(w)):
            gi = c * g[i]
            if spec['kind'] == 'adam' and wd > 0:
                gi = gi + wd * w[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi ** 2
            mh, vh = m[i] / (1 - b1 ** k), v[i] / (1 - b2 ** k)
            if spec['kind'] == 'adamw' and wd > 0:
                w[i] = w[i] * (1 - lr * wd)
            w[i] = w[i] - lr * mh / (np.sqrt(vh) + spec['eps'])
            ema[i] = d * ema[i] + (1 - d) * w[i]
    return w, ema


@pytest.mark.parametrize('spec', [
    BASE,
    dict(BASE, gradClip=0.5, warmupSteps=3, schedule='cosine'),
    dict(BASE, kind='adam', weightDecay=0.1, gradClip=1.0),
    dict(BASE, kind='adamw', weightDecay=0.1, emaDecay=0.5),
])
def test_updates_match_the_formula(spec):
    rng = np.random.default_rng(0)
    w0 = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)]
    grads = [[rng.standard_normal(x.shape).astype(np.float32) * 2 for x in w0] for _ in range(8)]
    params = [torch.tensor(x) for x in w0]
    opt = Optimizer(params, spec, 8)
    for g in grads:
        info = opt.apply([torch.tensor(x) for x in g])
        assert info.applied
    w, ema = numpy_reference(spec, w0, grads)
    for p, r in zip(params, w):
        assert np.allclose(p.numpy(), r, rtol=1e-5, atol=1e-6)
    for e, r in zip(opt.ema, ema):
        assert np.allclose(e.numpy(), r, rtol=1e-5, atol=1e-6)
    assert opt.k == 8


def test_plain_adam_matches_torch_optim_adam():
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal(10).astype(np.float32)
    a, b = torch.tensor(w0), torch.tensor(w0, requires_grad=True)
    ours = Optimizer([a], BASE, 20)
    ref = torch.optim.Adam([b], lr=BASE['lr'], betas=(BASE['beta1'], BASE['beta2']), eps=BASE['eps'])
    for _ in range(20):
        g = torch.tensor(rng.standard_normal(10).astype(np.float32))
        ours.apply([g])
        b.grad = g.clone()
        ref.step()
    assert torch.allclose(a, b.detach(), rtol=1e-5, atol=1e-6)


def test_non_finite_gradients_change_nothing():
    p = torch.ones(3)
    opt = Optimizer([p], BASE, 5)
    opt.apply([torch.ones(3)])
    before = (p.clone(), opt.m[0].clone(), opt.v[0].clone(), opt.ema[0].clone(), opt.k)
    info = opt.apply([torch.tensor([1.0, float('nan'), 0.0])])
    assert not info.applied and math.isnan(info.grad_norm)
    assert torch.equal(p, before[0]) and torch.equal(opt.m[0], before[1]) and torch.equal(opt.v[0], before[2])
    assert torch.equal(opt.ema[0], before[3]) and opt.k == before[4]
