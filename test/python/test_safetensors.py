"""The safetensors reader and writer: the built-in code against the reference library (byte for
byte, where the library is importable), round trips, and malformed files refused by name."""
import importlib.util
import json
import os
import struct

import numpy as np
import pytest

from flow_studio_torch import safetensors_io as st
from flow_studio_torch.errors import SafetensorsError

HAVE_LIB = importlib.util.find_spec('safetensors') is not None


def sample_tensors():
    rng = np.random.default_rng(0)
    return {
        'model/mlp/0/W': rng.standard_normal((3, 5)).astype(np.float32),
        'optim/step': np.array(7, dtype=np.int32),
        'trainer/rng': np.array([-5, 12], dtype=np.int32),
        'a/f64': rng.standard_normal(4),
        'b/u8': np.arange(3, dtype=np.uint8),
        'c/i64': np.array([1, -2], dtype=np.int64),
        'd/f16': np.array([0.5, -1.25], dtype=np.float16),
        'e/bool': np.array([True, False, True]),
        'empty': np.zeros((0, 3), dtype=np.float32),
        'zeta/ünïcode': np.ones(2, dtype=np.int16),
    }


def check_same(a, b):
    assert set(a) == set(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and np.array_equal(a[k], b[k]), k


def test_builtin_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv('FLOW_STUDIO_SAFETENSORS', 'builtin')
    t = sample_tensors()
    p = str(tmp_path / 'x.safetensors')
    st.save(t, p, {'flow_studio': json.dumps({'step': 3})})
    back, meta = st.load(p)
    check_same(t, back)
    assert meta == {'flow_studio': '{"step": 3}'}
    # the layout the spec asks for: header length, JSON from '{', padding to 8, data contiguous
    raw = open(p, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    assert n % 8 == 0 and raw[8:9] == b'{'
    head = json.loads(raw[8:8 + n])
    assert list(head)[0] == '__metadata__'
    ends = sorted(tuple(v['data_offsets']) for k, v in head.items() if k != '__metadata__')
    assert ends[0][0] == 0 and all(a[1] == b[0] for a, b in zip(ends, ends[1:])) and ends[-1][1] == len(raw) - 8 - n
    assert st.deserialize(raw)[0].keys() == t.keys()


@pytest.mark.skipif(not HAVE_LIB, reason='the safetensors library is not importable here (e.g. Debian apt only); builtin code only')
@pytest.mark.parametrize('meta', [None, {}, {'flow_studio': '{"format":"x","é":"\\n"}'}])
def test_builtin_writer_is_byte_identical_to_the_library(tmp_path, meta):
    import safetensors.numpy as stnp
    t = sample_tensors()
    lib = str(tmp_path / 'lib.safetensors')
    stnp.save_file(t, lib, metadata=meta)
    ours = st.serialize(t, meta)
    assert open(lib, 'rb').read() == ours
    # and each reads the other's files
    check_same(t, stnp.load(ours))
    back, m = st.deserialize(open(lib, 'rb').read())
    check_same(t, back)
    assert m == meta or (meta is None and m is None)


@pytest.mark.skipif(not HAVE_LIB, reason='the safetensors library is not importable here')
def test_save_uses_the_library_when_present(tmp_path, monkeypatch):
    monkeypatch.delenv('FLOW_STUDIO_SAFETENSORS', raising=False)
    assert st.implementation().startswith('safetensors ')
    t = sample_tensors()
    p = str(tmp_path / 'y.safetensors')
    st.save(t, p, {'k': 'v'})
    assert open(p, 'rb').read() == st.serialize(t, {'k': 'v'})
    check_same(t, st.load(p)[0])


def good_file():
    return st.serialize({'a': np.arange(4, dtype=np.float32), 'b': np.arange(2, dtype=np.int32)})


def header_file(head, data=b'', pad=True):
    text = json.dumps(head).encode()
    if pad:
        text += b' ' * ((8 - len(text) % 8) % 8)
    return struct.pack('<Q', len(text)) + text + data


@pytest.mark.parametrize('builtin', [True, False])
@pytest.mark.parametrize('make,message', [
    (lambda: b'\x01\x02', 'truncated: a safetensors file starts with an 8-byte header length'),
    (lambda: good_file()[:-3], 'truncated: the tensors need'),
    (lambda: struct.pack('<Q', 400) + b'{}', 'truncated: the header length is 400 bytes'),
    (lambda: good_file() + b'xx', 'bytes after the last tensor belong to no tensor'),
    (lambda: header_file({'a': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]},
                          'b': {'dtype': 'F32', 'shape': [2], 'data_offsets': [4, 12]}}, bytes(12)), "overlaps tensor 'a'"),
    (lambda: header_file({'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [4, 8]}}, bytes(8)), 'belong to no tensor'),
    (lambda: header_file({'a': {'dtype': 'Q7', 'shape': [1], 'data_offsets': [0, 4]}}, bytes(4)), 'unknown dtype "Q7"'),
    (lambda: header_file({'a': {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 8]}}, bytes(8)), 'needs 12 bytes'),
    (lambda: header_file({'a': {'dtype': 'F32', 'shape': [-1], 'data_offsets': [0, 4]}}, bytes(4)), 'shape must be a list of integers'),
    (lambda: struct.pack('<Q', 8) + b'[1,2,3] ', "must begin with '{'"),
    (lambda: struct.pack('<Q', 8) + b'{"a":1  ', 'not valid JSON'),
    (lambda: header_file({'__metadata__': {'k': 1}}), '__metadata__ must be an object of string values'),
])
def test_malformed_files_are_refused_with_the_reason(tmp_path, monkeypatch, builtin, make, message):
    if not builtin and not HAVE_LIB:
        pytest.skip('the safetensors library is not importable here')
    if builtin:
        monkeypatch.setenv('FLOW_STUDIO_SAFETENSORS', 'builtin')
    else:
        monkeypatch.delenv('FLOW_STUDIO_SAFETENSORS', raising=False)
    p = str(tmp_path / 'bad.safetensors')
    with open(p, 'wb') as f:
        f.write(make())
    with pytest.raises(SafetensorsError) as e:
        st.load(p)
    assert message in str(e.value) and p in str(e.value)


def test_atomic_save_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    monkeypatch.setenv('FLOW_STUDIO_SAFETENSORS', 'builtin')
    p = str(tmp_path / 'c.safetensors')
    st.save({'a': np.ones(2, np.float32)}, p)
    before = open(p, 'rb').read()
    with pytest.raises(SafetensorsError):
        st.save({'a': np.ones(2, np.float32), 'b': np.ones(1, dtype=np.complex64)}, p)
    assert open(p, 'rb').read() == before
    assert os.listdir(tmp_path) == ['c.safetensors']  # no temporary file left behind
