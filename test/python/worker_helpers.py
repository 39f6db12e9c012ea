"""A real worker process driven the way the studio's supervisor will drive it: job file in, JSON
lines out, control lines in on stdin."""
import json
import os
import queue
import subprocess
import sys
import threading
import time

from conftest import ROOT, engine_env


class WorkerProcess:
    def __init__(self, job, tmp_path, argv=None, python=None, env=None):
        self.job_path = str(tmp_path / 'job.json')
        with open(self.job_path, 'w') as f:
            json.dump(job, f)
        cmd = argv or [python or sys.executable, '-m', 'flow_studio_torch', 'train', '--job', self.job_path]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env or engine_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.events = []
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr = ''
        threading.Thread(target=self._err, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(json.loads(line))  # every stdout line must be one JSON object
        self.q.put(None)

    def _err(self):
        self.stderr = self.proc.stderr.read()

    def send(self, line):
        self.proc.stdin.write(line + '\n')
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def wait_for(self, type_, timeout=120, pred=lambda e: True):
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f'no {type_} event within {timeout} s; got {[e["type"] for e in self.events]}\n{self.stderr[-2000:]}')
            try:
                e = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if e is None:
                raise AssertionError(f'the worker exited before a {type_} event; got {[x["type"] for x in self.events]}\n{self.stderr[-3000:]}')
            self.events.append(e)
            if e['type'] == type_ and pred(e):
                return e

    def finish(self, timeout=180):
        e = self.wait_for('finished', timeout)
        self.close_stdin()
        self.proc.wait(timeout=60)
        return e

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def losses(events):
    return {r['step']: r['value'] for e in events if e['type'] == 'metrics' for r in e['rows'] if r['name'] == 'loss'}


def exists(p):
    return os.path.isfile(p)
