"""The worker protocol with real processes: events, controls on stdin, resume, and errors that
name what failed."""
import os
import sys

import numpy as np
import pytest

from conftest import engine_env
from flow_studio_torch import safetensors_io
from worker_helpers import WorkerProcess, exists, losses


def job(tmp_path, steps=40, **cfg):
    c = {'data': {'kind': 'toy2d', 'name': 'moons'}, 'model': {'kind': 'mlp', 'width': 16, 'depth': 2, 'timeEmbedDim': 4},
         'train': {'steps': steps, 'batchSize': 32, 'logEvery': 1, 'checkpointEvery': 1000, 'sampleEvery': 0, 'sampleCount': 16},
         'sampling': {'steps': 4}}
    c.update(cfg)
    return {'runId': 'run-1', 'config': c, 'out': str(tmp_path / 'out'), 'device': 'cpu', 'threads': 1, 'progressIntervalMs': 0}


def test_a_run_streams_its_events_and_writes_its_files(tmp_path):
    j = job(tmp_path, steps=30, train={'steps': 30, 'batchSize': 32, 'logEvery': 10, 'checkpointEvery': 20, 'sampleEvery': 15,
                                       'sampleCount': 16})
    w = WorkerProcess(j, tmp_path)
    try:
        started = w.wait_for('started')
        assert started['runId'] == 'run-1' and started['device'] == 'cpu' and started['totalSteps'] == 30
        assert started['resumedFrom'] is None and started['protocol'] == 1 and started['torch']
        end = w.finish()
    finally:
        w.kill()
    assert end['status'] == 'completed' and end['step'] == 30 and w.proc.returncode == 0
    assert end['summary']['energyDistance'] is not None and end['summary']['steps'] == 30
    types = [e['type'] for e in w.events]
    ck = [e for e in w.events if e['type'] == 'checkpoint']
    assert [e['step'] for e in ck] == [20, 30] and all(exists(e['file']) for e in ck)
    assert [e['step'] for e in w.events if e['type'] == 'sample'] == [15, 30]
    assert sorted(losses(w.events)) == [10, 20, 30]
    assert any(e['type'] == 'progress' and e['stepsPerSec'] > 0 for e in w.events)
    model = next(e for e in w.events if e['type'] == 'exported')['file']
    weights, meta = safetensors_io.load(model)
    assert 'mlp/0/W' in weights and 'flow_studio' in meta
    s, _ = safetensors_io.load(next(e for e in w.events if e['type'] == 'sample')['file'])
    assert s['x'].shape == (16, 2)
    assert types[-1] == 'finished'
    # no temporary files are left next to the checkpoints (written under a temporary name, renamed)
    assert all(f.endswith('.safetensors') and not f.startswith('.') for f in os.listdir(os.path.dirname(ck[0]['file'])))


def test_controls_pause_checkpoint_sample_resume_cancel(tmp_path):
    w = WorkerProcess(job(tmp_path, steps=100000), tmp_path)
    try:
        w.wait_for('progress')
        w.send('{"type":"pause"}')
        paused = w.wait_for('paused')
        assert any(e['type'] == 'checkpoint' and e['step'] == paused['step'] for e in w.events)
        w.send('sample-now')  # a bare word works too
        w.send('checkpoint-now')
        w.send('bogus')
        warn = w.wait_for('warning')
        assert 'bogus' in warn['message']
        w.send('resume')
        resumed = w.wait_for('resumed')
        assert resumed['step'] == paused['step']  # nothing trained while paused
        # sample-now and checkpoint-now sent while paused run at the first step boundary after it
        s = w.wait_for('sample')
        assert exists(s['file']) and s['step'] == paused['step']
        w.wait_for('checkpoint')
        assert [e['step'] for e in w.events if e['type'] == 'checkpoint'] == [paused['step']] * 2
        w.send('{"type": "cancel"}')
        end = w.finish()
    finally:
        w.kill()
    assert end['status'] == 'cancelled' and w.proc.returncode == 0
    assert w.events[-2]['type'] == 'checkpoint' and w.events[-2]['step'] == end['step']  # the last state is kept


