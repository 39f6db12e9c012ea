"""ODE solvers against closed-form solutions, and the guided field's algebra."""
import math

import pytest
import torch

from flow_studio_torch.paths import make_scheduler
from flow_studio_torch.sampling import guided_field, integrate


@pytest.mark.parametrize('method,order', [('euler', 1), ('midpoint', 2), ('heun', 2), ('rk4', 4)])
def test_fixed_step_orders_on_a_linear_ode(method, order):
    # dx/dt = -2 x (1 + t): x(1) = x(0) exp(-2 (t + t^2 / 2)) = x(0) exp(-3)
    f = lambda x, t: -2 * x * (1 + t)  # noqa: E731
    x0 = torch.tensor([1.0], dtype=torch.float64)
    errs = [abs(integrate(f, x0, method, 0, 1, n)[0].item() - math.exp(-3)) for n in (20, 40)]
    assert errs[0] / errs[1] == pytest.approx(2 ** order, rel=0.15)


def test_dopri5_meets_its_tolerance():
    f = lambda x, t: math.cos(3 * t) * x  # noqa: E731  x(t) = x0 exp(sin(3 t) / 3)
    x0 = torch.tensor([1.0, -2.0], dtype=torch.float64)
    x, nfe = integrate(f, x0, 'dopri5', 0, 1, rtol=1e-8, atol=1e-8)
    assert torch.allclose(x, x0 * math.exp(math.sin(3) / 3), rtol=1e-6) and nfe < 400


def test_guided_field_combines_branches_then_converts():
    sched = make_scheduler({'kind': 'condot'})

    def predict(x, t, labels):
        return x * 0 + labels.to(x.dtype)[:, None] + t[:, None]

    x = torch.zeros(3, 2)
    labels = torch.tensor([0, 1, 2])
    w = 2.0
    v = guided_field(predict, 'eps', sched, 4, w, labels)(x, 0.5)
    pred = (1 + w) * (labels[:, None] + 0.5) - w * (4 + 0.5)
    # eps -> velocity on CondOT at t: v = x / t + (-1 - (1 - t) / t) eps
    assert torch.allclose(v, (-1 - 0.5 / 0.5) * pred.float())
    unc = guided_field(predict, 'velocity', sched, 4, w, None)(x, 0.25)
    assert torch.allclose(unc, torch.full((3, 2), 4.25))
