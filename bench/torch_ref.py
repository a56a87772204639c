"""PyTorch implementations of the benchmarked lm experiments, timed per step.

The same models, data shapes, optimizers and batch sizes as the .lm programs
in bench/ and examples/, written the way a researcher would write them in
PyTorch (eager mode, torch.nn.functional). Prints one JSON object per model:
median, p10 and p90 seconds per training step over `--steps` timed steps
after `--warmup` untimed ones.

Usage: python3 bench/torch_ref.py --threads N [--only grokking,teacher_student,deep_linear]
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F


def timed(step, steps, warmup):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"median_s": statistics.median(times), "p10_s": times[len(times) // 10],
            "p90_s": times[(9 * len(times)) // 10], "steps": steps}


def grokking(p=113, frac=0.3, d=128, heads=4, d_mlp=512):
    """Nanda et al.'s one-layer transformer on a + b mod p, full batch, AdamW."""
    g = torch.Generator().manual_seed(0)
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    perm = torch.randperm(p * p, generator=g)
    n_train = int(round(frac * p * p))
    tr = pairs[perm[:n_train]]
    x = torch.stack([tr[:, 0], tr[:, 1], torch.full((n_train,), p)], dim=1)
    y = (tr[:, 0] + tr[:, 1]) % p
    dh = d // heads
    params = {
        "E": torch.randn(p + 1, d) / math.sqrt(d),
        "pos": torch.randn(3, d) * 0.02,
        "Wq": torch.randn(heads, d, dh) / math.sqrt(d),
        "Wk": torch.randn(heads, d, dh) / math.sqrt(d),
        "Wv": torch.randn(heads, d, dh) / math.sqrt(d),
        "Wo": torch.randn(heads, dh, d) / math.sqrt(d),
        "W1": torch.randn(d_mlp, d) / math.sqrt(d), "b1": torch.zeros(d_mlp),
        "W2": torch.randn(d, d_mlp) / math.sqrt(d_mlp), "b2": torch.zeros(d),
        "U": torch.randn(p + 1, d) / math.sqrt(d),
    }
    for t in params.values():
        t.requires_grad_(True)
    opt = torch.optim.AdamW(params.values(), lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0)
    mask = torch.tril(torch.ones(3, 3, dtype=torch.bool))

    def loss_fn():
        P = params
        h = P["E"][x] + P["pos"]                                   # [B, 3, d]
        q = torch.einsum("btd,hde->bhte", h, P["Wq"])
        k = torch.einsum("btd,hde->bhte", h, P["Wk"])
        v = torch.einsum("btd,hde->bhte", h, P["Wv"])
        s = torch.einsum("bhte,bhse->bhts", q, k) / math.sqrt(dh)
        a = torch.softmax(s.masked_fill(~mask, float("-inf")), dim=-1)
        z = torch.einsum("bhts,bhse->bhte", a, v)
        h = h + torch.einsum("bhte,hed->btd", z, P["Wo"])
        r = h[:, -1]                                               # last position only
        r = r + F.linear(F.relu(F.linear(r, P["W1"], P["b1"])), P["W2"], P["b2"])
        return F.cross_entropy(r @ P["U"].T, y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        opt.step()
    return step


def mse_minibatch_step(net, opt, X, Y, batch, g):
    """One SGD step on the next minibatch of a seeded permutation (MSE loss)."""
    n = X.shape[0]
    order = torch.randperm(n, generator=g)
    at = [0]

    def step():
        i = order[at[0]:at[0] + batch]
        at[0] = (at[0] + batch) % (n - batch)
        opt.zero_grad(set_to_none=True)
        F.mse_loss(net(X[i]), Y[i]).backward()
        opt.step()
    return step


def teacher_student(d_in=64, width=256, batch=128, n=16384):
    """Two-layer ReLU MLP student, MSE on a teacher's outputs, SGD momentum 0.9."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d_in, generator=g)
    teacher = torch.nn.Sequential(torch.nn.Linear(d_in, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    with torch.no_grad():
        Y = teacher(X)
    net = torch.nn.Sequential(torch.nn.Linear(d_in, width), torch.nn.ReLU(),
                              torch.nn.Linear(width, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    return mse_minibatch_step(net, opt, X, Y, batch, g)


def deep_linear(width=32, depth=3, batch=256, n=4096):
    """Deep linear network (depth 3, width 32, no biases), MSE, plain SGD."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, width, generator=g)
    Y = X @ torch.randn(width, width, generator=g) / math.sqrt(width)
    net = torch.nn.Sequential(*[torch.nn.Linear(width, width, bias=False) for _ in range(depth)])
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    return mse_minibatch_step(net, opt, X, Y, batch, g)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default="grokking,teacher_student,deep_linear")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    plan = {"grokking": (grokking, 20, 3), "teacher_student": (teacher_student, 2000, 200),
            "deep_linear": (deep_linear, 2000, 200)}
    for name in args.only.split(","):
        make, steps, warmup = plan[name]
        r = timed(make(), steps, warmup)
        r.update(name=name, threads=args.threads, torch=torch.__version__,
                 blas=torch.__config__.show().count("BLAS") and "see torch.__config__")
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
