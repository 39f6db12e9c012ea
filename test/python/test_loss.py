"""The flow-matching loss of a known batch against float64 numpy, the time ranges and draws."""
import math

import numpy as np
import pytest
import torch

from flow_studio_torch.config import experiment
from flow_studio_torch.loss import (batch_loss, drop_labels, form_batch, prepare_batch, sample_times, sampling_time_range,
                                    snr_clipped_weights, training_time_range)
from flow_studio_torch.paths import make_scheduler


def cfg(**kw):
    base = {'data': {'kind': 'toy2d', 'name': 'moons'}, 'model': {'kind': 'mlp'}}
    base.update(kw)
    return experiment(base)


def f(x, t, labels):
    """A fixed nonlinear 'network' whose output depends on x, t and the labels."""
    out = torch.tanh(x) * (1 + t.reshape(-1, *([1] * (x.dim() - 1))))
    if labels is not None:
        out = out + labels.reshape(-1, *([1] * (x.dim() - 1))).to(x.dtype) * 0.1
    return out


def f_np(x, t, labels):
    out = np.tanh(x) * (1 + t.reshape(-1, *([1] * (x.ndim - 1))))
    if labels is not None:
        out = out + labels.reshape(-1, *([1] * (x.ndim - 1))) * 0.1
    return out


@pytest.mark.parametrize('case', [
    dict(path={'kind': 'affine', 'scheduler': {'kind': 'condot'}}, prediction='velocity'),
    dict(path={'kind': 'affine', 'scheduler': {'kind': 'cosine'}}, prediction='eps', time={'weighting': 'snr-clipped'}),
    dict(path={'kind': 'affine', 'scheduler': {'kind': 'vp'}}, prediction='x1', time={'weighting': 'snr-clipped'}),
    dict(path={'kind': 'affine', 'scheduler': {'kind': 'polynomial', 'n': 2}}, prediction='velocity', time={'weighting': 'snr-clipped'}),
    dict(path={'kind': 'interpolant', 's': 0.5}, prediction='velocity'),
])
def test_loss_of_a_known_batch(case):
    c = cfg(**case)
    rng = np.random.default_rng(3)
    B, shape = 6, (3, 4, 2)
    x0, x1, eps = (rng.standard_normal((B, *shape)) for _ in range(3))
    t = rng.uniform(0.05, 0.95, B)
    labels = np.array([0, 1, 2, 1, 0, 3])
    b = form_batch(c, torch.tensor(x0, dtype=torch.float32), torch.tensor(x1, dtype=torch.float32), t,
                   torch.tensor(eps, dtype=torch.float32), labels)
    loss = batch_loss(f, b).item()

    col = lambda v: v.reshape(-1, 1, 1, 1)  # noqa: E731
    p = case['path']
    w = np.ones(B)
    if p['kind'] == 'interpolant':
        s = p['s']
        g = s * np.sqrt(t * (1 - t))
        dg = s * (1 - 2 * t) / (2 * np.sqrt(t * (1 - t)))
        xt = col(t) * x1 + col(1 - t) * x0 + col(g) * eps
        target = x1 - x0 + col(dg) * eps
    else:
        k = p['scheduler']['kind']
        if k == 'condot':
            a, sg, da, ds = t, 1 - t, np.ones(B), -np.ones(B)
        elif k == 'cosine':
            a, sg = np.sin(np.pi * t / 2), np.cos(np.pi * t / 2)
            da, ds = np.pi / 2 * np.cos(np.pi * t / 2), -np.pi / 2 * np.sin(np.pi * t / 2)
        elif k == 'polynomial':
            a, sg, da, ds = t ** 2, 1 - t ** 2, 2 * t, -2 * t
        else:
            u = 1 - t
            T = 0.5 * u * u * 19.9 + 0.1 * u
            a, sg = np.exp(-T / 2), np.sqrt(1 - np.exp(-T))
            da = ds = None
        xt = col(a) * x1 + col(sg) * x0
        pred = case['prediction']
        target = {'velocity': (col(da) * x1 + col(ds) * x0) if da is not None else None, 'eps': x0, 'x1': x1}[pred]
        if case.get('time', {}).get('weighting') == 'snr-clipped':
            snr = a ** 2 / sg ** 2
            # min-SNR-5 in its published forms: eps min(snr, 5) / snr, x1 min(snr, 5);
            # velocity (polynomial n = 2): B = x1's factor = -sigma / (alpha dSigma - sigma dAlpha)
            if pred == 'eps':
                w = np.minimum(snr, 5) / snr
            elif pred == 'x1':
                w = np.minimum(snr, 5)
            else:
                Bf = -sg / (a * ds - sg * da)
                w = np.minimum(snr, 5) * Bf ** 2
    ref = (col(w) * (f_np(xt, t, labels) - target) ** 2).mean()
    assert loss == pytest.approx(ref, rel=2e-5)


