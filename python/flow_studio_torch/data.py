"""Data sources: the 2D toy sets, Gaussian mixtures and point sets (generated here, with the
definitions of core/data/toy2d.ts and mixture.ts), and arrays handed over by the studio in a
safetensors file (MNIST, image folders).

A source is stateless: ``sample(n, rng)`` takes all its randomness from the numpy Generator it is
given, so a step's batch depends only on the step's seed (see trainer.py) and a resumed run draws
the batches an uninterrupted one would. The generator is numpy's, not the TS engine's xoshiro, so
the two engines draw different (equally distributed) batches.

Data file (the studio -> worker handover), ``data.safetensors``:
  ``x``       float32 [N, H, W, C] (NHWC, values in [-1, 1]) or [N, D] points;
  ``labels``  int32 [N] in [0, numClasses) (optional);
  ``__metadata__`` ``flow_studio``: JSON {"numClasses": K, "classNames": [...]} (optional; K defaults
  to max(labels) + 1, or 10 for MNIST).
"""
from __future__ import annotations

import json
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import safetensors_io
from .errors import ConfigError, DataError

Batch = Tuple[np.ndarray, Optional[np.ndarray]]

TOY_CLASSES = {'moons': 2, '8gaussians': 8, 'circles': 2, 'checkerboard': 1, '2spirals': 2, 'swissroll': 1}


# ---------------------------------------------------------------------------------------------
# Gaussian mixtures
# ---------------------------------------------------------------------------------------------

def validate_mixture(g: Dict, field: str = 'gmm') -> Dict:
    """A normalised copy: weights / sum(weights); errors name the field (mixture.ts rules)."""
    w = np.asarray(g.get('weights'), dtype=np.float64)
    if w.ndim != 1 or w.size < 1 or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ConfigError(f'{field}.weights', 'must be a non-empty list of finite numbers >= 0')
    total = w.sum()
    if not total > 0:
        raise ConfigError(f'{field}.weights', f'must have a positive finite sum, got {total}')
    try:
        mu = np.asarray(g.get('means'), dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f'{field}.means', 'must be K rows of equal dimension') from None
    if mu.ndim != 2 or mu.shape[0] != w.size or mu.shape[1] < 1 or not np.all(np.isfinite(mu)):
        raise ConfigError(f'{field}.means', f'must be {w.size} rows of finite coordinates of one dimension')
    s = np.asarray(g.get('stds'), dtype=np.float64)
    if s.shape != w.shape or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ConfigError(f'{field}.stds', f'must be {w.size} finite numbers > 0')
    return {'weights': w / total, 'means': mu, 'stds': s}


def eight_gaussians(radius: float = 5.0, std: float = 0.3) -> Dict:
    """Means radius (cos(k pi/4), sin(k pi/4)), k = 0..7, equal weights, std 0.3."""
    k = np.arange(8)
    means = np.stack([radius * np.cos(k * np.pi / 4), radius * np.sin(k * np.pi / 4)], 1)
    return {'weights': np.full(8, 1 / 8), 'means': means, 'stds': np.full(8, std)}


def sample_mixture(g: Dict, n: int, rng: np.random.Generator) -> Batch:
    """k ~ Categorical(pi), x = mu_k + s_k z, z ~ N(0, I)."""
    k = rng.choice(len(g['weights']), size=n, p=g['weights'])
    z = rng.standard_normal((n, g['means'].shape[1]))
    x = g['means'][k] + g['stds'][k][:, None] * z
    return x.astype(np.float32), k.astype(np.int32)


# ---------------------------------------------------------------------------------------------
# 2D toy sets (core/data/toy2d.ts)
# ---------------------------------------------------------------------------------------------

