"""Typed errors of the PyTorch engine.

Every error names what failed: the dotted config field, the file, the checkpoint key. The worker
turns them into an ``error`` line of the protocol (docs/pytorch-engine.md) with ``what`` set to the
error's ``kind`` and, where there is one, ``field`` / ``file`` / ``key``.
"""
from __future__ import annotations


class FlowStudioError(Exception):
    """Base class; ``kind`` is the protocol's ``what`` of an error line."""

    kind = 'error'

    def details(self) -> dict:
        return {}


class ConfigError(FlowStudioError):
    """A config or job field is invalid: ``field`` is its dotted name (``optim.lr``)."""

    kind = 'config'

    def __init__(self, field: str, message: str):
        super().__init__(f'{field}: {message}')
        self.field = field

    def details(self) -> dict:
        return {'field': self.field}


class DataError(FlowStudioError):
    """Data do not fit the experiment (a label out of range, a non-finite value, a short class)."""

    kind = 'data'

    def __init__(self, message: str, file: str | None = None):
        super().__init__(f'{file}: {message}' if file else message)
        self.file = file

    def details(self) -> dict:
        return {'file': self.file} if self.file else {}


class ShapeError(FlowStudioError):
    kind = 'shape'


class CheckpointError(FlowStudioError):
    """A checkpoint does not fit the model or trainer: ``key`` names the tensor at fault."""

    kind = 'checkpoint'

    def __init__(self, key: str, message: str, file: str | None = None):
        where = f'{file}: ' if file else ''
        super().__init__(f'{where}{key}: {message}')
        self.key = key
        self.file = file

    def details(self) -> dict:
        d = {'key': self.key}
        if self.file:
            d['file'] = self.file
        return d


class SafetensorsError(FlowStudioError):
    """A file is not a valid safetensors file (truncated, overlapping offsets, bad dtype, ...)."""

    kind = 'file'

    def __init__(self, message: str, file: str | None = None):
        super().__init__(f'{file}: {message}' if file else message)
        self.file = file

    def details(self) -> dict:
        return {'file': self.file} if self.file else {}


class MissingDependencyError(FlowStudioError):
    """An optional library a config needs is not importable: ``package`` names it."""

    kind = 'dependency'

    def __init__(self, package: str, needed_for: str, cause: str, install: str):
        super().__init__(f'{needed_for} needs {package}, which this Python cannot import ({cause}); install it with: {install}')
        self.package = package

    def details(self) -> dict:
        return {'package': self.package}


class SolverError(FlowStudioError):
    kind = 'solver'
