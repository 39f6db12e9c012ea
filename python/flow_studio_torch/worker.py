"""The training worker: ``python -m flow_studio_torch train --job JOB.json``.

Runs one job (docs/pytorch-engine.md has the job fields, the events and the controls), streaming
JSON lines on stdout and reading control lines on stdin, with the loop of main/training/train-job.ts:
checkpoints every ``train.checkpointEvery`` steps, on pause, on checkpoint-now and at the end
(cancel included); samples every ``train.sampleEvery`` steps and on sample-now; metric rows every
``train.logEvery`` steps, sent in batches; a non-finite loss or gradient ends the run 'diverged'
and keeps the last good checkpoint.

Under torchrun or Ray every rank runs this loop on the same batches; rank 0 reads the controls,
broadcasts them to the others at each step boundary, and alone writes files and events.
"""
from __future__ import annotations

import json
import math
import os
import platform
import sys
import threading
import time
import traceback
from typing import Dict, List, Optional

from . import PROTOCOL_VERSION, __version__
from .errors import ConfigError, FlowStudioError

SMOOTHING = 0.98


# ---------------------------------------------------------------------------------------------
# Events out
# ---------------------------------------------------------------------------------------------

def _clean(v):
    """JSON has no NaN or Infinity: non-finite floats become null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


class EventSink:
    """Writes one JSON object per line to a stream (stdout) or appends to a file; thread-safe."""

    def __init__(self, run_id: Optional[str], stream=None, path: Optional[str] = None):
        self.run_id = run_id
        self.lock = threading.Lock()
        self.stream = stream
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.file = open(path, 'a', encoding='utf-8') if path else None

    def emit(self, type_: str, **fields) -> None:
        obj = {'type': type_}
        if self.run_id is not None:
            obj['runId'] = self.run_id
        obj.update(fields)
        line = json.dumps(_clean(obj), allow_nan=False, separators=(',', ':')) + '\n'
        with self.lock:
            for out in (self.stream, self.file):
                if out is not None:
                    out.write(line)
                    out.flush()

    def close(self) -> None:
        if self.file:
            self.file.close()


class NullSink(EventSink):
    def __init__(self):
        super().__init__(None)

    def emit(self, type_: str, **fields) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# Controls in
# ---------------------------------------------------------------------------------------------

CONTROLS = ('pause', 'resume', 'cancel', 'checkpoint-now', 'sample-now')


class Controls:
    """pause / resume / cancel / checkpoint-now / sample-now, from stdin lines or a control file.
    A line is a JSON object {"type": "pause"} (main/training/protocol.ts Control) or the bare word.
    EOF on stdin means cancel: a supervisor that dies closes the pipe, and the run stops cleanly."""

    def __init__(self, sink: EventSink):
        self.sink = sink
        self.paused = False
        self.cancelled = False
        self.sample_now = False
        self.checkpoint_now = False
        self.changed = threading.Condition()
        self._file = None
        self._offset = 0

    def handle_line(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        kind = line
        if line.startswith('{'):
            try:
                kind = json.loads(line).get('type')
            except (ValueError, AttributeError):
                kind = None
        if kind not in CONTROLS:
            self.sink.emit('warning', message=f'unknown control line {line[:200]!r}; one of {", ".join(CONTROLS)}')
            return
        self.handle(kind)

    def handle(self, kind: str) -> None:
        with self.changed:
            if kind == 'pause':
                self.paused = True
            elif kind == 'resume':
                self.paused = False
            elif kind == 'cancel':
                self.cancelled = True
            elif kind == 'sample-now':
                self.sample_now = True
            elif kind == 'checkpoint-now':
                self.checkpoint_now = True
            self.changed.notify_all()

    def read_stdin(self, stream=None) -> None:
        stream = stream or sys.stdin

        def run():
            try:
                for line in stream:
                    self.handle_line(line)
            except (OSError, ValueError):
                pass
            self.handle('cancel')  # EOF: the supervisor is gone

        threading.Thread(target=run, name='flow-studio-controls', daemon=True).start()

    def watch_file(self, path: str) -> None:
        """Control lines appended to ``path`` (for launchers that cannot pass stdin: Ray, some
        torchrun setups, batch schedulers). Polled at every step boundary and while paused."""
        self._file = path

    def poll(self) -> None:
        if not self._file or not os.path.exists(self._file):
            return
        with open(self._file, 'r', encoding='utf-8') as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind('\n')
        if end < 0:
            return
        self._offset += len(data[:end + 1].encode('utf-8'))
        for line in data[:end + 1].splitlines():
            self.handle_line(line)

    def wait(self, timeout: float) -> None:
        with self.changed:
            self.changed.wait(timeout)


# ---------------------------------------------------------------------------------------------
# The job
# ---------------------------------------------------------------------------------------------

def read_job(path: str) -> Dict:
    try:
        with open(path, 'r', encoding='utf-8') as f:
            job = json.load(f)
    except FileNotFoundError:
        raise ConfigError('--job', f'no such file: {path}') from None
    except ValueError as e:
        raise ConfigError('--job', f'{path} is not valid JSON ({e})') from None
    if not isinstance(job, dict):
        raise ConfigError('--job', f'{path} must hold a JSON object')
    base = os.path.dirname(os.path.abspath(path))
    for k in ('configPath', 'data', 'sourceData', 'pairs', 'resume', 'out', 'controlFile', 'eventsFile'):
        if isinstance(job.get(k), str) and not os.path.isabs(job[k]):
            job[k] = os.path.join(base, job[k])  # relative to the job file
    return job


def job_config(job: Dict) -> Dict:
    from .config import experiment
    if 'config' in job:
        raw = job['config']
    elif 'configPath' in job:
        try:
            with open(job['configPath'], 'r', encoding='utf-8') as f:
                raw = json.load(f)
        except (OSError, ValueError) as e:
            raise ConfigError('configPath', f"cannot read {job['configPath']}: {e}") from None
    else:
        raise ConfigError('config', 'the job needs the experiment config (config: {...} or configPath: FILE)')
    cfg = experiment(raw)
    steps = job.get('stepsOverride')
    if steps is not None:
        if not (isinstance(steps, int) and steps >= 1):
            raise ConfigError('stepsOverride', f'must be an integer >= 1, got {steps!r}')
        cfg['train']['steps'] = steps
    return cfg


def resolve_device(want: Optional[str], local_rank: int = 0) -> str:
    """'auto' (default): cuda, else mps, else cpu. 'cuda' takes the local rank's GPU."""
    import torch
    want = (want or 'auto').lower()
    has_mps = bool(getattr(torch.backends, 'mps', None) and torch.backends.mps.is_available())
    if want == 'auto':
        want = 'cuda' if torch.cuda.is_available() else ('mps' if has_mps else 'cpu')
    if want.startswith('cuda'):
        if not torch.cuda.is_available():
            raise ConfigError('device', f"'{want}' asked for, but torch {torch.__version__} sees no CUDA device (a CPU-only build or no driver)")
        if want == 'cuda':
            return f'cuda:{local_rank % torch.cuda.device_count()}'
        idx = int(want.split(':', 1)[1])
        if idx >= torch.cuda.device_count():
            raise ConfigError('device', f'{want}: only {torch.cuda.device_count()} CUDA device(s)')
        return want
    if want == 'mps':
        if not has_mps:
            raise ConfigError('device', "'mps' asked for, but this torch has no usable Apple GPU backend")
        return 'mps'
    if want == 'cpu':
        return 'cpu'
    raise ConfigError('device', f"must be auto, cpu, cuda, cuda:N or mps, got '{want}'")


