"""Command line of the PyTorch engine (docs/pytorch-engine.md):

  python -m flow_studio_torch info                      JSON: python, torch, devices, optional libraries
  python -m flow_studio_torch train --job JOB.json      a training job, JSON lines on stdout, controls on stdin
  torchrun --nproc_per_node=N -m flow_studio_torch train --job JOB.json
  python -m flow_studio_torch ray --job JOB.json --workers N [--gpu] [--address ADDR]
  python -m flow_studio_torch export --checkpoint CKPT --out MODEL [--raw]
  python -m flow_studio_torch apply --job APPLY.json    a model's output (and a batch's loss) on given inputs

Exit codes: 0 completed or cancelled, 1 failed (after an 'error' line), 2 diverged.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
from typing import Dict, Optional


def _version(dist_name: str, module: str) -> Optional[str]:
    """A package's version without importing it (None when it is not installed)."""
    if importlib.util.find_spec(module) is None:
        return None
    try:
        from importlib.metadata import version
        return version(dist_name)
    except Exception:
        return 'unknown'


def _torch_error() -> Optional[str]:
    """None when torch imports, else a sentence naming what is missing."""
    try:
        import torch  # noqa: F401
        return None
    except Exception as e:  # ImportError, or a broken build (missing shared library, ABI mismatch)
        return (f'PyTorch is not usable by {sys.executable}: importing torch failed with {type(e).__name__}: {e}. '
                'Install it (Debian: apt-get install python3-torch; elsewhere: pip install torch) or point FLOW_STUDIO_PYTHON '
                'at a Python that has it')


def _numpy_error() -> Optional[str]:
    try:
        import numpy  # noqa: F401
        return None
    except Exception as e:
        return f'numpy is not usable by {sys.executable} ({type(e).__name__}: {e}); install python3-numpy or pip install numpy'


def info() -> Dict:
    from . import PROTOCOL_VERSION, __version__
    out: Dict = {'ok': True, 'engine': __version__, 'protocol': PROTOCOL_VERSION, 'python': sys.executable,
                 'pythonVersion': platform.python_version(), 'platform': platform.platform()}
    out['libraries'] = {
        'numpy': _version('numpy', 'numpy'), 'scipy': _version('scipy', 'scipy'), 'pot': _version('POT', 'ot'),
        'safetensors': _version('safetensors', 'safetensors'), 'ray': _version('ray', 'ray'),
    }
    err = _numpy_error() or _torch_error()
    if err:
        out.update({'ok': False, 'error': err, 'torch': None, 'devices': None})
        return out
    import torch

    from . import safetensors_io
    cuda = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            cuda.append({'index': i, 'name': p.name, 'memory': p.total_memory, 'capability': f'{p.major}.{p.minor}'})
    mps = bool(getattr(torch.backends, 'mps', None) and torch.backends.mps.is_available())
    out['torch'] = {'version': torch.__version__, 'cuda': torch.version.cuda, 'distributed': torch.distributed.is_available()}
    out['devices'] = {'cuda': cuda, 'mps': mps, 'cpu': {'threads': torch.get_num_threads(), 'cores': os.cpu_count()}}
    out['safetensors'] = safetensors_io.implementation()
    return out


def _fail_early(message: str, what: str, run_id: Optional[str] = None, **details) -> int:
    """The protocol's error + finished lines for a failure before the job runs."""
    from .worker import EventSink
    sink = EventSink(run_id, sys.stdout)
    sink.emit('error', what=what, message=message, **details)
    sink.emit('finished', status='failed', step=0, summary={}, error=message)
    return 1


def cmd_train(job_path: str) -> int:
    from .errors import FlowStudioError
    err = _numpy_error()
    if err:
        return _fail_early(err, 'dependency', package='numpy')
    err = _torch_error()
    if err:
        return _fail_early(err, 'dependency', package='torch')
    from .worker import Controls, EventSink, NullSink, read_job, run
    try:
        job = read_job(job_path)
    except FlowStudioError as e:
        return _fail_early(str(e), e.kind, **e.details())
    from .distributed import setup_torchrun, teardown
    try:
        dist, device = setup_torchrun(job)
    except FlowStudioError as e:
        return _fail_early(str(e), e.kind, job.get('runId'), **e.details())
    lead = dist.rank == 0
    sink = EventSink(job.get('runId'), sys.stdout, job.get('eventsFile')) if lead else NullSink()
    controls = Controls(sink)
    if lead:
        if job.get('stdinControl', True):
            controls.read_stdin()
        if job.get('controlFile'):
            controls.watch_file(job['controlFile'])
    try:
        status = run(job, sink, controls, dist, device)
    finally:
        sink.close()
        teardown()
    return {'completed': 0, 'cancelled': 0, 'diverged': 2}.get(status, 1)


