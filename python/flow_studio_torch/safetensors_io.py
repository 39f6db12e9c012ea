"""safetensors files: the weights format the PyTorch engine and the studio share.

Format (github.com/huggingface/safetensors, README "Format"):

  * 8 bytes: N, the header length, unsigned 64-bit little-endian;
  * N bytes: the header, UTF-8 JSON that begins with ``{`` and may be padded with spaces (0x20):
    ``{"__metadata__": {str: str}, NAME: {"dtype": "F32", "shape": [..], "data_offsets": [BEGIN, END]}, ...}``;
  * the byte buffer: every tensor's bytes, little-endian, row-major, at [BEGIN, END) relative to the
    buffer's start. The tensors cover the buffer exactly: no holes, no overlaps, nothing after.

The ``safetensors`` library is used when it is importable. Where it is not (Debian's apt packages
have no python3-safetensors) the small writer and reader below do the same job. The writer follows
the library's serialisation so both give the same bytes (test/python/test_safetensors.py checks it
against the library): tensors sorted by dtype alignment (largest first), then by name (bytewise);
compact JSON with ``__metadata__`` first; the header padded with spaces to a multiple of 8 bytes.
The library keeps ``__metadata__`` in a hash map, whose key order changes from process to process,
so files are byte-identical only with at most one metadata key; Flow Studio's files use one key,
``flow_studio``, holding a JSON string.

Arrays are numpy arrays here; ``tensors_from_torch`` / ``to_torch`` convert at the boundary.
``FLOW_STUDIO_SAFETENSORS=builtin`` forces the built-in code (for tests and comparisons).
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from .errors import SafetensorsError

#: The library's limit on the header length.
MAX_HEADER = 100_000_000

# dtype name -> (numpy dtype or None, bytes per element, rank in the library's Dtype enum, which is
# declared in increasing alignment order and decides the order of tensors in a file).
_DTYPES: Dict[str, Tuple[Optional[str], int, int]] = {
    'BOOL': ('bool', 1, 0),
    'U8': ('<u1', 1, 4),
    'I8': ('<i1', 1, 5),
    'I16': ('<i2', 2, 11),
    'U16': ('<u2', 2, 12),
    'F16': ('<f2', 2, 13),
    'BF16': (None, 2, 14),  # no numpy dtype: read as raw uint16 (see to_torch)
    'I32': ('<i4', 4, 15),
    'U32': ('<u4', 4, 16),
    'F32': ('<f4', 4, 17),
    'F64': ('<f8', 8, 19),
    'I64': ('<i8', 8, 20),
    'U64': ('<u8', 8, 21),
}
# Dtypes a valid file may hold that this reader does not decode (sub-byte and 8-bit floats, complex).
_KNOWN_UNSUPPORTED = {'F4', 'F6_E2M3', 'F6_E3M2', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'C64'}

_NP_TO_ST = {
    np.dtype('bool'): 'BOOL', np.dtype('uint8'): 'U8', np.dtype('int8'): 'I8', np.dtype('int16'): 'I16',
    np.dtype('uint16'): 'U16', np.dtype('float16'): 'F16', np.dtype('int32'): 'I32', np.dtype('uint32'): 'U32',
    np.dtype('float32'): 'F32', np.dtype('float64'): 'F64', np.dtype('int64'): 'I64', np.dtype('uint64'): 'U64',
}


def _library():
    """The safetensors.numpy module, or None when it is not importable or switched off."""
    if os.environ.get('FLOW_STUDIO_SAFETENSORS') == 'builtin':
        return None
    try:
        import safetensors  # noqa: F401  (the package itself first: a clear ImportError)
        import safetensors.numpy as stnp
        return stnp
    except Exception:  # ImportError, or a broken install
        return None


def implementation() -> str:
    """'safetensors X.Y.Z' when the library is used, else 'builtin'."""
    lib = _library()
    if lib is None:
        return 'builtin'
    import safetensors
    return f"safetensors {getattr(safetensors, '__version__', '?')}"


def _st_dtype(name: str, a: np.ndarray) -> str:
    d = _NP_TO_ST.get(a.dtype)
    if d is None:
        raise SafetensorsError(f"tensor '{name}': dtype {a.dtype} cannot be stored")
    return d


def _check_metadata(metadata: Optional[Mapping[str, str]]) -> None:
    if metadata is None:
        return
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise SafetensorsError(f'__metadata__ must map strings to strings; {k!r} -> {type(v).__name__}')


def _as_arrays(tensors: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
    out = {}
    for name, a in tensors.items():
        if not isinstance(name, str) or name == '' or name == '__metadata__':
            raise SafetensorsError(f'invalid tensor name {name!r}')
        arr = np.asarray(a)
        if not arr.flags.c_contiguous:
            arr = arr.copy(order='C')  # (not ascontiguousarray: it turns 0-d scalars into [1])
        if arr.dtype.byteorder == '>':
            arr = arr.astype(arr.dtype.newbyteorder('<'))
        _st_dtype(name, arr)
        out[name] = arr
    return out


def _header(arrays: Mapping[str, np.ndarray], metadata: Optional[Mapping[str, str]]) -> Tuple[bytes, list]:
    """The padded header bytes and the tensors in file order (the library's serialisation)."""
    order = sorted(arrays, key=lambda n: (-_DTYPES[_st_dtype(n, arrays[n])][2], n.encode('utf-8')))
    head: Dict[str, object] = {}
    if metadata is not None:
        head['__metadata__'] = {k: metadata[k] for k in sorted(metadata)}
    offset = 0
    for name in order:
        a = arrays[name]
        head[name] = {'dtype': _st_dtype(name, a), 'shape': [int(d) for d in a.shape], 'data_offsets': [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(head, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    return text, order


def serialize(tensors: Mapping[str, np.ndarray], metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """The bytes of a safetensors file (built-in writer; what the library writes, see the module doc)."""
    _check_metadata(metadata)
    arrays = _as_arrays(tensors)
    header, order = _header(arrays, metadata)
    parts = [struct.pack('<Q', len(header)), header]
    parts.extend(arrays[n].tobytes() for n in order)
    return b''.join(parts)


def _write_builtin(arrays: Mapping[str, np.ndarray], metadata: Optional[Mapping[str, str]], f) -> None:
    header, order = _header(arrays, metadata)
    f.write(struct.pack('<Q', len(header)))
    f.write(header)
    for n in order:
        a = arrays[n]
        if a.size:
            f.write(memoryview(a.reshape(-1)).cast('B'))


def save(tensors: Mapping[str, np.ndarray], path: str, metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes a safetensors file atomically: to a temporary name in the same folder, then renamed,
    so a reader never sees a partial file and an old file at ``path`` survives a failed write."""
    _check_metadata(metadata)
    arrays = _as_arrays(tensors)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=folder)
    try:
        lib = _library()
        if lib is not None:
            os.close(fd)
            fd = -1
            lib.save_file(dict(arrays), tmp, metadata=dict(metadata) if metadata is not None else None)
        else:
            with os.fdopen(fd, 'wb') as f:
                fd = -1
                _write_builtin(arrays, metadata, f)
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _parse_header(raw: bytes, file_len: int, what: str) -> Tuple[int, Dict[str, dict], Optional[Dict[str, str]]]:
    """Validates a header (the file's first bytes) against the spec; returns (data start, entries in
    offset order, metadata). ``file_len`` is the whole file's length."""
    if file_len < 8 or len(raw) < 8:
        raise SafetensorsError(f'truncated: a safetensors file starts with an 8-byte header length, the file has {file_len} bytes', what)
    (n,) = struct.unpack('<Q', raw[:8])
    if n > MAX_HEADER:
        raise SafetensorsError(f'header length {n} exceeds the limit of {MAX_HEADER} bytes (not a safetensors file?)', what)
    if 8 + n > file_len:
        raise SafetensorsError(f'truncated: the header length is {n} bytes but the file has only {file_len - 8} after the length', what)
    try:
        text = raw[8:8 + n].decode('utf-8')
    except UnicodeDecodeError as e:
        raise SafetensorsError(f'the header is not UTF-8 ({e.reason} at byte {e.start})', what) from None
    if not text.startswith('{'):
        raise SafetensorsError("the header must begin with '{'", what)

    def pairs(items):
        d = {}
        for k, v in items:
            if k in d:
                raise SafetensorsError(f"the header names '{k}' twice", what)
            d[k] = v
        return d

    try:
        head = json.loads(text, object_pairs_hook=pairs)
    except SafetensorsError:
        raise
    except ValueError as e:
        raise SafetensorsError(f'the header is not valid JSON ({e})', what) from None
    if not isinstance(head, dict):
        raise SafetensorsError('the header must be a JSON object', what)
    metadata = head.pop('__metadata__', None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise SafetensorsError('__metadata__ must be an object of string values', what)
    entries = []
    for name, e in head.items():
        if not isinstance(e, dict):
            raise SafetensorsError(f"tensor '{name}': entry must be an object with dtype, shape, data_offsets", what)
        dt = e.get('dtype')
        if dt in _KNOWN_UNSUPPORTED:
            raise SafetensorsError(f"tensor '{name}': dtype {dt} is valid safetensors but not supported here", what)
        if dt not in _DTYPES:
            raise SafetensorsError(f"tensor '{name}': unknown dtype {json.dumps(dt)}; one of {', '.join(_DTYPES)}", what)
        shape = e.get('shape')
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise SafetensorsError(f"tensor '{name}': shape must be a list of integers >= 0, got {json.dumps(shape)}", what)
        off = e.get('data_offsets')
        if (not isinstance(off, list) or len(off) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in off) or off[1] < off[0]):
            raise SafetensorsError(f"tensor '{name}': data_offsets must be [begin, end] with 0 <= begin <= end, got {json.dumps(off)}", what)
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        need = count * _DTYPES[dt][1]
        if off[1] - off[0] != need:
            raise SafetensorsError(
                f"tensor '{name}': dtype {dt} shape {shape} needs {need} bytes but data_offsets {off} span {off[1] - off[0]}", what)
        entries.append((name, {'dtype': dt, 'shape': shape, 'begin': off[0], 'end': off[1]}))
    entries.sort(key=lambda kv: (kv[1]['begin'], kv[1]['end']))
    at = 0
    prev = None
    for name, e in entries:
        if e['begin'] < at:
            raise SafetensorsError(f"tensor '{name}' overlaps tensor '{prev}' (data_offsets start at {e['begin']}, '{prev}' ends at {at})", what)
        if e['begin'] > at:
            raise SafetensorsError(f"bytes [{at}, {e['begin']}) of the buffer belong to no tensor (before '{name}')", what)
        at = e['end']
        prev = name
    buffer_len = file_len - 8 - n
    if at > buffer_len:
        raise SafetensorsError(f'truncated: the tensors need {at} bytes of data, the file holds {buffer_len}', what)
    if at < buffer_len:
        raise SafetensorsError(f'{buffer_len - at} bytes after the last tensor belong to no tensor', what)
    return 8 + n, dict(entries), metadata


def _decode(e: dict, data: bytes) -> np.ndarray:
    dt = e['dtype']
    np_dt = _DTYPES[dt][0] or '<u2'
    a = np.frombuffer(data, dtype=np_dt).reshape(e['shape'])
    return a.astype(a.dtype.newbyteorder('='), copy=True)


def deserialize(buf: bytes, what: str = 'safetensors data') -> Tuple[Dict[str, np.ndarray], Optional[Dict[str, str]]]:
    """Parses and validates the bytes of a safetensors file (built-in reader). Raises
    SafetensorsError naming what is wrong: truncated, overlapping or holey offsets, a bad dtype."""
    n = struct.unpack('<Q', bytes(buf[:8]))[0] if len(buf) >= 8 else 0
    start, entries, metadata = _parse_header(bytes(buf[:8 + min(n, MAX_HEADER)]), len(buf), what)
    out = {name: _decode(e, buf[start + e['begin']:start + e['end']]) for name, e in entries.items()}
    return out, metadata


def _load_builtin(path: str) -> Tuple[Dict[str, np.ndarray], Optional[Dict[str, str]]]:
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        first = f.read(8)
        n = struct.unpack('<Q', first)[0] if len(first) == 8 else 0
        raw = first + (f.read(min(n, MAX_HEADER)) if len(first) == 8 and n <= MAX_HEADER else b'')
        start, entries, metadata = _parse_header(raw, size, path)
        out = {}
        for name, e in entries.items():
            f.seek(start + e['begin'])
            out[name] = _decode(e, f.read(e['end'] - e['begin']))
    return out, metadata


def load(path: str) -> Tuple[Dict[str, np.ndarray], Optional[Dict[str, str]]]:
    """Reads a safetensors file: (name -> numpy array, metadata or None). Validates the file with the
    library's rules; errors are SafetensorsError naming the file."""
    if not os.path.isfile(path):
        raise SafetensorsError('no such file', path)
    lib = _library()
    if lib is None:
        return _load_builtin(path)
    from safetensors import safe_open
    try:
        with safe_open(path, framework='np') as f:
            metadata = f.metadata()
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # the library's SafetensorError and friends: re-raise naming the file
        # Let the built-in reader name the defect precisely when it can; else report the library's words.
        try:
            _load_builtin(path)
        except SafetensorsError as mine:
            raise mine from None
        raise SafetensorsError(f'unreadable: {e}', path) from None
    return tensors, metadata


def read_metadata(path: str) -> Optional[Dict[str, str]]:
    """Only the ``__metadata__`` of a file (the header is validated; tensor data are not read)."""
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        first = f.read(8)
        n = struct.unpack('<Q', first)[0] if len(first) == 8 else 0
        raw = first + (f.read(min(n, MAX_HEADER)) if len(first) == 8 and n <= MAX_HEADER else b'')
    return _parse_header(raw, size, path)[2]


def tensors_from_torch(tensors) -> Dict[str, np.ndarray]:
    """torch tensors -> numpy arrays (on the CPU, contiguous)."""
    return {k: v.detach().to('cpu').contiguous().numpy() for k, v in tensors.items()}


def to_torch(a: np.ndarray, dtype_name: Optional[str] = None):
    """A numpy array from ``load`` as a torch tensor (a copy)."""
    import torch
    t = torch.from_numpy(np.array(a, copy=True))
    if dtype_name == 'BF16':
        t = t.view(torch.bfloat16)
    return t
