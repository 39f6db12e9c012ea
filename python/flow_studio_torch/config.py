"""The experiment config, as the studio stores it (common/config.ts, validated, defaults filled in).

``experiment(raw)`` fills in the schema's defaults (so a hand-written job file works too) and
repeats the checks the training math relies on, with the cross-field rules of
core/train/config.ts ``validateTrainSpec``. Each failure is a ConfigError naming the dotted field,
e.g. ``optim.beta2: must be in [0, 1), got 1``. The config stays a plain dict of the schema's
field names (camelCase), so the JSON the studio stores is read as is.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Dict, List

from .errors import ConfigError

TOY_DATASETS = ('moons', '8gaussians', 'circles', 'checkerboard', '2spirals', 'swissroll')
PREDICTIONS = ('velocity', 'eps', 'x1')
COUPLINGS = ('independent', 'exact-ot', 'sinkhorn')
SOLVERS = ('euler', 'midpoint', 'heun', 'rk4', 'dopri5')
ACTIVATIONS = ('silu', 'relu', 'gelu', 'tanh')
SCHEDULERS = ('condot', 'polynomial', 'cosine', 'linear-vp', 'vp', 've')
ENGINES = ('tfjs', 'pytorch')  # train.engine: which engine the studio starts; this one runs either

TOP_LEVEL = ('name', 'seed', 'data', 'source', 'path', 'reflow', 'prediction', 'coupling', 'time', 'model',
             'labelDropout', 'conditional', 'optim', 'train', 'sampling')

MLP_DEFAULTS = {'width': 256, 'depth': 3, 'activation': 'silu', 'timeEmbedDim': 32}
UNET_DEFAULTS = {'baseChannels': 32, 'channelMults': [1, 2, 2], 'blocksPerLevel': 1, 'attention': True, 'groups': 8, 'timeEmbedDim': 64}
DEFAULTS: Dict[str, Any] = {
    'seed': 0,
    'source': {'kind': 'gaussian'},
    'path': {'kind': 'affine', 'scheduler': {'kind': 'condot'}},
    'prediction': 'velocity',
    'coupling': {'kind': 'independent', 'reg': 0.05, 'classAware': False},
    'time': {'distribution': 'uniform', 'mean': 0.0, 'std': 1.0, 'weighting': 'none'},
    'labelDropout': 0.0,
    'conditional': False,
    'optim': {'kind': 'adam', 'lr': 1e-3, 'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-8, 'weightDecay': 0.0, 'warmupSteps': 0,
              'schedule': 'constant', 'minLrRatio': 0.1, 'gradClip': 0.0, 'emaDecay': 0.999},
    'train': {'steps': 2000, 'batchSize': 256, 'checkpointEvery': 500, 'logEvery': 10, 'sampleEvery': 250, 'sampleCount': 512, 'threads': 1,
              'engine': 'tfjs'},
    'sampling': {'solver': 'euler', 'steps': 50, 'rtol': 1e-5, 'atol': 1e-5, 'cfg': 0.0},
}


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int(v: Any) -> bool:
    return _num(v) and float(v).is_integer()


def _need(cond: bool, field: str, message: str) -> None:
    if not cond:
        raise ConfigError(field, message)


def _obj(v: Any, field: str) -> Dict[str, Any]:
    _need(isinstance(v, dict), field, f'must be an object, got {type(v).__name__}')
    return v


def _merge(defaults: Dict[str, Any], given: Any, field: str) -> Dict[str, Any]:
    out = copy.deepcopy(defaults)
    if given is not None:
        out.update(_obj(given, field))
    return out


def _data(d: Any, field: str) -> Dict[str, Any]:
    d = dict(_obj(d, field))
    kind = d.get('kind')
    if kind == 'toy2d':
        _need(d.get('name') in TOY_DATASETS, f'{field}.name', f"must be one of {', '.join(TOY_DATASETS)}, got {d.get('name')!r}")
        if d.get('noise') is not None:
            _need(_num(d['noise']) and d['noise'] >= 0, f'{field}.noise', f"must be a number >= 0, got {d['noise']!r}")
    elif kind == 'gmm':
        g = _obj(d.get('gmm'), f'{field}.gmm')
        w, m, s = g.get('weights'), g.get('means'), g.get('stds')
        _need(isinstance(w, list) and len(w) >= 1 and all(_num(x) and x >= 0 for x in w), f'{field}.gmm.weights', 'must be a non-empty list of numbers >= 0')
        _need(sum(w) > 0, f'{field}.gmm.weights', 'must have a positive sum')
        _need(isinstance(m, list) and len(m) == len(w), f'{field}.gmm.means', f'must have {len(w)} entries like weights')
        _need(isinstance(s, list) and len(s) == len(w) and all(_num(x) and x > 0 for x in s), f'{field}.gmm.stds', f'must be {len(w)} numbers > 0')
        dim = len(m[0]) if isinstance(m[0], list) else 0
        for i, mu in enumerate(m):
            _need(isinstance(mu, list) and len(mu) == dim and dim >= 1 and all(_num(x) for x in mu), f'{field}.gmm.means[{i}]',
                  f'must have dimension {dim} like means[0]')
    elif kind == 'points':
        p = d.get('points')
        _need(isinstance(p, list) and len(p) >= 1, f'{field}.points', 'needs at least one point')
        for i, row in enumerate(p):
            _need(isinstance(row, list) and len(row) == 2 and all(_num(x) for x in row), f'{field}.points[{i}]', 'must be 2 finite numbers')
    elif kind == 'mnist':
        if d.get('digits') is not None:
            _need(isinstance(d['digits'], list) and len(d['digits']) >= 1 and all(_int(x) and 0 <= x <= 9 for x in d['digits']),
                  f'{field}.digits', 'must be a non-empty list of digits 0..9')
    elif kind == 'images':
        _need(d.get('size') in (28, 32), f'{field}.size', f"must be 28 or 32, got {d.get('size')!r}")
        _need(d.get('channels') in (1, 3), f'{field}.channels', f"must be 1 or 3, got {d.get('channels')!r}")
        d.setdefault('onCorrupt', 'skip')
        d.setdefault('labelsFromSubfolders', False)
    else:
        raise ConfigError(f'{field}.kind', f"unknown kind; allowed: 'toy2d', 'gmm', 'points', 'mnist', 'images' (got {kind!r})")
    return d


def _scheduler(s: Any, field: str) -> Dict[str, Any]:
    s = dict(_obj(s, field))
    kind = s.get('kind')
    _need(kind in SCHEDULERS, f'{field}.kind', f"unknown kind; allowed: {', '.join(SCHEDULERS)} (got {kind!r})")
    if kind == 'condot' and s.get('sigmaMin') is not None:
        _need(_num(s['sigmaMin']) and 0 <= s['sigmaMin'] < 1, f'{field}.sigmaMin', f"must be in [0, 1), got {s['sigmaMin']!r}")
    if kind == 'polynomial':
        _need(_num(s.get('n')) and s['n'] > 0, f'{field}.n', f"must be a number > 0, got {s.get('n')!r}")
    if kind == 'vp':
        b, B = s.get('betaMin', 0.1), s.get('betaMax', 20)
        _need(_num(b) and b > 0, f'{field}.betaMin', f'must be > 0, got {b!r}')
        _need(_num(B) and B > b, f'{field}.betaMax', f'must be > betaMin ({b}), got {B!r}')
    if kind == 've':
        lo, hi = s.get('sigmaMin', 0.01), s.get('sigmaMax', 50)
        _need(_num(lo) and lo > 0, f'{field}.sigmaMin', f'must be > 0, got {lo!r}')
        _need(_num(hi) and hi > lo, f'{field}.sigmaMax', f'must be > sigmaMin ({lo}), got {hi!r}')
    return s


def _model(m: Any) -> Dict[str, Any]:
    m = _obj(m, 'model')
    kind = m.get('kind')
    if kind == 'mlp':
        out = _merge(MLP_DEFAULTS, m, 'model')
        _need(_int(out['width']) and 1 <= out['width'] <= 4096, 'model.width', f"must be an integer in [1, 4096], got {out['width']!r}")
        _need(_int(out['depth']) and 1 <= out['depth'] <= 16, 'model.depth', f"must be an integer in [1, 16], got {out['depth']!r}")
        _need(out['activation'] in ACTIVATIONS, 'model.activation', f"must be one of {', '.join(ACTIVATIONS)}, got {out['activation']!r}")
        t = out['timeEmbedDim']
        _need(_int(t) and 0 <= t <= 512 and t % 2 == 0, 'model.timeEmbedDim', f'must be 0 or even, in [0, 512], got {t!r}')
        return out
    if kind == 'unet':
        out = _merge(UNET_DEFAULTS, m, 'model')
        _need(_int(out['baseChannels']) and 4 <= out['baseChannels'] <= 256, 'model.baseChannels', f"must be an integer in [4, 256], got {out['baseChannels']!r}")
        cm = out['channelMults']
        _need(isinstance(cm, list) and len(cm) >= 2 and all(_int(x) and 1 <= x <= 8 for x in cm), 'model.channelMults',
              f'needs at least two integers in [1, 8], got {cm!r}')
        _need(_int(out['blocksPerLevel']) and 1 <= out['blocksPerLevel'] <= 4, 'model.blocksPerLevel', f"must be an integer in [1, 4], got {out['blocksPerLevel']!r}")
        _need(isinstance(out['attention'], bool), 'model.attention', 'must be true or false')
        _need(_int(out['groups']) and out['groups'] >= 1, 'model.groups', f"must be an integer >= 1, got {out['groups']!r}")
        _need(out['baseChannels'] % out['groups'] == 0, 'model.groups', f"must divide baseChannels ({out['baseChannels']}), got {out['groups']}")
        t = out['timeEmbedDim']
        _need(_int(t) and 2 <= t <= 512 and t % 2 == 0, 'model.timeEmbedDim', f'must be an even integer in [2, 512], got {t!r}')
        return out
    raise ConfigError('model.kind', f"unknown kind; allowed: 'mlp', 'unet' (got {kind!r})")


def experiment(raw: Any) -> Dict[str, Any]:
    """The experiment with defaults filled in, checked (ConfigError naming the field)."""
    raw = _obj(raw, '(root)')
    unknown = [k for k in raw if k not in TOP_LEVEL]
    _need(not unknown, '(root)', f"unknown field(s) {', '.join(unknown)}")
    _need('data' in raw, 'data', 'is required')
    _need('model' in raw, 'model', 'is required')
    c: Dict[str, Any] = {}
    if 'name' in raw:
        c['name'] = raw['name']
    c['seed'] = raw.get('seed', DEFAULTS['seed'])
    _need(_int(c['seed']) and c['seed'] >= 0, 'seed', f"must be an integer >= 0, got {c['seed']!r}")
    c['seed'] = int(c['seed'])
    c['data'] = _data(raw['data'], 'data')
    src = _obj(raw.get('source', DEFAULTS['source']), 'source')
    if src.get('kind') == 'gaussian':
        c['source'] = {'kind': 'gaussian'}
    elif src.get('kind') == 'data':
        c['source'] = {'kind': 'data', 'data': _data(src.get('data'), 'source.data')}
    else:
        raise ConfigError('source.kind', f"unknown kind; allowed: 'gaussian', 'data' (got {src.get('kind')!r})")
    p = _obj(raw.get('path', DEFAULTS['path']), 'path')
    if p.get('kind') == 'affine':
        c['path'] = {'kind': 'affine', 'scheduler': _scheduler(p.get('scheduler'), 'path.scheduler')}
    elif p.get('kind') == 'interpolant':
        _need(_num(p.get('s')) and p['s'] >= 0, 'path.s', f"must be a finite number >= 0, got {p.get('s')!r}")
        c['path'] = {'kind': 'interpolant', 's': float(p['s'])}
    else:
        raise ConfigError('path.kind', f"unknown kind; allowed: 'affine', 'interpolant' (got {p.get('kind')!r})")
    if raw.get('reflow') is not None:
        r = _merge({'pairs': 10000, 'solver': 'rk4', 'steps': 50}, raw['reflow'], 'reflow')
        _need(isinstance(r.get('from'), str) and r['from'] != '', 'reflow.from', 'must name the run to reflow')
        c['reflow'] = r
    c['prediction'] = raw.get('prediction', DEFAULTS['prediction'])
    _need(c['prediction'] in PREDICTIONS, 'prediction', f"must be one of {', '.join(PREDICTIONS)}, got {c['prediction']!r}")
    _need(c['path']['kind'] == 'affine' or c['prediction'] == 'velocity', 'prediction',
          f"the interpolant path trains a velocity (its target u_t = x1 - x0 + dGamma eps is not an affine map of x_t), got '{c['prediction']}'")

    co = _merge(DEFAULTS['coupling'], raw.get('coupling'), 'coupling')
    _need(co['kind'] in COUPLINGS, 'coupling.kind', f"must be one of {', '.join(COUPLINGS)}, got {co['kind']!r}")
    _need(_num(co['reg']) and co['reg'] > 0, 'coupling.reg', f"must be a finite number > 0, got {co['reg']!r}")
    _need(isinstance(co['classAware'], bool), 'coupling.classAware', 'must be true or false')
    c['coupling'] = co

    t = _merge(DEFAULTS['time'], raw.get('time'), 'time')
    _need(t['distribution'] in ('uniform', 'logit-normal'), 'time.distribution', f"must be uniform or logit-normal, got {t['distribution']!r}")
    _need(_num(t['mean']), 'time.mean', f"must be a finite number, got {t['mean']!r}")
    _need(_num(t['std']) and t['std'] > 0, 'time.std', f"must be a finite number > 0, got {t['std']!r}")
    _need(t['weighting'] in ('none', 'snr-clipped'), 'time.weighting', f"must be none or snr-clipped, got {t['weighting']!r}")
    _need(t['weighting'] == 'none' or c['path']['kind'] == 'affine', 'time.weighting',
          'snr-clipped needs an affine path (the interpolant has no single signal-to-noise ratio)')
    if t.get('snrGamma') is not None:
        _need(_num(t['snrGamma']) and t['snrGamma'] > 0, 'time.snrGamma', f"must be a finite number > 0, got {t['snrGamma']!r}")
    c['time'] = t

    c['model'] = _model(raw['model'])
    c['labelDropout'] = raw.get('labelDropout', DEFAULTS['labelDropout'])
    _need(_num(c['labelDropout']) and 0 <= c['labelDropout'] <= 1, 'labelDropout', f"must be in [0, 1], got {c['labelDropout']!r}")
    c['conditional'] = raw.get('conditional', DEFAULTS['conditional'])
    _need(isinstance(c['conditional'], bool), 'conditional', f"must be true or false, got {c['conditional']!r}")

    o = _merge(DEFAULTS['optim'], raw.get('optim'), 'optim')
    _need(o['kind'] in ('adam', 'adamw'), 'optim.kind', f"must be adam or adamw, got {o['kind']!r}")
    _need(_num(o['lr']) and o['lr'] > 0, 'optim.lr', f"must be a finite number > 0, got {o['lr']!r}")
    for b in ('beta1', 'beta2'):
        _need(_num(o[b]) and 0 <= o[b] < 1, f'optim.{b}', f'must be in [0, 1), got {o[b]!r}')
    _need(_num(o['eps']) and o['eps'] > 0, 'optim.eps', f"must be a finite number > 0, got {o['eps']!r}")
    _need(_num(o['weightDecay']) and o['weightDecay'] >= 0, 'optim.weightDecay', f"must be a finite number >= 0, got {o['weightDecay']!r}")
    _need(_int(o['warmupSteps']) and o['warmupSteps'] >= 0, 'optim.warmupSteps', f"must be an integer >= 0, got {o['warmupSteps']!r}")
    _need(o['schedule'] in ('constant', 'cosine'), 'optim.schedule', f"must be constant or cosine, got {o['schedule']!r}")
    _need(_num(o['minLrRatio']) and 0 <= o['minLrRatio'] <= 1, 'optim.minLrRatio', f"must be in [0, 1], got {o['minLrRatio']!r}")
    _need(_num(o['gradClip']) and o['gradClip'] >= 0, 'optim.gradClip', f"must be a finite number >= 0 (0 = off), got {o['gradClip']!r}")
    _need(_num(o['emaDecay']) and 0 <= o['emaDecay'] < 1, 'optim.emaDecay', f"must be in [0, 1), got {o['emaDecay']!r}")
    if 'emaWarmup' in o:
        _need(isinstance(o['emaWarmup'], bool), 'optim.emaWarmup', 'must be true or false')
    c['optim'] = o

    tr = _merge(DEFAULTS['train'], raw.get('train'), 'train')
    _need(_int(tr['steps']) and 1 <= tr['steps'] <= 10_000_000, 'train.steps', f"must be an integer in [1, 10000000], got {tr['steps']!r}")
    _need(_int(tr['batchSize']) and 1 <= tr['batchSize'] <= 65536, 'train.batchSize', f"must be an integer in [1, 65536], got {tr['batchSize']!r}")
    for k in ('checkpointEvery', 'logEvery', 'sampleCount'):
        _need(_int(tr[k]) and tr[k] >= 1, f'train.{k}', f'must be an integer >= 1, got {tr[k]!r}')
    _need(_int(tr['sampleEvery']) and tr['sampleEvery'] >= 0, 'train.sampleEvery', f"must be an integer >= 0, got {tr['sampleEvery']!r}")
    _need(tr['engine'] in ENGINES, 'train.engine', f"must be one of {', '.join(ENGINES)}, got {tr['engine']!r}")
    c['train'] = tr

    s = _merge(DEFAULTS['sampling'], raw.get('sampling'), 'sampling')
    _need(s['solver'] in SOLVERS, 'sampling.solver', f"must be one of {', '.join(SOLVERS)}, got {s['solver']!r}")
    _need(_int(s['steps']) and 1 <= s['steps'] <= 10000, 'sampling.steps', f"must be an integer in [1, 10000], got {s['steps']!r}")
    for k in ('rtol', 'atol'):
        _need(_num(s[k]) and s[k] > 0, f'sampling.{k}', f'must be a finite number > 0, got {s[k]!r}')
    _need(_num(s['cfg']) and s['cfg'] >= 0, 'sampling.cfg', f"must be a finite number >= 0, got {s['cfg']!r}")
    _need(s['cfg'] == 0 or c['conditional'], 'sampling.cfg', f"guidance (cfg = {s['cfg']}) needs a conditional model (conditional: true)")
    _need(s['cfg'] == 0 or c['labelDropout'] > 0, 'labelDropout',
          f"guidance (sampling.cfg = {s['cfg']}) needs labelDropout > 0, or the unconditional (\"no label\") branch is never trained")
    c['sampling'] = s
    return c


def model_config_for(c: Dict[str, Any], shape: List[int], num_classes: int) -> Dict[str, Any]:
    """The full model config (core/model/types.ts ModelConfig) for data of per-sample ``shape``:
    an MLP takes prod(shape) inputs; a U-Net needs square images [size, size, channels]."""
    m = c['model']
    if m['kind'] == 'mlp':
        dim = 1
        for d in shape:
            dim *= int(d)
        return {'kind': 'mlp', 'width': m['width'], 'depth': m['depth'], 'activation': m['activation'],
                'timeEmbedDim': m['timeEmbedDim'], 'dim': dim, 'numClasses': num_classes}
    _need(len(shape) == 3 and shape[0] == shape[1], 'model.kind',
          f"a U-Net needs square images [size, size, channels]; the data has per-sample shape [{', '.join(map(str, shape))}] (use an MLP)")
    return {'kind': 'unet', 'size': int(shape[0]), 'channels': int(shape[2]), 'baseChannels': m['baseChannels'],
            'channelMults': list(m['channelMults']), 'blocksPerLevel': m['blocksPerLevel'], 'attention': m['attention'],
            'groups': m['groups'], 'timeEmbedDim': m['timeEmbedDim'], 'numClasses': num_classes}
