"""The 2D data sets against their definitions (core/data/toy2d.ts), mixtures, and data files."""
import json

import numpy as np
import pytest

from flow_studio_torch import safetensors_io
from flow_studio_torch.data import (ArraySource, MixtureSource, Toy2DSource, checkerboard, circles, eight_gaussians, energy_distance,
                                    load_array_file, moons, sample_mixture, spirals, swiss_roll)
from flow_studio_torch.errors import ConfigError, DataError


def rng(seed=0):
    return np.random.default_rng(seed)


def test_moons_without_noise_lie_on_the_two_semicircles():
    x, lab = moons(101, rng(), noise=0.0)
    p = (x.astype(np.float64) + 1) / 3  # undo x -> 3x - 1
    outer, inner = p[lab == 0], p[lab == 1]
    assert len(outer) == 50 and len(inner) == 51
    assert np.allclose(np.hypot(outer[:, 0], outer[:, 1]), 1, atol=1e-6) and np.all(outer[:, 1] >= -1e-6)
    assert np.allclose(np.hypot(1 - inner[:, 0], 0.5 - inner[:, 1]), 1, atol=1e-6) and np.all(inner[:, 1] <= 0.5 + 1e-6)


def test_circles_and_spirals_and_swiss_roll():
    x, lab = circles(200, rng(), noise=0.0, factor=0.5)
    r = np.hypot(x[:, 0], x[:, 1]) / 3
    assert np.allclose(r[lab == 0], 1, atol=1e-6) and np.allclose(r[lab == 1], 0.5, atol=1e-6)
    x, lab = spirals(300, rng(), noise=0.0)
    theta = 3 * np.hypot(x[:, 0], x[:, 1])  # r = theta / 3
    sign = np.where(lab == 0, 1, -1)
    assert np.allclose(x[:, 0], sign * -theta * np.cos(theta) / 3, atol=1e-5) and theta.max() <= 3 * np.pi + 1e-5
    x, _ = swiss_roll(300, rng(), noise=0.0)
    t = 5 * np.hypot(x[:, 0], x[:, 1])
    assert t.min() >= 1.5 * np.pi - 1e-4 and t.max() <= 4.5 * np.pi + 1e-4


def test_checkerboard_is_uniform_on_the_dark_squares():
    x, _ = checkerboard(4000, rng())
    i = np.floor((x[:, 0] + 4) / 2).astype(int)
    j = np.floor((x[:, 1] + 4) / 2).astype(int)
    assert np.all((i + j) % 2 == 0) and np.all((i >= 0) & (i < 4) & (j >= 0) & (j < 4))
    counts = np.bincount(i * 4 + j, minlength=16)[[a * 4 + b for a in range(4) for b in range(4) if (a + b) % 2 == 0]]
    assert counts.min() > 400 and counts.max() < 600


def test_mixture_sampling_moments():
    g = eight_gaussians()
    x, k = sample_mixture(g, 40000, rng(1))
    assert np.bincount(k, minlength=8).min() > 4600
    d = x - g['means'][k]
    assert abs(d.std() - 0.3) < 0.005 and np.abs(d.mean(0)).max() < 0.01
    with pytest.raises(ConfigError, match='data.gmm.stds'):
        MixtureSource({'weights': [1, 1], 'means': [[0, 0], [1, 1]], 'stds': [1, -1]})


def test_sources_are_stateless_in_their_generator():
    s = Toy2DSource('moons')
    a, la = s.sample(64, rng(5))
    b, lb = s.sample(64, rng(5))
    assert np.array_equal(a, b) and np.array_equal(la, lb) and s.num_classes == 2


def test_array_source_checks_rows_and_labels():
    with pytest.raises(DataError, match='row 1 has a non-finite value at index 3'):
        ArraySource(np.array([[0, 0, 0, 0], [0, 0, 0, np.nan]], dtype=np.float32))
    with pytest.raises(DataError, match=r'labels\[1\] is 5; must be in \[0, 3\)'):
        ArraySource(np.zeros((2, 2), np.float32), np.array([0, 5]), 3)


def test_data_file_handover(tmp_path):
    p = str(tmp_path / 'data.safetensors')
    x = np.random.default_rng(0).uniform(-1, 1, (10, 28, 28, 1)).astype(np.float32)
    safetensors_io.save({'x': x, 'labels': np.arange(10, dtype=np.int32) % 4}, p, {'flow_studio': json.dumps({'numClasses': 4})})
    s = load_array_file(p, {'kind': 'mnist'}, 'data')
    assert s.shape == [28, 28, 1] and s.num_classes == 4 and s.size == 10
    with pytest.raises(DataError, match=r'x must have shape \[N, 32, 32, 3\]'):
        load_array_file(p, {'kind': 'images', 'size': 32, 'channels': 3}, 'data')


def test_energy_distance():
    a = np.random.default_rng(0).standard_normal((500, 2))
    b = np.random.default_rng(1).standard_normal((500, 2))
    assert abs(energy_distance(a, b)) < 0.02
    assert energy_distance(a, b + 3) > 3
