"""Time one optimizer step of each hand-written optimizer against torch.optim.

The model is a ~1M-parameter MLP (1024-768-256-10, six tensors) with fixed random gradients;
only ``optimizer.step()`` is timed (warm-up, then the median over interleaved rounds).
Compared: ``nnbook.optim`` against ``torch.optim`` with ``foreach=False`` (the same per-tensor
loop; target: within 1.5x on the CPU) and with torch's default (on CUDA its multi-tensor
"foreach" kernels; on the CPU the same per-tensor loop).

    python benchmarks/bench_optim.py                 # CPU, and CUDA when present
    python benchmarks/bench_optim.py --device cpu --rounds 30 --threads 1
"""

import argparse
import statistics
import time

import torch

import nnbook.optim

CONFIGS = [
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("Adagrad", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01)),
    ("Adam", dict(lr=1e-3)),
    ("AdamW", dict(lr=1e-3)),
    ("Adam", dict(lr=1e-3, amsgrad=True, weight_decay=1e-4)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
]


def label(name, kwargs):
    return name + "(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def mlp_parameters(device):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1024, 768), torch.nn.ReLU(),
                                torch.nn.Linear(768, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10)).to(device)
    params = list(model.parameters())
    for param in params:
        param.grad = torch.randn_like(param) * 1e-2
    return params


def time_steps(optimizers, device, rounds, steps_per_round):
    """Median seconds per ``step()`` of each optimizer, measured in interleaved rounds.

    Taking turns (ours, torch's, ours, ...) spreads any slow spell of a busy machine over all
    contenders instead of one; the median over rounds then ignores the spells.
    """
    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for optimizer in optimizers.values():
        for _ in range(3):  # warm-up: lazy state creation, first-call overheads
            optimizer.step()
    times = {key: [] for key in optimizers}
    for _ in range(rounds):
        for key, optimizer in optimizers.items():
            synchronize()
            start = time.perf_counter()
            for _ in range(steps_per_round):
                optimizer.step()
            synchronize()  # a GPU step counts when the GPU is done, not when it is queued
            times[key].append((time.perf_counter() - start) / steps_per_round)
    return {key: statistics.median(values) for key, values in times.items()}


def run(device, rounds, steps_per_round):
    params = mlp_parameters(device)
    count = sum(p.numel() for p in params)
    print(f"\n{device.type.upper()}: MLP with {count:,} parameters in {len(params)} tensors, "
          f"{torch.get_num_threads()} threads, ms per step (median of {rounds} rounds "
          f"of {steps_per_round} steps)\n")
    width = max(len(label(name, kwargs)) for name, kwargs in CONFIGS)
    header = (f"{'optimizer':<{width}} {'nnbook':>8} {'foreach=False':>14} {'default':>8} "
              f"{'ours/False':>11} {'ours/default':>13}")
    print(header)
    print("-" * len(header))
    for name, kwargs in CONFIGS:
        optimizers = {
            "ours": getattr(nnbook.optim, name)(params, **kwargs),
            "plain": getattr(torch.optim, name)(params, foreach=False, **kwargs),
            "default": getattr(torch.optim, name)(params, **kwargs),
        }
        ms = {key: 1e3 * t for key, t in time_steps(optimizers, device, rounds,
                                                    steps_per_round).items()}
        print(f"{label(name, kwargs):<{width}} {ms['ours']:8.3f} {ms['plain']:14.3f} {ms['default']:8.3f} "
              f"{ms['ours'] / ms['plain']:11.2f} {ms['ours'] / ms['default']:13.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps-per-round", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    for name in devices:
        if name == "cuda" and not torch.cuda.is_available():
            print("\nCUDA: no GPU on this machine, skipped")
            continue
        run(torch.device(name), args.rounds, args.steps_per_round)


if __name__ == "__main__":
    main()
