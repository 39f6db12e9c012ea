"""Probability paths in Flow Studio's convention: noise x0 at t = 0, data x1 at t = 1,
x_t = alpha_t x1 + sigma_t x0 (core/path/scheduler.ts, affine.ts, interpolant.ts, convert.ts).

Scheduler values are computed in float64 on the host (numpy), one per sample, as the TS engine
does; tensors receive float32 columns. Definitions (derivatives d/dt):

  condot      alpha = t,            sigma = 1 - (1 - sigma_min) t
  polynomial  alpha = t^n,          sigma = 1 - t^n
  cosine      alpha = sin(pi t / 2), sigma = cos(pi t / 2)       (sigma = 0 exactly at t = 1)
  linear-vp   alpha = t,            sigma = sqrt(1 - t^2)
  vp          u = 1 - t, T = u^2 (B - b) / 2 + u b, alpha = exp(-T / 2), sigma = sqrt(1 - exp(-T))
  ve          alpha = 1,            sigma = s_min (s_max / s_min)^(1 - t)

Interpolant (SB-CFM): x_t = t x1 + (1 - t) x0 + gamma_t eps, gamma_t = s sqrt(t (1 - t)),
target u_t = x1 - x0 + dGamma_t eps, dGamma_t = s (1 - 2t) / (2 sqrt(t (1 - t))).

Conversions between prediction types (convert.ts): with pred = f1 x1 + fe x0 and out = g1 x1 + ge x0,
out = A x_t + B pred, A = (g1 fe - ge f1) / D, B = (ge alpha - g1 sigma) / D, D = alpha fe - sigma f1;
parallel bases (eps <-> score) give out = k pred.
"""
from __future__ import annotations

import math
from typing import Dict, Tuple

import numpy as np

from .errors import ConfigError, SolverError

Coeffs = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class Scheduler:
    """alpha_t, sigma_t and their derivatives, vectorised over t (float64)."""

    def __init__(self, spec: Dict, fn, snr_inverse):
        self.spec = spec
        self._fn = fn
        self._snr_inverse = snr_inverse

    def coeffs(self, t) -> Coeffs:
        """(alpha, sigma, dAlpha, dSigma) at times t (a number or an array), float64."""
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
            a, s, da, ds = self._fn(t)
        b = np.broadcast_arrays(a, s, da, ds, t)
        return tuple(np.array(x, dtype=np.float64) for x in b[:4])  # type: ignore[return-value]

    def snr_inverse(self, snr: float) -> float:
        """The t with alpha_t / sigma_t = snr."""
        return float(self._snr_inverse(float(snr)))


def condot(sigma_min: float = 0.0) -> Scheduler:
    if not (0 <= sigma_min < 1):
        raise ConfigError('scheduler.sigmaMin', f'must be in [0, 1), got {sigma_min}')
    k = 1 - sigma_min
    spec = {'kind': 'condot'} if sigma_min == 0 else {'kind': 'condot', 'sigmaMin': sigma_min}
    return Scheduler(spec, lambda t: (t, 1 - k * t, np.ones_like(t), np.full_like(t, -k)),
                     lambda r: 1.0 if r == math.inf else min(1.0, r / (1 + k * r)))


def polynomial(n: float) -> Scheduler:
    if not (n > 0 and math.isfinite(n)):
        raise ConfigError('scheduler.n', f'must be a positive number, got {n}')

    def fn(t):
        tn = t ** n
        at0 = 1.0 if n == 1 else (math.inf if n < 1 else 0.0)
        d = np.where(t == 0, at0, n * t ** (n - 1))
        return tn, 1 - tn, d, -d

    return Scheduler({'kind': 'polynomial', 'n': n}, fn, lambda r: 1.0 if r == math.inf else (r / (1 + r)) ** (1 / n))


def cosine() -> Scheduler:
    h = math.pi / 2

    def fn(t):
        end = t == 1
        return np.sin(h * t), np.where(end, 0.0, np.cos(h * t)), np.where(end, 0.0, h * np.cos(h * t)), -h * np.sin(h * t)

    return Scheduler({'kind': 'cosine'}, fn, lambda r: (2 / math.pi) * math.atan(r))


def linear_vp() -> Scheduler:
    def fn(t):
        sigma = np.sqrt(np.maximum(0.0, 1 - t * t))
        return t, sigma, np.ones_like(t), np.where(sigma == 0, -math.inf, -t / sigma)

    return Scheduler({'kind': 'linear-vp'}, fn, lambda r: 1.0 if r == math.inf else r / math.sqrt(1 + r * r))


def vp(beta_min: float = 0.1, beta_max: float = 20.0) -> Scheduler:
    if not beta_min > 0:
        raise ConfigError('scheduler.betaMin', f'must be > 0, got {beta_min}')
    if not beta_max > beta_min:
        raise ConfigError('scheduler.betaMax', f'must be > betaMin ({beta_min}), got {beta_max}')
    b, db = beta_min, beta_max - beta_min

    def fn(t):
        u = 1 - t
        T = 0.5 * u * u * db + u * b
        dT = -(u * db + b)
        alpha = np.exp(-0.5 * T)
        sigma = np.sqrt(-np.expm1(-T))  # 1 - exp(-T) without cancellation for small T
        return alpha, sigma, -0.5 * dT * alpha, np.where(sigma == 0, -math.inf, np.exp(-T) * dT / (2 * sigma))

    def inv(r):
        if r == math.inf:
            return 1.0
        if r <= 0:
            return 0.0
        T = math.log1p(1 / (r * r))
        u = 2 * T / (math.sqrt(b * b + 2 * db * T) + b)
        return min(1.0, max(0.0, 1 - u))

    return Scheduler({'kind': 'vp', 'betaMin': beta_min, 'betaMax': beta_max}, fn, inv)


