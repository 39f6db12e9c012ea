"""From a trained network to samples (core/train/sample.ts, core/solver/ode.ts).

Guided velocity field: pred = (1 + w) f(x, t, c) - w f(x, t, null) over the doubled batch, then
v = A(t) x + B(t) pred with the prediction -> velocity conversion (paths.conversion_coeffs): the
conversion is affine in the prediction, so guiding then converting is exact.

Solvers integrate dx/dt = v(x, t) from t0 to t1 on a uniform grid (euler, midpoint, heun, rk4), or
adaptively (dopri5: Dormand-Prince 5(4), error norm sqrt(mean((e / (atol + rtol max(|y|, |y'|)))^2)),
PI step control with the TS engine's constants).
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch

from .errors import ConfigError, SolverError
from .paths import Scheduler, conversion_coeffs

Field = Callable[[torch.Tensor, float], torch.Tensor]


def guided_field(predict, prediction: str, scheduler: Scheduler, num_classes: int, w: float = 0.0,
                 labels: Optional[torch.Tensor] = None) -> Field:
    """v(x, t) of ``predict(x, t [B], labels)`` (a model in engine layout), guided with weight w;
    without ``labels`` a conditional model gets the "no label" class and w has no effect."""
    if not (w >= 0 and math.isfinite(w)):
        raise ConfigError('sampling.cfg', f'must be a finite number >= 0, got {w}')

    def raw(x: torch.Tensor, t: float) -> torch.Tensor:
        b = x.shape[0]
        tt = torch.full((b,), t, dtype=torch.float32, device=x.device)
        if num_classes == 0:
            return predict(x, tt, None)
        null = torch.full((b,), num_classes, dtype=torch.long, device=x.device)
        if labels is None:
            return predict(x, tt, null)
        if w == 0:
            return predict(x, tt, labels)
        both = predict(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([labels, null]))
        pc, pu = both[:b], both[b:]
        return (1 + w) * pc - w * pu

    def field(x: torch.Tensor, t: float) -> torch.Tensor:
        if prediction == 'velocity':
            return raw(x, t)
        a, s, da, ds = (float(v) for v in scheduler.coeffs(t))
        A, B = conversion_coeffs(prediction, 'velocity', a, s, da, ds, t)
        p = raw(x, t)
        return B * p if A == 0 else A * x + B * p

    return field


TABLEAUX: Dict[str, Tuple[list, list, list]] = {
    # (c, a rows, b)
    'euler': ([0.0], [[]], [1.0]),
    'midpoint': ([0.0, 0.5], [[], [0.5]], [0.0, 1.0]),
    'heun': ([0.0, 1.0], [[], [1.0]], [0.5, 0.5]),
    'rk4': ([0.0, 0.5, 0.5, 1.0], [[], [0.5], [0.0, 0.5], [0.0, 0.0, 1.0]], [1 / 6, 1 / 3, 1 / 3, 1 / 6]),
}

DOPRI_C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1]
DOPRI_A = [[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9], [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
           [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656], [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]]
DOPRI_E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40]
SAFETY, MIN_FACTOR, MAX_FACTOR, PI_BETA = 0.9, 0.2, 10.0, 0.04
PI_EXPONENT = 1 / 5 - 0.75 * PI_BETA


def _combine(y, ks, coeffs, h):
    out = y
    for c, k in zip(coeffs, ks):
        if c != 0:
            out = out + (h * c) * k
    return out


@torch.no_grad()
def integrate(field: Field, x0: torch.Tensor, method: str, t0: float = 0.0, t1: float = 1.0, steps: int = 50,
              rtol: float = 1e-5, atol: float = 1e-5, max_steps: int = 10000) -> Tuple[torch.Tensor, int]:
    """x(t1) from x(t0) = x0; returns (x, number of field evaluations)."""
    if method in TABLEAUX:
        c, a, b = TABLEAUX[method]
        grid = np.linspace(t0, t1, steps + 1)
        y, nfe = x0, 0
        for n in range(steps):
            t, h = float(grid[n]), float(grid[n + 1] - grid[n])
            ks = []
            for i in range(len(c)):
                yi = _combine(y, ks, a[i], h) if any(v != 0 for v in a[i]) else y
                ks.append(field(yi, t + c[i] * h))
                nfe += 1
            y = _combine(y, ks, b, h)
        return y, nfe
    if method != 'dopri5':
        raise ConfigError('sampling.solver', f"unknown ODE method '{method}'; allowed: euler, midpoint, heun, rk4, dopri5")
    return _dopri5(field, x0, t0, t1, rtol, atol, max_steps)


def _err_norm(e, y, y_new, rtol, atol) -> float:
    scale = atol + rtol * torch.maximum(y.abs(), y_new.abs()) if y_new is not None else atol + rtol * y.abs()
    return math.sqrt(float(((e / scale) ** 2).mean().item()))


def _dopri5(field: Field, y: torch.Tensor, t0: float, t1: float, rtol: float, atol: float, max_steps: int):
    span = t1 - t0
    direction = 1.0 if span > 0 else -1.0
    t = t0
    f0 = field(y, t)
    nfe = 1
    # Starting step (HNW I, II.4): h0 f0 about 1% of y, refined by a probe of the second derivative.
    d0 = _err_norm(y, y, None, rtol, atol)
    d1 = _err_norm(f0, y, None, rtol, atol)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, abs(span))
    f1 = field(y + direction * h0 * f0, t + direction * h0)
    nfe += 1
    d2 = _err_norm(f1 - f0, y, None, rtol, atol) / h0
    dmax = max(d1, d2)
    h1 = max(1e-6, h0 * 1e-3) if dmax <= 1e-15 else (0.01 / dmax) ** (1 / 5)
    h = min(100 * h0, h1, abs(span))
    err_old = 1e-4
    steps = 0
    while direction * (t1 - t) > 0:
        if steps >= max_steps:
            raise SolverError(f'dopri5: no convergence within maxSteps = {max_steps} steps; stopped at t={t}')
        if h < 1e-12 * max(1.0, abs(t)):
            raise SolverError(f'dopri5: step size underflow at t={t}, h={h}')
        if h * 1.01 >= abs(t1 - t):
            h = abs(t1 - t)
        hs = direction * h
        ks = [f0]
        for i in range(1, 7):
            ks.append(field(_combine(y, ks, DOPRI_A[i], hs), t + DOPRI_C[i] * hs))
            nfe += 1
        y_new = _combine(y, ks, DOPRI_A[6] + [0.0], hs)
        err = _err_norm(_combine(torch.zeros_like(y), ks, DOPRI_E, hs), y, y_new, rtol, atol)
        steps += 1
        if err <= 1 and math.isfinite(err):
            t = t1 if h == abs(t1 - t) else t + hs
            y, f0 = y_new, ks[6]
            ratio = min(MAX_FACTOR, max(MIN_FACTOR, SAFETY * err_old ** PI_BETA / max(err, 1e-10) ** PI_EXPONENT))
            err_old = max(err, 1e-4)
            h = h * ratio
        else:
            h = h * (max(MIN_FACTOR, SAFETY * err ** -PI_EXPONENT) if math.isfinite(err) else MIN_FACTOR)
    return y, nfe