def device_info(device: str) -> Dict:
    import torch
    d = {'device': device, 'torch': torch.__version__, 'python': sys.executable, 'pythonVersion': platform.python_version(),
         'threads': torch.get_num_threads()}
    if device.startswith('cuda'):
        idx = torch.device(device).index or 0
        p = torch.cuda.get_device_properties(idx)
        d.update({'deviceName': p.name, 'deviceMemory': p.total_memory, 'cuda': torch.version.cuda})
    return d


def load_sources(cfg: Dict, job: Dict):
    """(target, source or None) of the experiment; a reflow run's target is its pairs file."""
    from . import safetensors_io
    from .data import PairedSource, _file_meta, source_from_spec
    if cfg.get('reflow'):
        if not job.get('pairs'):
            raise ConfigError('reflow', "a reflow run trains on (noise, sample) pairs of its parent run: the job must name them "
                              "(pairs: a safetensors file with x0, x1 and optional labels)")
        t, meta = safetensors_io.load(job['pairs'])
        for k in ('x0', 'x1'):
            if k not in t:
                raise ConfigError('pairs', f"{job['pairs']} has no tensor '{k}'")
        info = _file_meta(meta, job['pairs'])
        lab = t.get('labels')
        k = info.get('numClasses', int(lab.max()) + 1 if lab is not None and lab.size else 0) if lab is not None else 0
        return PairedSource(t['x0'], t['x1'], lab, k, job['pairs']), None
    target = source_from_spec(cfg['data'], 'data', job.get('data'))
    source = source_from_spec(cfg['source']['data'], 'source.data', job.get('sourceData')) if cfg['source']['kind'] == 'data' else None
    return target, source


