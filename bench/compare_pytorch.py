#!/usr/bin/env python3
"""LeNet-5 training step (batch 64, 1x32x32, full backward, SGD) and
inference (batch 256): PyTorch on 1 and 2 threads next to this library
(`deno run bench/lenet_step.ts`, eager and with `--jit`), printing the
medians and the ratios at the same thread count.

    /usr/bin/python3 bench/compare_pytorch.py [--steps N] [--rounds R]

With --rounds R every configuration is timed R times, round by round, and
the table gives the medians; each ratio is the median of the rounds' ratios
(their range in brackets), each round's from the same minutes of the host.

Uses Debian's python3-torch; install libopenblas0-pthread for a fair
baseline (`apt-get install -y libopenblas0-pthread`). The network, init
ranges, batch and update are the same as bench/_lenet.ts.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F


def lenet_params(gen):
    def layer(shape, fan_in):
        b = fan_in ** -0.5
        w = (torch.rand(*shape, generator=gen) * 2 - 1) * b
        bias = (torch.rand(shape[0], generator=gen) * 2 - 1) * b
        return [w.requires_grad_(), bias.requires_grad_()]

    return (layer([6, 1, 5, 5], 25) + layer([16, 6, 5, 5], 150) +
            layer([120, 400], 400) + layer([84, 120], 120) + layer([10, 84], 84))


def forward(p, x):
    h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p[2], p[3])), 2)
    h = h.flatten(1)
    h = F.relu(F.linear(h, p[4], p[5]))
    h = F.relu(F.linear(h, p[6], p[7]))
    return F.linear(h, p[8], p[9])


def time_torch(threads, steps):
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    p = lenet_params(gen)
    x = torch.rand(64, 1, 32, 32, generator=gen)
    y = torch.randint(0, 10, (64,), generator=gen)

    def step(p):
        loss = F.cross_entropy(forward(p, x), y)
        grads = torch.autograd.grad(loss, p)
        with torch.no_grad():
            return [(w - 0.01 * g).requires_grad_() for w, g in zip(p, grads)]

    for _ in range(20):
        p = step(p)
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        p = step(p)
        ts.append((time.perf_counter() - t0) * 1e3)
    xb = torch.rand(256, 1, 32, 32, generator=gen)
    inf = []
    with torch.no_grad():
        for _ in range(5):
            forward(p, xb)
        for _ in range(30):
            t0 = time.perf_counter()
            forward(p, xb)
            inf.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), statistics.median(inf)


def arg(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def run_ours(here, steps, threads, jit):
    out = subprocess.run(
        ["deno", "run", os.path.join(here, "lenet_step.ts"), "--steps", str(steps),
         "--threads", str(threads)] + (["--jit"] if jit else []),
        check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    r = json.loads(out)
    return r["stepMs"], r["inferenceMs"]


def main():
    steps = arg("--steps", 200)
    # each round times every configuration once, in the same order, so the
    # ratios of one round come from the same minutes of a shared host
    rounds = arg("--rounds", 1)
    here = os.path.dirname(os.path.abspath(__file__))
    print(f"PyTorch {torch.__version__}, BLAS: "
          f"{'OpenBLAS' if 'openblas' in open('/proc/self/maps').read() else 'see torch.__config__.show()'}")
    configs = [("PyTorch", False, 1), ("PyTorch", False, 2)] + [
        ("ours", jit, threads) for jit in (False, True) for threads in (1, 2)]
    times = {c: [] for c in configs}
    for _ in range(rounds):
        for c in configs:
            who, jit, threads = c
            times[c].append(time_torch(threads, steps) if who == "PyTorch"
                            else run_ours(here, steps, threads, jit))
    med = lambda xs: statistics.median(xs)
    print(f"{'':28}{'train step (ms)':>18}{'inference 256 (ms)':>22}"
          + ("   (medians of the rounds)" if rounds > 1 else ""))
    for c in configs:
        who, jit, threads = c
        name = f"{who}{', jit' if jit else ''}, {threads} thread(s)"
        print(f"{name:28}{med([t[0] for t in times[c]]):18.2f}"
              f"{med([t[1] for t in times[c]]):22.2f}")

    def ratio(k, a, b):
        rs = [x[k] / y[k] for x, y in zip(times[a], times[b])]
        return f"{med(rs):.2f}" + (f" ({min(rs):.2f}-{max(rs):.2f})" if rounds > 1 else "")

    for threads in (1, 2):
        torch_c = ("PyTorch", False, threads)
        for jit in (False, True):
            c = ("ours", jit, threads)
            print(f"ratio ours{' (jit)' if jit else ''} / PyTorch, {threads} thread(s): "
                  f"training step {ratio(0, c, torch_c)}, inference {ratio(1, c, torch_c)}")
        print(f"ratio ours jit / eager, {threads} thread(s): training step "
              f"{ratio(0, ('ours', True, threads), ('ours', False, threads))}")


if __name__ == "__main__":
    main()