def _shuffle(xy: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    p = rng.permutation(len(labels))
    return xy[p], labels[p]


def _finish(xy: np.ndarray, labels: np.ndarray, rng: np.random.Generator, noise: float, scale: float, shift: float) -> Batch:
    """Adds N(0, noise^2) to every coordinate, then x -> scale x + shift."""
    if noise > 0:
        xy = xy + noise * rng.standard_normal(xy.shape)
    return (scale * xy + shift).astype(np.float32), labels.astype(np.int32)


def moons(n: int, rng: np.random.Generator, noise: float = 0.2, shuffle: bool = True) -> Batch:
    """make_moons: n // 2 points (cos s, sin s) and the rest (1 - cos s, 1 - sin s - 0.5),
    s = linspace(0, pi); shuffle; noise; x -> 3x - 1. Labels 0 outer, 1 inner."""
    n_out = n // 2
    n_in = n - n_out
    so, si = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    xy = np.concatenate([np.stack([np.cos(so), np.sin(so)], 1), np.stack([1 - np.cos(si), 1 - np.sin(si) - 0.5], 1)])
    labels = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    if shuffle:
        xy, labels = _shuffle(xy, labels, rng)
    return _finish(xy, labels, rng, noise, 3, -1)


def circles(n: int, rng: np.random.Generator, noise: float = 0.05, factor: float = 0.5, shuffle: bool = True) -> Batch:
    """make_circles: n // 2 points on the unit circle at angles linspace(0, 2 pi, endpoint=False),
    the rest on the circle of radius ``factor``; shuffle; noise; scale by 3. Labels 0 outer, 1 inner."""
    n_out = n // 2
    n_in = n - n_out
    ao, ai = np.linspace(0, 2 * np.pi, n_out, endpoint=False), np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    xy = np.concatenate([np.stack([np.cos(ao), np.sin(ao)], 1), factor * np.stack([np.cos(ai), np.sin(ai)], 1)])
    labels = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    if shuffle:
        xy, labels = _shuffle(xy, labels, rng)
    return _finish(xy, labels, rng, noise, 3, 0)


def checkerboard(n: int, rng: np.random.Generator) -> Batch:
    """Uniform on the 8 dark squares (i + j even) of a 4 x 4 board of side-2 squares on [-4, 4]^2."""
    cell = rng.integers(0, 8, n)
    i = cell >> 1
    j = 2 * (cell & 1) + (i & 1)
    x = -4 + 2 * i + 2 * rng.random(n)
    y = -4 + 2 * j + 2 * rng.random(n)
    return np.stack([x, y], 1).astype(np.float32), np.zeros(n, np.int32)


def spirals(n: int, rng: np.random.Generator, noise: float = 0.1, shuffle: bool = True) -> Batch:
    """theta = 3 pi sqrt(u); arm 0: (-theta cos theta, theta sin theta) / 3 (n // 2 points), arm 1 its
    negation; plus N(0, noise^2)."""
    n0 = n // 2
    theta = 3 * np.pi * np.sqrt(rng.random(n))
    sign = np.where(np.arange(n) < n0, 1.0, -1.0)
    xy = np.stack([sign * -theta * np.cos(theta) / 3, sign * theta * np.sin(theta) / 3], 1)
    labels = (np.arange(n) >= n0).astype(np.int32)
    if shuffle:
        xy, labels = _shuffle(xy, labels, rng)
    return _finish(xy, labels, rng, noise, 1, 0)


def swiss_roll(n: int, rng: np.random.Generator, noise: float = 1.0) -> Batch:
    """make_swiss_roll on (x, z): t = 1.5 pi (1 + 2u), (t cos t, t sin t), plus noise, divided by 5."""
    t = 1.5 * np.pi * (1 + 2 * rng.random(n))
    xy = np.stack([t * np.cos(t), t * np.sin(t)], 1)
    return _finish(xy, np.zeros(n, np.int32), rng, noise, 1 / 5, 0)


def sample_toy2d(name: str, n: int, rng: np.random.Generator, noise: Optional[float] = None) -> Batch:
    if name == 'moons':
        return moons(n, rng, 0.2 if noise is None else noise)
    if name == 'circles':
        return circles(n, rng, 0.05 if noise is None else noise)
    if name == '8gaussians':
        return sample_mixture(eight_gaussians(), n, rng)
    if name == 'checkerboard':
        return checkerboard(n, rng)
    if name == '2spirals':
        return spirals(n, rng, 0.1 if noise is None else noise)
    if name == 'swissroll':
        return swiss_roll(n, rng, 1.0 if noise is None else noise)
    raise ConfigError('data.name', f"unknown 2D dataset '{name}'; one of {', '.join(TOY_CLASSES)}")


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------

class Source:
    """A distribution over per-sample arrays of ``shape`` (studio layout: [d] or [H, W, C])."""

    shape: List[int]
    num_classes: int = 0
    size: Optional[int] = None

    def sample(self, n: int, rng: np.random.Generator) -> Batch:
        raise NotImplementedError


class GaussianSource(Source):
    """N(0, I) of per-sample ``shape`` (float32)."""

    def __init__(self, shape):
        self.shape = list(shape)

    def sample(self, n, rng):
        return rng.standard_normal((n, *self.shape), dtype=np.float32), None


class Toy2DSource(Source):
    def __init__(self, name: str, noise: Optional[float] = None):
        if name not in TOY_CLASSES:
            raise ConfigError('data.name', f"unknown 2D dataset '{name}'; one of {', '.join(TOY_CLASSES)}")
        self.name, self.noise = name, noise
        self.shape = [2]
        self.num_classes = TOY_CLASSES[name]

    def sample(self, n, rng):
        return sample_toy2d(self.name, n, rng, self.noise)


class MixtureSource(Source):
    def __init__(self, gmm: Dict, field: str = 'data.gmm'):
        self.gmm = validate_mixture(gmm, field)
        self.shape = [int(self.gmm['means'].shape[1])]
        self.num_classes = len(self.gmm['weights'])

    def sample(self, n, rng):
        return sample_mixture(self.gmm, n, rng)


class ArraySource(Source):
    """Rows of a stored array, sampled uniformly with replacement (with their labels)."""

    def __init__(self, x: np.ndarray, labels: Optional[np.ndarray] = None, num_classes: int = 0, what: str = 'data'):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim < 2 or x.shape[0] == 0:
            raise DataError(f'x must hold a non-zero number of rows [N, ...], got shape {list(x.shape)}', what)
        bad = ~np.isfinite(x.reshape(x.shape[0], -1))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise DataError(f'row {r} has a non-finite value at index {c}', what)
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (x.shape[0],):
                raise DataError(f'labels must have one entry per row ({x.shape[0]}), got shape {list(labels.shape)}', what)
            if num_classes < 1:
                raise DataError('numClasses must be >= 1 when labels are given', what)
            out = np.nonzero((labels < 0) | (labels >= num_classes))[0]
            if out.size:
                raise DataError(f'labels[{out[0]}] is {labels[out[0]]}; must be in [0, {num_classes})', what)
            labels = labels.astype(np.int32)
        elif num_classes != 0:
            raise DataError(f'numClasses must be 0 without labels, got {num_classes}', what)
        self.x, self.labels, self.num_classes = x, labels, num_classes
        self.shape = list(x.shape[1:])
        self.size = x.shape[0]

    def sample(self, n, rng):
        idx = rng.integers(0, self.size, n)
        return self.x[idx], (self.labels[idx] if self.labels is not None else None)


class PairedSource:
    """Stored (x0, x1) pairs sampled jointly (reflow): row i of x0 always travels with row i of x1."""

    def __init__(self, x0: np.ndarray, x1: np.ndarray, labels: Optional[np.ndarray], num_classes: int, what: str):
        if x0.shape != x1.shape:
            raise DataError(f'x0 {list(x0.shape)} and x1 {list(x1.shape)} must have the same shape', what)
        ArraySource(x0, what=what)
        self.x1src = ArraySource(x1, labels, num_classes, what)
        self.x0 = np.ascontiguousarray(x0, dtype=np.float32)
        self.shape, self.num_classes, self.size = self.x1src.shape, num_classes, self.x1src.size

    def sample_pairs(self, n, rng):
        idx = rng.integers(0, self.size, n)
        lab = self.x1src.labels[idx] if self.x1src.labels is not None else None
        return self.x0[idx], self.x1src.x[idx], lab


def _file_meta(meta: Optional[Dict[str, str]], path: str) -> Dict:
    if not meta or 'flow_studio' not in meta:
        return {}
    try:
        v = json.loads(meta['flow_studio'])
    except ValueError:
        raise DataError('__metadata__.flow_studio is not valid JSON', path) from None
    if not isinstance(v, dict):
        raise DataError('__metadata__.flow_studio must be a JSON object', path)
    return v


def load_array_file(path: str, spec: Dict, field: str) -> ArraySource:
    """An ArraySource from a data file (module doc), checked against the data spec."""
    tensors, meta = safetensors_io.load(path)
    info = _file_meta(meta, path)
    if 'x' not in tensors:
        raise DataError(f"has no tensor 'x' (found: {', '.join(sorted(tensors)) or 'none'})", path)
    x = tensors['x']
    if x.dtype != np.float32:
        raise DataError(f"x must be float32, got {x.dtype}", path)
    if spec['kind'] == 'mnist':
        want = [28, 28, 1]
    elif spec['kind'] == 'images':
        want = [spec['size'], spec['size'], spec['channels']]
    else:
        want = None
    if want is not None and list(x.shape[1:]) != want:
        raise DataError(f"x must have shape [N, {', '.join(map(str, want))}] for {field}.kind '{spec['kind']}' (NHWC), got {list(x.shape)}", path)
    labels = tensors.get('labels')
    k = 0
    if labels is not None:
        if labels.dtype not in (np.int32, np.int64):
            raise DataError(f'labels must be int32, got {labels.dtype}', path)
        k = info.get('numClasses', 10 if spec['kind'] == 'mnist' else (int(labels.max()) + 1 if labels.size else 0))
        if not (isinstance(k, int) and k >= 1):
            raise DataError(f'__metadata__ numClasses must be an integer >= 1, got {k!r}', path)
    return ArraySource(x, labels, k, path)


def source_from_spec(spec: Dict, field: str, data_file: Optional[str]) -> Source:
    """The source of a data config: generated (toy2d, gmm, points) or read from ``data_file``."""
    kind = spec['kind']
    if kind == 'toy2d':
        return Toy2DSource(spec['name'], spec.get('noise'))
    if kind == 'gmm':
        return MixtureSource(spec['gmm'], f'{field}.gmm')
    if kind == 'points':
        return ArraySource(np.asarray(spec['points'], dtype=np.float32), what=f'{field}.points')
    if kind in ('mnist', 'images'):
        if not data_file:
            raise ConfigError(f'{field}.kind', f"'{kind}' data is handed over by the studio as a file; the job must name it "
                              f"({'data' if field == 'data' else 'sourceData'}: path to a data.safetensors)")
        return load_array_file(data_file, spec, field)
    raise ConfigError(f'{field}.kind', f"unknown data kind '{kind}'")


def energy_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| (core/metrics/distances.ts), float64."""
    a = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    b = np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def mean_dist(p, q, same):
        d = np.sqrt(np.maximum(((p[:, None, :] - q[None, :, :]) ** 2).sum(-1), 0))
        n = len(p)
        return d.sum() / (n * (n - 1)) if same else d.mean()

    return float(2 * mean_dist(a, b, False) - mean_dist(a, a, True) - mean_dist(b, b, True))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid without overflow for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

