"""One optimiser step of conditional flow matching at a time, with the TS engine's step semantics
(core/train/trainer.ts):

  1. rng_k = numpy Generator(PCG64(stepSeed(key, k))): every random draw of step k comes from it;
  2. x1, labels ~ target; x0 ~ source (N(0, I) by default), or (x0, x1) ~ a paired source (reflow);
  3. couple(kind, x0, x1) inside the minibatch (per class when classAware; Sinkhorn's reg relative
     to the batch's mean pairwise squared distance);
  4. t, x_t, target, label dropout, loss (loss.py);
  5. Adam/AdamW with schedule, clipping and EMA (optim.py).

stepSeed is the TS function (MurmurHash3's finaliser of key and k), so the data-stream position is
just (key, steps completed): a run trained k steps, saved, restored into a fresh trainer and
continued draws the very batches of an uninterrupted run and, on one device, the same losses.

Data parallelism (torchrun / Ray): every rank draws, couples and prepares the same full batch from
the step's seed and keeps rows [floor(r B / R), floor((r + 1) B / R)). Its local loss is its rows'
share of the full-batch mean, R / (B D) sum_rows w ||f - target||^2, so DDP's gradient average is
the full-batch gradient; the logged loss is the sum of the shares. Every rank applies the same
update and stays identical; rank 0 writes.

Layouts: data arrive in the studio's layout ([d] points, [H, W, C] images). The engine keeps them in
the model's: NCHW for the U-Net, rows flattened in NHWC order for an MLP (so its weights read the
inputs in the order the tfjs MLP does); ``to_studio`` converts back for samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from .config import model_config_for
from .coupling import couple
from .data import GaussianSource, PairedSource, Source
from .errors import CheckpointError, ConfigError, DataError, ShapeError
from .loss import prepare_batch, sampling_time_range, squared_error_sum, training_time_range
from .models import create_model, export_weights, load_weights, param_specs, state_to_tfjs, tfjs_to_torch_list
from .optim import Optimizer
from .paths import path_scheduler, source_scale
from .sampling import guided_field, integrate

M32 = 0xFFFFFFFF


def fmix32(h: int) -> int:
    """MurmurHash3's 32-bit finaliser (a bijective mix of all bits)."""
    h &= M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h


def step_seed(key: int, step: int) -> int:
    """Seed of step k's generator from the run's stream key (trainer.ts stepSeed)."""
    return fmix32((key ^ fmix32((step + 0x9E3779B9) & M32)) & M32)


def step_rng(key: int, step: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(step_seed(key, step)))


def shard_rows(batch: int, shard: int, shards: int) -> Tuple[int, int]:
    return (shard * batch) // shards, ((shard + 1) * batch) // shards


@dataclass
class Dist:
    """The data-parallel group this process belongs to (world 1: alone)."""
    rank: int = 0
    world: int = 1

    @property
    def active(self) -> bool:
        return self.world > 1


@dataclass
class StepResult:
    step: int
    loss: float
    lr: float
    grad_norm: float
    diverged: bool
    coupling_cost: Optional[float] = None


class Layout:
    """Studio layout <-> engine layout of per-sample arrays (see the module doc)."""

    def __init__(self, studio_shape: List[int], model_kind: str):
        self.studio = list(studio_shape)
        self.kind = 'nchw' if model_kind == 'unet' else ('flat' if len(studio_shape) > 1 else 'same')
        if self.kind == 'nchw':
            h, w, c = self.studio
            self.engine = [c, h, w]
        elif self.kind == 'flat':
            self.engine = [int(np.prod(self.studio))]
        else:
            self.engine = list(self.studio)

    def to_engine(self, x, device) -> torch.Tensor:
        t = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32)).to(device)
        if self.kind == 'nchw':
            return t.permute(0, 3, 1, 2).contiguous()
        if self.kind == 'flat':
            return t.reshape(t.shape[0], -1)
        return t

    def to_studio(self, x: torch.Tensor) -> np.ndarray:
        x = x.detach()
        if self.kind == 'nchw':
            x = x.permute(0, 2, 3, 1)
        return x.to('cpu', torch.float32).contiguous().numpy().reshape(x.shape[0], *self.studio)