def cmd_export(checkpoint: str, out: str, raw: bool) -> int:
    """Checkpoint -> exported model (EMA weights by default) without a trainer."""
    from . import safetensors_io
    from .checkpoint import load_checkpoint
    tensors, info_ = load_checkpoint(checkpoint)
    prefix = 'model/' if raw else 'optim/ema/'
    weights = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    if not weights:
        from .errors import CheckpointError
        raise CheckpointError(prefix + '*', 'no such tensors in the checkpoint', checkpoint)
    meta = dict(info_, format='flow-studio-model', ema=not raw)
    safetensors_io.save(weights, out, {'flow_studio': json.dumps(meta, separators=(',', ':'))})
    print(json.dumps({'ok': True, 'file': out, 'tensors': len(weights), 'ema': not raw}))
    return 0


def cmd_apply(job_path: str) -> int:
    """A model's raw output on given inputs and, with an experiment config, the loss of a given batch
    (times, bridge noise and labels given, nothing drawn). For checking the engines against each other.

    Job: {weights: FILE (exported model or checkpoint), modelConfig?: {...} (default: the file's
    metadata), input: FILE with x [n, ...studio shape], t [n], labels? int32 [n], and for the loss
    x0, x1 [n, ...], eps? [n, ...] (interpolant), experiment?: config, out: FILE, device?}.
    Output: ``pred`` [n, ...] (studio layout) and, with an experiment, ``loss`` float32 [].
    """
    import numpy as np
    import torch

    from . import safetensors_io
    from .checkpoint import sampling_weights
    from .config import experiment
    from .errors import ConfigError
    from .loss import batch_loss, form_batch
    from .models import create_model, load_weights
    from .trainer import Layout
    from .worker import read_job, resolve_device

    job = read_job(job_path)
    for k in ('weights', 'input', 'out'):
        if not isinstance(job.get(k), str):
            raise ConfigError(k, 'the apply job needs it (a file path)')
    weights, meta, _ = sampling_weights(job['weights'])
    mcfg = job.get('modelConfig') or meta.get('modelConfig')
    if not isinstance(mcfg, dict):
        raise ConfigError('modelConfig', 'not in the job and not in the weights file metadata')
    device = resolve_device(job.get('device') or 'cpu')
    model = create_model(mcfg, None).to(device)
    load_weights(model, weights, 'weights', job['weights'])
    model.eval()
    inp, _ = safetensors_io.load(job['input'])
    x = inp['x']
    layout = Layout(list(x.shape[1:]), mcfg['kind'])
    to = lambda a: layout.to_engine(a, device)  # noqa: E731
    lab = torch.as_tensor(inp['labels'].astype(np.int64), device=device) if 'labels' in inp else None
    t = torch.as_tensor(inp['t'].astype(np.float32), device=device)
    result = {}
    with torch.no_grad():
        result['pred'] = layout.to_studio(model(to(x), t, lab))
        if job.get('experiment') is not None:
            cfg = experiment(job['experiment'])
            eps = to(inp['eps']) if 'eps' in inp else None
            labels = inp['labels'].astype(np.int64) if 'labels' in inp else None
            b = form_batch(cfg, to(inp['x0']), to(inp['x1']), inp['t'].astype(np.float64), eps, labels)
            result['loss'] = np.asarray(batch_loss(lambda a, tt, ll: model(a, tt, ll), b).item(), dtype=np.float32)
    safetensors_io.save(result, job['out'])
    print(json.dumps({'ok': True, 'file': job['out'], **({'loss': float(result['loss'])} if 'loss' in result else {})}))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python -m flow_studio_torch', description="Flow Studio's PyTorch engine")
    sub = p.add_subparsers(dest='cmd', required=True)
    sub.add_parser('info', help='JSON: python, torch, devices, optional libraries')
    t = sub.add_parser('train', help='run a training job (JSON lines on stdout, controls on stdin)')
    t.add_argument('--job', required=True)
    r = sub.add_parser('ray', help='run a training job on Ray Train workers')
    r.add_argument('--job', required=True)
    r.add_argument('--workers', type=int, default=2)
    r.add_argument('--gpu', action='store_true', help='one GPU per worker (NCCL)')
    r.add_argument('--address', default=os.environ.get('RAY_ADDRESS'))
    e = sub.add_parser('export', help='checkpoint -> model file (EMA weights)')
    e.add_argument('--checkpoint', required=True)
    e.add_argument('--out', required=True)
    e.add_argument('--raw', action='store_true', help='the raw weights instead of the EMA')
    a = sub.add_parser('apply', help="a model's output (and a batch's loss) on given inputs")
    a.add_argument('--job', required=True)
    args = p.parse_args(argv)

    if args.cmd == 'info':
        out = info()
        print(json.dumps(out, indent=2))
        return 0 if out['ok'] else 1
    if args.cmd == 'train':
        return cmd_train(args.job)
    err = _numpy_error() or _torch_error()
    if err:
        print(json.dumps({'ok': False, 'error': err}))
        return 1
    from .errors import FlowStudioError
    try:
        if args.cmd == 'ray':
            from .distributed import ray_main
            return ray_main(args.job, args.workers, args.gpu, args.address)
        if args.cmd == 'export':
            return cmd_export(args.checkpoint, args.out, args.raw)
        return cmd_apply(args.job)
    except FlowStudioError as e:
        print(json.dumps({'ok': False, 'what': e.kind, 'error': str(e), **e.details()}))
        return 1


if __name__ == '__main__':
    sys.exit(main())
