"""The PyTorch models against the tfjs models' parameter list and against the math they define.

References: the names and shapes come from the TS code itself (test/python/ts/model-params.ts run
with Node); the forward passes are recomputed in float64 numpy from the weights in the tfjs layout,
which checks every layout conversion (dense transposes, conv permutation, NHWC vs NCHW).
"""
import json
import math

import numpy as np
import pytest
import torch

from conftest import run_ts
from flow_studio_torch.models import (count_parameters, create_model, export_weights, from_tfjs, load_weights, param_specs,
                                      tfjs_shape, time_frequencies, to_tfjs)
from flow_studio_torch.errors import CheckpointError

CONFIGS = [
    {'kind': 'mlp', 'dim': 2, 'width': 16, 'depth': 3, 'activation': 'silu', 'timeEmbedDim': 8, 'numClasses': 0},
    {'kind': 'mlp', 'dim': 12, 'width': 8, 'depth': 1, 'activation': 'gelu', 'timeEmbedDim': 0, 'numClasses': 3},
    {'kind': 'unet', 'size': 28, 'channels': 1, 'baseChannels': 8, 'channelMults': [1, 2, 2], 'blocksPerLevel': 1,
     'attention': True, 'groups': 4, 'timeEmbedDim': 16, 'numClasses': 10},
    {'kind': 'unet', 'size': 8, 'channels': 3, 'baseChannels': 4, 'channelMults': [1, 2], 'blocksPerLevel': 2,
     'attention': False, 'groups': 2, 'timeEmbedDim': 4, 'numClasses': 0},
]


def test_names_and_shapes_match_the_tfjs_models():
    out = run_ts('test/python/ts/model-params.ts', json.dumps(CONFIGS))
    ts = json.loads(next(l for l in out.splitlines() if l.startswith('[')))
    for cfg, ref in zip(CONFIGS, ts):
        m = create_model(cfg, 0)
        specs = param_specs(m)
        assert [n for n, _, _ in specs] == ref['names'], cfg
        assert [tfjs_shape(p, l) for _, p, l in specs] == ref['shapes'], cfg
        # every torch parameter is in the list exactly once (nothing trains that a checkpoint misses)
        assert {id(p) for _, p, _ in specs} == {id(p) for p in m.parameters()}
        assert count_parameters(m) == sum(int(np.prod(s)) for s in ref['shapes'])


def test_layout_conversions_round_trip_and_map_axes():
    w = torch.arange(6.0).reshape(3, 2)  # torch Linear [out=3, in=2]
    assert to_tfjs(w, 'dense')[1, 2] == w[2, 1]
    c = torch.arange(2 * 3 * 5 * 7.0).reshape(2, 3, 5, 7)  # [cout, cin, kh, kw]
    tc = to_tfjs(c, 'conv')  # [kh, kw, cin, cout]
    assert list(tc.shape) == [5, 7, 3, 2] and tc[4, 6, 1, 0] == c[0, 1, 4, 6]
    assert torch.equal(from_tfjs(tc, 'conv'), c) and torch.equal(from_tfjs(to_tfjs(w, 'dense'), 'dense'), w)


def silu(x):
    return x / (1 + np.exp(-x))


def gelu(x):
    from scipy.special import erf
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def emb(t, dim):
    if dim == 0:
        return t[:, None]
    half = dim // 2
    f = np.array([1000.0 ** (i / (half - 1)) if half > 1 else 1.0 for i in range(half)])
    a = t[:, None] * f[None, :]
    return np.concatenate([np.sin(a), np.cos(a)], 1)


def random_weights(m, rng):
    """Random (non-zero) weights for every parameter, by tfjs name in tfjs layout (float32)."""
    return {n: (rng.standard_normal(tfjs_shape(p, l)) * 0.3).astype(np.float32) for n, p, l in param_specs(m)}


def test_time_frequencies_are_geometric_from_1_to_1000():
    f = time_frequencies(8).astype(np.float64)
    assert f[0] == 1 and abs(f[-1] - 1000) < 1e-3
    assert np.allclose(f[1:] / f[:-1], 1000 ** (1 / 3), rtol=1e-6)


