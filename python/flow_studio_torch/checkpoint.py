"""Checkpoint and model files, in safetensors with the tfjs names and layouts.

Checkpoint (everything a resume needs; the keys of the TS trainer's getState, which
main/models/state.ts splits into the studio's model / EMA / optimiser blobs):
  model/<name>       weights
  optim/m/<name>     Adam first moments      optim/v/<name>  second moments
  optim/ema/<name>   EMA weights (what sampling uses)
  optim/step         int32 scalar: updates applied
  trainer/rng        int32 [2]: the data stream's key (as a signed int32) and steps completed

Exported model (for sampling): the EMA weights under the bare names (``mlp/0/W``), what
state.ts samplingWeights gives the studio's samplers.

Both carry one metadata key, ``flow_studio``, a JSON object: format ('flow-studio-checkpoint' or
'flow-studio-model'), version, engine, step, modelConfig (core/model/types.ts), shape (per sample,
studio layout), numClasses, prediction, path, sampleRange {lo, hi}, and the experiment config.
"""
from __future__ import annotations

import json
import platform
from typing import Dict, Optional, Tuple

import numpy as np

from . import __version__, safetensors_io
from .errors import CheckpointError

FORMAT_VERSION = 1


def _info(trainer, fmt: str) -> Dict:
    import torch
    return {
        'format': fmt,
        'version': FORMAT_VERSION,
        'engine': 'pytorch',
        'engineVersion': __version__,
        'torch': torch.__version__,
        'python': platform.python_version(),
        'step': trainer.steps,
        'modelConfig': trainer.model_config,
        'shape': trainer.shape,
        'numClasses': trainer.num_classes,
        'prediction': trainer.cfg['prediction'],
        'path': trainer.cfg['path'],
        'sampleRange': {'lo': trainer.sample_range[0], 'hi': trainer.sample_range[1]},  # TimeRange, as the TS meta
        'world': trainer.dist.world,
        'config': trainer.cfg,
    }


def save_checkpoint(trainer, path: str) -> None:
    """The trainer's full state, written atomically (temporary name, then renamed)."""
    arrays = safetensors_io.tensors_from_torch(trainer.get_state())
    safetensors_io.save(arrays, path, {'flow_studio': json.dumps(_info(trainer, 'flow-studio-checkpoint'), separators=(',', ':'))})


def export_model(trainer, path: str, ema: bool = True) -> None:
    """The EMA weights (or the raw ones) under bare tfjs names, for sampling."""
    state = trainer.get_state()
    prefix = 'optim/ema/' if ema else 'model/'
    arrays = safetensors_io.tensors_from_torch({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    info = _info(trainer, 'flow-studio-model')
    info['ema'] = ema
    safetensors_io.save(arrays, path, {'flow_studio': json.dumps(info, separators=(',', ':'))})


def file_info(meta: Optional[Dict[str, str]], path: str) -> Dict:
    if not meta or 'flow_studio' not in meta:
        return {}
    try:
        v = json.loads(meta['flow_studio'])
    except ValueError:
        raise CheckpointError('__metadata__.flow_studio', 'is not valid JSON', path) from None
    return v if isinstance(v, dict) else {}


def load_checkpoint(path: str) -> Tuple[Dict[str, np.ndarray], Dict]:
    """A checkpoint's tensors (name -> array) and its metadata object."""
    tensors, meta = safetensors_io.load(path)
    if 'trainer/rng' not in tensors:
        raise CheckpointError('trainer/rng', 'missing: not a training checkpoint (an exported model cannot resume a run)', path)
    return tensors, file_info(meta, path)


def sampling_weights(path: str) -> Tuple[Dict[str, np.ndarray], Dict, bool]:
    """Weights under bare names from an exported model or a checkpoint (its EMA weights when it has
    them, else the raw ones), the metadata, and whether they are EMA weights."""
    tensors, meta = safetensors_io.load(path)
    info = file_info(meta, path)
    ema = {k[len('optim/ema/'):]: v for k, v in tensors.items() if k.startswith('optim/ema/')}
    if ema:
        return ema, info, True
    raw = {k[len('model/'):]: v for k, v in tensors.items() if k.startswith('model/')}
    if raw:
        return raw, info, False
    return tensors, info, bool(info.get('ema', False))
