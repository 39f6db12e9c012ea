"""The conditional flow-matching loss of one batch (core/train/loss.ts).

  affine path       x_t = alpha_t x1 + sigma_t x0
                    target = dAlpha_t x1 + dSigma_t x0 ('velocity'), x0 ('eps'), x1 ('x1')
  interpolant path  x_t = t x1 + (1 - t) x0 + s sqrt(t (1 - t)) eps,  target = x1 - x0 + dGamma_t eps

  L = (1 / (B D)) sum_i w(t_i) || f(x_t_i, t_i, c_i) - target_i ||^2       (D values per sample)

w = 1, or min-SNR-gamma: w(t) = min(snr_t, gamma) B_t^2, snr_t = alpha_t^2 / sigma_t^2, B_t the
factor by which an error of the prediction becomes an error of x1 (prediction -> x1 conversion).

Times: t = lo + (hi - lo) u, u ~ U[0, 1) or u = sigmoid(z), z ~ N(mean, std^2); [lo, hi] is [0, 1]
moved in by T_EPS = 1e-3 at an end where the prediction cannot be turned into a velocity or the
path's derivatives are infinite (trainingTimeRange); samplers keep SAMPLE_T_EPS = 0.05 from such an
end for eps / x1 models (samplingTimeRange).

Label dropout (classifier-free guidance): each label becomes numClasses ("no label") with
probability labelDropout; one uniform is drawn per label whatever the probability.

Randomness comes from the step's numpy Generator in a fixed order: times, bridge noise, label
dropout (the TS order; the numbers differ, the TS engine has its own generator).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from .data import sigmoid
from .errors import ConfigError, SolverError
from .paths import Scheduler, bridge_noise, conversion_arrays, conversion_coeffs, path_scheduler

T_EPS = 1e-3
SAMPLE_T_EPS = 0.05
SNR_GAMMA = 5.0


def _regular_at(s: Scheduler, prediction: str, t: float) -> bool:
    a, sg, da, ds = (float(v) for v in s.coeffs(t))
    if not all(math.isfinite(v) for v in (a, sg, da, ds)):
        return False
    try:
        conversion_coeffs(prediction, 'velocity', a, sg, da, ds, t)
        return True
    except SolverError:
        return False


def training_time_range(path: Dict, prediction: str, eps: float = T_EPS) -> Tuple[float, float]:
    if path['kind'] == 'interpolant':
        return (eps, 1 - eps) if path['s'] > 0 else (0.0, 1.0)
    s = path_scheduler(path)
    return (0.0 if _regular_at(s, prediction, 0.0) else eps, 1.0 if _regular_at(s, prediction, 1.0) else 1 - eps)


def sampling_time_range(path: Dict, prediction: str, eps: float = SAMPLE_T_EPS) -> Tuple[float, float]:
    if prediction == 'velocity' or path['kind'] == 'interpolant':
        return 0.0, 1.0
    s = path_scheduler(path)
    return (0.0 if _regular_at(s, prediction, 0.0) else eps, 1.0 if _regular_at(s, prediction, 1.0) else 1 - eps)


def sample_times(n: int, time: Dict, rng: np.random.Generator, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    w = hi - lo
    if time['distribution'] == 'uniform':
        return lo + w * rng.random(n)
    if time['distribution'] == 'logit-normal':
        return lo + w * sigmoid(time['mean'] + time['std'] * rng.standard_normal(n))
    raise ConfigError('time.distribution', f"must be uniform or logit-normal, got '{time['distribution']}'")


def drop_labels(labels: np.ndarray, num_classes: int, p: float, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(len(labels))
    return np.where(u < p, num_classes, labels).astype(np.int64)


def snr_clipped_weights(s: Scheduler, prediction: str, t: np.ndarray, gamma: float = SNR_GAMMA) -> np.ndarray:
    """min(snr, gamma) B^2 per time, 0 where snr = 0."""
    c = s.coeffs(t)
    alpha, sigma = c[0], c[1]
    with np.errstate(divide='ignore', invalid='ignore'):
        snr = alpha * alpha / (sigma * sigma)
    if prediction == 'x1':
        B = np.ones_like(t)
    else:
        live = snr != 0
        B = np.zeros_like(t)
        if live.any():
            B[live] = conversion_arrays(prediction, 'x1', tuple(x[live] for x in c), t[live])[1]
    return np.where(snr == 0, 0.0, np.minimum(snr, gamma) * B * B)


def _column(v: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """Host float64 values -> a float32 column [B, 1, ..., 1] on like's device."""
    return torch.as_tensor(v.astype(np.float32), device=like.device).reshape(-1, *([1] * (like.dim() - 1)))


