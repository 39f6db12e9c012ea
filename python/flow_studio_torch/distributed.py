"""Beyond one process: torchrun (DDP) and Ray Train.

torchrun --nproc_per_node=N -m flow_studio_torch train --job JOB.json
    torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous address; every rank runs the
    same loop (trainer.py explains how the global batch is split) on cuda:LOCAL_RANK with NCCL, or
    on the CPU with gloo. Rank 0 reads the controls (stdin, which torchrun's workers inherit, or
    the job's controlFile) and alone writes events and files.

python -m flow_studio_torch ray --job JOB.json --workers N [--gpu] [--address ADDR]
    Ray Train's TorchTrainer starts N workers and their process group (gloo on CPU, NCCL on GPU).
    Ray prefixes worker output, so rank 0 appends events to OUT/events.jsonl and the driver copies
    the new lines to its stdout; the driver appends stdin's control lines to OUT/control.jsonl,
    which rank 0 polls. The driver's stdout therefore speaks the same protocol as ``train``.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Dict, Optional


def setup_torchrun(job: Dict):
    """(Dist, device) for this process: alone, or one rank of a torchrun / already-initialised group."""
    import torch
    import torch.distributed as td

    from .trainer import Dist
    from .worker import resolve_device

    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    world = int(os.environ.get('WORLD_SIZE', '1'))
    device = resolve_device(job.get('device'), local_rank)
    if td.is_available() and td.is_initialized():
        return Dist(td.get_rank(), td.get_world_size()), device
    if world <= 1:
        return Dist(), device
    if not td.is_available():
        raise RuntimeError(f'torch {torch.__version__} was built without torch.distributed')
    backend = 'nccl' if device.startswith('cuda') else 'gloo'
    if backend == 'nccl':
        torch.cuda.set_device(torch.device(device))
    td.init_process_group(backend)
    return Dist(td.get_rank(), td.get_world_size()), device


def teardown() -> None:
    import torch.distributed as td
    if td.is_available() and td.is_initialized():
        td.destroy_process_group()


def _ray_loop(config: Dict) -> None:
    """Ray Train's per-worker function: the same ``run`` as train, with file-based events and controls."""
    import ray.train
    import torch

    from .trainer import Dist
    from .worker import Controls, EventSink, NullSink, run

    job = config['job']
    ctx = ray.train.get_context()
    dist = Dist(ctx.get_world_rank(), ctx.get_world_size())
    if config.get('use_gpu'):
        import ray.train.torch as rt
        device = str(rt.get_device())
    else:
        device = 'cpu'
    if job.get('threads'):
        torch.set_num_threads(int(job['threads']))
    sink = EventSink(job.get('runId'), None, job['eventsFile']) if dist.rank == 0 else NullSink()
    controls = Controls(sink)
    if dist.rank == 0:
        controls.watch_file(job['controlFile'])
    try:
        run(job, sink, controls, dist, device)
    finally:
        sink.close()


def _tail(path: str, stop: threading.Event, out, offset: int = 0) -> None:
    """Copies complete lines appended to ``path`` after byte ``offset`` to ``out`` until a 'finished'
    event or ``stop``."""
    buf = b''
    while True:
        if os.path.exists(path):
            with open(path, 'rb') as f:
                f.seek(offset)
                chunk = f.read()
            offset += len(chunk)
            buf += chunk
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                out.write(line.decode('utf-8') + '\n')
                out.flush()
                try:
                    if json.loads(line).get('type') == 'finished':
                        return
                except ValueError:
                    pass
        if stop.is_set():
            return
        time.sleep(0.1)


def ray_main(job_path: str, workers: int, use_gpu: bool, address: Optional[str]) -> int:
    from .errors import MissingDependencyError
    from .worker import EventSink, read_job

    try:
        import ray
        from ray.train import ScalingConfig
        from ray.train.torch import TorchTrainer
    except Exception as e:
        raise MissingDependencyError('ray[train]', 'python -m flow_studio_torch ray', str(e), 'pip install "ray[train]"') from None
    job = read_job(job_path)
    out = job.get('out')
    if not isinstance(out, str) or not out:
        from .errors import ConfigError
        raise ConfigError('out', 'the job needs an output folder (out: path)')
    os.makedirs(out, exist_ok=True)
    events = os.path.join(out, 'events.jsonl')
    control = os.path.join(out, 'control.jsonl')
    # The events of earlier runs of the same folder stay (flow-studio import reads the whole history,
    # each run from its 'started' line); only the lines appended from now on are relayed. Old control
    # lines would act again: that file starts empty.
    open(control, 'w').close()
    start = os.path.getsize(events) if os.path.exists(events) else 0
    job = dict(job, eventsFile=events, controlFile=control)
    sink = EventSink(job.get('runId'), sys.stdout)

    def forward_stdin():
        for line in sys.stdin:
            with open(control, 'a', encoding='utf-8') as f:
                f.write(line if line.endswith('\n') else line + '\n')
        with open(control, 'a', encoding='utf-8') as f:
            f.write('cancel\n')  # EOF: the supervisor is gone

    if job.get('stdinControl', True):
        threading.Thread(target=forward_stdin, daemon=True).start()
    stop = threading.Event()
    tail = threading.Thread(target=_tail, args=(events, stop, sys.stdout, start), daemon=True)
    tail.start()
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            # Logical CPUs: one per worker plus the trainer's coordinator, even on a small machine.
            ray.init(num_cpus=max(os.cpu_count() or 1, workers + 1), log_to_driver=False, include_dashboard=False)
    trainer = TorchTrainer(_ray_loop, train_loop_config={'job': job, 'use_gpu': use_gpu},
                           scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker={'CPU': 1}))
    try:
        trainer.fit()
    except Exception as e:
        stop.set()
        tail.join(timeout=5)
        sink.emit('error', what='ray', message=f'{type(e).__name__}: {e}')
        sink.emit('finished', status='failed', step=0, summary={}, error=f'Ray Train failed: {e}')
        return 1
    stop.set()
    tail.join(timeout=10)
    return 0