def ve(sigma_min: float = 0.01, sigma_max: float = 50.0) -> Scheduler:
    if not sigma_min > 0:
        raise ConfigError('scheduler.sigmaMin', f'must be > 0, got {sigma_min}')
    if not sigma_max > sigma_min:
        raise ConfigError('scheduler.sigmaMax', f'must be > sigmaMin ({sigma_min}), got {sigma_max}')
    L = math.log(sigma_max / sigma_min)

    def fn(t):
        sigma = sigma_min * np.exp(L * (1 - t))
        return np.ones_like(t), sigma, np.zeros_like(t), -L * sigma

    return Scheduler({'kind': 've', 'sigmaMin': sigma_min, 'sigmaMax': sigma_max}, fn,
                     lambda r: min(1.0, max(0.0, 1 - math.log(1 / (r * sigma_min)) / L)) if r > 0 else 0.0)


def make_scheduler(spec: Dict) -> Scheduler:
    kind = spec.get('kind')
    if kind == 'condot':
        return condot(spec.get('sigmaMin') or 0.0)
    if kind == 'polynomial':
        return polynomial(spec['n'])
    if kind == 'cosine':
        return cosine()
    if kind == 'linear-vp':
        return linear_vp()
    if kind == 'vp':
        return vp(spec.get('betaMin', 0.1), spec.get('betaMax', 20.0))
    if kind == 've':
        return ve(spec.get('sigmaMin', 0.01), spec.get('sigmaMax', 50.0))
    raise ConfigError('scheduler.kind', f"unknown scheduler '{kind}'; allowed: condot, polynomial, cosine, linear-vp, vp, ve")


def path_scheduler(path: Dict) -> Scheduler:
    """The path's scheduler; CondOT (alpha = t, sigma = 1 - t) for the interpolant's mean path."""
    return make_scheduler(path['scheduler']) if path['kind'] == 'affine' else condot()


def source_scale(s: Scheduler) -> float:
    """The sampler's x(0) = sigma_0 N(0, I)."""
    return float(s.coeffs(0.0)[1])


def bridge_noise(t: np.ndarray, s: float) -> Tuple[np.ndarray, np.ndarray]:
    """gamma_t = s sqrt(t (1 - t)) and dGamma_t = s (1 - 2t) / (2 sqrt(t (1 - t))), float64."""
    t = np.asarray(t, dtype=np.float64)
    if s == 0:
        return np.zeros_like(t), np.zeros_like(t)
    r = np.sqrt(t * (1 - t))
    with np.errstate(divide='ignore', invalid='ignore'):
        d = np.where(r == 0, np.where(t == 0, math.inf, -math.inf), s * (1 - 2 * t) / (2 * r))
    return s * r, d


PREDICTION_TYPES = ('velocity', 'eps', 'x1', 'score')


def _basis(kind: str, alpha, sigma, da, ds):
    if kind == 'velocity':
        return da, ds
    if kind == 'eps':
        return 0.0, 1.0
    if kind == 'x1':
        return 1.0, 0.0
    if kind == 'score':
        return 0.0, -1.0 / sigma
    raise ConfigError('prediction', f"unknown prediction type '{kind}'; allowed: {', '.join(PREDICTION_TYPES)}")


def conversion_coeffs(frm: str, to: str, alpha: float, sigma: float, da: float, ds: float, t=None) -> Tuple[float, float]:
    """(A, B) with out = A x_t + B pred, one time (float64). SolverError where singular (convert.ts)."""
    _basis(frm, 1, 1, 1, 1)
    _basis(to, 1, 1, 1, 1)
    if frm == to:
        return 0.0, 1.0
    where = f't={t}' if t is not None else f'alpha={alpha}, sigma={sigma}'

    def fail(reason):
        raise SolverError(f"cannot convert a '{frm}' prediction to '{to}' at {where}: {reason}")

    if not (math.isfinite(alpha) and math.isfinite(sigma)):
        fail(f'alpha={alpha}, sigma={sigma} are not finite')
    if 'score' in (frm, to) and sigma == 0:
        fail('sigma_t = 0 there, where the score is undefined')
    if 'velocity' in (frm, to) and not (math.isfinite(da) and math.isfinite(ds)):
        fail(f"the scheduler's derivatives are not finite there (dAlpha={da}, dSigma={ds})")
    f1, fe = _basis(frm, alpha, sigma, da, ds)
    g1, ge = _basis(to, alpha, sigma, da, ds)
    norm2 = f1 * f1 + fe * fe
    if f1 * ge - fe * g1 == 0 and norm2 > 0:
        return 0.0, (g1 * f1 + ge * fe) / norm2
    det = alpha * fe - sigma * f1
    if det == 0:
        fail('the conversion is singular there (alpha dSigma - sigma dAlpha, sigma or alpha is 0)')
    a = (g1 * fe - ge * f1) / det
    b = (ge * alpha - g1 * sigma) / det
    if not (math.isfinite(a) and math.isfinite(b)):
        fail(f'the conversion coefficients overflow (A={a}, B={b})')
    return a, b


def conversion_arrays(frm: str, to: str, c: Coeffs, t: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``conversion_coeffs`` per sample: arrays (A, B) over the times of ``c``."""
    alpha, sigma, da, ds = c
    A = np.empty(alpha.shape)
    B = np.empty(alpha.shape)
    tt = np.broadcast_to(np.asarray(t, dtype=np.float64), alpha.shape)
    for i in np.ndindex(alpha.shape):
        A[i], B[i] = conversion_coeffs(frm, to, float(alpha[i]), float(sigma[i]), float(da[i]), float(ds[i]), float(tt[i]))
    return A, B