def newest_checkpoint(folder: str) -> Optional[str]:
    """The checkpoint of the highest step in ``folder`` (``step-NNNNNNNN.safetensors``, this engine's
    names), or None. For ``resumeNewest``: a launch folder started again continues where it stopped."""
    if not os.path.isdir(folder):
        return None
    best, best_step = None, -1
    for name in os.listdir(folder):
        if name.startswith('step-') and name.endswith('.safetensors'):
            try:
                step = int(name[len('step-'):-len('.safetensors')])
            except ValueError:
                continue
            if step > best_step:
                best, best_step = os.path.join(folder, name), step
    return best


def same_start(trainer, step: int) -> None:
    """Every rank must start from the same step: a rank that resumed from another checkpoint (its own
    ``out`` folder on a node without the others' files) would train another model."""
    import torch
    import torch.distributed as td
    dev = trainer.device if trainer.device.type == 'cuda' else 'cpu'
    t = torch.tensor([step, -step], dtype=torch.int64, device=dev)
    td.all_reduce(t, op=td.ReduceOp.MAX)
    hi, lo = int(t[0]), -int(t[1])
    if hi != lo:
        raise ConfigError('resume', f'the ranks start from different steps ({lo} to {hi}): every rank must read the same checkpoint; '
                          'put the out folder on storage every node sees, or give the same resume file to all')


def _sample_labels(n: int, k: int):
    import numpy as np
    return (np.arange(n) % k).astype(np.int32) if k > 0 else None