def test_eof_on_stdin_cancels(tmp_path):
    w = WorkerProcess(job(tmp_path, steps=100000), tmp_path)
    try:
        w.wait_for('progress')
        w.close_stdin()
        end = w.wait_for('finished')
        w.proc.wait(timeout=60)
    finally:
        w.kill()
    assert end['status'] == 'cancelled'


def test_resume_from_a_checkpoint_continues_the_curve(tmp_path):
    (tmp_path / 'a').mkdir()
    a = WorkerProcess(job(tmp_path / 'a', steps=20, seed=5), tmp_path / 'a')
    try:
        a.finish()
    finally:
        a.kill()
    full = losses(a.events)
    (tmp_path / 'b').mkdir()
    jb = job(tmp_path / 'b', steps=8, seed=5)
    b = WorkerProcess(jb, tmp_path / 'b')
    try:
        b.finish()
    finally:
        b.kill()
    ckpt = next(e['file'] for e in b.events if e['type'] == 'checkpoint')
    (tmp_path / 'c').mkdir()
    jc = job(tmp_path / 'c', steps=20, seed=5)
    jc['resume'] = ckpt
    c = WorkerProcess(jc, tmp_path / 'c')
    try:
        started = c.wait_for('started')
        c.finish()
    finally:
        c.kill()
    assert started['resumedFrom'] == 8 and started['startStep'] == 8
    # the first 8 steps were trained for a run of 8 (the cosine schedule is off: constant lr), so the
    # resumed curve is the straight run's, step for step and bit for bit
    resumed = {**losses(b.events), **losses(c.events)}
    assert resumed == full


def test_a_launch_folder_started_again_continues_from_its_newest_checkpoint(tmp_path):
    """resumeNewest: the folder's own newest checkpoint wins over the job's resume file; eventsFile and
    controlFile work without stdin (how an exported launch folder runs under a scheduler), the events
    file is created with its folder and appended to by each start, and the curve is the straight one."""
    (tmp_path / 'a').mkdir()
    a = WorkerProcess(job(tmp_path / 'a', steps=20, seed=6), tmp_path / 'a')
    try:
        a.finish()
    finally:
        a.kill()
    full = losses(a.events)

    folder = tmp_path / 'launch'
    folder.mkdir()
    j = job(folder, steps=20, seed=6)
    j['config']['train'].update(checkpointEvery=5)
    j.update(out='out', resumeNewest=True, stdinControl=False, controlFile='out/control.jsonl', eventsFile='out/events.jsonl')
    first = WorkerProcess(j, folder)
    try:
        first.wait_for('checkpoint', pred=lambda e: e['step'] == 10)
        with open(folder / 'out' / 'control.jsonl', 'a') as f:
            f.write('cancel\n')
        end = first.finish()
    finally:
        first.kill()
    assert end['status'] == 'cancelled'
    stopped = end['step']
    assert stopped >= 10
    os.remove(folder / 'out' / 'control.jsonl')  # that cancel must not act again
    again = WorkerProcess(j, folder)
    try:
        started = again.wait_for('started')
        again.finish()
    finally:
        again.kill()
    assert started['resumedFrom'] == stopped and started['startStep'] == stopped
    assert {**losses(first.events), **losses(again.events)} == full
    # the events file holds both starts, in order, as stdout carried them
    import json
    with open(folder / 'out' / 'events.jsonl') as f:
        lines = [json.loads(line) for line in f]
    assert [e['type'] for e in lines if e['type'] in ('started', 'finished')] == ['started', 'finished', 'started', 'finished']
    assert lines == first.events + again.events


def test_train_engine_is_read_and_checked(tmp_path):
    from flow_studio_torch.config import experiment
    from flow_studio_torch.errors import ConfigError
    base = job(tmp_path)['config']
    assert experiment(base)['train']['engine'] == 'tfjs'
    assert experiment(dict(base, train=dict(base['train'], engine='pytorch')))['train']['engine'] == 'pytorch'
    with pytest.raises(ConfigError, match='train.engine: must be one of tfjs, pytorch'):
        experiment(dict(base, train=dict(base['train'], engine='jax')))


