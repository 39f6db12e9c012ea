#!/usr/bin/env python3
"""PyTorch CPU peer of bench/unet.ts and bench/sampling.ts, written from core/model/unet.ts and
core/model/mlp.ts (same layers, same shapes, same optimiser), so that the ratio is measured in one
run on one machine with the same thread count on both sides.

unet: the MNIST preset's class-conditional U-Net (resources/presets/mnist.json: 28x28x1, base 16,
  mults [1, 2, 4], one ResBlock a level, attention at 7x7, 8 groups, a 64-d time embedding, 10
  classes): ResBlock(x) = skip(x) + conv3(silu(GN(conv3(silu(GN(x))) + dense(silu(e))))), avgPool
  down, nearest upsampling up, the up path on concat(h, skip), out = conv3(silu(GN(h))).
  One step as the engine's trainer takes it: x0 ~ N(0, I), t ~ U(0, 1), labels dropped to the
  "no label" class with p = 0.1, x_t = t x1 + (1 - t) x0, loss = mean |f(x_t, t, c) - (x1 - x0)|^2,
  backward, gradient clipping to norm 1, Adam (lr 1e-3, warm-up and cosine schedule), EMA 0.999.
  x1 is a fixed batch of random images in [-1, 1] with random labels (the cost does not depend on it).
unet forward: the same U-Net's forward pass alone under torch.no_grad() (bench/unet-eval.ts): random
  inputs x ~ N(0, I), t ~ U(0, 1), random labels, random weights (the cost does not depend on them).
mlp sampling: the 2-D presets' MLP [x, emb32(t)] -> 256 -> 256 -> 256 -> 2 (SiLU) integrated with
  Euler steps from N(0, I) under torch.no_grad(), random weights.

Protocol (as peer_mlp_step.py): one JSON line describing the setup, then one reply line per request:
  {"unet": 32, "threads": 2, "ms": 2000}  ->  {"unet": 32, "threads": 2, "steps": n, "sec": s, "loss": l}
  {"forward": 16, "threads": 1, "ms": 1000}  ->  {"forward": 16, "threads": 1, "evals": n, "sec": s}
  {"sample": 10000, "steps": 100, "threads": 1, "repeats": 2}  ->  {"sample": ..., "sec": [s, ...]}
  {"params": true}  ->  {"unetParams": n, "mlpParams": n}
Models are built and warmed up on first use. EOF ends it.
"""
import json
import math
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # torch missing or broken: say so in the same protocol and stop
    print(json.dumps({"ok": False, "error": f"import torch failed: {e}"}), flush=True)
    sys.exit(0)


def time_embedding(t, dim):
    """[sin(w t), cos(w t)], w geometric from 1 to 1000 over dim / 2 frequencies (core/model/embed.ts)."""
    half = dim // 2
    u = torch.arange(half, dtype=torch.float32) / max(1, half - 1)
    freqs = 1000.0 ** u
    a = t[:, None] * freqs[None, :]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e_act):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(e_act)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, c, eps=1e-5)
        self.q, self.k, self.v, self.proj = (nn.Linear(c, c) for _ in range(4))

    def forward(self, x):
        b, c, h, w = x.shape
        n = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        q, k, v = self.q(n), self.k(n), self.v(n)
        p = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        o = self.proj(p @ v).transpose(1, 2).reshape(b, c, h, w)
        return x + o


class UNet(nn.Module):
    def __init__(self, channels=1, base=16, mults=(1, 2, 4), blocks=1, groups=8, temb=64, classes=10):
        super().__init__()
        tdim = 4 * base
        self.temb_dim = temb
        self.time0 = nn.Linear(temb, tdim)
        self.time1 = nn.Linear(tdim, tdim)
        self.classes = nn.Embedding(classes + 1, tdim)
        self.inc = nn.Conv2d(channels, base, 3, padding=1)
        levels = [base * m for m in mults]
        skips = [base]
        ch = base
        self.down = nn.ModuleList()
        for i, lc in enumerate(levels):
            bl = nn.ModuleList()
            for _ in range(blocks):
                bl.append(ResBlock(ch, lc, tdim, groups))
                ch = lc
                skips.append(ch)
            if i < len(levels) - 1:
                skips.append(ch)
            self.down.append(bl)
        self.mid0 = ResBlock(ch, ch, tdim, groups)
        self.attn = Attention(ch, groups)
        self.mid1 = ResBlock(ch, ch, tdim, groups)
        self.up = nn.ModuleList()
        for i in reversed(range(len(levels))):
            bl = nn.ModuleList()
            for _ in range(blocks + 1):
                bl.append(ResBlock(ch + skips.pop(), levels[i], tdim, groups))
                ch = levels[i]
            self.up.append(bl)
        self.out_norm = nn.GroupNorm(groups, ch, eps=1e-5)
        self.out = nn.Conv2d(ch, channels, 3, padding=1)

    def forward(self, x, t, labels):
        e = self.time1(F.silu(self.time0(time_embedding(t, self.temb_dim)))) + self.classes(labels)
        e_act = F.silu(e)
        h = self.inc(x)
        skips = [h]
        for i, bl in enumerate(self.down):
            for blk in bl:
                h = blk(h, e_act)
                skips.append(h)
            if i < len(self.down) - 1:
                h = F.avg_pool2d(h, 2)
                skips.append(h)
        h = self.mid1(self.attn(self.mid0(h, e_act)), e_act)
        for r, bl in enumerate(self.up):
            for blk in bl:
                h = blk(torch.cat([h, skips.pop()], dim=1), e_act)
            if r < len(self.up) - 1:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
        return self.out(F.silu(self.out_norm(h)))


