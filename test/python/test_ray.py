"""Ray Train: `python -m flow_studio_torch ray` runs the same loop on two TorchTrainer workers
(gloo); its stdout speaks the worker protocol, stdin's controls reach rank 0, and the curve is the
single process's. Skipped where Ray is not installed (it is optional)."""
import importlib.util
import sys

import numpy as np
import pytest

from worker_helpers import WorkerProcess, losses

if importlib.util.find_spec('ray') is None:
    pytest.skip(f'Ray is not installed for {sys.executable} (optional: pip install "ray[train]")', allow_module_level=True)


def job(tmp_path):
    cfg = {'data': {'kind': 'toy2d', 'name': 'moons'}, 'model': {'kind': 'mlp', 'width': 32, 'depth': 2, 'timeEmbedDim': 8},
           'seed': 2, 'train': {'steps': 100000, 'batchSize': 63, 'logEvery': 1, 'checkpointEvery': 100000, 'sampleEvery': 0}}
    return {'runId': 'ray', 'config': cfg, 'out': str(tmp_path / 'out'), 'device': 'cpu', 'threads': 1, 'progressIntervalMs': 0}


def test_ray_workers_train_the_single_process_curve_and_obey_controls(tmp_path):
    (tmp_path / 'ray').mkdir()
    w = WorkerProcess(job(tmp_path / 'ray'), tmp_path / 'ray',
                      argv=[sys.executable, '-m', 'flow_studio_torch', 'ray', '--workers', '2', '--job', str(tmp_path / 'ray' / 'job.json')])
    try:
        started = w.wait_for('started', timeout=240)
        w.wait_for('progress', pred=lambda e: e['step'] >= 20, timeout=120)
        w.send('cancel')
        end = w.finish(timeout=240)
    finally:
        w.kill()
    assert started['world'] == 2 and end['status'] == 'cancelled' and end['step'] >= 20
    ray_curve = losses(w.events)

    (tmp_path / 'one').mkdir()
    j = job(tmp_path / 'one')
    j['config']['train']['steps'] = 20
    one = WorkerProcess(j, tmp_path / 'one')
    try:
        one.finish()
    finally:
        one.kill()
    single = losses(one.events)
    steps = sorted(single)
    assert steps == list(range(1, 21)) and all(s in ray_curve for s in steps)
    assert np.allclose([ray_curve[s] for s in steps], [single[s] for s in steps], rtol=1e-5, atol=1e-6)
