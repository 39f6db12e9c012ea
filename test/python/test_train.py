"""Training: a moons run that learns, resume continuing the same loss curve, state in the TS
trainer's names, and the coupling / conditional / image paths of the step."""
import json

import numpy as np
import pytest
import torch

from flow_studio_torch import safetensors_io
from flow_studio_torch.checkpoint import export_model, load_checkpoint, sampling_weights, save_checkpoint
from flow_studio_torch.config import experiment
from flow_studio_torch.data import ArraySource, Toy2DSource, energy_distance
from flow_studio_torch.errors import CheckpointError, ConfigError
from flow_studio_torch.trainer import Trainer, step_seed


def moons_cfg(**kw):
    c = {'data': {'kind': 'toy2d', 'name': 'moons'}, 'model': {'kind': 'mlp', 'width': 64, 'depth': 3, 'timeEmbedDim': 16},
         'train': {'steps': 400, 'batchSize': 256}, 'optim': {'lr': 3e-3}, 'sampling': {'solver': 'rk4', 'steps': 20}}
    c.update(kw)
    return experiment(c)


def test_moons_run_learns():
    """400 steps bring the EMA model's samples within energy distance 0.02 of the data (N(0, I) noise
    is ~0.6 away, and two independent data sets of 2000 points differ by ~0.003)."""
    tr = Trainer(moons_cfg(), Toy2DSource('moons'))
    losses = [tr.step().loss for _ in range(400)]
    assert np.mean(losses[-50:]) < 0.8 * np.mean(losses[:10])
    x, _, nfe = tr.sample(2000, 1)
    fresh, _ = Toy2DSource('moons').sample(2000, np.random.default_rng(2))
    assert nfe == 80
    assert energy_distance(x, fresh) < 0.02


def test_step_seed_is_a_32_bit_mix():
    seeds = {step_seed(7, k) for k in range(1000)}
    assert len(seeds) == 1000 and all(0 <= s < 2 ** 32 for s in seeds)
    assert step_seed(7, 3) != step_seed(8, 3)


@pytest.mark.parametrize('kind', ['independent', 'exact-ot', 'sinkhorn'])
def test_resume_continues_the_same_loss_curve(tmp_path, kind):
    if kind == 'sinkhorn':
        pytest.importorskip('ot', reason='POT is not importable here')
    cfg = moons_cfg(train={'steps': 30, 'batchSize': 64}, coupling={'kind': kind},
                    optim={'lr': 3e-3, 'warmupSteps': 5, 'schedule': 'cosine', 'gradClip': 1.0}, seed=11)
    straight = Trainer(cfg, Toy2DSource('moons'))
    curve = [straight.step().loss for _ in range(30)]
    first = Trainer(cfg, Toy2DSource('moons'))
    part = [first.step().loss for _ in range(12)]
    path = str(tmp_path / 'ckpt.safetensors')
    save_checkpoint(first, path)
    again = Trainer(cfg, Toy2DSource('moons'))
    state, info = load_checkpoint(path)
    again.set_state(state, path)
    assert again.steps == 12 and info['step'] == 12 and info['modelConfig']['kind'] == 'mlp'
    part += [again.step().loss for _ in range(18)]
    assert part == curve  # bit for bit on one device
    for a, b in zip(straight.params, again.params):
        assert torch.equal(a, b)


def test_state_names_and_layouts_are_the_ts_trainers(tmp_path):
    cfg = moons_cfg(conditional=True, labelDropout=0.1, train={'steps': 5, 'batchSize': 16}, seed=3_000_000_000)
    tr = Trainer(cfg, Toy2DSource('moons'))
    for _ in range(3):
        tr.step()
    st = tr.get_state()
    names = ['mlp/0/W', 'mlp/0/b', 'mlp/1/W', 'mlp/1/b', 'mlp/2/W', 'mlp/2/b', 'mlp/out/W', 'mlp/out/b', 'mlp/class/E']
    want = {f'model/{n}' for n in names} | {f'optim/{p}/{n}' for p in ('m', 'v', 'ema') for n in names} | {'optim/step', 'trainer/rng'}
    assert set(st) == want
    assert list(st['model/mlp/0/W'].shape) == [2 + 16, 64]  # tfjs dense layout [in, out]
    assert torch.equal(st['model/mlp/0/W'], tr.model.layers[0].weight.detach().t())
    assert st['optim/step'].dtype == torch.int32 and st['optim/step'].shape == () and int(st['optim/step']) == 3
    # the key is stored as a signed int32 (TS: key | 0) and read back unsigned
    assert st['trainer/rng'].tolist() == [3_000_000_000 - 2 ** 32, 3]
    other = Trainer(cfg, Toy2DSource('moons'))
    other.set_state(st)
    assert other.key == 3_000_000_000 and other.steps == 3


