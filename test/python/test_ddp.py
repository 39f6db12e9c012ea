"""Data parallelism: two torchrun processes (gloo) train the curve of one process with the same
global batch, to float tolerance; the batch (63 rows) splits unevenly (31 + 32) on purpose."""
import sys

import numpy as np
import pytest
import torch

from flow_studio_torch import safetensors_io
from worker_helpers import WorkerProcess, losses

pytest.importorskip('scipy', reason='scipy is not importable here')
if not torch.distributed.is_available():
    pytest.skip('this torch was built without torch.distributed', allow_module_level=True)


def job(tmp_path):
    cfg = {'data': {'kind': 'toy2d', 'name': 'moons'}, 'model': {'kind': 'mlp', 'width': 32, 'depth': 2, 'timeEmbedDim': 8},
           'coupling': {'kind': 'exact-ot'}, 'conditional': True, 'labelDropout': 0.2, 'seed': 4,
           'train': {'steps': 15, 'batchSize': 63, 'logEvery': 1, 'checkpointEvery': 1000, 'sampleEvery': 0},
           'optim': {'lr': 3e-3, 'gradClip': 1.0, 'warmupSteps': 3}}
    return {'runId': 'ddp', 'config': cfg, 'out': str(tmp_path / 'out'), 'device': 'cpu', 'threads': 1, 'progressIntervalMs': 0}


def run(tmp_path, argv):
    tmp_path.mkdir()
    j = job(tmp_path)
    w = WorkerProcess(j, tmp_path, argv=[*argv, '--job', str(tmp_path / 'job.json')] if argv else None)
    try:
        started = w.wait_for('started', timeout=240)
        end = w.finish(timeout=300)
    finally:
        w.kill()
    assert end['status'] == 'completed', w.stderr[-3000:]
    ckpt = [e['file'] for e in w.events if e['type'] == 'checkpoint'][-1]
    return started, losses(w.events), safetensors_io.load(ckpt)[0]


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    s1, one, w1 = run(tmp_path / 'one', None)
    s2, two, w2 = run(tmp_path / 'two', [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nnodes=1',
                                          '--nproc_per_node=2', '--redirects', '2', '--tee', '2', '-m', 'flow_studio_torch', 'train'])
    assert s1['world'] == 1 and s2['world'] == 2
    assert sorted(one) == sorted(two) == list(range(1, 16))
    a = np.array([one[k] for k in sorted(one)])
    b = np.array([two[k] for k in sorted(two)])
    assert np.allclose(a, b, rtol=1e-5, atol=1e-6), np.abs(a - b).max()
    assert a[0] == pytest.approx(b[0], rel=1e-6)
    for k in w1:
        assert np.allclose(w1[k], w2[k], rtol=1e-4, atol=1e-5), k
