"""Schedulers, their derivatives and the prediction conversions against closed forms in float64."""
import math

import numpy as np
import pytest

from flow_studio_torch.errors import ConfigError, SolverError
from flow_studio_torch.paths import (bridge_noise, conversion_arrays, conversion_coeffs, make_scheduler, source_scale)

T = np.array([0.0, 0.05, 0.3, 0.5, 0.77, 0.999, 1.0])

CLOSED = {
    'condot': (lambda t: t, lambda t: 1 - t),
    'condot-0.1': (lambda t: t, lambda t: 1 - 0.9 * t),
    'poly-2': (lambda t: t ** 2, lambda t: 1 - t ** 2),
    'cosine': (lambda t: np.sin(np.pi * t / 2), lambda t: np.cos(np.pi * t / 2)),
    'linear-vp': (lambda t: t, lambda t: np.sqrt(1 - t ** 2)),
    'vp': (lambda t: np.exp(-0.5 * (0.5 * (1 - t) ** 2 * 19.9 + 0.1 * (1 - t))),
           lambda t: np.sqrt(1 - np.exp(-(0.5 * (1 - t) ** 2 * 19.9 + 0.1 * (1 - t))))),
    've': (lambda t: np.ones_like(t), lambda t: 0.01 * (50 / 0.01) ** (1 - t)),
}
SPECS = {'condot': {'kind': 'condot'}, 'condot-0.1': {'kind': 'condot', 'sigmaMin': 0.1}, 'poly-2': {'kind': 'polynomial', 'n': 2},
         'cosine': {'kind': 'cosine'}, 'linear-vp': {'kind': 'linear-vp'}, 'vp': {'kind': 'vp'}, 've': {'kind': 've'}}


@pytest.mark.parametrize('name', list(CLOSED))
def test_scheduler_values_and_derivatives(name):
    s = make_scheduler(SPECS[name])
    fa, fs = CLOSED[name]
    a, sg, da, ds = s.coeffs(T)
    assert np.allclose(a, fa(T), rtol=1e-12, atol=1e-15)
    assert np.allclose(sg, fs(T), rtol=1e-12, atol=1e-15) or name == 'cosine'
    if name == 'cosine':  # sigma is exactly 0 at t = 1 (cos(pi/2) is 6e-17 in float64)
        assert sg[-1] == 0 and np.allclose(sg[:-1], fs(T[:-1]), rtol=1e-12)
    # derivatives against central differences, inside (0, 1)
    h = 1e-6
    ti = T[1:-1]
    assert np.allclose(da[1:-1], (fa(ti + h) - fa(ti - h)) / (2 * h), rtol=1e-6, atol=1e-6)
    assert np.allclose(ds[1:-1], (fs(ti + h) - fs(ti - h)) / (2 * h), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('name', ['condot', 'condot-0.1', 'poly-2', 'cosine', 'linear-vp', 'vp', 've'])
def test_snr_inverse_inverts_alpha_over_sigma(name):
    s = make_scheduler(SPECS[name])
    for t in (0.1, 0.4, 0.8):
        a, sg, _, _ = (float(v) for v in s.coeffs(t))
        assert abs(s.snr_inverse(a / sg) - t) < 1e-9


def test_singular_ends_are_infinite_not_nan():
    assert make_scheduler({'kind': 'linear-vp'}).coeffs(1.0)[3] == -math.inf
    assert make_scheduler({'kind': 'vp'}).coeffs(1.0)[3] == -math.inf
    assert make_scheduler({'kind': 'polynomial', 'n': 0.5}).coeffs(0.0)[2] == math.inf
    assert make_scheduler({'kind': 'polynomial', 'n': 3}).coeffs(0.0)[2] == 0
    assert source_scale(make_scheduler({'kind': 've'})) == pytest.approx(50)


def test_scheduler_specs_are_checked():
    with pytest.raises(ConfigError, match='scheduler.betaMax'):
        make_scheduler({'kind': 'vp', 'betaMin': 5, 'betaMax': 1})
    with pytest.raises(ConfigError, match='scheduler.kind'):
        make_scheduler({'kind': 'nope'})


@pytest.mark.parametrize('name', list(SPECS))
def test_conversions_recover_every_prediction_type(name):
    """With x_t = alpha x1 + sigma x0 and the true values of every type, converting the true
    prediction of one type gives the true value of another (out = A x_t + B pred)."""
    s = make_scheduler(SPECS[name])
    rng = np.random.default_rng(0)
    x1, x0 = rng.standard_normal(5), rng.standard_normal(5)
    for t in (0.2, 0.6, 0.9):
        a, sg, da, ds = (float(v) for v in s.coeffs(t))
        xt = a * x1 + sg * x0
        truth = {'velocity': da * x1 + ds * x0, 'eps': x0, 'x1': x1, 'score': -x0 / sg}
        for frm in truth:
            for to in truth:
                A, B = conversion_coeffs(frm, to, a, sg, da, ds, t)
                assert np.allclose(A * xt + B * truth[frm], truth[to], rtol=1e-9, atol=1e-9), (frm, to, t)


def test_conversions_refuse_singular_points():
    s = make_scheduler({'kind': 'condot'})
    with pytest.raises(SolverError, match="'eps' prediction to 'velocity' at t=0"):
        conversion_coeffs('eps', 'velocity', *(float(v) for v in s.coeffs(0.0)), 0.0)
    with pytest.raises(SolverError, match="'x1' prediction to 'velocity'"):
        conversion_coeffs('x1', 'velocity', *(float(v) for v in s.coeffs(1.0)), 1.0)
    c = s.coeffs(np.array([0.3, 0.6]))
    A, B = conversion_arrays('eps', 'velocity', c, np.array([0.3, 0.6]))
    # eps -> velocity: v = (dAlpha / alpha) x + (dSigma - dAlpha sigma / alpha) eps
    assert np.allclose(A, 1 / np.array([0.3, 0.6])) and np.allclose(B, -1 - (1 - np.array([0.3, 0.6])) / np.array([0.3, 0.6]))


def test_bridge_noise_and_its_derivative():
    t = np.array([0.1, 0.5, 0.9])
    g, dg = bridge_noise(t, 0.7)
    assert np.allclose(g, 0.7 * np.sqrt(t * (1 - t)))
    h = 1e-7
    gp, _ = bridge_noise(t + h, 0.7)
    gm, _ = bridge_noise(t - h, 0.7)
    assert np.allclose(dg, (gp - gm) / (2 * h), rtol=1e-6)
    assert bridge_noise(np.array([0.0, 1.0]), 0.7)[1].tolist() == [math.inf, -math.inf]