def test_snr_weights_closed_forms():
    t = np.array([0.1, 0.5, 0.9])
    s = make_scheduler({'kind': 'condot'})
    snr = (t / (1 - t)) ** 2
    assert np.allclose(snr_clipped_weights(s, 'velocity', t), np.minimum(snr, 5) * (1 - t) ** 2)
    assert np.allclose(snr_clipped_weights(s, 'x1', t, gamma=2), np.minimum(snr, 2))
    assert snr_clipped_weights(s, 'x1', np.array([0.0]))[0] == 0  # snr = 0: nothing about x1 is visible


def test_time_ranges():
    aff = lambda k, **kw: {'kind': 'affine', 'scheduler': {'kind': k, **kw}}  # noqa: E731
    assert training_time_range(aff('condot'), 'velocity') == (0.0, 1.0)
    assert training_time_range(aff('condot'), 'eps') == (1e-3, 1.0)
    assert training_time_range(aff('condot'), 'x1') == (0.0, 1 - 1e-3)
    assert training_time_range(aff('vp'), 'velocity') == (0.0, 1 - 1e-3)  # dSigma infinite at t = 1
    assert training_time_range(aff('polynomial', n=0.5), 'velocity') == (1e-3, 1.0)
    assert training_time_range({'kind': 'interpolant', 's': 0.3}, 'velocity') == (1e-3, 1 - 1e-3)
    assert training_time_range({'kind': 'interpolant', 's': 0}, 'velocity') == (0.0, 1.0)
    assert sampling_time_range(aff('condot'), 'eps') == (0.05, 1.0)
    assert sampling_time_range(aff('vp'), 'velocity') == (0.0, 1.0)


def test_time_draws_follow_their_distributions():
    rng = np.random.default_rng(0)
    u = sample_times(20000, {'distribution': 'uniform'}, rng, 0.2, 0.7)
    assert u.min() >= 0.2 and u.max() < 0.7 and abs(u.mean() - 0.45) < 0.005
    ln = sample_times(20000, {'distribution': 'logit-normal', 'mean': 0.5, 'std': 0.8}, rng)
    z = np.log(ln / (1 - ln))
    assert abs(z.mean() - 0.5) < 0.03 and abs(z.std() - 0.8) < 0.03


def test_label_dropout_rate_and_stream():
    labels = np.arange(10000) % 7
    out = drop_labels(labels, 7, 0.25, np.random.default_rng(1))
    dropped = out == 7
    assert abs(dropped.mean() - 0.25) < 0.015 and np.array_equal(out[~dropped], labels[~dropped])
    # one uniform per label whatever p: the stream after dropout does not depend on p
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    drop_labels(labels, 7, 0.0, r1)
    drop_labels(labels, 7, 0.9, r2)
    assert r1.random() == r2.random()


def test_prepare_batch_draws_in_a_fixed_order():
    c = cfg(path={'kind': 'interpolant', 's': 0.2}, conditional=True)
    x0 = torch.randn(8, 2)
    x1 = torch.randn(8, 2)
    lab = np.arange(8) % 2
    a = prepare_batch(c, x0, x1, np.random.default_rng(9), (1e-3, 1 - 1e-3), lab, 2)
    b = prepare_batch(c, x0, x1, np.random.default_rng(9), (1e-3, 1 - 1e-3), lab, 2)
    assert torch.equal(a.xt, b.xt) and torch.equal(a.target, b.target) and torch.equal(a.labels, b.labels)
    assert a.t.dtype == torch.float32 and np.all((a.times > 1e-3) & (a.times < 1 - 1e-3))
    assert math.isclose(float(a.t[0]), float(np.float32(a.times[0])))
