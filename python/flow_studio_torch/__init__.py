"""Flow Studio's PyTorch engine: trains the studio's experiments with PyTorch (CPU, CUDA, MPS, and
data-parallel under torchrun or Ray Train) and exchanges weights with the tfjs engine through
safetensors files in the tfjs names and layouts. See docs/pytorch-engine.md.

Nothing here imports torch at package import time, so ``python -m flow_studio_torch info`` can
report a missing or broken torch instead of failing with a traceback.
"""
__version__ = '0.1.0'

#: Version of the worker protocol (docs/pytorch-engine.md); bumped on incompatible changes.
PROTOCOL_VERSION = 1