@dataclass
class FlowBatch:
    xt: torch.Tensor
    t: torch.Tensor
    target: torch.Tensor
    weights: Optional[torch.Tensor]
    labels: Optional[torch.Tensor]
    times: np.ndarray

    def rows(self, lo: int, hi: int) -> 'FlowBatch':
        return FlowBatch(self.xt[lo:hi], self.t[lo:hi], self.target[lo:hi],
                         self.weights[lo:hi] if self.weights is not None else None,
                         self.labels[lo:hi] if self.labels is not None else None, self.times[lo:hi])


def form_batch(cfg: Dict, x0: torch.Tensor, x1: torch.Tensor, times: np.ndarray, eps: Optional[torch.Tensor] = None,
               labels: Optional[np.ndarray] = None) -> FlowBatch:
    """x_t, target and weights for given pairs, times (float64) and bridge noise (deterministic)."""
    path = cfg['path']
    prediction = cfg['prediction']
    weights = None
    if path['kind'] == 'interpolant':
        if prediction != 'velocity':
            raise ConfigError('prediction', f"the interpolant path trains a velocity, got '{prediction}'")
        s = path['s']
        if s > 0 and np.any((times == 0) | (times == 1)):
            raise ConfigError('t', f'must be inside (0, 1) for a bridge with s={s}')
        gamma, dgamma = bridge_noise(times, s)
        tc = _column(times, x0)
        xt = tc * x1 + (1 - tc) * x0
        target = x1 - x0
        if s > 0:
            xt = xt + _column(gamma, x0) * eps
            target = target + _column(dgamma, x0) * eps
    else:
        sched = path_scheduler(path)
        alpha, sigma, da, ds = sched.coeffs(times)
        bad = ~(np.isfinite(alpha) & np.isfinite(sigma) & np.isfinite(da) & np.isfinite(ds))
        if bad.any():
            i = int(np.nonzero(bad)[0][0])
            raise ConfigError(f't[{i}]', f'the scheduler is singular at t={times[i]}, so the velocity target is infinite; sample t inside (0, 1)')
        xt = _column(alpha, x0) * x1 + _column(sigma, x0) * x0
        if prediction == 'velocity':
            target = _column(da, x0) * x1 + _column(ds, x0) * x0
        elif prediction == 'eps':
            target = x0
        elif prediction == 'x1':
            target = x1
        else:
            raise ConfigError('prediction', f"must be velocity, eps or x1, got '{prediction}'")
        if cfg['time']['weighting'] == 'snr-clipped':
            w = snr_clipped_weights(sched, prediction, times, cfg['time'].get('snrGamma') or SNR_GAMMA)
            weights = _column(w, x0)
    t = torch.as_tensor(times.astype(np.float32), device=x0.device)
    lab = torch.as_tensor(labels, dtype=torch.long, device=x0.device) if labels is not None else None
    return FlowBatch(xt, t, target, weights, lab, times)


def prepare_batch(cfg: Dict, x0: torch.Tensor, x1: torch.Tensor, rng: np.random.Generator, time_range: Tuple[float, float],
                  labels: Optional[np.ndarray] = None, num_classes: int = 0) -> FlowBatch:
    """Draws times, bridge noise and label dropout (in that order) and forms the batch."""
    n = x0.shape[0]
    times = sample_times(n, cfg['time'], rng, *time_range)
    eps = None
    if cfg['path']['kind'] == 'interpolant':
        # Drawn even when s = 0, so the stream does not depend on s.
        eps = torch.as_tensor(rng.standard_normal(tuple(x0.shape), dtype=np.float32), device=x0.device)
    lab = None
    if labels is not None:
        if num_classes < 1:
            raise ConfigError('numClasses', f'must be >= 1 for labelled batches, got {num_classes}')
        lab = drop_labels(labels, num_classes, cfg['labelDropout'], rng)
    return form_batch(cfg, x0, x1, times, eps, lab)


def squared_error_sum(predict, b: FlowBatch) -> torch.Tensor:
    """sum_i w_i ||f(x_t, t, c) - target||^2 over the batch's rows (a 0-d tensor)."""
    out = predict(b.xt, b.t, b.labels)
    sq = (out - b.target) ** 2
    if b.weights is not None:
        sq = sq * b.weights
    return sq.sum()


def batch_loss(predict, b: FlowBatch) -> torch.Tensor:
    """(1 / (B D)) sum_i w_i ||f(x_t, t, c) - target||^2."""
    return squared_error_sum(predict, b) / b.target.numel()
