"""Adam / AdamW with warmup + cosine schedule, global-norm clipping and an EMA of the weights, with
the update of core/train/optim.ts. Update k = 1, 2, ... (step index j = k - 1):

  g'  = c g                      (+ wd w for 'adam': L2 in the gradient, as torch.optim.Adam)
  m   = b1 m + (1 - b1) g'
  v   = b2 v + (1 - b2) g'^2
  w   = w - a m / (sqrt(v) + eps sqrt(1 - b2^k)),  a = lr_j sqrt(1 - b2^k) / (1 - b1^k)
        ('adamw' first decays w <- w (1 - lr_j wd))
  ema = d_j ema + (1 - d_j) w,   d_j = min(d, (1 + j) / (10 + j)) (emaWarmup, default), else d

  lr_j = lr (j + 1) / W for j < W; then lr (constant) or
         lr (r + (1 - r) (1 + cos(pi p)) / 2), p = min(1, (j - W) / max(1, T - W)) (cosine)
  c    = min(1, gradClip / ||g||) with ||g|| the global L2 norm (gradClip = 0: c = 1)

A non-finite gradient norm skips the update: weights, moments, EMA and the step count stay.
The same algebra as torch.optim.Adam's bias-corrected step; written out here because the TS
engine's form (clipping folded in, EMA decay ramp, state names) is the contract checkpoints share.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Sequence

import torch


def learning_rate(o: Dict, step: int, total_steps: int) -> float:
    """The learning rate of 0-based step ``step`` of a run of ``total_steps``."""
    W = o['warmupSteps']
    if step < W:
        return o['lr'] * (step + 1) / W
    if o['schedule'] == 'constant':
        return o['lr']
    p = min(1.0, (step - W) / max(1, total_steps - W))
    return o['lr'] * (o['minLrRatio'] + (1 - o['minLrRatio']) * 0.5 * (1 + math.cos(math.pi * p)))


def ema_decay_at(o: Dict, step: int) -> float:
    return o['emaDecay'] if o.get('emaWarmup') is False else min(o['emaDecay'], (1 + step) / (10 + step))


def clip_factor(norm: float, max_norm: float) -> float:
    return max_norm / norm if max_norm > 0 and norm > max_norm else 1.0


@dataclass
class StepInfo:
    applied: bool
    lr: float
    grad_norm: float
    clip: float


class Optimizer:
    """The update above over ``params`` (torch tensors, any layout); state tensors share their shapes."""

    def __init__(self, params: Sequence[torch.Tensor], spec: Dict, total_steps: int):
        self.params: List[torch.Tensor] = list(params)
        self.spec = dict(spec)
        self.total_steps = int(total_steps)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.ema = [p.detach().clone() for p in self.params]
        self.k = 0

    @property
    def next_lr(self) -> float:
        return learning_rate(self.spec, self.k, self.total_steps)

    @torch.no_grad()
    def grad_norm(self, grads: Sequence[torch.Tensor]) -> float:
        """Global L2 norm, summed in float32 on the device (one host read)."""
        total = torch.zeros((), dtype=torch.float32, device=self.params[0].device)
        for g in grads:
            total = total + (g.float() * g.float()).sum()
        return math.sqrt(float(total.item()))

    @torch.no_grad()
    def apply(self, grads: Sequence[torch.Tensor]) -> StepInfo:
        o = self.spec
        lr = learning_rate(o, self.k, self.total_steps)
        norm = self.grad_norm(grads)
        if not math.isfinite(norm):
            return StepInfo(False, lr, norm, 1.0)
        clip = clip_factor(norm, o['gradClip'])
        k = self.k + 1
        b1, b2, wd = o['beta1'], o['beta2'], o['weightDecay']
        sbc2 = math.sqrt(1 - b2 ** k)
        step = lr * sbc2 / (1 - b1 ** k)
        eps = o['eps'] * sbc2
        d = ema_decay_at(o, self.k)
        l2 = o['kind'] == 'adam' and wd > 0
        for p, g, m, v, e in zip(self.params, grads, self.m, self.v, self.ema):
            g = g * clip if clip != 1.0 else g
            if l2:
                g = g + wd * p
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            if o['kind'] == 'adamw' and wd > 0:
                p.mul_(1 - lr * wd)
            p.addcdiv_(m, v.sqrt().add_(eps), value=-step)
            if d == 0:
                e.copy_(p)
            else:
                e.mul_(d).add_(p, alpha=1 - d)
        self.k = k
        return StepInfo(True, lr, norm, clip)

    def state(self) -> Dict[str, List[torch.Tensor]]:
        return {'m': self.m, 'v': self.v, 'ema': self.ema}

    @torch.no_grad()
    def load(self, m: Sequence[torch.Tensor], v: Sequence[torch.Tensor], ema: Sequence[torch.Tensor], step: int) -> None:
        for dst, src in ((self.m, m), (self.v, v), (self.ema, ema)):
            for a, b in zip(dst, src):
                a.copy_(b.to(a.device))
        self.k = int(step)