class UNetBench:
    """One training step of the preset's recipe (see the module comment)."""

    def __init__(self, batch):
        g = torch.Generator().manual_seed(1)
        self.model = UNet()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        warmup, total, floor = 200, 6000, 0.1

        def lr_at(k):
            if k < warmup:
                return (k + 1) / warmup
            u = (k - warmup) / max(1, total - warmup)
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, u)))

        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lr_at)
        self.ema = [p.detach().clone() for p in self.model.parameters()]
        self.x1 = torch.rand(batch, 1, 28, 28, generator=g) * 2 - 1
        self.labels = torch.randint(0, 10, (batch,), generator=g)
        self.batch = batch
        for _ in range(3):
            self.step()

    def step(self):
        x1 = self.x1
        x0 = torch.randn_like(x1)
        t = torch.rand(self.batch)
        drop = torch.rand(self.batch) < 0.1
        labels = torch.where(drop, torch.full_like(self.labels, 10), self.labels)
        tc = t[:, None, None, None]
        xt = tc * x1 + (1 - tc) * x0
        loss = ((self.model(xt, t, labels) - (x1 - x0)) ** 2).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.sched.step()
        with torch.no_grad():
            params = [p.detach() for p in self.model.parameters()]
            torch._foreach_mul_(self.ema, 0.999)
            torch._foreach_add_(self.ema, params, alpha=0.001)
        return loss


class UNetForward:
    """The U-Net's forward pass at one batch size under torch.no_grad() (sampling, inversion)."""

    def __init__(self, batch):
        g = torch.Generator().manual_seed(2)
        self.model = UNet().eval()
        self.x = torch.randn(batch, 1, 28, 28, generator=g)
        self.t = torch.rand(batch, generator=g)
        self.labels = torch.randint(0, 10, (batch,), generator=g)
        for _ in range(2):
            self.run()

    def run(self):
        with torch.no_grad():
            return self.model(self.x, self.t, self.labels)


class Mlp(nn.Module):
    """[x, emb32(t)] -> 256 -> 256 -> 256 -> 2, SiLU (the 2-D presets' model, core/model/mlp.ts)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 + 32, 256), nn.SiLU(), nn.Linear(256, 256), nn.SiLU(), nn.Linear(256, 256), nn.SiLU(), nn.Linear(256, 2)
        )

    def forward(self, x, t):
        return self.net(torch.cat([x, time_embedding(t, 32)], dim=1))


def sample_euler(model, n, steps, seed):
    """Euler from t = 0 (noise) to 1 (data): x += dt v(x, t)."""
    with torch.no_grad():
        x = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
        dt = 1.0 / steps
        for k in range(steps):
            x = x + dt * model(x, torch.full((n,), k * dt))
        return x


def main():
    print(json.dumps({"ok": True, "torch": torch.__version__, "defaultThreads": torch.get_num_threads(), "python": sys.version.split()[0]}), flush=True)
    benches = {}
    forwards = {}
    mlp = None
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        torch.set_num_threads(int(req.get("threads", 1)))
        if "params" in req:
            m = UNet()
            print(json.dumps({"unetParams": sum(p.numel() for p in m.parameters()), "mlpParams": sum(p.numel() for p in Mlp().parameters())}), flush=True)
            continue
        if "forward" in req:
            b = int(req["forward"])
            fwd = forwards.get(b) or forwards.setdefault(b, UNetForward(b))
            budget = float(req["ms"]) / 1000
            n = 0
            t0 = time.perf_counter()
            while True:
                fwd.run()
                n += 1
                if time.perf_counter() - t0 >= budget:
                    break
            print(json.dumps({"forward": b, "threads": torch.get_num_threads(), "evals": n, "sec": time.perf_counter() - t0}), flush=True)
            continue
        if "sample" in req:
            if mlp is None:
                torch.manual_seed(3)
                mlp = Mlp()
                sample_euler(mlp, 1000, 5, 0)
            n, steps = int(req["sample"]), int(req["steps"])
            secs = []
            for r in range(int(req.get("repeats", 1))):
                t0 = time.perf_counter()
                x = sample_euler(mlp, n, steps, 100 + r)
                secs.append(time.perf_counter() - t0)
            print(json.dumps({"sample": n, "steps": steps, "threads": torch.get_num_threads(), "sec": secs, "finite": bool(torch.isfinite(x).all())}), flush=True)
            continue
        b = int(req["unet"])
        bench = benches.get(b) or benches.setdefault(b, UNetBench(b))
        budget = float(req["ms"]) / 1000
        n = 0
        t0 = time.perf_counter()
        while True:
            loss = bench.step()
            n += 1
            if time.perf_counter() - t0 >= budget:
                break
        sec = time.perf_counter() - t0
        print(json.dumps({"unet": b, "threads": torch.get_num_threads(), "steps": n, "sec": sec, "loss": float(loss)}), flush=True)


if __name__ == "__main__":
    main()