def test_bad_states_are_refused_and_change_nothing():
    cfg = moons_cfg(train={'steps': 5, 'batchSize': 16})
    tr = Trainer(cfg, Toy2DSource('moons'))
    tr.step()
    st = {k: v.numpy() for k, v in tr.get_state().items()}
    fresh = Trainer(cfg, Toy2DSource('moons'))
    before = [p.clone() for p in fresh.params]
    bad = dict(st)
    bad['optim/v/mlp/1/W'] = np.zeros((2, 2), np.float32)
    with pytest.raises(CheckpointError, match=r'optim/v/mlp/1/W: expected shape \[64, 64\]'):
        fresh.set_state(bad)
    with pytest.raises(CheckpointError, match='trainer/rng: missing'):
        fresh.set_state({k: v for k, v in st.items() if k != 'trainer/rng'})
    with pytest.raises(CheckpointError, match='extra/x: not a key of a trainer state'):
        fresh.set_state(dict(st, **{'extra/x': np.zeros(1, np.float32)}))
    assert all(torch.equal(a, b) for a, b in zip(before, fresh.params)) and fresh.steps == 0


def test_conditional_unet_on_images_with_class_aware_exact_ot(tmp_path):
    pytest.importorskip('scipy', reason='scipy is not importable here')
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 8, 8, 1)).astype(np.float32)
    lab = (np.arange(40) % 3).astype(np.int32)
    cfg = experiment({'data': {'kind': 'mnist'}, 'conditional': True, 'labelDropout': 0.2, 'coupling': {'kind': 'exact-ot', 'classAware': True},
                      'model': {'kind': 'unet', 'baseChannels': 4, 'channelMults': [1, 2], 'groups': 2, 'timeEmbedDim': 4, 'attention': True},
                      'train': {'steps': 3, 'batchSize': 12}, 'sampling': {'cfg': 1.0, 'steps': 2}})
    tr = Trainer(cfg, ArraySource(x, lab, 3))
    assert tr.layout.engine == [1, 8, 8] and tr.model_config['numClasses'] == 3
    batch, cost = tr.prepare()
    assert list(batch.xt.shape) == [12, 1, 8, 8] and cost is not None and batch.labels is not None
    r = [tr.step() for _ in range(3)]
    assert all(not s.diverged for s in r) and tr.steps == 3
    out, x0, _ = tr.sample(6, 5, np.arange(6) % 3)
    assert out.shape == (6, 8, 8, 1) and np.all(np.isfinite(out))
    path = str(tmp_path / 'model.safetensors')
    export_model(tr, path)
    w, info, ema = sampling_weights(path)
    assert ema and list(w['unet/in/W'].shape) == [3, 3, 1, 4]  # tfjs conv layout [kh, kw, cin, cout]
    assert info['format'] == 'flow-studio-model' and info['modelConfig']['size'] == 8
    assert json.loads(safetensors_io.read_metadata(path)['flow_studio'])['prediction'] == 'velocity'


def test_mlp_on_images_reads_pixels_in_nhwc_order():
    x = np.arange(2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3)
    cfg = experiment({'data': {'kind': 'images', 'folder': 'f', 'size': 28, 'channels': 3}, 'model': {'kind': 'mlp', 'width': 4, 'depth': 1},
                      'train': {'batchSize': 2}})
    tr = Trainer(cfg, ArraySource(x))
    assert tr.layout.engine == [12]
    e = tr.layout.to_engine(x, 'cpu')
    assert e[0].tolist() == x[0].reshape(-1).tolist()  # the tfjs MLP flattens NHWC rows
    assert np.array_equal(tr.layout.to_studio(e), x)


def test_trainer_checks_combinations():
    with pytest.raises(ConfigError, match='conditional: needs labelled target data'):
        Trainer(experiment({'data': {'kind': 'points', 'points': [[0, 0], [1, 1]]}, 'model': {'kind': 'mlp'}, 'conditional': True}),
                ArraySource(np.zeros((2, 2), np.float32)))
    cfg = experiment({'data': {'kind': 'toy2d', 'name': 'moons'}, 'source': {'kind': 'data', 'data': {'kind': 'toy2d', 'name': 'circles'}},
                      'path': {'kind': 'affine', 'scheduler': {'kind': 've'}}, 'model': {'kind': 'mlp'}})
    with pytest.raises(ConfigError, match='path: a data source needs a path that starts at it'):
        Trainer(cfg, Toy2DSource('moons'), Toy2DSource('circles'))
    with pytest.raises(ConfigError, match=r'optim\.beta2: must be in \[0, 1\), got 1'):
        experiment({'data': {'kind': 'toy2d', 'name': 'moons'}, 'model': {'kind': 'mlp'}, 'optim': {'beta2': 1}})
    with pytest.raises(ConfigError, match='labelDropout: guidance'):
        experiment({'data': {'kind': 'toy2d', 'name': 'moons'}, 'model': {'kind': 'mlp'}, 'conditional': True, 'sampling': {'cfg': 1}})