def sample_with_labels(source: Source, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows of ``source`` whose labels are exactly ``labels``: draws batches of n and keeps rows of
    still-needed classes; a DataError names the class after 100 batches."""
    n = len(labels)
    slots: Dict[int, List[int]] = {}
    for i, l in enumerate(labels.tolist()):
        slots.setdefault(l, []).append(i)
    out = np.empty((n, *source.shape), dtype=np.float32)
    missing = n
    for rnd in range(101):
        if missing == 0:
            return out
        if rnd == 100:
            cls = next(c for c, s in slots.items() if s)
            raise DataError(f'class-aware coupling: the source yielded too few samples of class {cls} in 100 batches of {n}')
        x, lab = source.sample(n, rng)
        if lab is None:
            raise ConfigError('coupling.classAware', 'the source returned no labels')
        for i in range(n):
            s = slots.get(int(lab[i]))
            if s:
                out[s.pop()] = x[i]
                missing -= 1
                if missing == 0:
                    break
    return out


class Trainer:
    def __init__(self, cfg: Dict, target, source: Optional[Source] = None, device: str = 'cpu', dist: Optional[Dist] = None,
                 seed: Optional[int] = None):
        self.cfg = cfg
        self.device = torch.device(device)
        self.dist = dist or Dist()
        self.paired = isinstance(target, PairedSource)
        self.target = target
        shape = list(target.shape)
        num_classes = target.num_classes
        if cfg['conditional'] and num_classes < 1:
            raise ConfigError('conditional', 'needs labelled target data (the target has no classes)')
        if self.paired and source is not None:
            raise ConfigError('source', 'a paired target supplies x0 itself; give no source')
        if self.paired and cfg['coupling']['kind'] != 'independent':
            raise ConfigError('coupling.kind', f"a paired source (reflow) keeps its pairs; use 'independent', got '{cfg['coupling']['kind']}'")
        if cfg['coupling']['classAware'] and num_classes < 1:
            raise ConfigError('coupling.classAware', 'needs labelled target data')
        self.scheduler = path_scheduler(cfg['path'])
        if source is not None:
            if list(source.shape) != shape:
                raise ShapeError(f'source samples have shape {list(source.shape)}, target samples {shape}; they must match')
            a0, s0, _, _ = (float(v) for v in self.scheduler.coeffs(0.0))
            if not (abs(a0) <= 0.01 and abs(s0 - 1) <= 0.01):
                raise ConfigError('path', f'a data source needs a path that starts at it (alpha_0 = 0, sigma_0 = 1); this one has alpha_0 = {a0}, sigma_0 = {s0}')
        self.labelled_source = source is not None and source.num_classes > 0
        if cfg['coupling']['classAware'] and self.labelled_source and source.num_classes != num_classes:
            raise ConfigError('coupling.classAware', f'pairs rows of the same class, but the source has {source.num_classes} classes and the target {num_classes}')
        self.data_source = source
        self.source = source if source is not None else GaussianSource(shape)
        self.num_classes = num_classes if cfg['conditional'] else 0
        self.target_classes = num_classes
        self.batch = cfg['train']['batchSize']
        if self.batch < self.dist.world:
            raise ConfigError('train.batchSize', f'must be >= the number of data-parallel processes ({self.dist.world}), got {self.batch}')
        self.model_config = model_config_for(cfg, shape, self.num_classes)
        self.layout = Layout(shape, self.model_config['kind'])
        self.model = create_model(self.model_config, cfg['seed']).to(self.device)
        self.params = [p for _, p, _ in param_specs(self.model)]
        self.optimizer = Optimizer(self.params, cfg['optim'], cfg['train']['steps'])
        self.time_range = training_time_range(cfg['path'], cfg['prediction'])
        self.sample_range = sampling_time_range(cfg['path'], cfg['prediction'])
        self.key = (cfg['seed'] if seed is None else seed) & M32
        self.steps = 0
        self.ddp = None
        if self.dist.active:
            from torch.nn.parallel import DistributedDataParallel as DDP
            ids = [self.device.index] if self.device.type == 'cuda' else None
            self.ddp = DDP(self.model, device_ids=ids, broadcast_buffers=False)
        self._ema_model = None
        self._ema_version = -1

    # ---- the step ----------------------------------------------------------------------------

    @property
    def shape(self) -> List[int]:
        return self.layout.studio

    def _draw_pairs(self, rng: np.random.Generator):
        B = self.batch
        if self.paired:
            x0, x1, labels = self.target.sample_pairs(B, rng)
            return self.layout.to_engine(x0, self.device), self.layout.to_engine(x1, self.device), labels, None
        x1n, labels = self.target.sample(B, rng)
        cp = self.cfg['coupling']
        if cp['classAware'] and labels is None:
            raise ConfigError('coupling.classAware', 'the target returned no labels')
        if cp['classAware'] and self.labelled_source:
            x0n = sample_with_labels(self.source, labels, rng)
        else:
            x0n, _ = self.source.sample(B, rng)
        x0 = self.layout.to_engine(x0n, self.device)
        x1 = self.layout.to_engine(x1n, self.device)
        if cp['kind'] == 'independent' and not cp['classAware']:
            return x0, x1, labels, None
        reg = None
        if cp['kind'] == 'sinkhorn':
            a, b = x0.reshape(B, -1).float(), x1.reshape(B, -1).float()
            mean_cost = float(((a * a).sum(1).mean() + (b * b).sum(1).mean() - 2 * (a.mean(0) * b.mean(0)).sum()).item())
            reg = cp['reg'] * max(mean_cost, 1e-12)
        c = couple(cp['kind'], x0, x1, rng, reg, labels if cp['classAware'] else None, labels if cp['classAware'] else None)
        pair_labels = c.labels if c.labels is not None else (labels[c.i1] if labels is not None else None)
        i0 = torch.as_tensor(c.i0, device=self.device)
        i1 = torch.as_tensor(c.i1, device=self.device)
        return x0[i0], x1[i1], pair_labels, c.cost

    def prepare(self, step: Optional[int] = None):
        """The full batch of step ``step`` (default: the next one): (FlowBatch, coupling cost)."""
        rng = step_rng(self.key, self.steps if step is None else step)
        x0, x1, labels, cost = self._draw_pairs(rng)
        cond = self.cfg['conditional']
        if cond and labels is None:
            raise ConfigError('conditional', 'the target returned no labels')
        batch = prepare_batch(self.cfg, x0, x1, rng, self.time_range, labels if cond else None, self.target_classes)
        return batch, cost

    def _forward(self, x, t, labels):
        return (self.ddp or self.model)(x, t, labels)

    def step(self) -> StepResult:
        batch, cost = self.prepare()
        B = batch.target.shape[0]
        per_row = batch.target[0].numel()
        lo, hi = shard_rows(B, self.dist.rank, self.dist.world)
        part = batch.rows(lo, hi) if self.dist.active else batch
        local = squared_error_sum(self._forward, part) * (self.dist.world / (B * per_row))
        for p in self.params:
            p.grad = None
        local.backward()
        loss_t = local.detach() / self.dist.world
        if self.dist.active:
            import torch.distributed as td
            td.all_reduce(loss_t)
        loss = float(loss_t.item())
        if not math.isfinite(loss):
            return StepResult(self.steps + 1, loss, self.optimizer.next_lr, math.nan, True, cost)
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        info = self.optimizer.apply(grads)
        for p in self.params:
            p.grad = None
        if not info.applied:
            return StepResult(self.steps + 1, loss, info.lr, info.grad_norm, True, cost)
        self.steps += 1
        return StepResult(self.steps, loss, info.lr, info.grad_norm, False, cost)

    # ---- sampling ----------------------------------------------------------------------------

    def ema_model(self) -> torch.nn.Module:
        """A twin model holding the EMA weights (refreshed after updates)."""
        if self._ema_model is None:
            self._ema_model = create_model(self.model_config, None).to(self.device)
        if self._ema_version != self.optimizer.k:
            with torch.no_grad():
                for (_, p, _), e in zip(param_specs(self._ema_model), self.optimizer.ema):
                    p.copy_(e)
            self._ema_version = self.optimizer.k
        return self._ema_model

    @torch.no_grad()
    def sample(self, n: int, seed: int, labels: Optional[np.ndarray] = None, ema: bool = True, cfg_w: Optional[float] = None,
               solver: Optional[str] = None, steps: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray, int]:
        """n samples (studio layout) from seeded noise, or from the source data; (x, x0, nfe)."""
        model = self.ema_model() if ema else self.model
        s = self.cfg['sampling']
        w = s['cfg'] if cfg_w is None else cfg_w
        lab = torch.as_tensor(labels, dtype=torch.long, device=self.device) if labels is not None else None
        field = guided_field(model, self.cfg['prediction'], self.scheduler, self.num_classes, w, lab)
        rng = np.random.Generator(np.random.PCG64(seed))
        if self.data_source is not None:
            x0n, _ = self.data_source.sample(n, rng)
        else:
            x0n = rng.standard_normal((n, *self.shape), dtype=np.float32) * np.float32(source_scale(self.scheduler))
        x0 = self.layout.to_engine(x0n, self.device)
        x, nfe = integrate(field, x0, solver or s['solver'], self.sample_range[0], self.sample_range[1], steps or s['steps'],
                           s['rtol'], s['atol'])
        return self.layout.to_studio(x), x0n, nfe

    # ---- state -------------------------------------------------------------------------------

    def get_state(self) -> Dict[str, torch.Tensor]:
        """Everything needed to resume, by the TS trainer's names and tfjs layouts (CPU tensors):
        model/<name>, optim/m/<name>, optim/v/<name>, optim/ema/<name>, optim/step (int32 scalar),
        trainer/rng (int32 [2]: stream key, steps completed)."""
        out: Dict[str, torch.Tensor] = {}
        for n, t in export_weights(self.model).items():
            out[f'model/{n}'] = t
        st = self.optimizer.state()
        for part in ('m', 'v', 'ema'):
            for n, t in state_to_tfjs(self.model, st[part]).items():
                out[f'optim/{part}/{n}'] = t
        out['optim/step'] = torch.tensor(self.optimizer.k, dtype=torch.int32)
        key = self.key - (1 << 32) if self.key >= (1 << 31) else self.key
        out['trainer/rng'] = torch.tensor([key, self.steps], dtype=torch.int32)
        return out

    def set_state(self, state: Dict[str, object], file: Optional[str] = None) -> None:
        """Restores a state of ``get_state`` (also one written by the TS engine). Every key is checked
        before anything changes; CheckpointError names a missing or misfit key."""
        def arr(k):
            v = state[k]
            return v if isinstance(v, torch.Tensor) else torch.from_numpy(np.asarray(v))

        if 'trainer/rng' not in state:
            raise CheckpointError('trainer/rng', 'missing from the state (int32 [2]: stream key, steps completed)', file)
        rng = arr('trainer/rng')
        if rng.numel() != 2 or rng.dtype != torch.int32:
            raise CheckpointError('trainer/rng', f'must be int32 [2], got {str(rng.dtype).replace("torch.", "")} {list(rng.shape)}', file)
        key, steps = (int(v) for v in rng.tolist())
        if steps < 0:
            raise CheckpointError('trainer/rng', f'steps completed must be >= 0, got {steps}', file)
        if 'optim/step' not in state:
            raise CheckpointError('optim/step', 'missing from the optimiser state (an int32 scalar)', file)
        ostep = arr('optim/step')
        if ostep.numel() != 1:
            raise CheckpointError('optim/step', f'must be a scalar, got shape {list(ostep.shape)}', file)
        for k in state:
            if not (k.startswith('model/') or k.startswith('optim/') or k == 'trainer/rng'):
                raise CheckpointError(k, 'not a key of a trainer state (model/*, optim/*, trainer/rng)', file)
        names = {n for n, _, _ in param_specs(self.model)}
        for k in state:
            if k.startswith('model/') and k[6:] not in names:
                raise CheckpointError(k, f"not a parameter of this {self.model_config['kind']} model", file)
        weights = tfjs_to_torch_list(self.model, state, 'checkpoint', 'model/', file)
        m = tfjs_to_torch_list(self.model, state, 'optimiser state', 'optim/m/', file)
        v = tfjs_to_torch_list(self.model, state, 'optimiser state', 'optim/v/', file)
        e = tfjs_to_torch_list(self.model, state, 'optimiser state', 'optim/ema/', file)
        with torch.no_grad():
            for p, w in zip(self.params, weights):
                p.copy_(w.to(p.device))
        self.optimizer.load(m, v, e, int(ostep.reshape(()).item()))
        self.key = key & M32
        self.steps = steps
        self._ema_version = -1

    def load_weights(self, named: Dict[str, object], file: Optional[str] = None) -> None:
        load_weights(self.model, named, 'weights', file)