@pytest.mark.parametrize('cfg', CONFIGS[:2])
def test_mlp_forward_matches_numpy(cfg):
    rng = np.random.default_rng(1)
    m = create_model(cfg, 0)
    W = random_weights(m, rng)
    load_weights(m, W)
    B = 5
    x = rng.standard_normal((B, cfg['dim']))
    t = rng.random(B)
    lab = np.array([0, 1, 2, 3, 1])[:B] if cfg['numClasses'] else None
    act = silu if cfg['activation'] == 'silu' else gelu
    h = np.concatenate([x, emb(t, cfg['timeEmbedDim'])], 1)
    for l in range(cfg['depth']):
        z = h @ W[f'mlp/{l}/W'] + W[f'mlp/{l}/b']
        if l == 0 and lab is not None:
            z = z + W['mlp/class/E'][lab]
        h = act(z)
    ref = h @ W['mlp/out/W'] + W['mlp/out/b']
    out = m(torch.tensor(x, dtype=torch.float32), torch.tensor(t, dtype=torch.float32),
            torch.tensor(lab) if lab is not None else None).detach().numpy()
    assert np.allclose(out, ref, rtol=1e-4, atol=1e-4)


def conv_nhwc(x, w, b):
    """'same' convolution of x [B, H, W, Cin] with w [kh, kw, Cin, Cout] (tfjs layout), float64."""
    kh, kw = w.shape[:2]
    ph, pw = kh // 2, kw // 2
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    H, Wd = x.shape[1:3]
    out = np.zeros((x.shape[0], H, Wd, w.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum('bhwc,cd->bhwd', xp[:, i:i + H, j:j + Wd, :], w[i, j])
    return out + b


def group_norm(x, g, b, groups, eps=1e-5):
    B, H, W, C = x.shape
    xr = x.reshape(B, H * W, groups, C // groups)
    mu = xr.mean(axis=(1, 3), keepdims=True)
    var = ((xr - mu) ** 2).mean(axis=(1, 3), keepdims=True)
    return ((xr - mu) / np.sqrt(var + eps)).reshape(B, H, W, C) * g + b


def unet_numpy(cfg, W, x, t, lab):
    """core/model/unet.ts's forward pass, NHWC, float64, from tfjs-layout weights."""
    G = cfg['groups']
    dense = lambda h, p: h @ W[f'{p}/W'] + W[f'{p}/b']  # noqa: E731

    def res(p, h, e):
        a = conv_nhwc(silu(group_norm(h, W[f'{p}/norm1/g'], W[f'{p}/norm1/b'], G)), W[f'{p}/conv1/W'], W[f'{p}/conv1/b'])
        a = a + dense(e, f'{p}/temb')[:, None, None, :]
        a = conv_nhwc(silu(group_norm(a, W[f'{p}/norm2/g'], W[f'{p}/norm2/b'], G)), W[f'{p}/conv2/W'], W[f'{p}/conv2/b'])
        skip = conv_nhwc(h, W[f'{p}/skip/W'], W[f'{p}/skip/b']) if f'{p}/skip/W' in W else h
        return skip + a

    e = dense(silu(dense(emb(t, cfg['timeEmbedDim']), 'unet/time/0')), 'unet/time/1')
    if lab is not None:
        e = e + W['unet/class/E'][lab]
    e = silu(e)
    h = conv_nhwc(x, W['unet/in/W'], W['unet/in/b'])
    skips = [h]
    L = len(cfg['channelMults'])
    for i in range(L):
        for j in range(cfg['blocksPerLevel']):
            h = res(f'unet/down/{i}/{j}', h, e)
            skips.append(h)
        if i < L - 1:
            B, H, Wd, C = h.shape
            h = h.reshape(B, H // 2, 2, Wd // 2, 2, C).mean(axis=(2, 4))
            skips.append(h)
    h = res('unet/mid/0', h, e)
    if cfg['attention']:
        p = 'unet/mid/attn'
        B, H, Wd, C = h.shape
        n = group_norm(h, W[f'{p}/norm/g'], W[f'{p}/norm/b'], G).reshape(B, H * Wd, C)
        q, k, v = dense(n, f'{p}/q'), dense(n, f'{p}/k'), dense(n, f'{p}/v')
        s = q @ k.transpose(0, 2, 1) / math.sqrt(C)
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        h = h + dense(s @ v, f'{p}/proj').reshape(B, H, Wd, C)
    h = res('unet/mid/1', h, e)
    for r, i in enumerate(range(L - 1, -1, -1)):
        for j in range(cfg['blocksPerLevel'] + 1):
            h = res(f'unet/up/{i}/{j}', np.concatenate([h, skips.pop()], 3), e)
        if r < L - 1:
            h = h.repeat(2, axis=1).repeat(2, axis=2)
    return conv_nhwc(silu(group_norm(h, W['unet/out/norm/g'], W['unet/out/norm/b'], G)), W['unet/out/W'], W['unet/out/b'])


@pytest.mark.parametrize('cfg', CONFIGS[2:])
def test_unet_forward_matches_numpy_nhwc(cfg):
    rng = np.random.default_rng(2)
    m = create_model(cfg, 0)
    W = random_weights(m, rng)
    load_weights(m, W)
    B, S, C = 2, cfg['size'], cfg['channels']
    x = rng.standard_normal((B, S, S, C))
    t = rng.random(B)
    lab = np.array([3, cfg['numClasses']]) if cfg['numClasses'] else None
    ref = unet_numpy(cfg, {k: v.astype(np.float64) for k, v in W.items()}, x, t, lab)
    xt = torch.tensor(x, dtype=torch.float32).permute(0, 3, 1, 2)
    out = m(xt, torch.tensor(t, dtype=torch.float32), torch.tensor(lab) if lab is not None else None)
    out = out.permute(0, 2, 3, 1).detach().numpy()
    assert np.abs(out - ref).max() <= 2e-4 * max(1.0, np.abs(ref).max())


def test_initialisation_follows_the_ts_rules():
    m = create_model(CONFIGS[2], 7)
    W = export_weights(m)
    for name, w in W.items():
        w = w.numpy()
        if name.endswith('/g'):
            assert np.all(w == 1), name
        elif name.endswith('/b') or name in ('unet/out/W',) or name.endswith('conv2/W') or name.endswith('proj/W'):
            assert np.all(w == 0), name
        elif name == 'unet/class/E':
            assert abs(w.std() - 1) < 0.2
        else:  # LeCun uniform U(+-sqrt(3 / fanIn)), fanIn = prod of all but the last tfjs axis
            bound = math.sqrt(3 / int(np.prod(w.shape[:-1])))
            assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.5 * bound, name
    # an untrained model predicts 0 (zero output layer), as the TS models do
    x = torch.randn(2, 1, 28, 28)
    assert m(x, torch.rand(2), torch.tensor([0, 10])).abs().max() == 0
    # same seed, same weights; another seed, other weights
    W2 = export_weights(create_model(CONFIGS[2], 7))
    W3 = export_weights(create_model(CONFIGS[2], 8))
    assert all(torch.equal(W[k], W2[k]) for k in W)
    assert not torch.equal(W['unet/in/W'], W3['unet/in/W'])


def test_load_weights_refuses_misfits_and_changes_nothing():
    m = create_model(CONFIGS[0], 0)
    before = export_weights(m)
    good = {k: v.numpy() + 1 for k, v in before.items()}
    bad = dict(good)
    bad['mlp/0/W'] = np.zeros((3, 3), np.float32)
    with pytest.raises(CheckpointError, match=r'mlp/0/W: expected shape \[10, 16\], got \[3, 3\]'):
        load_weights(m, bad)
    missing = {k: v for k, v in good.items() if k != 'mlp/out/b'}
    with pytest.raises(CheckpointError, match='mlp/out/b: missing'):
        load_weights(m, missing)
    with pytest.raises(CheckpointError, match='mlp/extra/W: not a parameter'):
        load_weights(m, dict(good, **{'mlp/extra/W': np.zeros(1, np.float32)}))
    with pytest.raises(CheckpointError, match='expected dtype float32'):
        load_weights(m, dict(good, **{'mlp/out/b': good['mlp/out/b'].astype(np.float64)}))
    after = export_weights(m)
    assert all(torch.equal(before[k], after[k]) for k in before)
    load_weights(m, good)
    assert torch.allclose(export_weights(m)['mlp/0/W'], before['mlp/0/W'] + 1)