@pytest.mark.parametrize('mutate,what,field', [
    (lambda j: j['config'].update(optim={'lr': -1}), 'config', 'optim.lr'),
    (lambda j: j['config'].update(data={'kind': 'mnist'}), 'config', 'data.kind'),
    (lambda j: j.update(data='missing.safetensors', config=dict(j['config'], data={'kind': 'mnist'})), 'file', None),
    (lambda j: j.update(device='cuda:7'), 'config', 'device'),
    (lambda j: j.update(resume='nope.safetensors'), 'file', None),
])
def test_errors_name_what_failed(tmp_path, mutate, what, field):
    j = job(tmp_path)
    mutate(j)
    w = WorkerProcess(j, tmp_path)
    try:
        err = w.wait_for('error')
        end = w.finish()
    finally:
        w.kill()
    assert err['what'] == what and end['status'] == 'failed' and w.proc.returncode == 1
    if field:
        assert err['field'] == field and err['message'].startswith(field)
    else:
        assert err['file'].endswith('.safetensors')


def test_a_damaged_checkpoint_is_refused_by_name(tmp_path):
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(safetensors_io.serialize({'x': np.zeros(3, np.float32)})[:-4])
    j = job(tmp_path)
    j['resume'] = str(bad)
    w = WorkerProcess(j, tmp_path)
    try:
        err = w.wait_for('error')
        w.finish()
    finally:
        w.kill()
    assert err['what'] == 'file' and 'truncated' in err['message'] and str(bad) in err['message']


def test_a_broken_torch_is_reported(tmp_path):
    # A torch build whose shared library cannot load, as after a partial install or a CUDA mismatch:
    # simulated by a module named torch that fails to import, first on the path (the machine cannot
    # provide a broken torch otherwise).
    fake = tmp_path / 'fake'
    fake.mkdir()
    (fake / 'torch.py').write_text('raise ImportError("libtorch_cpu.so: cannot open shared object file: No such file or directory")\n')
    env = engine_env()
    env['PYTHONPATH'] = str(fake) + os.pathsep + env['PYTHONPATH']
    w = WorkerProcess(job(tmp_path), tmp_path, env=env)
    try:
        err = w.wait_for('error')
        w.finish()
    finally:
        w.kill()
    assert err['what'] == 'dependency' and err['package'] == 'torch'
    assert 'libtorch_cpu.so' in err['message'] and sys.executable in err['message'] and 'python3-torch' in err['message']
    import json
    import subprocess
    r = subprocess.run([sys.executable, '-m', 'flow_studio_torch', 'info'], env=env, capture_output=True, text=True)
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out['ok'] is False and out['torch'] is None and 'libtorch_cpu.so' in out['error']


def test_info_reports_torch_devices_and_libraries():
    import json
    import subprocess
    r = subprocess.run([sys.executable, '-m', 'flow_studio_torch', 'info'], env=engine_env(), capture_output=True, text=True)
    out = json.loads(r.stdout)
    import torch
    assert r.returncode == 0 and out['ok'] and out['torch']['version'] == torch.__version__
    assert out['python'] == sys.executable and out['devices']['cpu']['cores'] >= 1
    assert set(out['libraries']) == {'numpy', 'scipy', 'pot', 'safetensors', 'ray'}


def test_a_reflow_run_trains_on_its_pairs_file(tmp_path):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((200, 2)).astype(np.float32)
    x1 = (x0 * 0.5 + 1).astype(np.float32)  # a deterministic map: pairs, not independent samples
    pairs = tmp_path / 'pairs.safetensors'
    safetensors_io.save({'x0': x0, 'x1': x1}, str(pairs))
    j = job(tmp_path, steps=10, reflow={'from': 'parent-run'})
    del j['config']['sampling']
    w = WorkerProcess(j, tmp_path)
    try:
        err = w.wait_for('error')
        w.finish()
    finally:
        w.kill()
    assert err['what'] == 'config' and err['field'] == 'reflow' and 'pairs' in err['message']
    (tmp_path / 'b').mkdir()
    j['pairs'] = str(pairs)
    j['out'] = str(tmp_path / 'b' / 'out')
    w = WorkerProcess(j, tmp_path / 'b')
    try:
        end = w.finish()
    finally:
        w.kill()
    assert end['status'] == 'completed' and end['summary']['energyDistance'] is not None
