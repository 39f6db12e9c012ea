"""Couplings against brute force on small batches and a float64 numpy Sinkhorn."""
import itertools

import numpy as np
import pytest
import torch

from flow_studio_torch.coupling import couple, sample_plan, sinkhorn_plan, squared_distances
from flow_studio_torch.errors import DataError

pytest.importorskip('scipy', reason='scipy is not importable here')


def brute_force_assignment(C):
    n = C.shape[0]
    best = min(itertools.permutations(range(n)), key=lambda p: sum(C[i, p[i]] for i in range(n)))
    return np.array(best), sum(C[i, best[i]] for i in range(n))


def test_squared_distances_of_far_away_points():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 3)) + 1000
    b = rng.standard_normal((4, 3)) + 1000
    ref = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    C = squared_distances(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32))
    assert np.allclose(C, ref, rtol=1e-3, atol=1e-2)  # centring keeps float32 accurate far from 0


@pytest.mark.parametrize('seed', range(5))
def test_exact_ot_is_the_brute_force_optimum(seed):
    rng = np.random.default_rng(seed)
    x0 = torch.tensor(rng.standard_normal((6, 2)), dtype=torch.float32)
    x1 = torch.tensor(rng.standard_normal((6, 2)) * 2, dtype=torch.float32)
    c = couple('exact-ot', x0, x1)
    C = squared_distances(x0, x1)
    perm, best = brute_force_assignment(C)
    assert list(c.i0) == list(range(6))
    assert sorted(c.i1) == list(range(6))
    assert C[np.arange(6), c.i1].sum() == pytest.approx(best, rel=1e-9)
    assert c.cost == pytest.approx(best / 6, rel=1e-9)


def test_class_aware_exact_ot_is_the_per_class_optimum():
    rng = np.random.default_rng(7)
    lab = np.array([0, 1, 0, 2, 1, 0, 2, 1])
    x0 = torch.tensor(rng.standard_normal((8, 3)), dtype=torch.float32)
    x1 = torch.tensor(rng.standard_normal((8, 3)), dtype=torch.float32)
    c = couple('exact-ot', x0, x1, labels0=lab, labels1=lab)
    C = squared_distances(x0, x1)
    assert np.array_equal(lab[c.i0], lab[c.i1]) and np.array_equal(c.labels, lab[c.i1])
    assert list(c.i0) == list(range(8))  # output slots keep x0's order and class layout
    total = 0.0
    for k in range(3):
        rows = np.nonzero(lab == k)[0]
        total += brute_force_assignment(C[np.ix_(rows, rows)])[1]
    assert C[c.i0, c.i1].sum() == pytest.approx(total, rel=1e-9)
    with pytest.raises(DataError, match='class 1 has 3 rows in x0 but 2 in x1'):
        couple('exact-ot', x0, x1, labels0=lab, labels1=np.array([0, 1, 0, 2, 2, 0, 2, 1]))


def sinkhorn_reference(C, reg, iters=20000):
    """Log-domain Sinkhorn in float64, uniform marginals: the independent reference."""
    n, m = C.shape
    f, g = np.zeros(n), np.zeros(m)
    la, lb = -np.log(n), -np.log(m)

    def lse(M, axis):
        mx = M.max(axis=axis, keepdims=True)
        return (mx + np.log(np.exp(M - mx).sum(axis=axis, keepdims=True))).squeeze(axis)

    for _ in range(iters):
        f = reg * (la - lse((g[None, :] - C) / reg, 1))
        g = reg * (lb - lse((f[:, None] - C) / reg, 0))
    return np.exp((f[:, None] + g[None, :] - C) / reg)


@pytest.mark.parametrize('rel', [1.0, 0.1])
def test_sinkhorn_plan_matches_a_reference_solver(rel):
    pytest.importorskip('ot', reason='POT is not importable here')
    rng = np.random.default_rng(1)
    x0 = torch.tensor(rng.standard_normal((7, 2)), dtype=torch.float32)
    x1 = torch.tensor(rng.standard_normal((7, 2)) + 1, dtype=torch.float32)
    C = squared_distances(x0, x1)
    reg = rel * C.mean()
    plan, ok = sinkhorn_plan(C, reg, max_iter=5000, tol=1e-9)
    ref = sinkhorn_reference(C, reg)
    assert ok
    assert np.allclose(plan, ref, atol=1e-7)
    assert np.allclose(plan.sum(1), 1 / 7, atol=1e-8) and np.allclose(plan.sum(0), 1 / 7, atol=1e-8)


def test_sinkhorn_with_small_reg_approaches_the_exact_plan():
    pytest.importorskip('ot', reason='POT is not importable here')
    rng = np.random.default_rng(2)
    x0 = torch.tensor(rng.standard_normal((6, 2)), dtype=torch.float32)
    x1 = torch.tensor(rng.standard_normal((6, 2)), dtype=torch.float32)
    C = squared_distances(x0, x1)
    perm, _ = brute_force_assignment(C)
    plan, _ = sinkhorn_plan(C, 1e-3 * C.mean(), max_iter=20000)
    assert np.array_equal(plan.argmax(1), perm)
    c = couple('sinkhorn', x0, x1, np.random.default_rng(0), reg=1e-3 * C.mean())
    assert np.all(perm[c.i0] == c.i1)  # every pair drawn from the plan is an optimal-assignment pair


def test_sample_plan_draws_pairs_with_the_plan_probabilities():
    plan = np.array([[0.5, 0.0], [0.1, 0.4]])
    i0, i1 = sample_plan(plan, 40000, np.random.default_rng(3))
    freq = np.zeros((2, 2))
    np.add.at(freq, (i0, i1), 1)
    assert freq[0, 1] == 0 and np.allclose(freq / 40000, plan, atol=0.01)


def test_independent_keeps_the_pairs_and_costs_them():
    x0 = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    x1 = torch.tensor([[3.0, 4.0], [1.0, 2.0]])
    c = couple('independent', x0, x1)
    assert list(c.i0) == [0, 1] and list(c.i1) == [0, 1] and c.cost == pytest.approx((25 + 1) / 2)


def test_sinkhorn_with_costs_far_beyond_exp_underflow():
    """reg so small that exp(-C / reg) underflows: the stabilised solver still gives the plan."""
    pytest.importorskip('ot', reason='POT is not importable here')
    rng = np.random.default_rng(4)
    x0 = torch.tensor(rng.standard_normal((6, 2)), dtype=torch.float32)
    x1 = torch.tensor(rng.standard_normal((6, 2)) * 3, dtype=torch.float32)
    C = squared_distances(x0, x1)
    reg = C.max() / 1000  # exp(-1000) is 0 in float64
    plan, ok = sinkhorn_plan(C, reg, max_iter=20000, tol=1e-9)
    assert ok and np.all(np.isfinite(plan))
    assert np.allclose(plan, sinkhorn_reference(C, reg, iters=50000), atol=1e-8)
