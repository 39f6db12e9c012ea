"""The MLP and U-Net velocity models of core/model/mlp.ts and unet.ts, in idiomatic torch, with the
TS models' parameter names, shapes and order.

Inside, the models are ordinary torch modules (nn.Linear weights [out, in], nn.Conv2d weights
[cout, cin, kh, kw], NCHW activations). At the boundary (checkpoints, exported weights) every
parameter is named and laid out as the tfjs model stores it:

  dense  tfjs W [in, out]           <-> torch Linear.weight [out, in]            (transpose)
  conv   tfjs W [kh, kw, cin, cout] <-> torch Conv2d.weight [cout, cin, kh, kw]  (permute)
  plain  biases, GroupNorm gamma/beta, class tables: the same layout

so a file written here loads into the studio's tfjs model unchanged, and the other way round.
``param_specs(model)`` lists (tfjs name, torch parameter, layout) in the TS creation order.

MLP (mlp.ts):  h0 = [x, emb(t)];  h1 = act(h0 W0 + b0 (+ E[label]));  h_l = act(h_{l-1} W + b);
               out = h W_out + b_out.   Names mlp/<l>/{W,b}, mlp/out/{W,b}, mlp/class/E.
U-Net (unet.ts): time MLP e = dense(silu(dense(emb(t)))) (+ E[label]); in conv; per level
  blocksPerLevel ResBlocks then 2x2 average pooling; mid ResBlock, attention, ResBlock; up path of
  blocksPerLevel + 1 ResBlocks on concat(h, skip) then nearest x2 upsampling; out conv of
  silu(GN(h)). ResBlock(x) = skip(x) + conv2(silu(GN2(conv1(silu(GN1(x))) + dense(silu(e))))).
  Attention: x + proj(softmax(q k^T / sqrt(C)) v) over the positions of GN(x), single head.

Time embedding: [sin(w_i t), cos(w_i t)], w_i = 1000^(i / (h - 1)), i < h = dim / 2 (embed.ts);
timeEmbedDim 0 feeds t itself. Label ``numClasses`` is the "no label" class of guidance.

Initialisation (params.ts): LeCun uniform U(+-sqrt(3 / fanIn)) for dense and conv weights, zero
biases, GroupNorm gamma 1 and beta 0, class tables N(0, 1), zeros for the output layers and each
ResBlock's second conv and attention's proj (untrained models predict 0). Drawn in the TS creation
order from numpy's generator (not the TS Rng, so not the same numbers).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import CheckpointError, ConfigError, ShapeError

TIME_FREQ_MIN = 1.0
TIME_FREQ_MAX = 1000.0


def time_frequencies(dim: int) -> np.ndarray:
    """The dim / 2 frequencies w_i = w_min (w_max / w_min)^(i / (dim / 2 - 1)), float32 (as the TS table)."""
    half = dim // 2
    u = np.arange(half, dtype=np.float64) / (half - 1) if half > 1 else np.zeros(1)
    return (TIME_FREQ_MIN * np.power(TIME_FREQ_MAX / TIME_FREQ_MIN, u)).astype(np.float32)


class TimeEmbedding(nn.Module):
    """t [B] -> [sin(w t), cos(w t)] [B, dim]; dim = 0 gives t itself as [B, 1]."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        if dim:
            self.register_buffer('freqs', torch.from_numpy(time_frequencies(dim)), persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        if self.dim == 0:
            return t.reshape(-1, 1)
        arg = t.reshape(-1, 1) * self.freqs
        return torch.cat([torch.sin(arg), torch.cos(arg)], 1)


def activation(name: str):
    if name == 'silu':
        return F.silu
    if name == 'relu':
        return F.relu
    if name == 'tanh':
        return torch.tanh
    if name == 'gelu':
        return F.gelu  # exact: x Phi(x) = x (1 + erf(x / sqrt 2)) / 2
    raise ConfigError('model.activation', f'must be one of silu, relu, gelu, tanh. Got {name}')


Spec = Tuple[str, nn.Parameter, str]


class MLP(nn.Module):
    def __init__(self, cfg: Dict):
        super().__init__()
        validate_mlp(cfg)
        self.cfg = dict(cfg)
        E = cfg['timeEmbedDim']
        in_dim = cfg['dim'] + (1 if E == 0 else E)
        self.embed = TimeEmbedding(E)
        self.layers = nn.ModuleList([nn.Linear(in_dim if l == 0 else cfg['width'], cfg['width']) for l in range(cfg['depth'])])
        self.out = nn.Linear(cfg['width'], cfg['dim'])
        self.class_table = nn.Parameter(torch.zeros(cfg['numClasses'] + 1, cfg['width'])) if cfg['numClasses'] > 0 else None
        self.act = activation(cfg['activation'])
        specs: List[Spec] = []
        for l, lin in enumerate(self.layers):
            specs += [(f'mlp/{l}/W', lin.weight, 'dense'), (f'mlp/{l}/b', lin.bias, 'plain')]
        specs += [('mlp/out/W', self.out.weight, 'dense'), ('mlp/out/b', self.out.bias, 'plain')]
        if self.class_table is not None:
            specs.append(('mlp/class/E', self.class_table, 'plain'))
        self.specs = specs
        self.inits = {f'mlp/{l}/W': ('uniform', math.sqrt(3 / (in_dim if l == 0 else cfg['width']))) for l in range(cfg['depth'])}
        self.inits.update({'mlp/out/W': ('zeros', 0), 'mlp/class/E': ('normal', 1.0)})

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        d = self.cfg['dim']
        if x.dim() != 2 or x.shape[1] != d:
            raise ShapeError(f'x must have shape [batch, {d}]. Got {list(x.shape)}')
        h = torch.cat([x, self.embed(t)], 1)
        for l, lin in enumerate(self.layers):
            z = lin(h)
            if l == 0 and self.class_table is not None:
                if labels is None:
                    raise ShapeError(f'labels must have shape [{x.shape[0]}] for a class-conditional model. Got none')
                z = z + self.class_table[labels]
            h = self.act(z)
        return self.out(h)


class ResBlock(nn.Module):
    def __init__(self, prefix: str, cin: int, cout: int, tdim: int, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None
        p = prefix
        self.specs: List[Spec] = [
            (f'{p}/norm1/g', self.norm1.weight, 'plain'), (f'{p}/norm1/b', self.norm1.bias, 'plain'),
            (f'{p}/conv1/W', self.conv1.weight, 'conv'), (f'{p}/conv1/b', self.conv1.bias, 'plain'),
            (f'{p}/temb/W', self.temb.weight, 'dense'), (f'{p}/temb/b', self.temb.bias, 'plain'),
            (f'{p}/norm2/g', self.norm2.weight, 'plain'), (f'{p}/norm2/b', self.norm2.bias, 'plain'),
            (f'{p}/conv2/W', self.conv2.weight, 'conv'), (f'{p}/conv2/b', self.conv2.bias, 'plain'),
        ]
        if self.skip is not None:
            self.specs += [(f'{p}/skip/W', self.skip.weight, 'conv'), (f'{p}/skip/b', self.skip.bias, 'plain')]
        self.inits = {f'{p}/conv1/W': ('uniform', math.sqrt(3 / (9 * cin))), f'{p}/temb/W': ('uniform', math.sqrt(3 / tdim)),
                      f'{p}/conv2/W': ('zeros', 0), f'{p}/skip/W': ('uniform', math.sqrt(3 / cin))}

    def forward(self, x: torch.Tensor, e_act: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(e_act)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, prefix: str, c: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, c, eps=1e-5)
        self.q, self.k, self.v, self.proj = (nn.Linear(c, c) for _ in range(4))
        p = prefix
        self.specs: List[Spec] = [(f'{p}/norm/g', self.norm.weight, 'plain'), (f'{p}/norm/b', self.norm.bias, 'plain')]
        for n in ('q', 'k', 'v', 'proj'):
            lin = getattr(self, n)
            self.specs += [(f'{p}/{n}/W', lin.weight, 'dense'), (f'{p}/{n}/b', lin.bias, 'plain')]
        self.inits = {f'{p}/{n}/W': ('uniform', math.sqrt(3 / c)) for n in ('q', 'k', 'v')}
        self.inits[f'{p}/proj/W'] = ('zeros', 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = x.shape
        n = self.norm(x).reshape(b, c, hh * ww).transpose(1, 2)  # [B, HW, C], positions row-major
        q, k, v = self.q(n), self.k(n), self.v(n)
        p = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * (1 / math.sqrt(c)), dim=-1)
        o = self.proj(torch.bmm(p, v))
        return x + o.transpose(1, 2).reshape(b, c, hh, ww)


class UNet(nn.Module):
    def __init__(self, cfg: Dict):
        super().__init__()
        validate_unet(cfg)
        self.cfg = dict(cfg, channelMults=list(cfg['channelMults']))
        base, G, E = cfg['baseChannels'], cfg['groups'], cfg['timeEmbedDim']
        tdim = 4 * base
        self.embed = TimeEmbedding(E)
        self.time0 = nn.Linear(E, tdim)
        self.time1 = nn.Linear(tdim, tdim)
        self.class_table = nn.Parameter(torch.zeros(cfg['numClasses'] + 1, tdim)) if cfg['numClasses'] > 0 else None
        self.inc = nn.Conv2d(cfg['channels'], base, 3, padding=1)
        specs: List[Spec] = [('unet/time/0/W', self.time0.weight, 'dense'), ('unet/time/0/b', self.time0.bias, 'plain'),
                             ('unet/time/1/W', self.time1.weight, 'dense'), ('unet/time/1/b', self.time1.bias, 'plain')]
        inits = {'unet/time/0/W': ('uniform', math.sqrt(3 / E)), 'unet/time/1/W': ('uniform', math.sqrt(3 / tdim)),
                 'unet/class/E': ('normal', 1.0), 'unet/in/W': ('uniform', math.sqrt(3 / (9 * cfg['channels'])))}
        if self.class_table is not None:
            specs.append(('unet/class/E', self.class_table, 'plain'))
        specs += [('unet/in/W', self.inc.weight, 'conv'), ('unet/in/b', self.inc.bias, 'plain')]
        levels = [base * m for m in cfg['channelMults']]
        self.down = nn.ModuleList()
        skip_ch = [base]
        ch = base
        blocks_all: List[nn.Module] = []
        for i, lc in enumerate(levels):
            blocks = nn.ModuleList()
            for j in range(cfg['blocksPerLevel']):
                blocks.append(ResBlock(f'unet/down/{i}/{j}', ch, lc, tdim, G))
                ch = lc
                skip_ch.append(ch)
            if i < len(levels) - 1:
                skip_ch.append(ch)
            self.down.append(blocks)
            blocks_all += list(blocks)
        self.mid0 = ResBlock('unet/mid/0', ch, ch, tdim, G)
        self.attn = Attention('unet/mid/attn', ch, G) if cfg['attention'] else None
        self.mid1 = ResBlock('unet/mid/1', ch, ch, tdim, G)
        blocks_all += [self.mid0] + ([self.attn] if self.attn is not None else []) + [self.mid1]
        self.up = nn.ModuleList()
        for i in range(len(levels) - 1, -1, -1):
            blocks = nn.ModuleList()
            for j in range(cfg['blocksPerLevel'] + 1):
                blocks.append(ResBlock(f'unet/up/{i}/{j}', ch + skip_ch.pop(), levels[i], tdim, G))
                ch = levels[i]
            self.up.append(blocks)
            blocks_all += list(blocks)
        self.out_norm = nn.GroupNorm(G, ch, eps=1e-5)
        self.outc = nn.Conv2d(ch, cfg['channels'], 3, padding=1)
        for b in blocks_all:
            specs += b.specs
            inits.update(b.inits)
        specs += [('unet/out/norm/g', self.out_norm.weight, 'plain'), ('unet/out/norm/b', self.out_norm.bias, 'plain'),
                  ('unet/out/W', self.outc.weight, 'conv'), ('unet/out/b', self.outc.bias, 'plain')]
        inits['unet/out/W'] = ('zeros', 0)
        self.specs = specs
        self.inits = inits

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        s, c = self.cfg['size'], self.cfg['channels']
        if x.dim() != 4 or list(x.shape[1:]) != [c, s, s]:
            raise ShapeError(f'x must have shape [batch, {c}, {s}, {s}] (NCHW). Got {list(x.shape)}')
        e = self.time1(F.silu(self.time0(self.embed(t))))
        if self.class_table is not None:
            if labels is None:
                raise ShapeError(f'labels must have shape [{x.shape[0]}] for a class-conditional model. Got none')
            e = e + self.class_table[labels]
        e_act = F.silu(e)
        h = self.inc(x)
        skips = [h]
        for i, blocks in enumerate(self.down):
            for blk in blocks:
                h = blk(h, e_act)
                skips.append(h)
            if i < len(self.down) - 1:
                h = F.avg_pool2d(h, 2)
                skips.append(h)
        h = self.mid0(h, e_act)
        if self.attn is not None:
            h = self.attn(h)
        h = self.mid1(h, e_act)
        for r, blocks in enumerate(self.up):
            for blk in blocks:
                h = blk(torch.cat([h, skips.pop()], 1), e_act)
            if r < len(self.up) - 1:
                h = F.interpolate(h, scale_factor=2, mode='nearest')
        return self.outc(F.silu(self.out_norm(h)))


def _check(cond: bool, field: str, msg: str) -> None:
    if not cond:
        raise ConfigError(field, msg)


def _is_int(v, lo: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def validate_mlp(c: Dict) -> None:
    _check(_is_int(c.get('dim'), 1), 'model.dim', f"must be an integer >= 1. Got {c.get('dim')}")
    _check(_is_int(c.get('width'), 1), 'model.width', f"must be an integer >= 1. Got {c.get('width')}")
    _check(_is_int(c.get('depth'), 1), 'model.depth', f"must be an integer >= 1. Got {c.get('depth')}")
    _check(c.get('activation') in ('silu', 'relu', 'gelu', 'tanh'), 'model.activation', f"must be one of silu, relu, gelu, tanh. Got {c.get('activation')}")
    _check(_is_int(c.get('timeEmbedDim'), 0) and c['timeEmbedDim'] % 2 == 0, 'model.timeEmbedDim', f"must be 0 (raw t) or an even integer >= 2. Got {c.get('timeEmbedDim')}")
    _check(_is_int(c.get('numClasses'), 0), 'model.numClasses', f"must be an integer >= 0. Got {c.get('numClasses')}")


def validate_unet(c: Dict) -> None:
    _check(_is_int(c.get('size'), 4), 'model.size', f"must be an integer >= 4. Got {c.get('size')}")
    _check(_is_int(c.get('channels'), 1), 'model.channels', f"must be an integer >= 1. Got {c.get('channels')}")
    _check(_is_int(c.get('baseChannels'), 1), 'model.baseChannels', f"must be an integer >= 1. Got {c.get('baseChannels')}")
    cm = c.get('channelMults')
    _check(isinstance(cm, list) and len(cm) >= 2 and all(_is_int(m, 1) for m in cm), 'model.channelMults', f'needs at least two integers >= 1. Got {cm}')
    down = 2 ** (len(cm) - 1)
    _check(c['size'] % down == 0, 'model.channelMults', f"{len(cm)} resolutions halve the size {len(cm) - 1} times; {c['size']} is not divisible by {down}")
    _check(_is_int(c.get('blocksPerLevel'), 1), 'model.blocksPerLevel', f"must be an integer >= 1. Got {c.get('blocksPerLevel')}")
    _check(_is_int(c.get('groups'), 1) and c['baseChannels'] % c['groups'] == 0, 'model.groups',
           f"must divide baseChannels ({c['baseChannels']}). Got {c.get('groups')}")
    _check(_is_int(c.get('timeEmbedDim'), 2) and c['timeEmbedDim'] % 2 == 0, 'model.timeEmbedDim', f"must be an even integer >= 2. Got {c.get('timeEmbedDim')}")
    _check(_is_int(c.get('numClasses'), 0), 'model.numClasses', f"must be an integer >= 0. Got {c.get('numClasses')}")


# ---------------------------------------------------------------------------------------------
# Layouts and weights by tfjs name
# ---------------------------------------------------------------------------------------------

def to_tfjs(t: torch.Tensor, layout: str) -> torch.Tensor:
    """A torch-layout parameter (or a same-shaped state tensor) in the tfjs layout."""
    if layout == 'dense':
        return t.t()
    if layout == 'conv':
        return t.permute(2, 3, 1, 0)
    return t


def from_tfjs(t: torch.Tensor, layout: str) -> torch.Tensor:
    """A tfjs-layout tensor in the torch layout of its parameter."""
    if layout == 'dense':
        return t.t()
    if layout == 'conv':
        return t.permute(3, 2, 0, 1)
    return t


def tfjs_shape(p: torch.Tensor, layout: str) -> List[int]:
    return list(to_tfjs(p.detach(), layout).shape)


def create_model(cfg: Dict, seed: Optional[int] = 0) -> nn.Module:
    """An MLP or U-Net of ``cfg`` (core/model/types.ts ModelConfig), initialised from ``seed``
    (None leaves torch's default initialisation, for a model about to receive weights)."""
    kind = cfg.get('kind')
    if kind == 'mlp':
        model: nn.Module = MLP(cfg)
    elif kind == 'unet':
        model = UNet(cfg)
    else:
        raise ConfigError('model.kind', f"must be 'mlp' or 'unet'. Got {kind}")
    if seed is not None:
        init_weights(model, seed)
    return model


def param_specs(model: nn.Module) -> List[Spec]:
    return list(model.specs)  # type: ignore[attr-defined]


def init_weights(model: nn.Module, seed: int) -> None:
    """Draws every parameter in the TS creation order (params.ts rules, see the module doc)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    inits = model.inits  # type: ignore[attr-defined]
    with torch.no_grad():
        for name, p, layout in param_specs(model):
            shape = tfjs_shape(p, layout)
            kind, arg = inits.get(name, ('ones', 0) if name.endswith('/g') else ('zeros', 0))
            if kind == 'uniform':
                a = (2 * rng.random(shape) - 1) * arg
            elif kind == 'normal':
                a = rng.standard_normal(shape) * arg
            elif kind == 'ones':
                a = np.ones(shape)
            else:
                a = np.zeros(shape)
            p.copy_(from_tfjs(torch.from_numpy(a.astype(np.float32)), layout))


def export_weights(model: nn.Module) -> Dict[str, torch.Tensor]:
    """Weights by tfjs name in tfjs layout (CPU float32 copies), in parameter order."""
    return {n: to_tfjs(p.detach(), l).to('cpu', torch.float32).contiguous().clone() for n, p, l in param_specs(model)}


def state_to_tfjs(model: nn.Module, tensors: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Per-parameter tensors of the parameters' shapes (e.g. Adam moments), by tfjs name and layout."""
    return {n: to_tfjs(t.detach(), l).to('cpu', torch.float32).contiguous().clone() for (n, _, l), t in zip(param_specs(model), tensors)}


def tfjs_to_torch_list(model: nn.Module, named: Dict[str, object], what: str, prefix: str = '', file: Optional[str] = None) -> List[torch.Tensor]:
    """Tensors by tfjs name (numpy or torch, tfjs layout) -> a list in parameter order and torch
    layout. Every name must be present with the tfjs shape and float32; CheckpointError names the key."""
    out = []
    for n, p, l in param_specs(model):
        key = prefix + n
        if key not in named:
            raise CheckpointError(key, f'missing from the {what} (expected shape {tfjs_shape(p, l)})', file)
        v = named[key]
        t = v if isinstance(v, torch.Tensor) else torch.from_numpy(np.asarray(v))
        want = tfjs_shape(p, l)
        if list(t.shape) != want:
            raise CheckpointError(key, f'expected shape {want}, got {list(t.shape)}', file)
        if t.dtype != torch.float32:
            raise CheckpointError(key, f'expected dtype float32, got {str(t.dtype).replace("torch.", "")}', file)
        out.append(from_tfjs(t, l).contiguous())
    return out


def load_weights(model: nn.Module, named: Dict[str, object], what: str = 'weights', file: Optional[str] = None, prefix: str = '') -> None:
    """Assigns weights by tfjs name (setWeights rules: every parameter present with its shape, no
    unknown names); nothing is assigned when a check fails."""
    known = {prefix + n for n, _, _ in param_specs(model)}
    for k in named:
        if k.startswith(prefix) and k not in known:
            raise CheckpointError(k, f"not a parameter of this {model.cfg['kind']} model", file)  # type: ignore[attr-defined]
    ts = tfjs_to_torch_list(model, named, what, prefix, file)
    with torch.no_grad():
        for (_, p, _), t in zip(param_specs(model), ts):
            p.copy_(t.to(p.device))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for _, p, _ in param_specs(model))