def run(job: Dict, sink: EventSink, controls: Controls, dist=None, device: Optional[str] = None) -> str:
    """Runs a training job; returns the final status. Every outcome ends with a 'finished' event
    (after an 'error' event naming what failed, for status 'failed')."""
    import numpy as np
    import torch

    from .checkpoint import export_model, load_checkpoint, save_checkpoint
    from .data import energy_distance, source_from_spec
    from .trainer import Dist, Trainer
    from . import safetensors_io

    dist = dist or Dist()
    lead = dist.rank == 0
    trainer = None
    step_now = 0
    try:
        cfg = job_config(job)
        out = job.get('out')
        if not isinstance(out, str) or not out:
            raise ConfigError('out', 'the job needs an output folder (out: path)')
        if lead:
            os.makedirs(os.path.join(out, 'checkpoints'), exist_ok=True)
            os.makedirs(os.path.join(out, 'samples'), exist_ok=True)
        threads = job.get('threads')
        if threads is not None:
            if not (isinstance(threads, int) and threads >= 1):
                raise ConfigError('threads', f'must be an integer >= 1, got {threads!r}')
            torch.set_num_threads(threads)
        device = device or resolve_device(job.get('device'), int(os.environ.get('LOCAL_RANK', '0')))
        if dist.world > 1 and device == 'mps':
            raise ConfigError('device', 'data-parallel training needs cuda or cpu (torch.distributed has no MPS backend)')
        target, source = load_sources(cfg, job)
        trainer = Trainer(cfg, target, source, device, dist)
        total = cfg['train']['steps']
        resumed_from = None
        if job.get('resumeNewest'):
            newest = newest_checkpoint(os.path.join(out, 'checkpoints'))
            if newest:
                job['resume'] = newest
        if job.get('resume'):
            state, _ = load_checkpoint(job['resume'])
            trainer.set_state(state, job['resume'])
            resumed_from = trainer.steps
        start_step = trainer.steps
        step_now = start_step
        if dist.active:
            same_start(trainer, start_step)
        sink.emit('started', protocol=PROTOCOL_VERSION, engine='pytorch', engineVersion=__version__, **device_info(device),
                  world=dist.world, resumedFrom=resumed_from, startStep=start_step, totalSteps=total,
                  parameterCount=sum(p.numel() for p in trainer.params), safetensors=safetensors_io.implementation(),
                  modelConfig=trainer.model_config)

        ckpt_dir = os.path.join(out, 'checkpoints')
        sample_dir = os.path.join(out, 'samples')

        def checkpoint():
            if not lead:
                return
            path = os.path.join(ckpt_dir, f'step-{trainer.steps:08d}.safetensors')
            save_checkpoint(trainer, path)
            sink.emit('checkpoint', step=trainer.steps, file=path)

        def take_sample():
            if not lead:
                return
            shape = trainer.shape
            n = cfg['train']['sampleCount'] if len(shape) == 1 else min(cfg['train']['sampleCount'], 64)
            labels = _sample_labels(n, trainer.num_classes)
            x, _, nfe = trainer.sample(n, cfg['seed'] + 7919, labels)
            path = os.path.join(sample_dir, f'step-{trainer.steps:08d}.safetensors')
            arrays = {'x': x}
            if labels is not None:
                arrays['labels'] = labels
            kind = 'points' if len(shape) == 1 else 'images'
            meta = {'step': trainer.steps, 'kind': kind, 'n': n, 'shape': shape, 'nfe': nfe, 'seed': cfg['seed'] + 7919}
            safetensors_io.save(arrays, path, {'flow_studio': json.dumps(meta, separators=(',', ':'))})
            sink.emit('sample', step=trainer.steps, file=path, kind=kind, n=n, **({'labels': labels.tolist()} if labels is not None else {}))

        pending: List[Dict] = []
        last_flush = time.monotonic()

        def flush():
            nonlocal last_flush
            if pending:
                sink.emit('metrics', rows=list(pending))
                pending.clear()
            last_flush = time.monotonic()

        def sync_controls():
            """Rank 0's control flags, for every rank (one broadcast per step boundary)."""
            if lead:
                controls.poll()
            if not dist.active:
                return
            import torch.distributed as td
            flags = torch.tensor([int(controls.paused), int(controls.cancelled), int(controls.sample_now), int(controls.checkpoint_now)],
                                 dtype=torch.int32, device=trainer.device if trainer.device.type == 'cuda' else 'cpu')
            td.broadcast(flags, 0)
            controls.paused, controls.cancelled, controls.sample_now, controls.checkpoint_now = (bool(v) for v in flags.tolist())

        interval = job.get('progressIntervalMs')
        interval = 0.2 if interval is None else float(interval) / 1000
        last_progress = 0.0
        smoothed = math.nan
        last_loss = math.nan
        last_lr = 0.0
        t0 = time.monotonic()
        rate_step, rate_time, steps_per_sec = start_step, t0, 0.0

        while trainer.steps < total:
            sync_controls()
            if controls.cancelled:
                break
            if controls.paused:
                flush()
                checkpoint()
                sink.emit('paused', step=trainer.steps)
                while controls.paused and not controls.cancelled:
                    if lead:
                        controls.wait(0.25)
                    sync_controls()
                if controls.cancelled:
                    break
                sink.emit('resumed', step=trainer.steps)
                rate_step, rate_time = trainer.steps, time.monotonic()
            if controls.sample_now:
                controls.sample_now = False
                take_sample()
            if controls.checkpoint_now:
                controls.checkpoint_now = False
                flush()
                checkpoint()

            r = trainer.step()
            step_now = trainer.steps
            if r.diverged:
                flush()
                sink.emit('metrics', rows=[{'step': r.step, 'name': 'loss', 'value': r.loss}, {'step': r.step, 'name': 'grad_norm', 'value': r.grad_norm}])
                msg = f'loss became {r.loss} (gradient norm {r.grad_norm}) at step {r.step}; the last good checkpoint is kept'
                sink.emit('finished', status='diverged', step=r.step - 1, summary={'finalLoss': r.loss}, error=msg)
                return 'diverged'
            last_loss, last_lr = r.loss, r.lr
            smoothed = r.loss if math.isnan(smoothed) else SMOOTHING * smoothed + (1 - SMOOTHING) * r.loss
            step = r.step
            if step % cfg['train']['logEvery'] == 0 or step == total:
                pending.extend([{'step': step, 'name': 'loss', 'value': r.loss}, {'step': step, 'name': 'lr', 'value': r.lr},
                                {'step': step, 'name': 'grad_norm', 'value': r.grad_norm}])
                if r.coupling_cost is not None:
                    pending.append({'step': step, 'name': 'coupling_cost', 'value': r.coupling_cost})
            now = time.monotonic()
            if len(pending) >= 300 or now - last_flush > 1.0:
                flush()
            if step % cfg['train']['checkpointEvery'] == 0 and step < total:
                flush()
                checkpoint()
            if cfg['train']['sampleEvery'] > 0 and step % cfg['train']['sampleEvery'] == 0:
                take_sample()
            if now - last_progress >= interval or step == total:
                dt = now - rate_time
                if dt > 0.25:
                    steps_per_sec = (step - rate_step) / dt
                    rate_step, rate_time = step, now
                elif steps_per_sec == 0 and now > t0:
                    steps_per_sec = (step - start_step) / (now - t0)
                last_progress = now
                sink.emit('progress', step=step, totalSteps=total, loss=r.loss, lossSmoothed=smoothed, lr=r.lr, gradNorm=r.grad_norm,
                          stepsPerSec=steps_per_sec, etaSec=(total - step) / steps_per_sec if steps_per_sec > 0 else 0)

        flush()
        checkpoint()
        wall = time.monotonic() - t0
        summary = {'steps': trainer.steps, 'finalLoss': last_loss, 'smoothedLoss': smoothed, 'lr': last_lr, 'wallSeconds': wall,
                   'stepsPerSec': (trainer.steps - start_step) / wall if wall > 0 else 0, 'backend': 'pytorch', 'device': device,
                   'world': dist.world}
        if controls.cancelled:
            sink.emit('finished', status='cancelled', step=trainer.steps, summary=summary)
            return 'cancelled'
        if lead:
            # A reflow run's target is its pairs; its quality is still measured against config.data.
            data = trainer.target if not trainer.paired else (
                source_from_spec(cfg['data'], 'data', None) if cfg['data']['kind'] in ('toy2d', 'gmm', 'points') else None)
            if len(trainer.shape) == 1 and data is not None:
                n = 2000
                x, _, nfe = trainer.sample(n, cfg['seed'] + 104729)
                fresh, _ = data.sample(n, np.random.Generator(np.random.PCG64(cfg['seed'] + 15485863)))
                summary.update({'energyDistance': energy_distance(x, fresh), 'samplingNfe': nfe})
            if cfg['train']['sampleEvery'] > 0 and trainer.steps % cfg['train']['sampleEvery'] != 0:
                take_sample()
            model_path = os.path.join(out, 'model.safetensors')
            export_model(trainer, model_path)
            sink.emit('exported', step=trainer.steps, file=model_path, ema=True)
        sink.emit('finished', status='completed', step=trainer.steps, summary=summary)
        return 'completed'
    except FlowStudioError as e:
        sink.emit('error', what=e.kind, message=str(e), **e.details())
        sink.emit('finished', status='failed', step=step_now, summary={}, error=str(e))
        if not lead:
            print(f'flow_studio_torch rank {dist.rank}: {e}', file=sys.stderr)
        return 'failed'
    except Exception as e:  # an unexpected failure: name the exception and where it happened
        what = 'device' if 'out of memory' in str(e).lower() else 'internal'
        tb = traceback.format_exc()
        sink.emit('error', what=what, message=f'{type(e).__name__}: {e}', traceback=tb)
        sink.emit('finished', status='failed', step=step_now, summary={}, error=f'{type(e).__name__}: {e}')
        if not lead:
            print(f'flow_studio_torch rank {dist.rank}:\n{tb}', file=sys.stderr)
        return 'failed'
