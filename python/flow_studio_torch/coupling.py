"""Minibatch couplings (core/coupling/couple.ts): which x0 row pairs with which x1 row.

  independent  the identity pairing (I-CFM / rectified flow);
  exact-ot     the permutation minimising sum_i ||x0_i - x1_sigma(i)||^2: scipy's
               ``linear_sum_assignment`` (OT-CFM);
  sinkhorn     the entropic OT plan min <P, C> + reg sum P (log P - 1) with uniform marginals, from
               POT (``ot.sinkhorn``; its stabilised form when exp(-C / reg) would underflow, and the
               log-domain ``sinkhorn_log`` if that breaks down);
               n pairs drawn from P with replacement (torchcfm's OTPlanSampler). ``reg`` is in cost
               units; the trainer passes config ``coupling.reg`` times the batch's mean pairwise
               squared distance (trainer.ts), the convention of the TS engine.

With labels, rows pair only inside their class, by the same kind of coupling on the class's rows;
output slot r of a class is that class's r-th x0 row, so the output keeps x0's class layout.
Costs are squared Euclidean distances of the flattened rows, formed on the device after centring
both batches on their joint mean (the expansion |a|^2 + |b|^2 - 2 a.b cancels badly far from 0),
then solved in float64 on the host.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .errors import ConfigError, DataError, MissingDependencyError


@dataclass
class Coupling:
    i0: np.ndarray
    i1: np.ndarray
    #: Mean squared distance of the pairs (W2^2 of the batches for exact OT).
    cost: float
    labels: Optional[np.ndarray]
    converged: bool = True


def squared_distances(x0, x1) -> np.ndarray:
    """C[i, j] = ||x0_i - x1_j||^2 of flattened rows (torch tensors in, float64 numpy out)."""
    import torch
    n, m = x0.shape[0], x1.shape[0]
    a = x0.reshape(n, -1).float()
    b = x1.reshape(m, -1).float()
    mean = (a.sum(0) + b.sum(0)) / (n + m)
    a, b = a - mean, b - mean
    c = (a * a).sum(1, keepdim=True) + (b * b).sum(1)[None, :] - 2 * (a @ b.t())
    return torch.clamp(c, min=0).cpu().double().numpy()  # to the host first: MPS has no float64


def exact_assignment(cost: np.ndarray) -> np.ndarray:
    """The column of each row in a minimum-cost assignment (scipy.optimize.linear_sum_assignment)."""
    try:
        from scipy.optimize import linear_sum_assignment
    except Exception as e:  # ImportError or a broken scipy
        raise MissingDependencyError('scipy', "coupling.kind 'exact-ot'", str(e), 'apt-get install python3-scipy (or pip install scipy)') from None
    rows, cols = linear_sum_assignment(cost)
    out = np.empty(cost.shape[0], dtype=np.int64)
    out[rows] = cols
    return out


def sinkhorn_plan(cost: np.ndarray, reg: float, max_iter: int = 1000, tol: float = 1e-6) -> Tuple[np.ndarray, bool]:
    """The entropic OT plan of uniform marginals (POT), total mass 1, and whether it converged
    (L1 marginal error below 10 tol: POT stops on its own norm of the marginal error)."""
    try:
        import ot
    except Exception as e:
        raise MissingDependencyError('POT', "coupling.kind 'sinkhorn'", str(e), 'apt-get install python3-pot (or pip install pot)') from None
    n, m = cost.shape
    a = np.full(n, 1.0 / n)
    b = np.full(m, 1.0 / m)
    # exp(-C / reg) underflows in float64 below exp(-745): then POT's stabilised form, which absorbs
    # large scalings into log-domain potentials (as the TS solver does) and costs little more.
    method = 'sinkhorn' if cost.max(initial=0.0) / reg < 600 else 'sinkhorn_stabilized'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        plan = np.asarray(ot.sinkhorn(a, b, cost, reg, method=method, numItermax=max_iter, stopThr=tol), dtype=np.float64)
    if not np.all(np.isfinite(plan)) or plan.sum() <= 0:
        # the scaling form broke down (a row of the kernel vanished): redo in the log domain
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            plan = np.asarray(ot.sinkhorn(a, b, cost, reg, method='sinkhorn_log', numItermax=max_iter, stopThr=tol), dtype=np.float64)
    err = max(np.abs(plan.sum(1) - a).sum(), np.abs(plan.sum(0) - b).sum())
    return plan, bool(err < 10 * tol)


def sample_plan(plan: np.ndarray, count: int, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """``count`` pairs (i, j) drawn independently with probability P_ij / sum(P)."""
    n, m = plan.shape
    p = plan.reshape(-1)
    if np.any(p < 0) or not p.sum() > 0:
        raise DataError('the Sinkhorn plan has negative entries or no mass')
    k = rng.choice(n * m, size=count, p=p / p.sum())
    return k // m, k % m


def _groups(l0: np.ndarray, l1: np.ndarray) -> List[Tuple[np.ndarray, np.ndarray]]:
    out = []
    for c in sorted(set(l0.tolist()) | set(l1.tolist())):
        r0 = np.nonzero(l0 == c)[0]
        r1 = np.nonzero(l1 == c)[0]
        if len(r0) != len(r1):
            raise DataError(f'couple: class {c} has {len(r0)} rows in x0 but {len(r1)} in x1; a class-respecting coupling pairs '
                            'rows only within a class, so every class needs equal counts')
        out.append((r0, r1))
    return out


def couple(kind: str, x0, x1, rng: Optional[np.random.Generator] = None, reg: Optional[float] = None,
           labels0: Optional[np.ndarray] = None, labels1: Optional[np.ndarray] = None, pairing: str = 'sample') -> Coupling:
    """Couples a minibatch (torch tensors [n, ...]); returns index pairs, their mean cost and labels."""
    if kind not in ('independent', 'exact-ot', 'sinkhorn'):
        raise ConfigError('coupling.kind', f"must be one of independent, exact-ot, sinkhorn, got '{kind}'")
    n = x0.shape[0]
    if x1.shape[0] != n or x0[0].numel() != x1[0].numel():
        raise DataError(f'couple: x0 {list(x0.shape)} and x1 {list(x1.shape)} need the same batch size and row size')
    if kind == 'sinkhorn' and not (reg is not None and reg > 0 and np.isfinite(reg)):
        raise ConfigError('coupling.reg', f'sinkhorn needs a regularisation reg > 0 (squared-distance units), got {reg}')
    if kind == 'sinkhorn' and pairing == 'sample' and rng is None:
        raise ConfigError('coupling.seed', "'sinkhorn' with pairing 'sample' needs an rng")
    if (labels0 is None) != (labels1 is None):
        raise ConfigError('coupling.labels0' if labels0 is None else 'coupling.labels1', 'class-respecting coupling needs labels for both x0 and x1')
    C = None if kind == 'independent' else squared_distances(x0, x1)
    groups = [(np.arange(n), np.arange(n))] if labels0 is None else _groups(np.asarray(labels0), np.asarray(labels1))
    i0 = np.empty(n, dtype=np.int64)
    i1 = np.empty(n, dtype=np.int64)
    converged = True
    for rows0, rows1 in groups:
        k = len(rows0)
        if kind == 'independent':
            l0, l1 = np.arange(k), np.arange(k)
        else:
            sub = C[np.ix_(rows0, rows1)]
            if kind == 'exact-ot':
                l0, l1 = np.arange(k), exact_assignment(sub)
            else:
                plan, ok = sinkhorn_plan(sub, reg)
                converged = converged and ok
                if pairing == 'argmax':
                    l0, l1 = np.arange(k), plan.argmax(1)
                else:
                    l0, l1 = sample_plan(plan, k, rng)
        i0[rows0] = rows0[l0]
        i1[rows0] = rows1[l1]
    if C is not None:
        cost = float(C[i0, i1].mean()) if n else 0.0
    else:
        a = x0.reshape(n, -1).float()
        b = x1.reshape(n, -1).float()
        cost = float(((a[i0] - b[i1]) ** 2).sum().item() / n) if n else 0.0
    labels = np.asarray(labels1)[i1].astype(np.int32) if labels1 is not None else None
    return Coupling(i0, i1, cost, labels, converged)
