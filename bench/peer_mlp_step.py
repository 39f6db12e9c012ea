#!/usr/bin/env python3
"""PyTorch CPU peer of bench/mlp.ts: the CFM training step of the MLP 3 -> 256 -> 256 -> 256 -> 2 (SiLU).

One step: x0 ~ N(0, I), t ~ U(0, 1), x_t = t x1 + (1 - t) x0, loss = mean |v(x_t, t) - (x1 - x0)|^2,
backward, torch.optim.Adam. x1 is a fixed batch (4 blobs at (+-2, +-2)); the data does not change
the cost. This is the "bare model step" of the TypeScript side.

Protocol (so the caller can interleave rounds with its own on a shared machine): the script prints
one JSON line describing the setup, then reads JSON requests from stdin, one per line,
  {"batch": 256, "ms": 500}
and answers each with one JSON line
  {"batch": 256, "steps": 231, "sec": 0.5012, "loss": 3.41}
after stepping for about `ms` milliseconds (models are built and warmed up on first use). A request
  {"mm": [m, k, n], "ms": 500}
times one float32 matrix product and answers {"mm": [m, k, n], "gflops": ...}. EOF ends it.
"""
import ctypes
import json
import os
import re
import sys
import time

try:
    import torch
except Exception as e:  # torch missing or broken: say so in the same protocol and stop
    print(json.dumps({"ok": False, "error": f"import torch failed: {e}"}), flush=True)
    sys.exit(0)


def blas_info():
    """The BLAS_INFO entry of torch's build settings, and the BLAS library actually mapped in."""
    m = re.search(r"\bBLAS_INFO=([^,\s]+)", torch.__config__.show())
    info = m.group(1) if m else None
    # Debian's torch says BLAS_INFO=generic: it links libblas.so.3, which the alternatives system
    # points at a real implementation. /proc/self/maps shows which one was loaded.
    loaded = set()
    try:
        torch.mm(torch.ones(8, 8), torch.ones(8, 8))  # make sure the BLAS is in use
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                if "blas" in name or "mkl" in name or "lapack" in name:
                    loaded.add(os.path.realpath(path))
    except OSError:
        pass
    return info, sorted(loaded)


def openblas_runtime(loaded):
    """OpenBLAS's own view: its thread count and the CPU kernel set it picked (OPENBLAS_CORETYPE
    overrides the latter, and a wrong one costs a lot of speed)."""
    for path in loaded:
        if "openblas" not in os.path.basename(path):
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return {"threads": lib.openblas_get_num_threads(), "core": lib.openblas_get_corename().decode()}
        except (OSError, AttributeError):
            continue
    return None


class Bench:
    def __init__(self, batch):
        g = torch.Generator().manual_seed(1)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(3, 256), torch.nn.SiLU(),
            torch.nn.Linear(256, 256), torch.nn.SiLU(),
            torch.nn.Linear(256, 256), torch.nn.SiLU(),
            torch.nn.Linear(256, 2),
        )
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.x1 = torch.randn(batch, 2, generator=g) * 0.1 + torch.sign(torch.randn(batch, 2, generator=g)) * 2
        self.batch = batch
        for _ in range(5):
            self.step()

    def step(self):
        x1 = self.x1
        x0 = torch.randn_like(x1)
        t = torch.rand(self.batch, 1)
        xt = t * x1 + (1 - t) * x0
        v = self.model(torch.cat([xt, t], dim=1))
        loss = ((v - (x1 - x0)) ** 2).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss


def main():
    info, loaded = blas_info()
    print(json.dumps({
        "ok": True,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blasInfo": info,
        "blasLoaded": loaded,
        "openblas": openblas_runtime(loaded),
        "openblasCoretype": os.environ.get("OPENBLAS_CORETYPE"),
        "openblasNumThreads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "ompNumThreads": os.environ.get("OMP_NUM_THREADS"),
        "python": sys.version.split()[0],
    }), flush=True)
    benches = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if "mm" in req:
            # One float32 matrix product [m, k] x [k, n] repeated for about `ms`: GFLOP/s of the BLAS.
            m, k, n = (int(x) for x in req["mm"])
            a = torch.randn(m, k)
            w = torch.randn(k, n)
            for _ in range(3):
                a @ w
            budget = float(req["ms"]) / 1000
            reps = 0
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < budget:
                a @ w
                reps += 1
            sec = time.perf_counter() - t0
            print(json.dumps({"mm": [m, k, n], "gflops": 2 * m * k * n * reps / sec / 1e9}), flush=True)
            continue
        b = int(req["batch"])
        bench = benches.get(b) or benches.setdefault(b, Bench(b))
        budget = float(req["ms"]) / 1000
        n = 0
        t0 = time.perf_counter()
        while True:
            loss = bench.step()
            n += 1
            if time.perf_counter() - t0 >= budget:
                break
        sec = time.perf_counter() - t0
        print(json.dumps({"batch": b, "steps": n, "sec": sec, "loss": float(loss)}), flush=True)


if __name__ == "__main__":
    main()
